"""The greetings and appeals sections of the policy files are read and checked at start."""

from __future__ import annotations

from datetime import date

import pytest

from core.policy import Period, PolicyError
from tests.factories.policies import POLICIES, edit, load_policies


def test_the_policy_days_come_from_policy_md_section_5():
    # POLICY.md §5: 14 June World Blood Donor Day, 8 May Red Cross Day, 5 December volunteers.
    greetings = load_policies(POLICIES)["zhejiang"].section("greetings")
    days = {day.code: (day.month, day.day, day.audience) for day in greetings.days}
    assert days["world_blood_donor_day"] == (6, 14, "donors")
    assert days["red_cross_day"] == (5, 8, "donors")
    assert days["volunteer_day"] == (12, 5, "volunteers")
    assert greetings.birthdays_greeted_on(date(2027, 2, 28)) == [(2, 28), (2, 29)]
    assert greetings.birthdays_greeted_on(date(2028, 2, 28)) == [(2, 28)]


def test_the_appeal_period_is_read_from_the_policy():
    rules = load_policies(POLICIES)["shandong"].section("appeals")
    assert rules.once_per == Period(days=30)


def test_a_greeting_day_without_a_template_is_refused(policy_dir):
    edit(policy_dir / "national.toml", 'code = "red_cross_day"', 'code = "spring_festival"')
    with pytest.raises(PolicyError, match="no message template greeting_spring_festival"):
        load_policies(policy_dir)


def test_an_impossible_greeting_date_is_refused(policy_dir):
    edit(policy_dir / "national.toml", "month = 5\nday = 8", "month = 2\nday = 30")
    with pytest.raises(PolicyError, match=r"greetings\.days\[1\]\.day"):
        load_policies(policy_dir)


def test_a_misspelt_greeting_key_is_refused(policy_dir):
    edit(policy_dir / "national.toml", 'audience = "volunteers"', 'audiance = "volunteers"')
    with pytest.raises(PolicyError, match="audience"):
        load_policies(policy_dir)

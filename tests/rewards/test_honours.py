"""Honours from the record (issue 14 items 1 and 3): the national dedication tiers and when each
was reached, the gold restart and the lifetime honour, Zhejiang's provincial award, and what the
donor sees at GET /me/honours."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from core.policy import policy_for
from rewards.honours import next_tier, tiers_reached
from tests.factories.honours import (
    PLATELETS,
    laboratory_blood_group,
    record_of,
    whole_blood,
)
from tests.factories.rewards import Scheme


@pytest.fixture
def zhejiang(app):
    return policy_for("zhejiang")


def reached(policy, steps) -> list[tuple[str, int]]:
    return [(tier.tier, tier.occurrence) for tier in tiers_reached(steps, policy)[1]]


# ---------------------------------------------------------------- tier boundaries (POLICY.md §2)


@pytest.mark.parametrize(
    ("volumes", "tiers"),
    [
        # 19.5 counts: nine 400 ml (18) and one 300 ml (1.5)
        ([400] * 9 + [300], []),
        ([400] * 10, [("bronze", 1)]),
        # 29.5 / 30
        ([400] * 14 + [300], [("bronze", 1)]),
        ([400] * 15, [("bronze", 1), ("silver", 1)]),
        # 39.5 / 40
        ([400] * 19 + [300], [("bronze", 1), ("silver", 1)]),
        ([400] * 20, [("bronze", 1), ("silver", 1), ("gold", 1)]),
    ],
)
def test_each_tier_is_reached_at_its_count_and_not_half_a_count_before(zhejiang, volumes, tiers):
    # POLICY.md §2: bronze >= 20, silver >= 30, gold >= 40 counts; 300 ml = 1.5 (Decisions).
    assert reached(zhejiang, record_of(zhejiang, *whole_blood(*volumes))) == tiers


def test_a_tier_is_dated_by_the_donation_that_crossed_its_threshold(zhejiang):
    # POLICY.md §2: the tier is reached with its 20th count; 300 ml counts 1.5 (Decisions).
    steps = record_of(zhejiang, *whole_blood(*([400] * 9 + [300, 300, 400])))
    total, tiers = tiers_reached(steps, zhejiang)
    assert total == 23
    (bronze,) = tiers
    assert (bronze.reached_on, bronze.donation_id, bronze.at_counts) == (steps[10].on, 11, 20)


def test_a_platelet_unit_counts_four_before_2010_and_one_from_2010(zhejiang):
    # POLICY.md §2 and §4: one therapeutic unit = 4 counts before 2010-01-01, 1 count since.
    before = record_of(zhejiang, *[(PLATELETS, 1)] * 5, start=date(2009, 11, 1))
    assert [step.counts for step in before] == [4, 4, 4, 4, 4]
    assert reached(zhejiang, before) == [("bronze", 1)]
    across = record_of(zhejiang, *[(PLATELETS, 1)] * 5, start=date(2009, 12, 3))
    assert [step.counts for step in across] == [4, 4, 4, 1, 1]
    assert reached(zhejiang, across) == []


def test_a_300_ml_donation_counts_one_and_a_half(zhejiang):
    # POLICY.md "Decisions (2026-11-30)": 300 ml of whole blood = 1.5 counts.
    total, _ = tiers_reached(record_of(zhejiang, *whole_blood(300, 300)), zhejiang)
    assert total == 3


# ---------------------------------------------------------------- the gold restart, lifetime honour


def test_eighty_counts_hold_two_golds_and_seventy_nine_and_a_half_one(zhejiang):
    # POLICY.md §2 "Count reset" and Decisions: after a gold, counting starts again after its
    # 40th counted donation, so the second gold comes at 80; bronze and silver do not repeat.
    assert reached(zhejiang, record_of(zhejiang, *whole_blood(*[400] * 40))) == [
        ("bronze", 1),
        ("silver", 1),
        ("gold", 1),
        ("gold", 2),
    ]
    assert reached(zhejiang, record_of(zhejiang, *whole_blood(*([400] * 39 + [300])))) == [
        ("bronze", 1),
        ("silver", 1),
        ("gold", 1),
    ]


def test_the_count_past_the_40th_carries_into_the_next_gold(zhejiang):
    # POLICY.md §2: the count restarts after the 40th (the 40th itself excluded). A 400 ml
    # donation from 39 to 41 is the 40th and 41st counts: its second count is the next gold's.
    steps = record_of(zhejiang, *whole_blood(*([200] * 39 + [400] + [400] * 19 + [200])))
    _, tiers = tiers_reached(steps, zhejiang)
    golds = [tier for tier in tiers if tier.tier == "gold"]
    assert [(gold.occurrence, gold.donation_id) for gold in golds] == [(1, 40), (2, 60)]


def test_the_third_gold_brings_the_lifetime_honour_once(zhejiang):
    # POLICY.md §2: lifetime honour (终身荣誉奖) = gold three times, given once, with the third.
    three = record_of(zhejiang, *whole_blood(*[400] * 60))
    _, tiers = tiers_reached(three, zhejiang)
    assert [(t.tier, t.occurrence) for t in tiers][-2:] == [("gold", 3), ("lifetime_honor", 1)]
    assert tiers[-1].reached_on == tiers[-2].reached_on == three[-1].on
    assert reached(zhejiang, record_of(zhejiang, *whole_blood(*([400] * 59 + [300]))))[-1] == (
        "gold",
        2,
    )
    four = reached(zhejiang, record_of(zhejiang, *whole_blood(*[400] * 80)))
    assert four.count(("lifetime_honor", 1)) == 1 and four[-1] == ("gold", 4)


# ---------------------------------------------------------------- the next tier


def test_the_next_tier_names_the_counts_missing_and_the_fewest_donations(zhejiang):
    # 18.5 counts: 1.5 missing for bronze = one 300 ml donation, or one 2-unit platelet donation.
    steps = record_of(zhejiang, *whole_blood(*([400] * 8 + [300, 200])))
    total, tiers = tiers_reached(steps, zhejiang)
    upcoming = next_tier(total, tiers, zhejiang, date(2026, 11, 1))
    assert (upcoming.tier, upcoming.missing, upcoming.counted, upcoming.required) == (
        "bronze",
        Fraction(3, 2),
        Fraction(37, 2),
        20,
    )
    plans = {
        s["kind"]: [(p["donations"], p["amount"]) for p in s["plan"]] for s in upcoming.next_steps
    }
    assert plans == {"whole_blood": [(1, 300)], "apheresis_platelets": [(1, 2)]}
    assert upcoming.message == (
        "无偿献血奉献奖铜奖已累计18.5次，共需20次，还差1.5次："
        "再献1次300毫升全血，或1次2个治疗单位单采血小板即可。"
    )


def test_after_two_golds_the_next_is_the_third_with_the_lifetime_honour(zhejiang):
    # POLICY.md §2: counting for the next gold starts anew at 80; the third brings the honour.
    steps = record_of(zhejiang, *whole_blood(*([400] * 40 + [200])))
    total, tiers = tiers_reached(steps, zhejiang)
    upcoming = next_tier(total, tiers, zhejiang, date(2026, 11, 1))
    assert (upcoming.tier, upcoming.occurrence, upcoming.with_lifetime_honor) == ("gold", 3, True)
    assert (upcoming.counted, upcoming.required, upcoming.missing) == (1, 40, 39)
    whole = next(s for s in upcoming.next_steps if s["kind"] == "whole_blood")
    assert [(p["donations"], p["amount"]) for p in whole["plan"]] == [(19, 400), (1, 200)]
    assert upcoming.name == "无偿献血奉献奖金奖（第3次）及无偿献血终身荣誉奖"

"""The three_free and honours policy sections: read from the region files, validated, dated."""

from __future__ import annotations

from datetime import date

import pytest

from core.policy import PolicyError, PolicyUndecided
from rewards.rules import award_names, three_free
from tests.factories.policies import POLICIES, edit, load_policies


@pytest.fixture(scope="module")
def policies():
    return load_policies(POLICIES)


def test_zhejiangs_three_frees_follow_article_25_and_current_practice(policies):
    # POLICY.md §3.1: award won in Zhejiang, or >= 20 counted donations in Zhejiang on application.
    section = three_free(policies["zhejiang"])
    assert section.edition(date(2013, 12, 31)) is None
    edition = section.edition(date(2026, 1, 1))
    assert edition.kinds == (
        "urban_public_transport",
        "government_parks_scenic_museums",
        "outpatient_consultation_fee",
    )
    assert edition.award_route.awards == ("bronze", "silver", "gold", "lifetime_honor")
    assert edition.award_route.won_in_region is True
    assert (edition.count_route.threshold, edition.count_route.on_application) == (20, True)


def test_zibos_route_leaves_awards_won_elsewhere_an_open_question(policies):
    # POLICY.md §3.4 (Zibo): awards with the Zibo card; no counted-donations route.
    edition = three_free(policies["shandong"]).edition(date(2026, 1, 1))
    assert edition.count_route is None
    assert edition.award_route.won_in_region is None
    assert "Zibo" in edition.award_route.won_in_region_question
    assert three_free(policies["shandong"]).edition(date(2023, 5, 24)) is None


def test_every_award_a_route_names_can_be_recorded(policies):
    for policy in policies.values():
        section = three_free(policy)
        for edition in section.editions if section else ():
            assert set(edition.award_route.awards) <= set(award_names(policy))


def test_an_open_threshold_refuses_to_decide(policy_dir):
    edit(policy_dir / "zhejiang.toml", "min_counts = 20", 'open_question = "not yet known"')
    section = three_free(load_policies(policy_dir)["zhejiang"])
    with pytest.raises(PolicyUndecided):
        _ = section.edition(date(2026, 1, 1)).count_route.threshold


@pytest.mark.parametrize(
    "old,new,problem",
    [
        ('token_code = "t"', 'token_code = "tt"', "token_code"),
        ('token_code = "p"', 'token_code = "t"', "token_code appears twice"),
        ("min_counts = 20", "min_counts = 20\nthreshold = 20", "threshold"),
        ('code = "region_donation_count"', 'code = "lottery"', "must be one of"),
        ('scope = "province"', 'scope = "planet"', "scope"),
        ("won_in_region = true\n", "", "won_in_region"),
    ],
)
def test_a_mistake_in_the_section_stops_the_start(policy_dir, old, new, problem):
    edit(policy_dir / "zhejiang.toml", old, new)
    with pytest.raises(PolicyError, match=problem):
        load_policies(policy_dir)

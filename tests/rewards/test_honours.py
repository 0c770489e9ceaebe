"""Honours from the record (issue 14 items 1 and 3): the national dedication tiers and when each
was reached, the gold restart and the lifetime honour, Zhejiang's provincial award, and what the
donor sees at GET /me/honours."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from core import clock
from core.policy import policy_for
from rewards.honours import next_tier, tiers_reached
from tests.factories.honours import (
    PLATELETS,
    laboratory_blood_group,
    record_of,
    whole_blood,
)
from tests.factories.rewards import NOT_ON_RECORD, WHOLE_BLOOD_STEP, Scheme


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


# ---------------------------------------------------------------- GET /me/honours


def honours(client, headers, **extra):
    response = client.get("/api/v1/me/honours", headers={**headers, **extra})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def provincial(view: dict) -> dict:
    return next(award for award in view["region_awards"] if award["award"] == "zhejiang_dedication")


def test_the_donor_sees_the_tier_reached_its_date_and_what_the_next_needs(client, sms):
    # POLICY.md §2: bronze at 20 counts, 400 ml = 2; silver next at 30.
    scheme = Scheme(client, sms)
    _, data, headers = scheme.donor()
    given = scheme.give(data, 11)
    view = honours(client, headers)
    assert view["counted"] == 22
    assert [(t["tier"], t["occurrence"], t["at_counts"]) for t in view["tiers"]] == [
        ("bronze", 1, 20)
    ]
    assert view["tiers"][0]["reached_on"] == given[9]["donation_date"]
    assert view["tiers"][0]["name"] == "无偿献血奉献奖铜奖"
    assert view["highest"]["tier"] == "bronze"
    upcoming = view["next"]
    assert (upcoming["tier"], upcoming["counted"], upcoming["missing"]) == ("silver", 22, 8)
    assert upcoming["message"].startswith("无偿献血奉献奖银奖已累计22次，共需30次，还差8次：")
    assert view["awards_granted"] == []


def test_a_voided_donation_no_longer_counts_towards_a_tier(client, sms):
    # POLICY.md §2 counts valid donations; DESIGN "Data": a correction voids the record.
    scheme = Scheme(client, sms)
    _, data, headers = scheme.donor()
    given = scheme.give(data, 10)
    assert [t["tier"] for t in honours(client, headers)["tiers"]] == ["bronze"]
    voided = client.post(
        f"/api/v1/admin/donations/{given[4]['id']}/void",
        json={"reason": "录入错误"},
        headers=scheme.admin,
    )
    assert voided.status_code == 200, voided.get_json()
    view = honours(client, headers)
    assert (view["counted"], view["tiers"], view["next"]["missing"]) == (18, [], 2)


def test_zhejiang_award_is_reached_at_2000_ml_of_whole_blood(client, sms):
    # POLICY.md §3.3: 浙江省无偿献血奉献奖, >= 2000 ml cumulative.
    scheme = Scheme(client, sms)
    _, data, headers = scheme.donor()
    scheme.give(data, 5, volumes=[400, 400, 400, 400, 300])
    award = provincial(honours(client, headers))
    assert (award["reached"], award["counted_ml"], award["required_ml"]) == (False, 1900, 2000)
    assert award["missing_ml"] == 100 and award["rare_blood"] is False
    whole = next(s for s in award["next_steps"] if s["kind"] == "whole_blood")
    assert [(p["donations"], p["amount"]) for p in whole["plan"]] == [(1, 200)]
    assert award["message"] == (
        "浙江省无偿献血奉献奖：在本地区已献全血1900毫升，共需2000毫升，还差100毫升："
        "再献1次200毫升全血即可。"
    )
    _, other, other_headers = scheme.donor()
    given = scheme.give(other, 5)
    award = provincial(honours(client, other_headers))
    assert (award["reached"], award["reached_on"]) == (True, given[4]["donation_date"])


def test_a_laboratory_rhd_negative_donor_reaches_zhejiang_award_at_1000_ml(client, sms):
    # POLICY.md §3.3: rare blood type >= 1000 ml; rare = RhD negative as the laboratory found
    # it (an operational decision in zhejiang.toml [region_awards.rare_blood]).
    scheme = Scheme(client, sms)
    donor, data, headers = scheme.donor()
    with clock.travelled(-WHOLE_BLOOD_STEP):
        scheme.give(data, 3, volumes=[400, 300, 200])
    laboratory_blood_group(donor, "O", "negative")
    award = provincial(honours(client, headers))
    assert (award["rare_blood"], award["counted_ml"], award["required_ml"]) == (True, 900, 1000)
    assert award["reached"] is False
    scheme.give(data, 1, volumes=[200])
    award = provincial(honours(client, headers))
    assert (award["reached"], award["counted_ml"]) == (True, 1100)


def test_a_self_reported_rhd_negative_group_does_not_lower_the_threshold(client, sms):
    # zhejiang.toml [region_awards.rare_blood]: only a laboratory blood group counts as rare.
    scheme = Scheme(client, sms)
    _, data, headers = scheme.donor(blood_group={"abo": "A", "rhd": "negative"})
    scheme.give(data, 3)
    award = provincial(honours(client, headers))
    assert (award["rare_blood"], award["required_ml"], award["reached"]) == (False, 2000, False)


def test_awards_without_criteria_are_names_an_administrator_grants(client, sms):
    # POLICY.md §3.3: 特别奉献奖 and 之江杯奖 exist, criteria not found: never a guessed rule.
    scheme = Scheme(client, sms)
    donor, data, headers = scheme.donor()
    scheme.give(data, 10)
    view = honours(client, headers)
    others = {a["award"]: a for a in view["region_awards"] if not a["has_criteria"]}
    assert set(others) == {"zhejiang_special_dedication", "zhijiang_cup"}
    assert all(not a["reached"] and a["required_ml"] is None for a in others.values())
    response = scheme.award(donor.id, award="zhijiang_cup", period="2024")
    assert response.status_code == 201, response.get_json()
    granted = honours(client, headers)["awards_granted"]
    assert [(a["award"], a["award_name"], a["decision"]) for a in granted] == [
        ("zhijiang_cup", "之江杯奖", "国卫医急发〔2025〕11号")
    ]


def test_granted_awards_show_with_period_and_decision_and_revoked_ones_do_not(client, sms):
    scheme = Scheme(client, sms)
    donor, data, headers = scheme.donor()
    scheme.give(data, 10)
    kept = scheme.award(donor.id, awarded_on=clock.local_today().isoformat()).get_json()
    mistaken = scheme.award(
        donor.id, award="silver", period="2020-2021", reason=NOT_ON_RECORD
    ).get_json()
    revoked = client.post(
        f"/api/v1/admin/awards/{mistaken['id']}/revoke",
        json={"reason": "名单录入错误"},
        headers=scheme.admin,
    )
    assert revoked.status_code == 200
    granted = honours(client, headers)["awards_granted"]
    assert [(a["id"], a["period"], a["region"]) for a in granted] == [
        (kept["id"], "2022-2023", "zhejiang")
    ]


def test_an_english_reader_gets_the_honours_in_english(client, sms):
    scheme = Scheme(client, sms)
    _, data, headers = scheme.donor()
    scheme.give(data, 9, volumes=[400] * 8 + [300])
    view = honours(client, headers, **{"Accept-Language": "en"})
    assert view["next"]["message"] == (
        "Dedication Award for Voluntary Blood Donation, bronze: 17.5 counted, 20 required, "
        "2.5 to go: 1 × 400 ml and 1 × 200 ml of whole blood, or 1 × 2 therapeutic unit(s) and "
        "1 × 1 therapeutic unit(s) of apheresis platelets more would reach it."
    )
    texts = [view["next"]["message"]] + [a["message"] for a in view["region_awards"]]
    assert not any("\u4e00" <= c <= "\u9fff" for text in texts for c in text)


def test_honours_are_the_donors_own(client, sms):
    scheme = Scheme(client, sms)
    assert client.get("/api/v1/me/honours").status_code == 401
    assert client.get("/api/v1/me/honours", headers=scheme.admin).status_code == 403

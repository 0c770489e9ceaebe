"""One-stop settlement at the hospital's cashier (issue 15 items 3 and 4): the look-up, the
bill settled against the entitlement under the donation region's rules, idempotency on the bill
number, reversal, the donor's SMS, and two hospitals racing for one pool."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from blooduse.models import BloodFeeReduction, BloodUseEntry
from blooduse.rules import BLOOD_USE
from core import clock
from core.extensions import db
from core.models import AuditEntry
from core.policy import policy_for
from notifications.models import OutboxMessage
from sites.models import Site
from tests.factories.cycles import PLATELETS, donations, whole_blood
from tests.factories.hospitals import cashier, hospital_cashier, make_hospital
from tests.factories.settlements import (
    bill,
    local,
    look_up,
    patient_donor,
    relative_of,
    reverse,
    settle,
)

TODAY = date(2026, 11, 10)


@pytest.fixture(autouse=True)
def on_a_weekday_morning():
    """10:00 Beijing time on a fixed day: windows are counted from it, and texts go at once."""
    with clock.frozen_at(local(TODAY)):
        yield


def entries() -> int:
    return db.session.scalar(select(func.count()).select_from(BloodUseEntry))


def reductions() -> int:
    return db.session.scalar(select(func.count()).select_from(BloodFeeReduction))


# ---------------------------------------------------------------- Zhejiang (POLICY.md §3.2)


def test_zhejiang_donor_under_400_ml_gets_5x_the_donation_for_5_years(client):
    # POLICY.md §3.2: whole blood <400 ml: 5x the volume for 5 years from the donation date.
    donor = patient_donor()
    donations(donor, *whole_blood(200), start=date(2023, 3, 1))
    _, desk = hospital_cashier(client)
    found = look_up(client, desk, donor.id_number).get_json()
    assert found["answer"] == "donor"
    (pool,) = found["pools"]
    assert pool["settle_here"] and pool["here"]["remaining_ml"] == 1000
    (window,) = pool["here"]["windows"]
    assert window["multiple"] == 5 and window["ends_on"] == "2028-02-29"
    assert "5 years" in window["rule"] and "5x" in window["rule"]

    first = settle(client, desk, bill(donor.id_number, 600, fee_cents=60_000))
    assert first.status_code == 201, first.get_json()
    receipt = first.get_json()
    assert (receipt["covered_ml"], receipt["reduction_cents"], receipt["payable_cents"]) == (
        600,
        60_000,
        0,
    )
    assert receipt["remaining_ml"] == 400 and receipt["pool"] == "donor"
    assert receipt["patient"]["name"] == "陈**"
    assert receipt["patient"]["id_number"] == donor.id_number[:6] + "*" * 8 + donor.id_number[-4:]
    assert [w["drawn_ml"] for w in receipt["windows"]] == [600]
    assert "5x" in receipt["windows"][0]["rule"]

    # the second bill is covered for what is left: 400 of 600 ml, the fee in proportion
    second = settle(client, desk, bill(donor.id_number, 600, fee_cents=90_001)).get_json()
    assert (second["covered_ml"], second["reduction_cents"]) == (400, 90_001 * 400 // 600)
    assert second["remaining_ml"] == 0


def test_an_exhausted_quota_is_refused_with_no_entitlement_and_changes_nothing(client):
    # POLICY.md §3.2 (5x for 5 years) used up: the cashier is told, nothing is drawn.
    donor = patient_donor()
    donations(donor, *whole_blood(200), start=date(2023, 3, 1))
    _, desk = hospital_cashier(client)
    assert settle(client, desk, bill(donor.id_number, 1000)).status_code == 201
    before = (entries(), reductions())
    refused = settle(client, desk, bill(donor.id_number, 200))
    assert (refused.status_code, refused.get_json()["code"]) == (422, "no_entitlement")
    assert refused.get_json()["errors"] == {"reason": ["used_up"]}
    assert (entries(), reductions()) == before


def test_zhejiang_donor_after_5_years_has_the_donation_volume_once(client):
    # POLICY.md §3.2: "after that, equal to the volume".
    donor = patient_donor()
    donations(donor, *whole_blood(200), start=date(2020, 3, 1))
    _, desk = hospital_cashier(client)
    (pool,) = look_up(client, desk, donor.id_number).get_json()["pools"]
    (window,) = pool["here"]["windows"]
    assert (window["multiple"], window["remaining_ml"], window["ends_on"]) == (1, 200, None)
    assert "equal to the volume" in window["rule"]


def test_zhejiang_donor_of_400_ml_uses_blood_free_for_life(client):
    # POLICY.md §3.2: whole blood >=400 ml cumulative: lifetime, unlimited.
    donor = patient_donor()
    donations(donor, *whole_blood(200, 200), start=date(2010, 3, 1), every=timedelta(days=200))
    _, desk = hospital_cashier(client)
    receipt = settle(client, desk, bill(donor.id_number, 2400, fee_cents=300_000)).get_json()
    assert receipt["unlimited"] and receipt["remaining_ml"] is None
    assert (receipt["covered_ml"], receipt["reduction_cents"]) == (2400, 300_000)
    assert "lifetime" in receipt["windows"][0]["rule"]


def test_zhejiang_spouse_gets_2x_the_donation_for_5_years(client):
    # POLICY.md §3.2: spouse, parents, children: 5 years 2x the volume.
    donor = patient_donor()
    donations(donor, *whole_blood(200), start=date(2024, 5, 1))
    spouse = relative_of(donor, "spouse")
    _, desk = hospital_cashier(client)
    found = look_up(client, desk, spouse.id_number).get_json()
    assert found["answer"] == "relative"
    (pool,) = found["pools"]
    assert (pool["relation"], pool["relation_name"], pool["donor"]) == ("spouse", "配偶", "陈**")
    assert pool["link_status"] == "verified" and pool["here"]["remaining_ml"] == 400
    receipt = settle(client, desk, bill(spouse.id_number, 400)).get_json()
    assert receipt["covered_ml"] == 400 and receipt["pool"] == "relatives"
    assert receipt["patient"]["name"] == "林**" and receipt["patient"]["donor"] == "陈**"
    assert receipt["patient"]["relation_name"] == "配偶"


def test_a_sibling_is_covered_only_once_the_donor_reached_gold(client):
    # POLICY.md §3.2: extended relatives only if the donor reached the national gold standard.
    donor = patient_donor()
    donations(donor, *whole_blood(200), start=date(2024, 5, 1))
    sibling = relative_of(donor, "sibling")
    _, desk = hospital_cashier(client)
    (pool,) = look_up(client, desk, sibling.id_number).get_json()["pools"]
    assert pool["here"]["refused"] == "extended_relative_needs_gold" and not pool["settle_here"]
    refused = settle(client, desk, bill(sibling.id_number))
    assert refused.get_json()["errors"] == {"reason": ["extended_relative_needs_gold"]}


def test_a_declared_relative_is_named_with_the_link_to_verify_and_not_settled(client):
    # Issue 15 item 1: a link is used only once verified; the cashier verifies it from documents.
    donor = patient_donor()
    donations(donor, *whole_blood(200), start=date(2024, 5, 1))
    parent = relative_of(donor, "parent", verified=False)
    _, desk = hospital_cashier(client)
    found = look_up(client, desk, parent.id_number).get_json()
    (pool,) = found["pools"]
    assert (pool["link_id"], pool["link_status"]) == (parent.id, "declared")
    assert pool["here"]["refused"] == "link_not_verified" and not pool["settle_here"]
    refused = settle(client, desk, bill(parent.id_number))
    assert (refused.status_code, refused.get_json()["code"]) == (422, "link_not_verified")
    assert reductions() == 0


def test_neither_a_donor_nor_a_relative_is_told_neither_and_refused(client):
    _, desk = hospital_cashier(client)
    stranger = patient_donor()  # registered, never gave
    found = look_up(client, desk, stranger.id_number).get_json()
    assert found == {"answer": "neither", "pools": [], "settleable_regions": ["zhejiang"]}
    refused = settle(client, desk, bill(stranger.id_number))
    assert (refused.status_code, refused.get_json()["code"]) == (422, "no_entitlement")


# ---------------------------------------------------------------- Shandong and Beijing (§3.4)


def test_shandong_counts_a_platelet_dose_as_800_ml_in_one_pool_for_all_relatives(client):
    # POLICY.md §3.4: 1 therapeutic dose = 800 ml; beneficiaries' total relief <= the donor's
    # volume; Decisions 2026-11-30: one pool shared by all beneficiaries.
    donor = patient_donor("shandong")
    donations(donor, (PLATELETS, 1), start=date(2025, 6, 1), region="shandong")
    spouse = relative_of(donor, "spouse")
    parent = relative_of(donor, "parent", name="陈父")
    _, desk = hospital_cashier(client, "shandong", name="山东省立医院")
    (own,) = look_up(client, desk, donor.id_number).get_json()["pools"]
    assert own["here"]["remaining_ml"] == 4000  # <1000 ml: 5x within 5 years
    (pool,) = look_up(client, desk, spouse.id_number).get_json()["pools"]
    assert pool["here"]["remaining_ml"] == 800 and pool["here"]["windows"][0]["ml"] == 800
    assert settle(client, desk, bill(spouse.id_number, 500)).get_json()["covered_ml"] == 500
    (left,) = look_up(client, desk, parent.id_number).get_json()["pools"]
    assert left["here"]["remaining_ml"] == 300
    receipt = settle(client, desk, bill(parent.id_number, 400, fee_cents=40_000)).get_json()
    assert (receipt["covered_ml"], receipt["reduction_cents"]) == (300, 30_000)
    # the donor's own quota is independent of the beneficiaries' (POLICY.md §3.4)
    (own,) = look_up(client, desk, donor.id_number).get_json()["pools"]
    assert own["here"]["remaining_ml"] == 4000


def test_beijing_donor_has_5x_for_10_years(client):
    # POLICY.md §3.4 (Beijing, 2009): donor 5x the volume within 10 years.
    donor = patient_donor("beijing")
    donations(donor, *whole_blood(200), start=date(2018, 5, 1), region="beijing")
    _, desk = hospital_cashier(client, "beijing", name="北京协和医院")
    (pool,) = look_up(client, desk, donor.id_number).get_json()["pools"]
    (window,) = pool["here"]["windows"]
    assert (window["multiple"], window["remaining_ml"], window["ends_on"]) == (
        5,
        1000,
        "2028-04-30",
    )
    assert "10 years" in window["rule"]
    assert settle(client, desk, bill(donor.id_number, 1000)).get_json()["covered_ml"] == 1000


# ---------------------------------------------------------------- across regions (Decisions)


def test_a_donation_elsewhere_is_referred_to_its_regions_station_with_what_it_grants(client):
    # Decisions 2026-11-30: a donation follows its own region's rules; a hospital settles it
    # directly only by agreement, otherwise it sends the donor to that region's station.
    donor = patient_donor("shandong")
    donations(donor, *whole_blood(200), start=date(2025, 6, 1), region="shandong")
    station = Site(
        facility_code="S3701",
        name="山东省血液中心",
        kind="blood_station",
        address="济南市历下区",
        city="济南市",
        region="shandong",
        phone="0531-00000000",
    )
    db.session.add(station)
    db.session.commit()
    _, desk = hospital_cashier(client)  # a Zhejiang hospital
    (pool,) = look_up(client, desk, donor.id_number).get_json()["pools"]
    assert not pool["settle_here"] and pool["here"]["windows"] == []
    (referral,) = pool["elsewhere"]
    assert (referral["region"], referral["region_name"]) == ("shandong", "山东省")
    assert referral["would_grant"]["remaining_ml"] == 1000  # Shandong: 5x within 5 years
    assert referral["stations"] == [
        {
            "name": "山东省血液中心",
            "city": "济南市",
            "address": "济南市历下区",
            "phone": "0531-00000000",
        }
    ]
    refused = settle(client, desk, bill(donor.id_number))
    assert (refused.status_code, refused.get_json()["code"]) == (422, "settle_at_donation_region")
    assert refused.get_json()["errors"] == {"regions": ["shandong"]}
    assert (reductions(), entries()) == (0, 0)


def test_a_region_with_an_agreement_settles_the_other_regions_donation_under_its_rules(
    app, client, monkeypatch
):
    # Decisions 2026-11-30: direct settlement across regions where the policy lists the
    # agreement; the donation region's rules apply (Shandong's 5x, not Zhejiang's lifetime
    # at 400 ml).
    zhejiang = policy_for("zhejiang")
    agreed = replace(zhejiang.section(BLOOD_USE), direct_settlement_regions=("shandong",))
    monkeypatch.setitem(zhejiang.sections, BLOOD_USE, agreed)
    donor = patient_donor("shandong")
    donations(donor, *whole_blood(400), start=date(2025, 6, 1), region="shandong")
    _, desk = hospital_cashier(client)
    (pool,) = look_up(client, desk, donor.id_number).get_json()["pools"]
    assert pool["settle_here"] and pool["here"]["remaining_ml"] == 2000
    receipt = settle(client, desk, bill(donor.id_number, 400)).get_json()
    assert receipt["rules_of"] == "shandong" and receipt["remaining_ml"] == 1600

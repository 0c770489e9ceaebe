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
from core.errors import message_for
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
    assert refused.get_json()["errors"]["reason"]["code"] == "nothing_remains"
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
    assert refused.get_json()["errors"]["reason"] == {
        "code": "extended_relative_needs_gold",
        "message": message_for("extended_relative_needs_gold"),
    }


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


# ---------------------------------------------------------------- several pools


def test_a_donor_who_is_also_a_relative_draws_on_their_own_pool_first_unless_told(client):
    # Issue 15 item 3 (the brief): each pool listed; without link_id the patient's own pool
    # first, then the relatives' pools by most remaining.
    patient = patient_donor(name="林美华")
    donations(patient, *whole_blood(200), start=date(2024, 5, 1))
    spouse = patient_donor()
    donations(spouse, *whole_blood(200), start=date(2024, 6, 1))
    link = relative_of(spouse, "spouse", id_number=patient.id_number)
    _, desk = hospital_cashier(client)
    found = look_up(client, desk, patient.id_number).get_json()
    assert found["answer"] == "donor"
    assert [(pool["pool"], pool["link_id"]) for pool in found["pools"]] == [
        ("donor", None),
        ("relatives", link.id),
    ]
    own = settle(client, desk, bill(patient.id_number, 200)).get_json()
    assert own["pool"] == "donor" and own["patient"]["relation"] is None
    chosen = settle(client, desk, bill(patient.id_number, 200, link_id=link.id)).get_json()
    assert chosen["pool"] == "relatives" and chosen["patient"]["donor"] == "陈**"
    assert chosen["remaining_ml"] == 200


def test_a_relative_of_several_donors_draws_on_the_pool_with_most_remaining(client):
    # Issue 15 item 3 (the brief): relatives' pools by most remaining.
    child = resident_id_of_a_child()
    mother = patient_donor(name="王芳")
    donations(mother, *whole_blood(200), start=date(2024, 5, 1))
    father = patient_donor(name="李强")
    donations(father, *whole_blood(300), start=date(2024, 5, 1))
    relative_of(mother, "child", id_number=child, name="李小明")
    from_father = relative_of(father, "child", id_number=child, name="李小明")
    _, desk = hospital_cashier(client)
    found = look_up(client, desk, child).get_json()
    assert found["answer"] == "relative"
    assert [pool["here"]["remaining_ml"] for pool in found["pools"]] == [600, 400]
    assert [pool["donor"] for pool in found["pools"]] == ["李*", "王*"]
    receipt = settle(client, desk, bill(child, 300)).get_json()
    assert receipt["patient"]["donor"] == "李*"
    assert db.session.scalar(select(BloodFeeReduction.family_link_id)) == from_father.id


def test_a_link_id_that_does_not_name_the_patient_is_refused(client):
    donor = patient_donor()
    donations(donor, *whole_blood(200), start=date(2024, 5, 1))
    other = relative_of(patient_donor(), "spouse")
    _, desk = hospital_cashier(client)
    refused = settle(client, desk, bill(donor.id_number, link_id=other.id))
    assert (refused.status_code, refused.get_json()["code"]) == (422, "link_not_patients")


def resident_id_of_a_child() -> str:
    from tests.factories import resident_id

    return resident_id(birth="20100101")


# ---------------------------------------------------------------- the same bill twice


def test_the_same_bill_again_returns_the_same_receipt_and_draws_once(client):
    # Issue 15 item 3: idempotent on the bill number.
    donor = patient_donor()
    donations(donor, *whole_blood(200), start=date(2024, 5, 1))
    _, desk = hospital_cashier(client)
    body = bill(donor.id_number, 400)
    first = settle(client, desk, body)
    again = settle(client, desk, body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert (reductions(), entries()) == (1, 1)


def test_another_bill_under_a_settled_number_is_refused(client):
    # Issue 15 item 3: a bill is reduced once; another body under its number is a conflict.
    donor = patient_donor()
    donations(donor, *whole_blood(200), start=date(2024, 5, 1))
    _, desk = hospital_cashier(client)
    body = bill(donor.id_number, 400)
    assert settle(client, desk, body).status_code == 201
    changed = settle(client, desk, {**body, "fee_cents": body["fee_cents"] + 1})
    assert (changed.status_code, changed.get_json()["code"]) == (409, "bill_already_settled")
    # the same number at another hospital is another bill
    _, elsewhere = hospital_cashier(client)
    assert settle(client, elsewhere, body).status_code == 201
    assert reductions() == 2


def quote(client, cashier, body):
    return client.post("/api/v1/hospital/settlements/quote", json=body, headers=cashier)


def test_a_quote_tells_the_settlements_reduction_and_draws_nothing(client):
    # Issue 16 item 3: the reduction that would apply, shown before settling.
    donor = patient_donor()
    donations(donor, *whole_blood(200), start=date(2024, 5, 1))
    _, desk = hospital_cashier(client)
    body = bill(donor.id_number, 1200, fee_cents=90_001)
    quoted = quote(client, desk, body)
    assert quoted.status_code == 200, quoted.get_json()
    assert (reductions(), entries()) == (0, 0)
    receipt = settle(client, desk, body).get_json()
    figures = ("covered_ml", "reduction_cents", "payable_cents", "remaining_ml", "windows")
    assert {key: quoted.get_json()[key] for key in figures} == {
        key: receipt[key] for key in figures
    }
    assert quoted.get_json()["reduction_cents"] == 90_001 * 1000 // 1200
    assert quoted.get_json()["already_settled"] is False
    assert quoted.get_json()["rules_name"] == receipt["rules_name"] == "浙江省"
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert "blood_fee.quoted" in actions


def test_a_quote_is_refused_as_the_settlement_would_be(client):
    stranger = patient_donor()  # registered, never donated
    _, desk = hospital_cashier(client)
    refused = quote(client, desk, bill(stranger.id_number, 400))
    assert (refused.status_code, refused.get_json()["code"]) == (422, "no_entitlement")
    assert reductions() == 0


def test_a_quote_of_a_settled_bill_says_so_and_another_bill_under_its_number_is_refused(client):
    donor = patient_donor()
    donations(donor, *whole_blood(200), start=date(2024, 5, 1))
    _, desk = hospital_cashier(client)
    body = bill(donor.id_number, 400)
    settled = settle(client, desk, body).get_json()
    again = quote(client, desk, body).get_json()
    assert again["already_settled"] is True
    assert again["reduction_cents"] == settled["reduction_cents"]
    changed = quote(client, desk, {**body, "fee_cents": body["fee_cents"] + 1})
    assert (changed.status_code, changed.get_json()["code"]) == (409, "bill_already_settled")
    assert (reductions(), entries()) == (1, 1)


def test_a_bill_transfused_tomorrow_or_discharged_before_is_refused(client):
    donor = patient_donor()
    donations(donor, *whole_blood(200), start=date(2024, 5, 1))
    _, desk = hospital_cashier(client)
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    future = settle(client, desk, bill(donor.id_number, transfused_on=tomorrow))
    assert future.get_json()["code"] == "transfused_in_future"
    early = settle(client, desk, bill(donor.id_number, discharged_on="2026-11-01"))
    assert early.get_json()["code"] == "discharged_before_transfusion"
    assert reductions() == 0


# ---------------------------------------------------------------- the donor is told


def test_the_donor_is_texted_what_was_reduced_for_their_relative_and_what_remains(client, sms):
    # Issue 15 item 6: a donor gets an SMS when a reduction is settled for them or a relative.
    donor = patient_donor()
    donations(donor, *whole_blood(200), start=date(2024, 5, 1))
    parent = relative_of(donor, "parent")
    hospital, desk = hospital_cashier(client)
    settle(client, desk, bill(parent.id_number, 300, fee_cents=45_000))
    (row,) = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "blood_fee_settled")
    )
    assert row.donor_id == donor.id and row.category == "transactional" and row.sensitive
    (text,) = [message.body for message in sms if "临床用血" in message.body]
    assert "您的父母在" + hospital.name in text
    assert "减免450.00元（300毫升）" in text and "还可免费用血100毫升" in text


def test_a_reversed_bill_is_texted_to_the_donor_and_the_receipt_explains_each_window(client, sms):
    # Issue 15 item 6: the donor who heard of a reduction hears it was undone; "a receipt that
    # says why": each window drawn on, in the reader's words (POLICY.md §3.2: 5x for 5 years).
    donor = patient_donor()
    donations(donor, *whole_blood(200), start=date(2024, 5, 1))
    _, desk = hospital_cashier(client)
    body = bill(donor.id_number, 300, fee_cents=45_000)
    receipt = settle(client, desk, body).get_json()
    (window,) = receipt["windows"]
    assert window["explanation"] == "献血量200毫升的5倍，有效期至2029-04-30。"
    assert (window["donation_ml"], window["drawn_ml"]) == (200, 300)
    assert reverse(client, desk, body["bill_number"], "账单作废").status_code == 200
    (row,) = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "blood_fee_reversed")
    )
    assert row.donor_id == donor.id and row.sensitive
    (text,) = [message.body for message in sms if "已撤销" in message.body]
    assert "您本人在" in text and "减免450.00元（300毫升）已撤销" in text


def test_a_settlement_at_night_is_texted_after_the_quiet_hours(client):
    # notifications: non-urgent texts wait out the quiet hours.
    donor = patient_donor()
    donations(donor, *whole_blood(200), start=date(2024, 5, 1))
    _, desk = hospital_cashier(client)
    with clock.frozen_at(local(TODAY, 23)):
        assert settle(client, desk, bill(donor.id_number)).status_code == 201
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.donor_id == donor.id))
    assert row.status == "pending" and clock.to_local(row.not_before).date() == TODAY + timedelta(1)


# ---------------------------------------------------------------- reversal


def test_a_reversal_restores_the_entitlement_and_is_audited(client):
    # Issue 15 item 3: reversible with a reason; the entitlement is restored.
    donor = patient_donor()
    donations(donor, *whole_blood(200), start=date(2024, 5, 1))
    _, desk = hospital_cashier(client)
    body = bill(donor.id_number, 700)
    settle(client, desk, body)
    assert (
        look_up(client, desk, donor.id_number).get_json()["pools"][0]["here"]["remaining_ml"] == 300
    )
    undone = reverse(client, desk, body["bill_number"], "患者信息录错")
    assert undone.status_code == 200, undone.get_json()
    assert undone.get_json()["status"] == "reversed"
    assert undone.get_json()["reverse_reason"] == "患者信息录错"
    assert (
        look_up(client, desk, donor.id_number).get_json()["pools"][0]["here"]["remaining_ml"]
        == 1000
    )
    assert db.session.scalar(select(func.sum(BloodUseEntry.amount_ml))) == 0
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"blood_fee.settled", "blood_fee.reversed", "blood_use.looked_up"} <= actions
    again = reverse(client, desk, body["bill_number"])
    assert (again.status_code, again.get_json()["code"]) == (409, "settlement_already_reversed")
    resent = settle(client, desk, body)
    assert (resent.status_code, resent.get_json()["code"]) == (409, "settlement_reversed")


def test_another_hospitals_bill_cannot_be_reversed(client):
    donor = patient_donor()
    donations(donor, *whole_blood(200), start=date(2024, 5, 1))
    _, desk = hospital_cashier(client)
    _, other = hospital_cashier(client)
    body = bill(donor.id_number)
    settle(client, desk, body)
    refused = reverse(client, other, body["bill_number"])
    assert (refused.status_code, refused.get_json()["code"]) == (404, "settlement_unknown")


# ---------------------------------------------------------------- the look-up itself


def test_each_look_up_is_audited_without_the_id_number(client):
    # DESIGN.md, Security and privacy (PIPL): log every access to a person's data.
    donor = patient_donor()
    donations(donor, *whole_blood(200), start=date(2024, 5, 1))
    hospital, desk = hospital_cashier(client)
    look_up(client, desk, donor.id_number)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "blood_use.looked_up"))
    assert (entry.actor_type, entry.target_type, entry.target_id) == (
        "device",
        "donor",
        str(donor.id),
    )
    assert entry.details["hospital"] == hospital.id
    assert donor.id_number not in str(entry.details)


def test_look_ups_are_limited_per_device(app, client, monkeypatch):
    # blooduse/settings.py HOSPITAL_LOOKUP_LIMIT_PER_DEVICE (operational).
    monkeypatch.setitem(app.config, "HOSPITAL_LOOKUP_LIMIT_PER_DEVICE", "2/hour")
    hospital, desk = hospital_cashier(client)
    donor = patient_donor()
    assert [look_up(client, desk, donor.id_number).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    other_desk = cashier(client, hospital, "门诊收费处")
    assert look_up(client, other_desk, donor.id_number).status_code == 200


def test_settlements_count_with_the_look_ups_per_device(app, client, monkeypatch):
    # A settlement names a patient too: it draws on the same per-device budget, so a stolen
    # credential cannot ask the register through settlements instead (PIPL).
    monkeypatch.setitem(app.config, "HOSPITAL_LOOKUP_LIMIT_PER_DEVICE", "2/hour")
    _, desk = hospital_cashier(client)
    donor = patient_donor()
    donations(donor, *whole_blood(400), start=date(2024, 5, 1))
    assert look_up(client, desk, donor.id_number).status_code == 200
    assert settle(client, desk, bill(donor.id_number)).status_code == 201
    refused = settle(client, desk, bill(donor.id_number))
    assert refused.status_code == 429
    assert db.session.scalar(select(func.count()).select_from(BloodFeeReduction)) == 1


def test_a_deactivated_hospitals_cashier_is_turned_away(client):
    hospital = make_hospital()
    desk = cashier(client, hospital)
    hospital.active = False
    db.session.commit()
    refused = look_up(client, desk, patient_donor().id_number)
    assert (refused.status_code, refused.get_json()["code"]) == (403, "hospital_inactive")


# ---------------------------------------------------------------- racing (PostgreSQL locks)


@pytest.mark.committed_db
def test_two_hospitals_settling_on_one_limited_pool_at_once_never_overspend_it(app, client):
    # Issue 15 item 3: two hospitals settling for the same donor's pool at once never
    # overspend it (blooduse/ledger.py: the donor's row lock).
    donor = patient_donor()
    donations(donor, *whole_blood(200), start=date(2024, 5, 1))  # 1000 ml for 5 years
    desks = [hospital_cashier(client)[1] for _ in range(2)]
    bodies = [bill(donor.id_number, 300) for _ in range(8)]

    def attempt(n: int) -> tuple[int, int]:
        with app.app_context(), app.test_client() as other:
            answer = settle(other, desks[n % 2], bodies[n])
            return answer.status_code, (answer.get_json() or {}).get("covered_ml", 0)

    with clock.frozen_at(local(TODAY)), ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(attempt, range(len(bodies))))
    assert sum(covered for status, covered in answers if status == 201) == 1000
    assert sorted(status for status, _ in answers) == [201] * 4 + [422] * 4
    used = db.session.scalar(
        select(func.sum(BloodUseEntry.amount_ml)).where(BloodUseEntry.donor_id == donor.id)
    )
    assert used == -1000


@pytest.mark.committed_db
def test_the_same_bill_posted_twice_at_once_settles_once(app, client):
    # Issue 15 item 3: idempotent on the bill number, under a race too.
    donor = patient_donor()
    donations(donor, *whole_blood(200), start=date(2024, 5, 1))
    _, desk = hospital_cashier(client)
    body = bill(donor.id_number, 300)

    def attempt(_: int) -> tuple[int, int]:
        with app.app_context(), app.test_client() as other:
            answer = settle(other, desk, body)
            return answer.status_code, answer.get_json()["id"]

    with clock.frozen_at(local(TODAY)), ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(attempt, range(4)))
    assert sorted(status for status, _ in answers) == [200, 200, 200, 201]
    assert len({ident for _, ident in answers}) == 1
    assert (reductions(), entries()) == (1, 1)

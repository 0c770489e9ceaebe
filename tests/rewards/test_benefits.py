"""The donor's three frees: routes, applications, progress, withdrawal, and the card."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest
from sqlalchemy import select

from certificate.models import Donation
from certificate.services import CountedDonation
from core import clock
from core.extensions import db
from core.models import AuditEntry
from core.policy import policy_for
from rewards.benefits import next_steps
from rewards.models import BenefitApplication, BenefitHolding
from rewards.schemas import UncountedSchema
from tests.factories import make_site, make_staff, staff_token
from tests.factories.rewards import NOT_ON_RECORD, WHOLE_BLOOD_STEP, Scheme


def zhejiang(view: dict) -> dict:
    return next(region for region in view["regions"] if region["region"] == "zhejiang")


def count_route(region: dict) -> dict:
    return next(route for route in region["routes"] if route["route"] == "region_donation_count")


def test_progress_names_what_is_missing_in_counted_donations(client, sms):
    # Zhejiang (POLICY.md §3.1): 20 donations counted by the national rules; 400 ml = 2 counts.
    scheme = Scheme(client, sms)
    _, data, headers = scheme.donor()
    scheme.give(data, 8)
    view = client.get("/api/v1/me/benefits", headers=headers).get_json()
    region = zhejiang(view)
    assert region["held"] is False
    assert [b["kind"] for b in region["benefits"]] == [
        "urban_public_transport",
        "government_parks_scenic_museums",
        "outpatient_consultation_fee",
    ]
    route = count_route(region)
    assert (route["counted"], route["required"], route["remaining"]) == (16, 20, 4)
    assert route["can_apply"] is False
    whole_blood = next(step for step in route["next_steps"] if step["kind"] == "whole_blood")
    assert (whole_blood["amount"], whole_blood["donations"]) == (400, 2)
    assert "还差4次" in route["message"] and "2次400毫升全血" in route["message"]


def test_an_english_reader_gets_the_progress_in_english_alone(client, sms):
    # Issue 12 item 7: one language per response, kind names included (policy name_en).
    scheme = Scheme(client, sms)
    _, data, headers = scheme.donor()
    scheme.give(data, 8)
    english = {**headers, "Accept-Language": "en"}
    route = count_route(zhejiang(client.get("/api/v1/me/benefits", headers=english).get_json()))
    assert route["message"].startswith("16 counted by the national award rules, 20 required, 4 ")
    assert "2 × 400 ml of whole blood" in route["message"]
    assert not any("\u4e00" <= character <= "\u9fff" for character in route["message"])
    whole_blood = next(step for step in route["next_steps"] if step["kind"] == "whole_blood")
    assert whole_blood["kind_name"] == "whole blood"


def plans(steps: list[dict]) -> dict[str, list[tuple[int, int]]]:
    return {
        step["kind"]: [(part["donations"], part["amount"]) for part in step["plan"]]
        for step in steps
    }


@pytest.mark.parametrize(
    ("remaining", "whole_blood", "platelets"),
    [
        (Fraction(1), [(1, 200)], [(1, 1)]),
        (Fraction(1, 2), [(1, 200)], [(1, 1)]),
        (Fraction(3, 2), [(1, 300)], [(1, 2)]),
        (Fraction(2), [(1, 400)], [(1, 2)]),
        (Fraction(5), [(2, 400), (1, 200)], [(2, 2), (1, 1)]),
        (Fraction(11, 2), [(2, 400), (1, 300)], [(3, 2)]),
    ],
)
def test_the_next_steps_end_with_the_smallest_donation_that_closes_the_gap(
    app, remaining, whole_blood, platelets
):
    # Issue 12 item 3; counts: 200 ml = 1, 300 ml = 1.5 (POLICY.md "Decisions (2026-11-30)"),
    # one platelet unit = 1 (national award rules since 2010). Plasma is not offered.
    steps = next_steps(policy_for("zhejiang"), remaining, date(2026, 11, 1))
    assert plans(steps) == {"whole_blood": whole_blood, "apheresis_platelets": platelets}
    for step in steps:
        assert step["donations"] == sum(donations for donations, _ in plans([step])[step["kind"]])


def test_one_count_missing_names_one_200_ml_donation_or_one_unit(client, sms):
    scheme = Scheme(client, sms)
    _, data, headers = scheme.donor()
    scheme.give(data, 10, volumes=[400] * 9 + [200])
    route = count_route(zhejiang(client.get("/api/v1/me/benefits", headers=headers).get_json()))
    assert (route["counted"], route["remaining"]) == (19, 1)
    assert route["message"] == (
        "已累计19次（按国家表彰计算），共需20次，还差1次："
        "再献1次200毫升全血，或1次1个治疗单位单采血小板即可。"
    )


def test_an_application_short_of_twenty_is_refused_with_progress(client, sms):
    scheme = Scheme(client, sms)
    donor, data, headers = scheme.donor()
    scheme.give(data, 9)
    response = scheme.apply(headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["outcome"] == "refused"
    assert count_route(body["benefits"])["remaining"] == 2
    assert (
        db.session.scalar(select(BenefitHolding).where(BenefitHolding.donor_id == donor.id)) is None
    )
    refused = db.session.scalar(select(BenefitApplication))
    assert (refused.outcome, refused.counted, refused.required) == ("refused", 18, 20)


def test_twenty_counted_donations_are_granted_at_once_on_application(client, sms):
    # Zhejiang (POLICY.md §3.1 route b): >= 20 counts in Zhejiang, on the donor's application.
    scheme = Scheme(client, sms)
    _, data, headers = scheme.donor()
    scheme.give(data, 10)
    before = zhejiang(client.get("/api/v1/me/benefits", headers=headers).get_json())
    assert count_route(before)["can_apply"] is True
    assert before["held"] is False
    response = scheme.apply(headers)
    assert response.status_code == 201
    body = response.get_json()
    assert body["outcome"] == "granted"
    assert body["benefits"]["held"] is True
    assert [h["route"] for h in body["benefits"]["holdings"]] == ["region_donation_count"]
    assert body["benefits"]["holdings"][0]["since"]
    again = scheme.apply(headers)
    assert again.status_code == 200 and again.get_json()["outcome"] == "already_held"


def test_platelet_units_count_one_each_toward_the_twenty(client, sms):
    # National award rules since 2010-01-01: one therapeutic unit = 1 count.
    scheme = Scheme(client, sms)
    _, data, headers = scheme.donor()
    scheme.give(data, 10, kind="apheresis_platelets", volume_ml=520, units=2)
    assert scheme.apply(headers).status_code == 201


def test_voiding_a_donation_the_count_rested_on_withdraws_the_benefits(client, sms):
    scheme = Scheme(client, sms)
    donor, _, headers, donations = scheme.holder()
    response = client.post(
        f"/api/v1/admin/donations/{donations[-1]['id']}/void",
        json={"reason": "血液检测不合格记录错误"},
        headers=scheme.admin,
    )
    assert response.status_code == 200
    region = zhejiang(client.get("/api/v1/me/benefits", headers=headers).get_json())
    assert region["held"] is False
    assert count_route(region)["counted"] == 18
    withdrawn = db.session.scalar(select(BenefitHolding).where(BenefitHolding.donor_id == donor.id))
    assert withdrawn.withdrawn_reason == "counts_below_threshold"
    assert withdrawn.withdrawn_at is not None


def test_a_correction_that_keeps_the_count_keeps_the_holding(client, sms):
    scheme = Scheme(client, sms)
    donor, _, headers, donations = scheme.holder()
    response = client.post(
        f"/api/v1/admin/donations/{donations[-1]['id']}/correction",
        json={"reason": "采集地点录入错误", "volume_ml": 400},
        headers=scheme.admin,
    )
    assert response.status_code == 201, response.get_json()
    rows = db.session.scalars(select(BenefitHolding).where(BenefitHolding.donor_id == donor.id))
    assert [(row.route, row.withdrawn_at) for row in rows] == [("region_donation_count", None)]


def test_a_300_ml_donation_counts_one_and_a_half_toward_the_twenty(client, sms):
    # POLICY.md "Decisions (2026-11-30)": 300 ml of whole blood counts 1.5; the Zhejiang
    # threshold is 20 counts (POLICY.md §3.1), so 19.5 is short and 20.5 reaches it.
    scheme = Scheme(client, sms)
    donor, data, headers = scheme.donor()
    with clock.travelled(-WHOLE_BLOOD_STEP):
        scheme.give(data, 10, volumes=[400] * 9 + [300])
        response = scheme.apply(headers)
    assert response.get_json()["outcome"] == "refused"
    route = count_route(response.get_json()["benefits"])
    assert (route["counted"], route["required"], route["remaining"]) == (19.5, 20, 0.5)
    assert route["not_yet_counted"] == []
    assert "已累计19.5次" in route["message"] and "还差0.5次" in route["message"]
    assert "再献1次200毫升全血" in route["message"]
    refused = db.session.scalar(select(BenefitApplication))
    assert (refused.counted_half_counts, refused.counted) == (39, Fraction(39, 2))
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "benefit.application_refused")
    )
    assert entry.details["counted"] == 19.5
    scheme.give(data, 1, volume_ml=200)
    assert scheme.apply(headers).get_json()["outcome"] == "granted"
    card = client.get("/api/v1/me/card", headers=headers).get_json()
    assert card["award_counts"] == 20.5


def test_donations_in_another_region_do_not_count_toward_zhejiang(client, sms):
    # Zhejiang route b counts donations in Zhejiang only (POLICY.md §3.1).
    scheme = Scheme(client, sms)
    _, data, headers = scheme.donor()
    shandong_site = make_site(region="shandong")
    scheme.staff = staff_token(client, make_staff([shandong_site]))
    scheme.give(data, 10, site=shandong_site)
    response = scheme.apply(headers, region="zhejiang")
    assert response.get_json()["outcome"] == "refused"
    assert count_route(response.get_json()["benefits"])["counted"] == 0


def test_a_bronze_award_won_in_zhejiang_holds_from_its_date(client, sms):
    # Art. 25: holders of the national dedication award; current practice: won in Zhejiang.
    scheme = Scheme(client, sms)
    donor, _, headers = scheme.donor()
    response = scheme.award(donor.id, awarded_on="2025-08-01", reason=NOT_ON_RECORD)
    assert response.status_code == 201, response.get_json()
    region = zhejiang(client.get("/api/v1/me/benefits", headers=headers).get_json())
    assert region["held"] is True
    [holding] = region["holdings"]
    assert holding["route"] == "national_award"
    assert holding["since"].startswith("2025-08-01T00:00:00+08:00")
    assert holding["award"]["award_name"] == "无偿献血奉献奖铜奖"


def test_an_award_won_elsewhere_does_not_earn_zhejiangs_benefits(client, sms):
    scheme = Scheme(client, sms)
    donor, _, headers = scheme.donor()
    assert scheme.award(donor.id, region="shandong", reason=NOT_ON_RECORD).status_code == 201
    view = client.get("/api/v1/me/benefits", headers=headers).get_json()
    assert zhejiang(view)["held"] is False
    shandong = next(region for region in view["regions"] if region["region"] == "shandong")
    # Zibo: an award won in Shandong with the Zibo card; the question about others stays open.
    assert shandong["held"] is True
    assert shandong["routes"][0]["question"]


def test_revoking_the_award_withdraws_the_benefits_at_once(client, sms):
    scheme = Scheme(client, sms)
    donor, _, headers = scheme.donor()
    grant = scheme.award(donor.id, reason=NOT_ON_RECORD).get_json()
    response = client.post(
        f"/api/v1/admin/awards/{grant['id']}/revoke",
        json={"reason": "登记到了错误的献血者"},
        headers=scheme.admin,
    )
    assert response.status_code == 200
    assert response.get_json()["revoked_at"]
    assert zhejiang(client.get("/api/v1/me/benefits", headers=headers).get_json())["held"] is False
    again = client.post(
        f"/api/v1/admin/awards/{grant['id']}/revoke", json={"reason": "重复"}, headers=scheme.admin
    )
    assert again.status_code == 409


def test_award_records_are_validated_and_unique(client, sms):
    scheme = Scheme(client, sms)
    donor, _, _ = scheme.donor()
    assert scheme.award(donor.id, award="platinum").get_json()["code"] == "award_unknown"
    assert scheme.award(donor.id, region="mars").get_json()["code"] == "region_unknown"
    assert scheme.award(donor.id, period="20x2").get_json()["code"] == "award_period_invalid"
    assert scheme.award(donor.id, awarded_on="2999-01-01").status_code == 422
    assert scheme.award(donor.id, reason=NOT_ON_RECORD).status_code == 201
    assert scheme.award(donor.id, reason=NOT_ON_RECORD).status_code == 409
    assert scheme.award(999999).status_code == 404
    listed = client.get(f"/api/v1/admin/donors/{donor.id}/awards", headers=scheme.admin)
    assert listed.get_json()["page"]["total"] == 1


def test_only_admins_record_awards(client, sms):
    scheme = Scheme(client, sms)
    donor, _, headers = scheme.donor()
    body = {
        "award": "gold",
        "region": "zhejiang",
        "period": "2022-2023",
        "decision": "x号",
        "awarded_on": "2025-08-01",
    }
    path = f"/api/v1/admin/donors/{donor.id}/awards"
    assert client.post(path, json=body, headers=headers).status_code == 403
    staff = {"Authorization": f"Bearer {scheme.staff}"}
    assert client.post(path, json=body, headers=staff).status_code == 403


def test_applying_where_no_application_route_exists_is_refused(client, sms):
    # Shandong/Zibo (POLICY.md §3.4): awards only, no counted-donations route.
    scheme = Scheme(client, sms)
    _, _, headers = scheme.donor()
    response = scheme.apply(headers, region="shandong")
    assert response.status_code == 422
    assert response.get_json()["code"] == "benefit_route_unavailable"
    assert scheme.apply(headers, region="atlantis").get_json()["code"] == "region_unknown"


def test_the_card_includes_the_benefits(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    card = client.get("/api/v1/me/card", headers=headers).get_json()
    region = zhejiang(card["benefits"])
    assert region["held"] is True
    assert card["award_counts"] == 20


def test_a_donor_sees_only_their_own_benefits(client, sms):
    scheme = Scheme(client, sms)
    _, _, holder_headers, _ = scheme.holder()
    _, _, other_headers = scheme.donor()
    other = client.get("/api/v1/me/benefits", headers=other_headers).get_json()
    assert zhejiang(other)["held"] is False
    assert count_route(zhejiang(other))["counted"] == 0
    mine = client.get("/api/v1/me/benefits", headers=holder_headers).get_json()
    assert zhejiang(mine)["held"] is True


def test_an_admin_reads_a_donors_benefits_and_the_look_is_logged(client, sms):
    scheme = Scheme(client, sms)
    donor, _, _, _ = scheme.holder()
    response = client.get(f"/api/v1/admin/donors/{donor.id}/benefits", headers=scheme.admin)
    assert zhejiang(response.get_json())["held"] is True
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "donor.benefits_viewed_by_staff")
    )
    assert entry.target_id == str(donor.id)
    staff = {"Authorization": f"Bearer {scheme.staff}"}
    assert client.get(f"/api/v1/admin/donors/{donor.id}/benefits", headers=staff).status_code == 403


def test_a_donation_not_yet_counted_is_shown_with_its_open_question(app):
    # POLICY.md: a donation the rules give no settled count is shown with its question, never 0.
    donation = Donation(donation_date=date(2026, 5, 4), kind="platelets", units=2, volume_ml=250)
    item = CountedDonation(donation=donation, counts=None, open_question="not yet decided")
    assert UncountedSchema().dump(item) == {
        "donation_date": "2026-05-04",
        "kind": "platelets",
        "amount": 2,
        "unit": "unit",
        "question": "not yet decided",
    }

"""Eligibility from the region policy: ages, intervals, yearly caps, deferrals."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from certificate.eligibility import age_on, check_eligibility
from certificate.policy import donation_rules
from core import clock
from core.policy import policy_for
from tests.factories import (
    at,
    bearer,
    donor_record,
    look_up,
    make_site,
    make_staff,
    record,
    resident_id,
    staff_token,
)


def defer(client, token, site, donor, reason_code: str, **fields):
    """POST /staff/deferrals for `donor` at `site` as the holder of `token`, the donor having been
    looked up at the site's desk first (issue 18 item 7: only donors the site serves)."""
    look_up(client, token, site, donor.id_number)
    body = {"site_id": site.id, "donor_id": donor.id, "reason_code": reason_code, **fields}
    return client.post("/api/v1/staff/deferrals", json=body, headers=bearer(token))


def kinds(client, token, on: date) -> dict:
    body = client.get(f"/api/v1/me/eligibility?on={on.isoformat()}", headers=bearer(token))
    assert body.status_code == 200, body.get_json()
    return {item["kind"]: item for item in body.get_json()["kinds"]}


def test_age_is_counted_in_completed_years():
    assert age_on(date(2000, 6, 15), date(2018, 6, 14)) == 17
    assert age_on(date(2000, 6, 15), date(2018, 6, 15)) == 18
    assert age_on(date(2000, 2, 29), date(2018, 2, 28)) == 17


def test_a_17_year_old_may_give_from_the_18th_birthday(client, sms):
    # GB 18467-2011 §7.1 / 献血法 Art. 2: donors are 18 to 55.
    _, data = donor_record(client, sms, id_number=resident_id(birth="20090301"))
    result = kinds(client, data["tokens"]["access_token"], date(2026, 11, 22))["whole_blood"]
    assert result["allowed"] is False
    assert result["earliest_date"] == "2027-03-01"
    assert [r["code"] for r in result["reasons"]] == ["too_young"]
    assert result["reasons"][0]["message"] == "未达到献血年龄。"


def test_a_first_time_donor_over_55_is_refused_without_a_date(client, sms):
    # GB 18467-2011: the extension to 60 applies only to repeat donors.
    _, data = donor_record(client, sms, id_number=resident_id(birth="19700101"))
    result = kinds(client, data["tokens"]["access_token"], date(2026, 11, 22))["whole_blood"]
    assert result["allowed"] is False
    assert result["earliest_date"] is None
    assert result["reasons"][0]["code"] == "too_old_first_time"


def test_a_repeat_donor_may_continue_past_55(client, sms, desk):
    # GB 18467-2011: repeat donors may continue to 60.
    site, token = desk
    _, data = donor_record(client, sms, id_number=resident_id(birth="19700101"))
    with clock.frozen_at(at(date(2024, 12, 1))):
        assert record(client, token, site, data["plain"]["id_number"]).status_code == 201
    result = kinds(client, data["tokens"]["access_token"], date(2026, 11, 22))["whole_blood"]
    assert result["allowed"] is True, result


def test_whole_blood_again_after_six_calendar_months(client, sms, desk):
    # GB 18467-2011 (mandatory): whole blood -> whole blood at least 6 months.
    site, token = desk
    _, data = donor_record(client, sms)
    with clock.frozen_at(at(date(2026, 8, 31))):
        assert record(client, token, site, data["plain"]["id_number"]).status_code == 201
    result = kinds(client, data["tokens"]["access_token"], date(2026, 11, 22))
    assert result["whole_blood"]["allowed"] is False
    assert result["whole_blood"]["earliest_date"] == "2027-02-28"
    assert result["whole_blood"]["reasons"][0]["code"] == "interval"
    # whole blood -> apheresis platelets: 3 months.
    assert result["apheresis_platelets"]["earliest_date"] == "2026-11-30"


def test_platelets_then_whole_blood_after_four_weeks(client, sms, desk):
    # GB 18467-2011: apheresis platelets -> whole blood 4 weeks; -> platelets 2 weeks.
    site, token = desk
    _, data = donor_record(client, sms)
    with clock.frozen_at(at(date(2026, 11, 1))):
        response = record(
            client,
            token,
            site,
            data["plain"]["id_number"],
            kind="apheresis_platelets",
            volume_ml=260,
            units=1,
        )
        assert response.status_code == 201
    result = kinds(client, data["tokens"]["access_token"], date(2026, 11, 10))
    assert result["whole_blood"]["earliest_date"] == "2026-11-29"
    assert result["apheresis_platelets"]["earliest_date"] == "2026-11-15"


def test_the_yearly_platelet_cap(app, client, sms, desk):
    # GB 18467-2011: apheresis platelets at most 24 times a year.
    site, token = desk
    donor, data = donor_record(client, sms)
    policy = policy_for("zhejiang")
    cap = donation_rules(policy).kind("apheresis_platelets").max_per_year
    start = date(2026, 1, 5)
    for index in range(cap):
        with clock.frozen_at(at(start + timedelta(days=14 * index))):
            response = record(
                client,
                token,
                site,
                data["plain"]["id_number"],
                kind="apheresis_platelets",
                volume_ml=260,
                units=1,
            )
            assert response.status_code == 201, (index, response.get_json())
    last = start + timedelta(days=14 * (cap - 1))
    result = check_eligibility(donor, "apheresis_platelets", last + timedelta(days=14), policy)
    assert not result.allowed
    assert "yearly_cap" in [reason.code for reason in result.reasons]
    assert result.earliest_date == date(2027, 1, 1)


def test_a_deferral_shows_a_neutral_message_and_its_end_date(client, sms):
    site = make_site()
    staff = staff_token(client, make_staff([site]))
    donor, data = donor_record(client, sms)
    response = defer(
        client, staff, site, donor, "tattoo_or_blood_exposure_injury", anchor_date="2026-10-01"
    )
    assert response.status_code == 201, response.get_json()
    # GB 18467-2011: tattoo -> 1 year.
    assert response.get_json()["until"] == "2027-10-01"
    result = kinds(client, data["tokens"]["access_token"], date(2026, 11, 22))["whole_blood"]
    assert result["allowed"] is False
    assert result["earliest_date"] == "2027-10-01"
    assert result["reasons"] == [
        {
            "code": "deferred",
            "message": "暂时不能献血，请在可献血日期后再来。",
            "until": "2027-10-01",
        }
    ]
    assert "tattoo" not in str(result)


def test_a_permanent_deferral_has_no_date(client, sms):
    site = make_site()
    staff = staff_token(client, make_staff([site]))
    donor, data = donor_record(client, sms)
    defer(client, staff, site, donor, "tattoo_or_blood_exposure_injury", permanent=True)
    result = kinds(client, data["tokens"]["access_token"], clock.local_today())["whole_blood"]
    assert result["allowed"] is False and result["earliest_date"] is None


def test_a_deferral_for_platelets_only_leaves_whole_blood(client, sms):
    # GB 18467-2011: aspirin defers apheresis platelets only, 5 days after the last dose.
    site = make_site()
    staff = staff_token(client, make_staff([site]))
    donor, data = donor_record(client, sms)
    defer(client, staff, site, donor, "antiplatelet_drug", anchor_date="2026-11-20")
    result = kinds(client, data["tokens"]["access_token"], date(2026, 11, 22))
    assert result["apheresis_platelets"]["earliest_date"] == "2026-11-25"
    assert result["whole_blood"]["allowed"] is True


def test_an_unknown_deferral_reason_is_refused(client, sms):
    site = make_site()
    staff = staff_token(client, make_staff([site]))
    donor, _ = donor_record(client, sms)
    response = defer(client, staff, site, donor, "made_up", anchor_date="2026-11-20")
    assert response.status_code == 422


def test_donors_cannot_record_deferrals(client, sms):
    site = make_site()
    donor, data = donor_record(client, sms)
    body = {"site_id": site.id, "donor_id": donor.id, "reason_code": "uri_cold"}
    response = client.post(
        "/api/v1/staff/deferrals", json=body, headers=bearer(data["tokens"]["access_token"])
    )
    assert response.status_code == 403


def test_the_card_shows_totals_latest_certificate_and_next_dates(client, sms, desk):
    site, token = desk
    _, data = donor_record(client, sms)
    donation = record(client, token, site, data["plain"]["id_number"]).get_json()
    card = client.get("/api/v1/me/card", headers=bearer(data["tokens"]["access_token"])).get_json()
    assert card["donations"] == 1 and card["award_counts"] == 2
    assert card["by_kind"]["whole_blood"]["volume_ml"] == 400
    assert card["latest_certificate"]["number"] == donation["certificate"]["number"]
    whole = next(item for item in card["next_eligible"] if item["kind"] == "whole_blood")
    assert whole["allowed"] is False and whole["earliest_date"]


def codes(result: dict) -> list[str]:
    return [reason["code"] for reason in result["reasons"]]


@pytest.mark.parametrize(
    ("birth", "last_day", "first_refused"),
    [
        ("19710315", date(2027, 3, 14), date(2027, 3, 15)),
        # 29 February + 56 years is always a leap day: the birthday itself is refused.
        ("19720229", date(2028, 2, 28), date(2028, 2, 29)),
    ],
)
def test_a_first_time_donor_is_accepted_until_the_day_before_the_56th_birthday(
    client, sms, birth, last_day, first_refused
):
    # POLICY.md "Decisions (2026-11-30)": ages are inclusive; a first-time donor is accepted
    # until the day before the 56th birthday.
    _, data = donor_record(client, sms, id_number=resident_id(birth=birth))
    token = data["tokens"]["access_token"]
    assert kinds(client, token, last_day)["whole_blood"]["allowed"] is True
    refused = kinds(client, token, first_refused)["whole_blood"]
    assert refused["allowed"] is False and refused["earliest_date"] is None
    assert codes(refused) == ["too_old_first_time"]


@pytest.mark.parametrize(
    ("birth", "first_donation", "last_day", "first_refused"),
    [
        ("19660710", date(2021, 6, 1), date(2027, 7, 9), date(2027, 7, 10)),
        # 29 February + 61 years falls in a common year: the 61st birthday completes on
        # 1 March (age_on), so 28 February is the last day.
        ("19680229", date(2020, 6, 1), date(2029, 2, 28), date(2029, 3, 1)),
    ],
)
def test_a_repeat_donor_is_accepted_until_the_day_before_the_61st_birthday(
    client, sms, desk, birth, first_donation, last_day, first_refused
):
    # POLICY.md "Decisions (2026-11-30)": a repeat donor (an earlier recorded donation and no
    # recorded reaction) is accepted until the day before the 61st birthday.
    site, staff = desk
    _, data = donor_record(client, sms, id_number=resident_id(birth=birth))
    with clock.frozen_at(at(first_donation)):
        assert record(client, staff, site, data["plain"]["id_number"]).status_code == 201
    token = data["tokens"]["access_token"]
    allowed = kinds(client, token, last_day)["whole_blood"]
    assert allowed["allowed"] is True, allowed
    refused = kinds(client, token, first_refused)["whole_blood"]
    assert refused["allowed"] is False and refused["earliest_date"] is None
    assert codes(refused) == ["too_old_repeat"]


def test_plasma_is_not_offered_before_or_after_whole_blood(client, sms, desk):
    # POLICY.md "Decisions (2026-11-30)": plasma-only apheresis answers kind_not_offered,
    # never allowed and never undecided; whole blood is unaffected.
    site, token = desk
    _, data = donor_record(client, sms)
    with clock.frozen_at(at(date(2026, 1, 5))):
        assert record(client, token, site, data["plain"]["id_number"]).status_code == 201
    result = kinds(client, data["tokens"]["access_token"], date(2026, 11, 22))
    plasma = result["apheresis_plasma"]
    assert plasma["allowed"] is False and plasma["earliest_date"] is None
    assert codes(plasma) == ["kind_not_offered"]
    assert result["whole_blood"]["allowed"] is True


def test_staff_defer_and_lift_only_at_sites_they_serve(client, sms):
    site, elsewhere = make_site(), make_site()
    staff = staff_token(client, make_staff([site]))
    other_staff = staff_token(client, make_staff([elsewhere]))
    donor, _ = donor_record(client, sms)
    look_up(client, staff, site, donor.id_number)
    body = {"donor_id": donor.id, "reason_code": "uri_cold", "anchor_date": "2026-11-20"}
    refused = client.post(
        "/api/v1/staff/deferrals", json={**body, "site_id": elsewhere.id}, headers=bearer(staff)
    )
    assert refused.status_code == 403
    made = client.post(
        "/api/v1/staff/deferrals", json={**body, "site_id": site.id}, headers=bearer(staff)
    ).get_json()
    path = f"/api/v1/staff/deferrals/{made['id']}"
    # Issue 18 item 7: another site's deferral is answered as one that does not exist.
    other = client.delete(path, headers=bearer(other_staff))
    unknown = client.delete("/api/v1/staff/deferrals/999999", headers=bearer(other_staff))
    assert (other.status_code, other.get_json()) == (unknown.status_code, unknown.get_json())
    assert other.status_code == 404
    lifted = client.delete(path, headers=bearer(staff))
    assert lifted.status_code == 200 and lifted.get_json()["lifted_at"]

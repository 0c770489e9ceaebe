"""The date of a donation: checked against the donations on both sides, never in the future,
not older than staff may enter, and on the day of the visit it was recorded for.

POLICY.md "Decisions (2026-11-30)": a donation dated earlier than the last recorded one is
checked against the donations before and after it; an interval too short on either side is
refused like any other. Intervals: GB 18467-2011 (POLICY.md §1.5).
"""

from __future__ import annotations

import csv
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from certificate.eligibility import check_eligibility
from certificate.models import Donation
from core import clock
from core.extensions import db
from core.ids import make_din
from core.models import AuditEntry
from core.policy import policy_for
from tests.factories import (
    ENGLISH_COMMAND_LINE,
    bearer,
    donor_record,
    make_site,
    make_staff,
    record,
    resident_id,
    staff_token,
)


def local(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), clock.LOCAL_ZONE)


@pytest.fixture
def desk(client, daytime):
    site = make_site()
    return site, staff_token(client, make_staff([site]))


def eligibility_codes(response) -> list[str]:
    return [reason["code"] for reason in response.get_json()["errors"]["eligibility"]]


def test_a_donation_dated_before_one_on_record_is_checked_against_it(client, sms, desk):
    site, staff = desk
    _, data = donor_record(client, sms)
    id_number = data["plain"]["id_number"]
    assert record(client, staff, site, id_number).status_code == 201
    five_days_ago = local(clock.local_today() - timedelta(days=5))
    earlier = record(client, staff, site, id_number, collected_at=five_days_ago.isoformat())
    assert earlier.status_code == 409
    assert earlier.get_json()["code"] == "donor_not_eligible"
    assert eligibility_codes(earlier) == ["interval_later_donation"]
    assert len(db.session.scalars(select(Donation)).all()) == 1


def test_the_interval_to_a_later_donation_of_another_kind_applies_too(client, sms, desk):
    # GB 18467-2011: whole blood -> apheresis platelets at least 3 months.
    site, staff = desk
    donor, data = donor_record(client, sms)
    id_number = data["plain"]["id_number"]
    given = record(
        client, staff, site, id_number, kind="apheresis_platelets", volume_ml=260, units=1
    )
    assert given.status_code == 201
    policy = policy_for("zhejiang")
    three_days_ago = clock.local_today() - timedelta(days=3)
    result = check_eligibility(donor, "whole_blood", three_days_ago, policy)
    assert [reason.code for reason in result.reasons] == ["interval_later_donation"]
    assert result.earliest_date is None
    # Platelets -> platelets is two weeks: three days before is too close as well.
    result = check_eligibility(donor, "apheresis_platelets", three_days_ago, policy)
    assert [reason.code for reason in result.reasons] == ["interval_later_donation"]


def test_a_correction_to_an_earlier_date_is_checked_on_both_sides(client, sms, desk):
    # The case: whole blood today, and another corrected to 60 days before it.
    site, staff = desk
    _, data = donor_record(client, sms)
    id_number = data["plain"]["id_number"]
    with clock.travelled(-timedelta(days=400)):
        old = record(client, staff, site, id_number).get_json()
    assert record(client, staff, site, id_number).status_code == 201
    admin = bearer(staff_token(client, make_staff(admin=True)))
    sixty_days_ago = local(clock.local_today() - timedelta(days=60)).isoformat()
    path = f"/api/v1/admin/donations/{old['id']}/correction"
    body = {"reason": "采集日期录入错误", "collected_at": sixty_days_ago}
    refused = client.post(path, json=body, headers=admin)
    assert refused.status_code == 409, refused.get_json()
    assert eligibility_codes(refused) == ["interval_later_donation"]
    assert db.session.get(Donation, old["id"]).status == "valid"  # nothing changed
    overridden = client.post(
        path, json={**body, "override_reason": "血站原始记录核实无误"}, headers=admin
    )
    assert overridden.status_code == 201, overridden.get_json()
    assert overridden.get_json()["override_reason"] == "血站原始记录核实无误"
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "donation.eligibility_overridden" in actions


def test_a_correction_into_the_future_is_refused(client, sms, desk):
    site, staff = desk
    _, data = donor_record(client, sms)
    given = record(client, staff, site, data["plain"]["id_number"]).get_json()
    admin = bearer(staff_token(client, make_staff(admin=True)))
    tomorrow = local(clock.local_today() + timedelta(days=1)).isoformat()
    response = client.post(
        f"/api/v1/admin/donations/{given['id']}/correction",
        json={"reason": "采集日期录入错误", "collected_at": tomorrow},
        headers=admin,
    )
    assert response.status_code == 422
    assert response.get_json()["code"] == "collected_in_future"


def test_staff_may_enter_a_donation_up_to_seven_days_back(client, sms, desk):
    site, staff = desk
    _, data = donor_record(client, sms)
    id_number = data["plain"]["id_number"]
    today = clock.local_today()
    eight_days_back = local(today - timedelta(days=8), 23).isoformat()
    too_old = record(client, staff, site, id_number, collected_at=eight_days_back)
    assert too_old.status_code == 422
    assert too_old.get_json()["code"] == "collected_too_long_ago"
    assert "collected_at" in too_old.get_json()["errors"]
    seven_days_back = local(today - timedelta(days=7), 0).isoformat()
    oldest = record(client, staff, site, id_number, collected_at=seven_days_back)
    assert oldest.status_code == 201, oldest.get_json()


def test_the_entry_window_is_a_setting(app, client, sms, desk, monkeypatch):
    monkeypatch.setitem(app.config, "STAFF_ENTRY_MAX_AGE_DAYS", 2)
    site, staff = desk
    _, data = donor_record(client, sms)
    three_days_ago = local(clock.local_today() - timedelta(days=3)).isoformat()
    response = record(client, staff, site, data["plain"]["id_number"], collected_at=three_days_ago)
    assert response.get_json()["code"] == "collected_too_long_ago"


def test_a_donation_for_a_visit_is_collected_on_the_visits_day(client, sms, desk):
    site, staff = desk
    _, data = donor_record(client, sms)
    visit = client.post(
        "/api/v1/staff/checkins",
        json={"site_id": site.id, "id_number": data["plain"]["id_number"]},
        headers=bearer(staff),
    ).get_json()
    body = {"site_id": site.id, "visit_id": visit["id"], "kind": "whole_blood", "volume_ml": 400}
    yesterday = local(clock.local_today() - timedelta(days=1)).isoformat()
    headers = {**bearer(staff), "Idempotency-Key": "visit-day-check-1"}
    wrong = client.post(
        "/api/v1/staff/donations", json={**body, "collected_at": yesterday}, headers=headers
    )
    assert wrong.status_code == 422
    assert wrong.get_json()["code"] == "collected_not_on_visit_day"
    headers = {**bearer(staff), "Idempotency-Key": "visit-day-check-2"}
    right = client.post(
        "/api/v1/staff/donations",
        json={**body, "collected_at": clock.now().isoformat()},
        headers=headers,
    )
    assert right.status_code == 201, right.get_json()


def test_the_yearly_cap_counts_donations_later_in_the_year(app, client, sms, tmp_path):
    # GB 18467-2011: apheresis platelets at most 24 a year; the year is the calendar year of
    # the date asked about, whichever side of it the donations are.
    donor, data = donor_record(client, sms, id_number=resident_id(birth="19880808"))
    first = date(2025, 1, 20)
    path = tmp_path / "history.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id_number", "name", "din", "kind", "volume_ml", "units", "donation_date"])
        for n in range(24):
            made = make_din("W3301", 2025, 500 + n)
            day = first + timedelta(days=14 * n)
            writer.writerow(
                [
                    data["plain"]["id_number"],
                    "张伟",
                    made.body + made.check,
                    "apheresis_platelets",
                    "",
                    "1",
                    day.isoformat(),
                ]
            )
    output = (
        app.test_cli_runner()
        .invoke(args=["certificate", "import", str(path)], env=ENGLISH_COMMAND_LINE)
        .output
    )
    assert "loaded 24" in output, output
    result = check_eligibility(
        donor, "apheresis_platelets", date(2025, 1, 2), policy_for("zhejiang")
    )
    assert [reason.code for reason in result.reasons] == ["yearly_cap"]

"""Recording a donation can name the check-in visit; the donation event then fulfils the visit
and its booking in the same transaction (or rolls them back with it)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import func, select

from appointments.models import Booking, Slot, Visit
from certificate.events import donation_recorded
from certificate.models import Donation
from core import clock
from core.extensions import db
from tests.factories import bearer, make_site, make_staff, record, staff_token
from tests.factories.appointments import open_day, quick_donor


def today_at(hour: int, minute: int = 0):
    """A fixed local time today, so today's 09:00-12:00 session fits whenever the suite runs."""
    return clock.frozen_at(
        datetime.combine(clock.local_today(), time(hour, minute), clock.LOCAL_ZONE)
    )


def at_nine_today():
    return today_at(9, 5)


def booked_and_checked_in(client, site, staff):
    """A donor with a booking at the site today, checked in by QR code."""
    donor, token = quick_donor()
    with today_at(7):
        slots = open_day(site, clock.local_today(), opens="09:00", closes="12:00")
        booking = client.post(
            "/api/v1/me/appointments", json={"slot_id": slots[-1].id}, headers=bearer(token)
        ).get_json()
    with at_nine_today():
        code = client.get("/api/v1/me/checkin-code", headers=bearer(token)).get_json()["code"]
        visit = client.post(
            "/api/v1/staff/checkins",
            json={"site_id": site.id, "code": code},
            headers=bearer(staff),
        ).get_json()
    return donor, booking, visit


def record_for_visit(client, staff, site, visit_id, **fields):
    body = {
        "site_id": site.id,
        "visit_id": visit_id,
        "kind": "whole_blood",
        "volume_ml": 400,
        "collected_at": clock.now().isoformat(),
        **fields,
    }
    headers = {**bearer(staff), "Idempotency-Key": f"visit-{visit_id}-{len(fields)}-key"}
    return client.post("/api/v1/staff/donations", json=body, headers=headers)


def setup(client):
    site = make_site()
    return site, staff_token(client, make_staff([site]))


def test_a_donation_for_the_visit_fulfils_visit_and_booking(client):
    site, staff = setup(client)
    donor, booking, visit = booked_and_checked_in(client, site, staff)
    with at_nine_today():
        response = record_for_visit(client, staff, site, visit["id"])
    assert response.status_code == 201, response.get_json()
    donation = response.get_json()
    assert donation["donor_id"] == donor.id
    stored = db.session.get(Visit, visit["id"], populate_existing=True)
    assert stored.status == "donated" and stored.donation_id == donation["id"]
    assert db.session.get(Donation, donation["id"]).visit_id == visit["id"]
    booked = db.session.get(Booking, booking["id"], populate_existing=True)
    assert booked.status == "fulfilled" and booked.donation_id == donation["id"]


def test_a_failing_listener_leaves_visit_and_booking_as_they_were(client):
    site, staff = setup(client)
    _, booking, visit = booked_and_checked_in(client, site, staff)

    def broken(sender, donation):
        raise RuntimeError("listener failed")

    donation_recorded.connect(broken)
    try:
        with at_nine_today():
            response = record_for_visit(client, staff, site, visit["id"])
    finally:
        donation_recorded.disconnect(broken)
    assert response.status_code == 500
    assert db.session.scalar(select(func.count()).select_from(Donation)) == 0
    assert db.session.get(Visit, visit["id"], populate_existing=True).status == "open"
    assert db.session.get(Booking, booking["id"], populate_existing=True).status == "checked_in"


def test_a_visit_gives_one_donation(client):
    site, staff = setup(client)
    _, _, visit = booked_and_checked_in(client, site, staff)
    with at_nine_today():
        record_for_visit(client, staff, site, visit["id"])
        again = record_for_visit(client, staff, site, visit["id"], volume_ml=200)
    assert again.status_code == 409 and again.get_json()["code"] == "visit_not_open"
    assert db.session.scalar(select(func.count()).select_from(Donation)) == 1


def test_a_visit_at_another_site_is_refused(client):
    site, staff = setup(client)
    other_site = make_site()
    both = staff_token(client, make_staff([site, other_site]))
    _, _, visit = booked_and_checked_in(client, site, staff)
    with at_nine_today():
        response = record_for_visit(client, both, other_site, visit["id"])
    assert response.status_code == 409 and response.get_json()["code"] == "visit_other_site"


def test_an_unknown_visit_is_not_found(client):
    site, staff = setup(client)
    response = record_for_visit(client, staff, site, 987654)
    assert response.status_code == 404 and response.get_json()["code"] == "visit_not_found"


def test_give_the_donor_or_the_visit_not_both(client):
    site, staff = setup(client)
    donor, _, visit = booked_and_checked_in(client, site, staff)
    with at_nine_today():
        both = record_for_visit(
            client, staff, site, visit["id"], donor={"id_number": donor.id_number}
        )
        neither = client.post(
            "/api/v1/staff/donations",
            json={
                "site_id": site.id,
                "kind": "whole_blood",
                "volume_ml": 400,
                "collected_at": clock.now().isoformat(),
            },
            headers={**bearer(staff), "Idempotency-Key": "neither-donor-nor-visit"},
        )
    assert both.status_code == neither.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Donation)) == 0


def test_recording_by_id_number_fulfils_the_open_visit_there(client):
    site, staff = setup(client)
    donor, booking, visit = booked_and_checked_in(client, site, staff)
    with at_nine_today():
        response = record(client, staff, site, donor.id_number)
    assert response.status_code == 201
    assert db.session.get(Visit, visit["id"], populate_existing=True).status == "donated"
    assert db.session.get(Booking, booking["id"], populate_existing=True).status == "fulfilled"


def test_a_booking_without_check_in_is_fulfilled_by_the_days_donation(client):
    site, staff = setup(client)
    donor, token = quick_donor()
    with today_at(7):
        slots = open_day(site, clock.local_today(), opens="09:00", closes="12:00")
        booking = client.post(
            "/api/v1/me/appointments", json={"slot_id": slots[-1].id}, headers=bearer(token)
        ).get_json()
    with at_nine_today():
        assert record(client, staff, site, donor.id_number).status_code == 201
    assert db.session.get(Booking, booking["id"], populate_existing=True).status == "fulfilled"


def test_a_closed_visit_takes_no_donation(client):
    site, staff = setup(client)
    _, _, visit = booked_and_checked_in(client, site, staff)
    client.post(
        f"/api/v1/staff/visits/{visit['id']}/close",
        json={"outcome": "left_without_donating"},
        headers=bearer(staff),
    )
    with at_nine_today():
        response = record_for_visit(client, staff, site, visit["id"])
    assert response.status_code == 409 and response.get_json()["code"] == "visit_not_open"
    assert (
        visit["booking"]
        and db.session.get(Booking, visit["booking"]["id"], populate_existing=True).status
        == "not_donated"
    )


def test_the_visit_keeps_the_answers_signed_before_the_donation(client):
    site, staff = setup(client)
    _, token = quick_donor()
    with at_nine_today():
        visit = client.post(
            "/api/v1/staff/checkins",
            json={
                "site_id": site.id,
                "code": client.get("/api/v1/me/checkin-code", headers=bearer(token)).get_json()[
                    "code"
                ],
            },
            headers=bearer(staff),
        ).get_json()
        assert visit["questionnaire"]["status"] == "missing"
        form = client.get("/api/v1/questionnaires/current", headers=bearer(token)).get_json()
        client.post(
            "/api/v1/me/questionnaire",
            json={
                "version": form["version"],
                "answers": [{"code": q["code"], "answer": False} for q in form["questions"]],
                "consent": True,
            },
            headers=bearer(token),
        )
    with today_at(9, 30):
        seen = client.get(f"/api/v1/staff/visits/{visit['id']}", headers=bearer(staff))
        assert seen.get_json()["questionnaire"]["status"] == "valid"
        assert record_for_visit(client, staff, site, visit["id"]).status_code == 201
    stored = db.session.get(Visit, visit["id"], populate_existing=True)
    assert stored.questionnaire_response_id is not None


def test_a_donation_releases_a_later_booking_it_makes_impossible(client):
    # GB 18467-2011: whole blood -> whole blood at least 6 months apart, so the booking in
    # three days can no longer be kept; its place goes back (to the waiting list first).
    site, staff = setup(client)
    donor, token = quick_donor()
    later = open_day(site, clock.local_today() + timedelta(days=3), {"whole_blood": 1})
    booking = client.post(
        "/api/v1/me/appointments", json={"slot_id": later[0].id}, headers=bearer(token)
    ).get_json()
    assert record(client, staff, site, donor.id_number).status_code == 201
    mine = client.get(f"/api/v1/me/appointments/{booking['id']}", headers=bearer(token)).get_json()
    assert (mine["status"], mine["cancelled_by"]) == ("cancelled", "system")
    assert db.session.get(Slot, later[0].id, populate_existing=True).booked == 0

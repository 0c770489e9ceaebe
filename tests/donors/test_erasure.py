"""Erasure reaches every package: donors sends `donor_erased` in the erasure's transaction, and
appointments and notifications remove what they hold about the donor. The pseudonymous donation
records stay (blood services must keep them)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from appointments.models import (
    Booking,
    CheckinCodeUse,
    QuestionnaireResponse,
    Visit,
    WaitlistEntry,
)
from certificate.models import Certificate, Donation
from core import clock
from core.extensions import db
from notifications.models import OutboxMessage
from tests.factories import bearer, donor_record, record, request_erasure
from tests.factories.appointments import in_days, open_day, quick_donor
from tests.factories.notifications import auth_headers, desk, messages_to
from tests.timetravel import later


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def sign_health_form(client, data):
    form = client.get("/api/v1/questionnaires/current", headers=auth_headers(data)).get_json()
    answers = [{"code": question["code"], "answer": False} for question in form["questions"]]
    signed = client.post(
        "/api/v1/me/questionnaire",
        json={"version": form["version"], "answers": answers, "consent": True},
        headers=auth_headers(data),
    )
    assert signed.status_code == 201, signed.get_json()


def test_erasure_leaves_no_health_answers_or_pending_messages_and_keeps_the_donations(
    client, sms, daytime
):
    site, staff = desk(client)
    donor, data = donor_record(client, sms)
    with clock.travelled(-timedelta(days=400)):  # recorded by staff on the day, long ago
        given = record(client, staff, site, data["plain"]["id_number"])
    assert given.status_code == 201, given.get_json()
    sign_health_form(client, data)
    (slot, *_) = open_day(site, in_days(3))
    booked = client.post(
        "/api/v1/me/appointments", json={"slot_id": slot.id}, headers=auth_headers(data)
    )
    assert booked.status_code == 201, booked.get_json()
    assert count(QuestionnaireResponse, QuestionnaireResponse.donor_id == donor.id) == 1
    assert count(
        OutboxMessage, OutboxMessage.donor_id == donor.id, OutboxMessage.status == "pending"
    )
    with later(timedelta(minutes=2)):
        request_erasure(client, sms, data)
    assert count(QuestionnaireResponse, QuestionnaireResponse.donor_id == donor.id) == 0
    pending = [OutboxMessage.donor_id == donor.id, OutboxMessage.status == "pending"]
    assert count(OutboxMessage, *pending) == 0
    assert db.session.get(Booking, booked.get_json()["id"]).status == "cancelled"
    (donation,) = db.session.scalars(select(Donation).where(Donation.donor_id == donor.id))
    assert donation.status == "valid"
    assert count(Certificate, Certificate.donation_id == donation.id) == 1


def test_an_erased_donors_places_pass_to_other_donors(client, sms, daytime):
    site, _ = desk(client, name="武林献血屋")
    day = in_days(3)
    (slot,) = open_day(site, day, {"whole_blood": 1}, closes="09:30")
    leaving, data = donor_record(client, sms)
    booked = client.post(
        "/api/v1/me/appointments", json={"slot_id": slot.id}, headers=auth_headers(data)
    )
    assert booked.status_code == 201, booked.get_json()
    _, waiting = donor_record(client, sms)
    joined = client.post(
        "/api/v1/me/waitlist",
        json={"site_id": site.id, "day": day.isoformat(), "kind": "whole_blood"},
        headers=auth_headers(waiting),
    )
    assert joined.status_code == 201, joined.get_json()
    with later(timedelta(minutes=2)):
        request_erasure(client, sms, data)
    assert [body for body in messages_to(sms, waiting) if "名额空出" in body]


def test_an_erased_donor_leaves_every_waiting_list(client, sms, daytime):
    site, _ = desk(client)
    day = in_days(3)
    (slot,) = open_day(site, day, {"whole_blood": 1}, closes="09:30")
    _, booker = quick_donor()
    booked = client.post(
        "/api/v1/me/appointments", json={"slot_id": slot.id}, headers=bearer(booker)
    )
    assert booked.status_code == 201, booked.get_json()
    donor, data = donor_record(client, sms)
    joined = client.post(
        "/api/v1/me/waitlist",
        json={"site_id": site.id, "day": day.isoformat(), "kind": "whole_blood"},
        headers=auth_headers(data),
    )
    assert joined.status_code == 201, joined.get_json()
    with later(timedelta(minutes=2)):
        request_erasure(client, sms, data)
    entry = db.session.get(WaitlistEntry, joined.get_json()["id"])
    assert entry.status == "left"


def test_erasure_ends_an_open_visit_and_refuses_a_code_fetched_before(client, sms):
    site, staff = desk(client)
    donor, data = donor_record(client, sms)
    shown = client.get("/api/v1/me/checkin-code", headers=auth_headers(data)).get_json()["code"]
    scan = {"site_id": site.id, "code": shown}
    assert (
        client.post("/api/v1/staff/checkins", json=scan, headers=bearer(staff)).status_code == 201
    )
    with later(timedelta(minutes=2)):
        fetched = client.get("/api/v1/me/checkin-code", headers=auth_headers(data))
        request_erasure(client, sms, data)
        scan = {"site_id": site.id, "code": fetched.get_json()["code"]}
        refused = client.post("/api/v1/staff/checkins", json=scan, headers=bearer(staff))
    assert refused.status_code == 422 and refused.get_json()["code"] == "checkin_code_invalid"
    (visit,) = db.session.scalars(select(Visit).where(Visit.donor_id == donor.id))
    assert (visit.status, visit.outcome) == ("closed", "donor_erased")
    assert count(CheckinCodeUse, CheckinCodeUse.donor_id == donor.id) == 0

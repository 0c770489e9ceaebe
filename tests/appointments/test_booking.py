"""Booking: eligibility first, one active booking, cancel and reschedule until the cut-off,
no-shows, calendar files, and never a slot overbooked however many donors race for it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from appointments.models import Booking, Slot
from appointments.rules import booking_rules
from core import clock
from core.extensions import db
from tests.factories import bearer, make_site, make_staff, record, staff_token
from tests.factories.appointments import in_days, open_day, quick_donor, site_with_day, slots_on


def book(client, token, slot_id):
    return client.post("/api/v1/me/appointments", json={"slot_id": slot_id}, headers=bearer(token))


def free_of(slot_id: int) -> int:
    slot = db.session.get(Slot, slot_id, populate_existing=True)
    return slot.capacity - slot.booked - slot.held


def test_a_donor_books_a_slot_and_sees_it(client):
    site, slots = site_with_day(whole_blood=2)
    _, token = quick_donor()
    response = book(client, token, slots[0].id)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "booked" and body["kind"] == "whole_blood"
    assert body["kind_name"] == "全血"
    assert body["site"]["address"] == site.address
    assert body["starts_at"].endswith("+08:00")
    assert free_of(slots[0].id) == 1
    mine = client.get("/api/v1/me/appointments", headers=bearer(token)).get_json()
    assert [item["id"] for item in mine["items"]] == [body["id"]]


def test_the_public_slot_list_shows_free_places(client):
    site, slots = site_with_day(whole_blood=1)
    _, token = quick_donor()
    book(client, token, slots[0].id)
    listed = client.get(f"/api/v1/sites/{site.id}/slots?from={slots[0].day}&to={slots[0].day}")
    assert listed.status_code == 200
    by_id = {item["id"]: item for item in listed.get_json()["items"]}
    assert by_id[slots[0].id]["free"] == 0
    assert by_id[slots[1].id]["free"] == 1
    free_only = client.get(
        f"/api/v1/sites/{site.id}/slots?from={slots[0].day}&to={slots[0].day}&free_only=true"
    ).get_json()
    assert slots[0].id not in {item["id"] for item in free_only["items"]}


def test_eligibility_on_the_slot_day_is_checked_first(client, sms):
    # GB 18467-2011: whole blood -> whole blood at least 6 months apart.
    site = make_site()
    staff = staff_token(client, make_staff([site]))
    donor, token = quick_donor()
    assert record(client, staff, site, donor.id_number).status_code == 201
    slots = open_day(site, in_days(3))
    response = book(client, token, slots[0].id)
    assert response.status_code == 409
    assert response.get_json()["code"] == "not_eligible_on_date"
    # Issue 12 item 3: the reasons a client can act on, as GET /me/eligibility gives them.
    [reason] = response.get_json()["errors"]["eligibility"]
    assert reason["code"] == "interval" and reason["until"] and reason["message"]
    assert free_of(slots[0].id) == 2
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0


def test_the_earliest_date_given_is_six_months_after_the_last_whole_blood(client, sms):
    # GB 18467-2011: whole blood -> whole blood at least 6 (calendar) months apart.
    from core.policy import Period

    site = make_site()
    staff = staff_token(client, make_staff([site]))
    donor, token = quick_donor()
    record(client, staff, site, donor.id_number)
    slots = open_day(site, in_days(3))
    body = book(client, token, slots[0].id).get_json()
    expected = Period(months=6).add_to(clock.local_today())
    assert body["errors"]["earliest_date"] == [expected.isoformat()]


def test_one_active_booking_per_donor(client):
    _, slots = site_with_day()
    _, token = quick_donor()
    assert book(client, token, slots[0].id).status_code == 201
    second = book(client, token, slots[1].id)
    assert second.status_code == 409
    assert second.get_json()["code"] == "already_booked"
    assert free_of(slots[1].id) == 2


def test_a_booking_retried_with_its_idempotency_key_gets_the_first_answer(client):
    _, slots = site_with_day()
    _, token = quick_donor()
    headers = {**bearer(token), "Idempotency-Key": "booking-retry-0001"}
    body = {"slot_id": slots[0].id}
    first = client.post("/api/v1/me/appointments", json=body, headers=headers)
    again = client.post("/api/v1/me/appointments", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert free_of(slots[0].id) == 1
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1


def test_an_idempotency_key_cannot_be_reused_for_another_slot(client):
    _, slots = site_with_day()
    _, token = quick_donor()
    headers = {**bearer(token), "Idempotency-Key": "booking-retry-0002"}
    assert (
        client.post(
            "/api/v1/me/appointments", json={"slot_id": slots[0].id}, headers=headers
        ).status_code
        == 201
    )
    other = client.post("/api/v1/me/appointments", json={"slot_id": slots[1].id}, headers=headers)
    assert (other.status_code, other.get_json()["code"]) == (422, "idempotency_key_reused")
    assert free_of(slots[1].id) == 2


def test_a_malformed_idempotency_key_is_refused_and_books_nothing(client):
    _, slots = site_with_day()
    _, token = quick_donor()
    headers = {**bearer(token), "Idempotency-Key": "short"}
    refused = client.post("/api/v1/me/appointments", json={"slot_id": slots[0].id}, headers=headers)
    assert (refused.status_code, refused.get_json()["code"]) == (400, "idempotency_key_required")
    assert free_of(slots[0].id) == 2


def test_a_full_slot_refuses_and_points_to_the_waiting_list(client):
    _, slots = site_with_day(whole_blood=1)
    _, first = quick_donor()
    _, second = quick_donor()
    assert book(client, first, slots[0].id).status_code == 201
    full = book(client, second, slots[0].id)
    assert full.status_code == 409
    assert full.get_json()["code"] == "slot_full"


def test_cancelling_frees_the_place(client):
    _, slots = site_with_day()
    _, token = quick_donor()
    booking = book(client, token, slots[0].id).get_json()
    response = client.delete(f"/api/v1/me/appointments/{booking['id']}", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"
    assert response.get_json()["cancelled_by"] == "donor"
    assert free_of(slots[0].id) == 2
    again = client.delete(f"/api/v1/me/appointments/{booking['id']}", headers=bearer(token))
    assert again.status_code == 409 and again.get_json()["code"] == "booking_not_active"


def test_changes_close_at_the_cut_off(client):
    _, slots = site_with_day(days_ahead=1)
    _, token = quick_donor()
    booking = book(client, token, slots[0].id).get_json()
    cutoff = booking_rules("zhejiang").change_cutoff
    start = clock.as_utc(slots[0].starts_at)
    with clock.frozen_at(start - cutoff + timedelta(minutes=1)):
        cancel = client.delete(f"/api/v1/me/appointments/{booking['id']}", headers=bearer(token))
        move = client.post(
            f"/api/v1/me/appointments/{booking['id']}/reschedule",
            json={"slot_id": slots[1].id},
            headers=bearer(token),
        )
    assert cancel.status_code == move.status_code == 409
    assert cancel.get_json()["code"] == move.get_json()["code"] == "change_window_closed"
    assert free_of(slots[0].id) == 1


def test_rescheduling_takes_the_new_place_and_frees_the_old(client):
    _, slots = site_with_day()
    _, token = quick_donor()
    booking = book(client, token, slots[0].id).get_json()
    moved = client.post(
        f"/api/v1/me/appointments/{booking['id']}/reschedule",
        json={"slot_id": slots[2].id},
        headers=bearer(token),
    )
    assert moved.status_code == 201, moved.get_json()
    assert (free_of(slots[0].id), free_of(slots[2].id)) == (2, 1)
    old = client.get(f"/api/v1/me/appointments/{booking['id']}", headers=bearer(token)).get_json()
    assert old["status"] == "rescheduled"
    assert old["rescheduled_to_id"] == moved.get_json()["id"]


def test_rescheduling_to_a_full_slot_keeps_the_booking(client):
    _, slots = site_with_day(whole_blood=1)
    _, token = quick_donor()
    _, other = quick_donor()
    booking = book(client, token, slots[0].id).get_json()
    book(client, other, slots[1].id)
    moved = client.post(
        f"/api/v1/me/appointments/{booking['id']}/reschedule",
        json={"slot_id": slots[1].id},
        headers=bearer(token),
    )
    assert moved.status_code == 409 and moved.get_json()["code"] == "slot_full"
    mine = client.get(f"/api/v1/me/appointments/{booking['id']}", headers=bearer(token))
    assert mine.get_json()["status"] == "booked"
    assert free_of(slots[0].id) == 0


def test_a_donor_cannot_see_or_cancel_another_donors_booking(client):
    _, slots = site_with_day()
    _, alice = quick_donor()
    _, bob = quick_donor()
    booking = book(client, alice, slots[0].id).get_json()
    path = f"/api/v1/me/appointments/{booking['id']}"
    assert client.get(path, headers=bearer(bob)).status_code == 404
    assert client.delete(path, headers=bearer(bob)).status_code == 404
    assert client.get(path + "/calendar.ics", headers=bearer(bob)).status_code == 404
    assert client.get(path, headers=bearer(alice)).get_json()["status"] == "booked"


def test_a_slot_stops_taking_bookings_shortly_before_it_starts(client):
    _, slots = site_with_day(days_ahead=1)
    _, token = quick_donor()
    closes = booking_rules("zhejiang").booking_closes
    with clock.frozen_at(clock.as_utc(slots[0].starts_at) - closes):
        response = book(client, token, slots[0].id)
    assert response.status_code == 409 and response.get_json()["code"] == "slot_closed"


def test_an_unknown_slot_is_not_found(client):
    _, token = quick_donor()
    response = book(client, token, 999999)
    assert response.status_code == 404 and response.get_json()["code"] == "slot_not_found"


def test_bad_booking_input_is_refused(client):
    _, token = quick_donor()
    for body in ({}, {"slot_id": "1"}, {"slot_id": 2**40}, {"slot_id": 1, "extra": 1}):
        response = client.post("/api/v1/me/appointments", json=body, headers=bearer(token))
        assert response.status_code == 422, body


def test_the_calendar_file_has_the_address_and_local_times(client):
    site, slots = site_with_day()
    _, token = quick_donor()
    booking = book(client, token, slots[0].id).get_json()
    response = client.get(
        f"/api/v1/me/appointments/{booking['id']}/calendar.ics", headers=bearer(token)
    )
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    event = next(iter(calendar.walk("VEVENT")))
    assert str(event["LOCATION"]) == site.address
    assert str(event["UID"]) == f"booking-{booking['id']}@127.0.0.1"
    assert event["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert event.decoded("DTSTART") == clock.to_local(slots[0].starts_at)
    assert list(calendar.walk("VTIMEZONE"))
    assert b"TZID:Asia/Shanghai" in response.data


def test_staff_mark_a_no_show_once_the_slot_has_started(client):
    site, slots = site_with_day(days_ahead=1)
    _, token = quick_donor()
    booking = book(client, token, slots[0].id).get_json()
    staff = staff_token(client, make_staff([site]))
    path = f"/api/v1/staff/appointments/{booking['id']}/no-show"
    early = client.post(path, headers=bearer(staff))
    assert early.status_code == 409 and early.get_json()["code"] == "no_show_too_early"
    with clock.frozen_at(clock.as_utc(slots[0].starts_at) + timedelta(minutes=20)):
        marked = client.post(path, headers=bearer(staff))
    assert marked.status_code == 200 and marked.get_json()["status"] == "no_show"


def test_staff_of_another_site_cannot_mark_a_no_show(client):
    _, slots = site_with_day(days_ahead=1)
    _, token = quick_donor()
    booking = book(client, token, slots[0].id).get_json()
    stranger = staff_token(client, make_staff([make_site()]))
    with clock.frozen_at(clock.as_utc(slots[0].starts_at) + timedelta(minutes=20)):
        response = client.post(
            f"/api/v1/staff/appointments/{booking['id']}/no-show", headers=bearer(stranger)
        )
    assert response.status_code == 403 and response.get_json()["code"] == "site_not_served"


def test_a_past_days_booking_no_longer_blocks_a_new_one(client):
    site, slots = site_with_day(days_ahead=1)
    _, token = quick_donor()
    assert book(client, token, slots[0].id).status_code == 201
    later = open_day(site, in_days(4))
    with clock.travelled(timedelta(days=2)):
        response = book(client, token, later[0].id)
        assert response.status_code == 201, response.get_json()
    statuses = db.session.scalars(select(Booking.status).order_by(Booking.id)).all()
    assert statuses == ["no_show", "booked"]


def _race(app, tokens: list[str], slot_id: int) -> list[int]:
    barrier = threading.Barrier(len(tokens))

    def attempt(token: str) -> int:
        with app.app_context(), app.test_client() as other:
            barrier.wait()
            return book(other, token, slot_id).status_code

    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        return list(pool.map(attempt, tokens))


@pytest.mark.committed_db
def test_fifty_donors_racing_for_the_last_place_give_exactly_one_booking(app, client):
    _, slots = site_with_day(whole_blood=3)
    taken = [quick_donor()[1] for _ in range(2)]
    for token in taken:
        assert book(client, token, slots[0].id).status_code == 201
    racers = [quick_donor()[1] for _ in range(50)]
    statuses = _race(app, racers, slots[0].id)
    assert sorted(statuses) == [201] + [409] * 49
    db.session.expire_all()
    assert free_of(slots[0].id) == 0
    count = db.session.scalar(
        select(func.count()).select_from(Booking).where(Booking.slot_id == slots[0].id)
    )
    assert count == 3


@pytest.mark.committed_db
def test_one_donor_racing_for_two_slots_gets_one_booking(app, client):
    _, slots = site_with_day()
    _, token = quick_donor()
    barrier = threading.Barrier(2)

    def attempt(slot_id: int) -> int:
        with app.app_context(), app.test_client() as other:
            barrier.wait()
            return book(other, token, slot_id).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(pool.map(attempt, [slots[0].id, slots[1].id]))
    assert statuses == [201, 409]
    db.session.expire_all()
    assert free_of(slots[0].id) + free_of(slots[1].id) == 3


def test_times_in_responses_carry_the_zone(client):
    _, slots = site_with_day()
    _, token = quick_donor()
    body = book(client, token, slots[0].id).get_json()
    for key in ("starts_at", "ends_at", "change_until", "created_at"):
        assert datetime.fromisoformat(body[key]).utcoffset() == timedelta(hours=8), key


def test_slots_on_a_day_follow_the_session(app):
    site = make_site()
    slots = open_day(site, in_days(2), {"whole_blood": 3, "apheresis_platelets": 1})
    # 09:00-11:00 in 30-minute slots, one row per kind.
    assert len(slots) == 8
    assert {slot.kind for slot in slots} == {"whole_blood", "apheresis_platelets"}
    assert sorted({slot.capacity for slot in slots}) == [1, 3]
    assert slots_on(site, in_days(2), "apheresis_platelets")[0].capacity == 1

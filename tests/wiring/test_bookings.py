"""Appointments and notifications, wired by the app (wiring.py): a booking is reminded the day
before, a cancelled or moved one is not, a site's cancellation and a place offered from the
waiting list are told to the donor. Everything goes through the real appointments API."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from appointments import housekeeping
from core import clock
from core.extensions import db
from core.jobs import run_daily_jobs
from notifications.models import OutboxMessage
from tests.factories import bearer, donor_record, make_site
from tests.factories.appointments import in_days, open_day, quick_donor
from tests.factories.notifications import (
    admin_token,
    auth_headers,
    local,
    messages_to,
    recent_local,
    send_due,
)

REMINDER = "提醒您明天"


def book(client, headers, slot_id):
    return client.post("/api/v1/me/appointments", json={"slot_id": slot_id}, headers=headers)


def reminders(sms, data) -> list[str]:
    return [body for body in messages_to(sms, data) if REMINDER in body]


def reminder_row(booking_id: int) -> OutboxMessage:
    return db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.key == f"appointment:{booking_id}")
    )


def test_a_booking_is_reminded_the_day_before(client, sms, daytime):
    _, data = donor_record(client, sms, name="王芳")
    site = make_site(name="武林献血屋")
    day = in_days(3)
    (slot, *_) = open_day(site, day)
    booking = book(client, auth_headers(data), slot.id)
    assert booking.status_code == 201, booking.get_json()
    assert reminder_row(booking.get_json()["id"]).status == "pending"
    with clock.frozen_at(local(day - timedelta(days=1), 9, 59)):
        send_due()
    assert reminders(sms, data) == []
    with clock.frozen_at(local(day - timedelta(days=1), 10)):
        send_due()
    (text,) = reminders(sms, data)
    assert f"{day.month}月{day.day}日" in text and "09:00" in text and "武林献血屋" in text


def test_a_booking_for_tomorrow_made_after_the_days_reminder_job_is_still_reminded(
    client, sms, daytime
):
    _, data = donor_record(client, sms)
    assert "appointment_reminders" in run_daily_jobs()  # today's pass found nothing to remind
    (slot, *_) = open_day(make_site(), in_days(1))
    assert book(client, auth_headers(data), slot.id).status_code == 201
    assert len(reminders(sms, data)) == 1  # due already: sent as soon as the booking committed


def test_a_cancelled_booking_is_not_reminded(client, sms, daytime):
    _, data = donor_record(client, sms)
    day = in_days(3)
    (slot, *_) = open_day(make_site(), day)
    booking_id = book(client, auth_headers(data), slot.id).get_json()["id"]
    cancelled = client.delete(f"/api/v1/me/appointments/{booking_id}", headers=auth_headers(data))
    assert cancelled.status_code == 200, cancelled.get_json()
    with clock.frozen_at(local(day - timedelta(days=1), 10)):
        run_daily_jobs()
        send_due()
    assert reminders(sms, data) == []
    assert reminder_row(booking_id).status == "cancelled"
    assert [body for body in messages_to(sms, data) if "已取消" in body] == []  # they know


def test_a_moved_booking_is_reminded_only_of_its_new_time(client, sms, daytime):
    _, data = donor_record(client, sms)
    site = make_site()
    first = open_day(site, in_days(3))[0]
    later = open_day(site, in_days(4))[1]
    booking_id = book(client, auth_headers(data), first.id).get_json()["id"]
    moved = client.post(
        f"/api/v1/me/appointments/{booking_id}/reschedule",
        json={"slot_id": later.id},
        headers=auth_headers(data),
    )
    assert moved.status_code == 201, moved.get_json()
    for day in (in_days(3), in_days(4)):
        with clock.frozen_at(local(day - timedelta(days=1), 10)):
            send_due()
    (text,) = reminders(sms, data)
    assert "09:30" in text


def test_a_booking_the_site_cancels_is_told_and_not_reminded(client, sms, daytime):
    _, data = donor_record(client, sms)
    site = make_site(name="湖滨献血屋")
    day = in_days(3)
    (slot, *_) = open_day(site, day)
    booking_id = book(client, auth_headers(data), slot.id).get_json()["id"]
    closed = client.post(
        f"/api/v1/admin/sites/{site.id}/schedule-exceptions",
        json={"day": day.isoformat(), "closed": True, "reason": "设备检修"},
        headers=bearer(admin_token(client)),
    )
    assert closed.status_code == 201, closed.get_json()
    (told,) = [body for body in messages_to(sms, data) if "已取消" in body]
    assert "湖滨献血屋" in told and "09:00" in told
    assert reminder_row(booking_id).status == "cancelled"


# ---------------------------------------------------------------- waiting lists


def full_day(client):
    """A day with one whole-blood place, booked; returns the site, the day and the booker."""
    site = make_site(name="武林献血屋")
    day = in_days(3)
    (slot,) = open_day(site, day, {"whole_blood": 1}, closes="09:30")
    _, token = quick_donor()
    booking = book(client, bearer(token), slot.id)
    assert booking.status_code == 201, booking.get_json()
    return site, day, bearer(token), booking.get_json()["id"]


def wait_for(client, sms, site, day):
    _, data = donor_record(client, sms)
    joined = client.post(
        "/api/v1/me/waitlist",
        json={"site_id": site.id, "day": day.isoformat(), "kind": "whole_blood"},
        headers=auth_headers(data),
    )
    assert joined.status_code == 201, joined.get_json()
    return data


def offers(sms, data) -> list[str]:
    return [body for body in messages_to(sms, data) if "名额空出" in body]


def test_a_freed_place_is_offered_to_the_first_waiting_donor_by_sms(client, sms, daytime):
    site, day, booker, booking_id = full_day(client)
    first = wait_for(client, sms, site, day)
    second = wait_for(client, sms, site, day)
    client.delete(f"/api/v1/me/appointments/{booking_id}", headers=booker)
    (entry,) = client.get("/api/v1/me/waitlist", headers=auth_headers(first)).get_json()["items"]
    assert entry["status"] == "offered"
    held_until = clock.to_local(datetime.fromisoformat(entry["offer"]["expires_at"]))
    (text,) = offers(sms, first)
    assert "武林献血屋" in text and "09:00" in text
    assert f"保留至{held_until:%H:%M}" in text
    assert offers(sms, second) == []


def test_an_offer_made_in_the_quiet_hours_is_held_from_their_end_and_texted_then(client, sms):
    with clock.frozen_at(recent_local(22)):
        site, day, booker, booking_id = full_day(client)
        waiting = wait_for(client, sms, site, day)
        client.delete(f"/api/v1/me/appointments/{booking_id}", headers=booker)
        morning = local(clock.local_today() + timedelta(days=1), 8)
    with clock.frozen_at(morning - timedelta(minutes=1)):
        housekeeping.sweep()
        db.session.commit()
    with clock.frozen_at(morning):
        send_due()
        (entry,) = client.get("/api/v1/me/waitlist", headers=auth_headers(waiting)).get_json()[
            "items"
        ]
    assert entry["status"] == "offered"
    held_until = clock.to_local(datetime.fromisoformat(entry["offer"]["expires_at"]))
    assert held_until == clock.to_local(morning + timedelta(minutes=30))  # offer_hold_minutes
    (text,) = offers(sms, waiting)
    assert "保留至" in text and "08:30" in text


def test_a_place_starting_too_soon_after_the_quiet_hours_is_not_offered_at_night(client, sms):
    with clock.frozen_at(recent_local(22)):
        site = make_site(name="武林献血屋")
        day = clock.local_today() + timedelta(days=1)
        (slot,) = open_day(site, day, {"whole_blood": 1}, opens="08:00", closes="08:30")
        _, token = quick_donor()
        booking_id = book(client, bearer(token), slot.id).get_json()["id"]
        waiting = wait_for(client, sms, site, day)
        client.delete(f"/api/v1/me/appointments/{booking_id}", headers=bearer(token))
        (entry,) = client.get("/api/v1/me/waitlist", headers=auth_headers(waiting)).get_json()[
            "items"
        ]
    assert entry["status"] == "waiting"
    assert offers(sms, waiting) == []


# ---------------------------------------------------------------- still true when sent


def offer_row() -> OutboxMessage:
    return db.session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.template == "waitlist_offer")
        .order_by(OutboxMessage.id)
        .execution_options(populate_existing=True)
    )


def offered_at_night(client, sms):
    """A place offered at 22:00 to the first of two waiting donors: its text waits for 08:00."""
    with clock.frozen_at(recent_local(22)):
        site, day, booker, booking_id = full_day(client)
        first = wait_for(client, sms, site, day)
        second = wait_for(client, sms, site, day)
        client.delete(f"/api/v1/me/appointments/{booking_id}", headers=booker)
        (entry,) = client.get("/api/v1/me/waitlist", headers=auth_headers(first)).get_json()[
            "items"
        ]
        morning = local(clock.local_today() + timedelta(days=1), 8)
    assert entry["status"] == "offered" and offers(sms, first) == []
    return first, second, entry, morning


def test_an_offer_taken_in_the_app_before_its_text_went_is_not_texted(client, sms):
    first, _, entry, morning = offered_at_night(client, sms)
    with clock.frozen_at(morning - timedelta(minutes=30)):  # the donor saw it in the app
        accepted = client.post(
            f"/api/v1/me/waitlist/{entry['id']}/accept", headers=auth_headers(first)
        )
        assert accepted.status_code == 201, accepted.get_json()
    with clock.frozen_at(morning):
        send_due()
    assert offers(sms, first) == []
    row = offer_row()
    assert (row.status, row.status_reason) == ("cancelled", "offer_accepted")


def test_an_offer_declined_before_its_text_went_is_not_texted_and_passes_on(client, sms):
    first, second, entry, morning = offered_at_night(client, sms)
    with clock.frozen_at(morning - timedelta(minutes=30)):
        left = client.delete(f"/api/v1/me/waitlist/{entry['id']}", headers=auth_headers(first))
        assert left.status_code == 200, left.get_json()
    with clock.frozen_at(morning):
        send_due()
    assert offers(sms, first) == []
    assert len(offers(sms, second)) == 1
    row = offer_row()
    assert (row.status, row.status_reason) == ("cancelled", "offer_left")


def test_an_offer_withdrawn_by_the_site_closing_the_day_is_not_texted(client, sms):
    first, _, entry, morning = offered_at_night(client, sms)
    with clock.frozen_at(morning - timedelta(hours=1)):
        closed = client.post(
            f"/api/v1/admin/sites/{entry['site']['id']}/schedule-exceptions",
            json={"day": entry["day"], "closed": True, "reason": "设备检修"},
            headers=bearer(admin_token(client)),
        )
        assert closed.status_code == 201, closed.get_json()
    with clock.frozen_at(morning):
        send_due()
    assert offers(sms, first) == []
    row = offer_row()
    assert (row.status, row.status_reason) == ("cancelled", "offer_withdrawn")


@pytest.mark.committed_db
def test_a_reminder_a_worker_claimed_before_the_booking_was_cancelled_is_not_sent(client, sms):
    from notifications.dispatch import claim, open_session, send_claimed

    with clock.frozen_at(recent_local(10)):
        _, data = donor_record(client, sms)
        day = in_days(3)
        (slot, *_) = open_day(make_site(), day)
        booking_id = book(client, auth_headers(data), slot.id).get_json()["id"]
    with clock.frozen_at(local(day - timedelta(days=1), 10)):
        with open_session() as worker:
            lease, rows = claim(worker, None, 10)  # the sweep takes the day's reminder
            assert [row.key for row in rows] == [f"appointment:{booking_id}"]
            cancelled = client.delete(
                f"/api/v1/me/appointments/{booking_id}", headers=auth_headers(data)
            )
            assert cancelled.status_code == 200, cancelled.get_json()
            db.session.commit()
            report = send_claimed(worker, lease, rows)
    assert report.sent == 0
    assert reminders(sms, data) == []
    row = reminder_row(booking_id)
    assert (row.status, row.status_reason) == ("cancelled", "booking_cancelled")


def test_a_booking_reminder_rests_on_the_booking_still_booked_for_its_time(client, sms, daytime):
    from wiring import booking_still_active

    _, data = donor_record(client, sms)
    site = make_site()
    first = open_day(site, in_days(3))[0]
    later = open_day(site, in_days(4))[1]
    booking_id = book(client, auth_headers(data), first.id).get_json()["id"]
    (args,) = [reminder_row(booking_id).condition_args]
    assert booking_still_active([args]) == [None]
    moved = client.post(
        f"/api/v1/me/appointments/{booking_id}/reschedule",
        json={"slot_id": later.id},
        headers=auth_headers(data),
    )
    new_args = reminder_row(moved.get_json()["id"]).condition_args
    elsewhen = {**new_args, "starts_at": args["starts_at"]}
    assert booking_still_active([args, new_args, elsewhen]) == [
        "booking_rescheduled",
        None,
        "booking_moved",
    ]

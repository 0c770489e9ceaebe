"""One scheduler: appointments' periodic work runs in notifications' ticks (`flask notifications
tick`, the embedded worker, Celery beat), registered by the app's wiring."""

from __future__ import annotations

from datetime import timedelta

from appointments import schedule
from appointments.rules import booking_rules
from core import clock
from core.extensions import db
from tests.factories import bearer, donor_record, make_site
from tests.factories.appointments import admin_caller, in_days, open_day, quick_donor, slots_on
from tests.factories.notifications import auth_headers, messages_to


def join(client, data, site, day):
    joined = client.post(
        "/api/v1/me/waitlist",
        json={"site_id": site.id, "day": day.isoformat(), "kind": "whole_blood"},
        headers=auth_headers(data),
    )
    assert joined.status_code == 201, joined.get_json()


def offered(sms, data) -> bool:
    return any("名额空出" in body for body in messages_to(sms, data))


def test_a_tick_passes_an_expired_offer_to_the_next_donor(app, client, sms, daytime):
    site = make_site()
    day = in_days(3)
    (slot,) = open_day(site, day, {"whole_blood": 1}, closes="09:30")
    _, booker = quick_donor()
    booking = client.post(
        "/api/v1/me/appointments", json={"slot_id": slot.id}, headers=bearer(booker)
    )
    _, first = donor_record(client, sms)
    _, second = donor_record(client, sms)
    join(client, first, site, day)
    join(client, second, site, day)
    client.delete(f"/api/v1/me/appointments/{booking.get_json()['id']}", headers=bearer(booker))
    assert offered(sms, first) and not offered(sms, second)
    db.session.commit()
    with clock.travelled(booking_rules(site.region).offer_hold + timedelta(minutes=1)):
        result = app.test_cli_runner().invoke(args=["notifications", "tick"])
    assert result.exit_code == 0, result.output
    assert "offers_expired 1" in result.output
    assert offered(sms, second)


def test_slots_open_a_day_further_on_the_first_tick_of_the_day(app, daytime):
    site = make_site()
    week = [
        {
            "weekday": weekday,
            "opens": "09:00",
            "closes": "10:00",
            "slot_minutes": 30,
            "capacity": {"whole_blood": 2},
        }
        for weekday in range(1, 8)
    ]
    schedule.replace_schedule(site, {"sessions": week, "public_holidays": "open"}, admin_caller())
    db.session.commit()
    beyond = in_days(booking_rules(site.region).horizon_days + 1)
    assert slots_on(site, beyond) == []
    with clock.travelled(timedelta(days=1)):
        result = app.test_cli_runner().invoke(args=["notifications", "tick"])
        assert result.exit_code == 0, result.output
        assert slots_on(site, beyond)

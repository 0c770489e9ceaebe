"""Opening schedules: weekly sessions, the national holiday calendar, dated exceptions, and the
slots they open (idempotently, never below the places taken)."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select

from appointments import schedule
from appointments.models import HOLIDAYS_CLOSED, HOLIDAYS_OPEN, Booking, SiteSchedule, Slot
from appointments.rules import booking_rules
from core import clock
from core.extensions import db
from tests.factories import bearer, make_site, make_staff, staff_token
from tests.factories.appointments import admin_caller, in_days, open_day, quick_donor, slots_on

WEEK = [
    {
        "weekday": day,
        "opens": "08:30",
        "closes": "11:30",
        "slot_minutes": 30,
        "capacity": {"whole_blood": 4, "apheresis_platelets": 1},
    }
    for day in range(1, 8)
]
SESSION = schedule.SessionPlan(time(9), time(10), 30, {"whole_blood": 2})
WEEKLY = {day: [SESSION] for day in range(1, 8)}


def put_schedule(client, token, site, **body):
    return client.put(
        f"/api/v1/admin/sites/{site.id}/schedule",
        json={"sessions": WEEK, "public_holidays": "open", **body},
        headers=bearer(token),
    )


def admin(client):
    return staff_token(client, make_staff(admin=True))


def test_an_admin_sets_weekly_sessions_and_slots_open_to_the_horizon(client):
    site = make_site()
    response = put_schedule(client, admin(client), site)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert len(body["sessions"]) == 7 and body["public_holidays"] == "open"
    horizon = booking_rules("zhejiang").horizon_days
    last_day = db.session.scalar(select(func.max(Slot.day)).where(Slot.site_id == site.id))
    assert last_day == clock.local_today() + timedelta(days=horizon)
    # 08:30-11:30 in 30-minute slots: 6 slots, each with two kinds.
    assert len(slots_on(site, in_days(2))) == 12
    assert body["slots"]["opened"] > 0


def test_opening_again_changes_nothing(client):
    site = make_site()
    token = admin(client)
    put_schedule(client, token, site)
    count = db.session.scalar(select(func.count()).select_from(Slot))
    again = put_schedule(client, token, site).get_json()["slots"]
    assert (again["opened"], again["closed"]) == (0, 0)
    assert db.session.scalar(select(func.count()).select_from(Slot)) == count
    result = client.application.test_cli_runner().invoke(args=["appointments", "open-slots"])
    assert result.exit_code == 0 and "opened 0" in result.output


def test_staff_cannot_change_a_schedule(client):
    site = make_site()
    staff = staff_token(client, make_staff([site]))
    assert put_schedule(client, staff, site).status_code == 403


@pytest.mark.parametrize(
    "sessions,field",
    [
        ([{**WEEK[0], "opens": "10:00", "closes": "09:00"}], "closes"),
        ([WEEK[0], {**WEEK[0], "opens": "11:00", "closes": "12:00"}], "opens"),
        ([{**WEEK[0], "capacity": {"whole_blud": 3}}], "capacity"),
        ([{**WEEK[0], "capacity": {"whole_blood": 0}}], "capacity"),
        # POLICY.md "Decisions (2026-11-30)": plasma-only apheresis is not offered, so it cannot
        # be booked (the code is kind_not_offered: tests/certificate/test_kinds_offered.py).
        ([{**WEEK[0], "capacity": {"apheresis_plasma": 2}}], "capacity"),
        ([{**WEEK[0], "opens": "09:00", "closes": "09:20"}], "slot_minutes"),
        ([{**WEEK[0], "weekday": 8}], "weekday"),
        ([{**WEEK[0], "slot_minutes": 5}], "slot_minutes"),
        ([{**WEEK[0], "opens": "9:00"}], "opens"),
    ],
)
def test_a_bad_schedule_is_refused_and_nothing_changes(client, sessions, field):
    site = make_site()
    response = put_schedule(client, admin(client), site, sessions=sessions)
    assert response.status_code == 422
    errors = response.get_json()["errors"]["sessions"]
    assert any(field in problems for problems in errors.values()), errors
    assert db.session.scalar(select(func.count()).select_from(Slot)) == 0


def test_a_closed_day_cancels_its_bookings_for_the_site(client):
    site = make_site()
    slots = open_day(site, in_days(3))
    _, token = quick_donor()
    booking = client.post(
        "/api/v1/me/appointments", json={"slot_id": slots[0].id}, headers=bearer(token)
    ).get_json()
    response = client.post(
        f"/api/v1/admin/sites/{site.id}/schedule-exceptions",
        json={"day": in_days(3).isoformat(), "closed": True, "reason": "献血车检修"},
        headers=bearer(admin(client)),
    )
    assert response.status_code == 201
    mine = client.get(f"/api/v1/me/appointments/{booking['id']}", headers=bearer(token))
    assert mine.get_json()["status"] == "cancelled" and mine.get_json()["cancelled_by"] == "site"
    assert all(slot.status == "closed" and slot.booked == 0 for slot in slots_on(site, in_days(3)))
    days = client.get(f"/api/v1/sites/{site.id}/days?from={in_days(3)}&to={in_days(3)}")
    day = days.get_json()["items"][0]
    assert (day["open"], day["closed_by"], day["exception"]) == (False, "exception", "献血车检修")


def test_changed_hours_keep_the_bookings_that_still_fit(client):
    site = make_site()
    slots = open_day(site, in_days(3))  # 09:00-11:00
    _, early = quick_donor()
    _, late = quick_donor()
    first = client.post(
        "/api/v1/me/appointments", json={"slot_id": slots[0].id}, headers=bearer(early)
    ).get_json()
    last = client.post(
        "/api/v1/me/appointments", json={"slot_id": slots[-1].id}, headers=bearer(late)
    ).get_json()
    open_day(site, in_days(3), opens="09:00", closes="10:00", capacity={"whole_blood": 5})
    statuses = dict(db.session.execute(select(Booking.id, Booking.status)).all())
    assert statuses == {first["id"]: "booked", last["id"]: "cancelled"}
    kept = db.session.get(Slot, slots[0].id, populate_existing=True)
    assert (kept.capacity, kept.booked) == (5, 1)


def test_less_capacity_never_drops_below_the_places_taken(client):
    site = make_site()
    slots = open_day(site, in_days(3), {"whole_blood": 2})
    for _ in range(2):
        _, token = quick_donor()
        client.post("/api/v1/me/appointments", json={"slot_id": slots[0].id}, headers=bearer(token))
    open_day(site, in_days(3), {"whole_blood": 1})
    shrunk = db.session.get(Slot, slots[0].id, populate_existing=True)
    assert (shrunk.capacity, shrunk.booked) == (2, 2)
    assert db.session.get(Slot, slots[1].id, populate_existing=True).capacity == 1


def test_removing_an_exception_brings_back_the_weekly_sessions(client):
    site = make_site()
    token = admin(client)
    put_schedule(client, token, site)
    day = in_days(3)
    client.post(
        f"/api/v1/admin/sites/{site.id}/schedule-exceptions",
        json={"day": day.isoformat(), "closed": True, "reason": "停电"},
        headers=bearer(token),
    )
    assert not [s for s in slots_on(site, day) if s.status == "open"]
    removed = client.delete(
        f"/api/v1/admin/sites/{site.id}/schedule-exceptions/{day}", headers=bearer(token)
    )
    assert removed.status_code == 204
    assert len([s for s in slots_on(site, day) if s.status == "open"]) == 12
    listed = client.get(
        f"/api/v1/admin/sites/{site.id}/schedule-exceptions", headers=bearer(token)
    ).get_json()
    assert listed["items"] == []


def test_an_exception_in_the_past_is_refused(client):
    site = make_site()
    response = client.post(
        f"/api/v1/admin/sites/{site.id}/schedule-exceptions",
        json={
            "day": (clock.local_today() - timedelta(days=1)).isoformat(),
            "closed": True,
            "reason": "x",
        },
        headers=bearer(admin(client)),
    )
    assert response.status_code == 422 and response.get_json()["code"] == "schedule_day_past"


# The national calendar (chinese-calendar): 2026-10-01 is National Day, a statutory holiday;
# 2026-09-20 is a Sunday worked in exchange for it (an adjusted working day).


def test_a_statutory_holiday_closes_a_site_unless_it_opens_on_holidays():
    national_day = date(2026, 10, 1)
    closed = schedule.plan_day(
        national_day, WEEKLY, SiteSchedule(public_holidays=HOLIDAYS_CLOSED), None
    )
    assert (closed.open, closed.closed_by, closed.holiday) == (False, "holiday", "国庆节")
    opened = schedule.plan_day(
        national_day, WEEKLY, SiteSchedule(public_holidays=HOLIDAYS_OPEN), None
    )
    assert opened.open and opened.holiday == "国庆节"


def test_an_adjusted_working_day_can_open_with_a_weekdays_sessions():
    worked_sunday = date(2026, 9, 20)
    weekdays_only = {1: [SESSION]}
    as_sunday = schedule.plan_day(worked_sunday, weekdays_only, SiteSchedule(), None)
    assert as_sunday.adjusted_workday and not as_sunday.open
    as_monday = schedule.plan_day(
        worked_sunday, weekdays_only, SiteSchedule(adjusted_workdays_as=1), None
    )
    assert as_monday.open and as_monday.sessions == (SESSION,)


def test_a_year_the_calendar_does_not_know_follows_the_weekly_sessions_and_says_so():
    unknown = date(2099, 1, 1)
    plan = schedule.plan_day(unknown, WEEKLY, SiteSchedule(public_holidays=HOLIDAYS_CLOSED), None)
    assert plan.open and plan.calendar_known is False and plan.holiday is None


def test_slots_are_cut_from_sessions_in_local_time():
    slots = schedule.SessionPlan(time(8, 30), time(9, 40), 30, {"whole_blood": 2}).slots(
        date(2026, 12, 1)
    )
    # 08:30 and 09:00 fit; 09:30-10:00 would end after closing.
    assert [clock.to_local(start).strftime("%H:%M") for start, *_ in slots] == ["08:30", "09:00"]


def test_the_days_view_shows_free_places_per_kind(client):
    site = make_site()
    open_day(site, in_days(2), {"whole_blood": 2, "apheresis_platelets": 1})
    days = client.get(f"/api/v1/sites/{site.id}/days?from={in_days(2)}&to={in_days(3)}")
    assert days.status_code == 200
    first, second = days.get_json()["items"]
    assert first["open"] and first["free_by_kind"] == {"whole_blood": 8, "apheresis_platelets": 4}
    assert second["free_by_kind"] == {}


def test_a_too_long_range_is_refused(client):
    site = make_site()
    response = client.get(f"/api/v1/sites/{site.id}/slots?from={in_days(0)}&to={in_days(40)}")
    assert response.status_code == 422 and "to" in response.get_json()["errors"]


def test_an_inactive_site_has_no_public_slots(client):
    site = make_site(active=False)
    assert client.get(f"/api/v1/sites/{site.id}/slots").status_code == 404


def test_a_schedule_replaced_through_the_service_reads_back(app):
    site = make_site()
    report = schedule.replace_schedule(
        site, {"sessions": WEEK, "public_holidays": "closed"}, admin_caller()
    )
    db.session.commit()
    assert report.opened > 0
    assert schedule.schedule_of(site)["public_holidays"] == "closed"

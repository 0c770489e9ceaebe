"""Opening schedules and the slots they open: weekly sessions, the national calendar, exceptions.

A day's sessions come from the first of these that speaks:

1. a dated exception for the site (closed that day, or other sessions);
2. the national calendar: a statutory public holiday closes the site unless it opens on holidays,
   and an adjusted working day (调休上班日) may open with another weekday's sessions;
3. the weekly sessions of that weekday.

Holidays and adjusted working days come from the maintained `chinese-calendar` package, which knows
a year once the State Council has published its arrangements (usually in the November before). A
day of a year it does not know yet follows the weekly sessions and says so (`calendar_known`), so
administrators can add exceptions; upgrading the package fixes the days still ahead.

Slots are rows, opened `booking_horizon_days` ahead by `open_slots`: after every schedule change,
and daily from `flask appointments open-slots`. Opening again is safe: existing slots keep their
bookings and take the new capacity (never below the places taken), slots the schedule no longer has
are closed and their bookings cancelled by the site (donors are told through `booking_cancelled`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

import chinese_calendar
from sqlalchemy import Select, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from appointments import bookings, waitlist
from appointments.models import (
    ACTIVE_BOOKING,
    HOLIDAYS_OPEN,
    SLOT_CLOSED,
    SLOT_OPEN,
    WAITING,
    Booking,
    OpeningSession,
    ScheduleException,
    SiteSchedule,
    Slot,
    WaitlistEntry,
)
from appointments.rules import booking_rules
from certificate.policy import donation_rules
from core import audit, clock
from core.auth import Caller
from core.errors import ApiError
from core.extensions import db
from core.policy import policy_for
from sites.models import Site

_HOLIDAY_NAMES_ZH = {holiday.value: holiday.chinese for holiday in chinese_calendar.Holiday}


@dataclass(frozen=True)
class CalendarDay:
    holiday: str | None  # the statutory holiday's Chinese name
    adjusted_workday: bool  # a weekend day worked in exchange for a holiday
    known: bool  # False: the calendar has no data for this year yet


def national_calendar(day: date) -> CalendarDay:
    try:
        is_holiday, name = chinese_calendar.get_holiday_detail(day)
        is_workday = chinese_calendar.is_workday(day)
    except NotImplementedError:
        return CalendarDay(None, False, False)
    holiday = _HOLIDAY_NAMES_ZH.get(name, name) if is_holiday and name else None
    return CalendarDay(holiday, is_workday and day.isoweekday() >= 6, True)


@dataclass(frozen=True)
class SessionPlan:
    opens: time
    closes: time
    slot_minutes: int
    capacity: dict[str, int]

    def slots(self, day: date) -> list[tuple[datetime, datetime, str, int]]:
        """(starts_at, ends_at, kind, places) in UTC; a last partial slot is not opened."""
        start = datetime.combine(day, self.opens, tzinfo=clock.LOCAL_ZONE)
        end = datetime.combine(day, self.closes, tzinfo=clock.LOCAL_ZONE)
        step = timedelta(minutes=self.slot_minutes)
        result = []
        while start + step <= end:
            for kind, places in self.capacity.items():
                if places > 0:
                    result.append((clock.as_utc(start), clock.as_utc(start + step), kind, places))
            start += step
        return result


@dataclass(frozen=True)
class DayPlan:
    day: date
    sessions: tuple[SessionPlan, ...]
    holiday: str | None
    adjusted_workday: bool
    calendar_known: bool
    exception: str | None = None  # the reason of a dated exception
    closed_by: str | None = None  # exception | holiday | None (open, or no sessions that day)
    places: dict[str, int] = field(default_factory=dict)

    @property
    def open(self) -> bool:
        return bool(self.sessions)


def _parse_time(text: str) -> time:
    return time.fromisoformat(text)


def session_from_json(data: dict[str, Any]) -> SessionPlan:
    return SessionPlan(
        _parse_time(data["opens"]),
        _parse_time(data["closes"]),
        data["slot_minutes"],
        dict(data["capacity"]),
    )


def _session_from_row(row: OpeningSession) -> SessionPlan:
    return SessionPlan(row.opens, row.closes, row.slot_minutes, dict(row.capacity))


def plan_day(
    day: date,
    weekly: dict[int, list[SessionPlan]],
    schedule: SiteSchedule | None,
    exception: ScheduleException | None,
) -> DayPlan:
    calendar = national_calendar(day)
    common: dict[str, Any] = {
        "day": day,
        "holiday": calendar.holiday,
        "adjusted_workday": calendar.adjusted_workday,
        "calendar_known": calendar.known,
    }
    if exception is not None:
        sessions = () if exception.closed else tuple(map(session_from_json, exception.sessions))
        closed_by = "exception" if not sessions else None
        return DayPlan(sessions=sessions, exception=exception.reason, closed_by=closed_by, **common)
    holidays_open = schedule is not None and schedule.public_holidays == HOLIDAYS_OPEN
    if calendar.holiday and not holidays_open:
        return DayPlan(sessions=(), closed_by="holiday", **common)
    weekday = day.isoweekday()
    if calendar.adjusted_workday and schedule is not None and schedule.adjusted_workdays_as:
        weekday = schedule.adjusted_workdays_as
    return DayPlan(sessions=tuple(weekly.get(weekday, ())), **common)


def plan_days(site: Site, first: date, last: date) -> list[DayPlan]:
    weekly: dict[int, list[SessionPlan]] = {}
    for row in db.session.scalars(
        select(OpeningSession)
        .where(OpeningSession.site_id == site.id)
        .order_by(OpeningSession.weekday, OpeningSession.opens)
    ):
        weekly.setdefault(row.weekday, []).append(_session_from_row(row))
    schedule = db.session.get(SiteSchedule, site.id)
    exceptions = {
        row.day: row
        for row in db.session.scalars(
            select(ScheduleException).where(
                ScheduleException.site_id == site.id, ScheduleException.day.between(first, last)
            )
        )
    }
    days = []
    day = first
    while day <= last:
        days.append(plan_day(day, weekly, schedule, exceptions.get(day)))
        day += timedelta(days=1)
    return days


# ---------------------------------------------------------------- validating schedules


def check_sessions(site: Site, sessions: list[dict[str, Any]], *, weekly: bool) -> None:
    """Sessions fit their slots, do not overlap, and offer kinds the site's policy settles.

    A kind the region does not offer (plasma-only apheresis), or whose allowed amounts the policy
    leaves open, cannot be recorded, so it cannot be booked either.
    """
    rules = donation_rules(policy_for(site.region))
    kinds = set(rules.kind_codes())
    not_offered = {code for code in kinds if not rules.kind(code).offered}
    undecided = {code for code in kinds if rules.kind(code).amounts is None} - not_offered
    problems: dict[int, dict[str, list[str]]] = {}
    spans: dict[int, list[tuple[time, time, int]]] = {}
    for index, data in enumerate(sessions):
        plan = session_from_json(data)
        length = datetime.combine(date.min, plan.closes) - datetime.combine(date.min, plan.opens)
        if length < timedelta(minutes=plan.slot_minutes):
            problems.setdefault(index, {})["slot_minutes"] = ["schedule_session_too_short"]
        unknown = sorted(set(plan.capacity) - kinds)
        if unknown:
            problems.setdefault(index, {})["capacity"] = ["schedule_kind_unknown", *unknown]
        elif set(plan.capacity) & not_offered:
            problems.setdefault(index, {})["capacity"] = ["kind_not_offered"]
        elif set(plan.capacity) & undecided:
            problems.setdefault(index, {})["capacity"] = ["schedule_kind_undecided"]
        elif not any(places > 0 for places in plan.capacity.values()):
            problems.setdefault(index, {})["capacity"] = ["schedule_no_places"]
        spans.setdefault(data["weekday"] if weekly else 0, []).append(
            (plan.opens, plan.closes, index)
        )
    for day_spans in spans.values():
        day_spans.sort()
        for (_, closes, _), (opens, _, index) in zip(day_spans, day_spans[1:], strict=False):
            if opens < closes:
                problems.setdefault(index, {})["opens"] = ["schedule_sessions_overlap"]
    if problems:
        raise ApiError("validation_failed", 422, errors={"sessions": problems})


# ---------------------------------------------------------------- schedules (admin)


def schedule_of(site: Site) -> dict[str, Any]:
    schedule = db.session.get(SiteSchedule, site.id)
    sessions = db.session.scalars(
        select(OpeningSession)
        .where(OpeningSession.site_id == site.id)
        .order_by(OpeningSession.weekday, OpeningSession.opens)
    ).all()
    return {
        "site_id": site.id,
        "public_holidays": schedule.public_holidays if schedule else "closed",
        "adjusted_workdays_as": schedule.adjusted_workdays_as if schedule else None,
        "sessions": [
            {
                "weekday": row.weekday,
                "opens": row.opens.strftime("%H:%M"),
                "closes": row.closes.strftime("%H:%M"),
                "slot_minutes": row.slot_minutes,
                "capacity": row.capacity,
            }
            for row in sessions
        ],
        "updated_at": schedule.updated_at if schedule else None,
    }


def replace_schedule(site: Site, body: dict[str, Any], actor: Caller) -> SlotReport:
    """The site's weekly sessions and holiday rules, replaced whole; slots follow at once."""
    check_sessions(site, body["sessions"], weekly=True)
    schedule = db.session.get(SiteSchedule, site.id)
    if schedule is None:
        schedule = SiteSchedule(site_id=site.id)
        db.session.add(schedule)
    schedule.public_holidays = body["public_holidays"]
    schedule.adjusted_workdays_as = body.get("adjusted_workdays_as")
    schedule.updated_at = clock.now()
    schedule.updated_by = actor.principal_id
    db.session.execute(OpeningSession.__table__.delete().where(OpeningSession.site_id == site.id))
    for data in body["sessions"]:
        plan = session_from_json(data)
        db.session.add(
            OpeningSession(
                site_id=site.id,
                weekday=data["weekday"],
                opens=plan.opens,
                closes=plan.closes,
                slot_minutes=plan.slot_minutes,
                capacity=plan.capacity,
            )
        )
    db.session.flush()
    audit.record(
        "schedule.replaced",
        actor=("staff", actor.principal_id),
        target=("site", site.id),
        details={"sessions": len(body["sessions"])},
    )
    return open_slots(site)


def exceptions_query(site: Site, from_day: date) -> Select:
    return (
        select(ScheduleException)
        .where(ScheduleException.site_id == site.id, ScheduleException.day >= from_day)
        .order_by(ScheduleException.day)
    )


def set_exception(site: Site, body: dict[str, Any], actor: Caller) -> ScheduleException:
    """Close a day, or open it with other sessions; replaces any exception already that day."""
    day = body["day"]
    if day < clock.local_today():
        raise ApiError("schedule_day_past", 422, errors={"day": ["schedule_day_past"]})
    sessions = [] if body["closed"] else body.get("sessions") or []
    if not body["closed"]:
        check_sessions(site, sessions, weekly=False)
    exception = db.session.scalar(
        select(ScheduleException).where(
            ScheduleException.site_id == site.id, ScheduleException.day == day
        )
    )
    if exception is None:
        exception = ScheduleException(site_id=site.id, day=day)
        db.session.add(exception)
    exception.closed = body["closed"] or not sessions
    exception.sessions = sessions
    exception.reason = body["reason"]
    exception.created_at = clock.now()
    exception.created_by = actor.principal_id
    db.session.flush()
    audit.record(
        "schedule.exception_set",
        actor=("staff", actor.principal_id),
        target=("site", site.id),
        details={"day": day.isoformat(), "closed": exception.closed},
    )
    open_slots(site, day, day)
    return exception


def remove_exception(site: Site, day: date, actor: Caller) -> None:
    exception = db.session.scalar(
        select(ScheduleException).where(
            ScheduleException.site_id == site.id, ScheduleException.day == day
        )
    )
    if exception is None:
        raise ApiError("not_found", 404)
    db.session.delete(exception)
    db.session.flush()
    audit.record(
        "schedule.exception_removed",
        actor=("staff", actor.principal_id),
        target=("site", site.id),
        details={"day": day.isoformat()},
    )
    if day >= clock.local_today():
        open_slots(site, day, day)


# ---------------------------------------------------------------- opening slots


@dataclass(frozen=True)
class SlotReport:
    opened: int = 0
    updated: int = 0
    closed: int = 0
    bookings_cancelled: int = 0
    offers: int = 0


def _insert_slots(rows: list[dict[str, Any]]) -> None:
    """Insert, skipping a slot another run opened meanwhile (the unique key decides)."""
    if not rows:
        return
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for start in range(0, len(rows), 500):
        db.session.execute(
            insert(Slot)
            .values(rows[start : start + 500])
            .on_conflict_do_nothing(index_elements=["site_id", "starts_at", "kind"])
        )


def _close_slot(slot: Slot, reason: str) -> int:
    cancelled = bookings.cancel_for_closed_slot(slot, reason)
    still_here = db.session.scalar(
        select(func.count())
        .select_from(Booking)
        .where(Booking.slot_id == slot.id, Booking.status.in_(ACTIVE_BOOKING))
    )
    db.session.execute(
        update(Slot)
        .where(Slot.id == slot.id)
        .values(status=SLOT_CLOSED, booked=still_here, held=0)
        .execution_options(synchronize_session=False)
    )
    return cancelled


def open_slots(site: Site, first: date | None = None, last: date | None = None) -> SlotReport:
    """Make the slot rows match the schedule from `first` to `last` (within the horizon)."""
    rules = booking_rules(site.region)
    today = clock.local_today()
    first = max(first or today, today)
    last = min(
        last or today + timedelta(days=rules.horizon_days),
        today + timedelta(days=rules.horizon_days),
    )
    if last < first:
        return SlotReport()
    now = clock.now()
    existing = {
        (clock.as_utc(slot.starts_at), slot.kind): slot
        for slot in db.session.scalars(
            select(Slot)
            .where(Slot.site_id == site.id, Slot.day.between(first, last), Slot.starts_at > now)
            .execution_options(populate_existing=True)
        )
    }
    plans = plan_days(site, first, last) if site.active else []
    wanted: dict[tuple[datetime, str], tuple[date, datetime, int]] = {}
    for plan in plans:
        for session in plan.sessions:
            for starts, ends, kind, places in session.slots(plan.day):
                if starts > now:
                    wanted[(starts, kind)] = (plan.day, ends, places)
    new_rows, updated, closed, cancelled = [], 0, 0, 0
    for key, (day, ends, places) in wanted.items():
        slot = existing.get(key)
        if slot is None:
            new_rows.append(
                {
                    "site_id": site.id,
                    "day": day,
                    "starts_at": key[0],
                    "ends_at": ends,
                    "kind": key[1],
                    "capacity": places,
                    "booked": 0,
                    "held": 0,
                    "status": SLOT_OPEN,
                }
            )
        elif slot.status != SLOT_OPEN or slot.capacity != places or slot.ends_at != ends:
            taken = Slot.booked + Slot.held
            db.session.execute(
                update(Slot)
                .where(Slot.id == slot.id)
                .values(
                    capacity=case((taken > places, taken), else_=places),
                    ends_at=ends,
                    status=SLOT_OPEN,
                )
                .execution_options(synchronize_session=False)
            )
            updated += 1
    for key, slot in existing.items():
        if key not in wanted and slot.status == SLOT_OPEN:
            cancelled += _close_slot(slot, "schedule_changed")
            closed += 1
    _insert_slots(new_rows)
    offers = 0
    for day, kind in db.session.execute(
        select(WaitlistEntry.day, WaitlistEntry.kind)
        .where(
            WaitlistEntry.site_id == site.id,
            WaitlistEntry.status == WAITING,
            WaitlistEntry.day.between(first, last),
        )
        .distinct()
    ).all():
        offers += waitlist.offer_free_places(site.id, day, kind)
    return SlotReport(len(new_rows), updated, closed, cancelled, offers)


def open_all_slots() -> dict[str, SlotReport]:
    """Every active site's slots up to its horizon (the daily job)."""
    return {
        site.facility_code: open_slots(site)
        for site in db.session.scalars(select(Site).where(Site.active.is_(True)).order_by(Site.id))
    }


# ---------------------------------------------------------------- what donors see


def _bookable(closes: timedelta) -> Any:
    """Slots that still take bookings: starting later than `closes` from now."""
    return Slot.starts_at > clock.now() + closes


def slots_query(site: Site, first: date, last: date, kind: str | None, free_only: bool) -> Select:
    rules = booking_rules(site.region)
    query = select(Slot).where(
        Slot.site_id == site.id,
        Slot.day.between(first, last),
        Slot.status == SLOT_OPEN,
        _bookable(rules.booking_closes),
    )
    if kind:
        query = query.where(Slot.kind == kind)
    if free_only:
        query = query.where(Slot.booked + Slot.held < Slot.capacity)
    return query.order_by(Slot.starts_at, Slot.kind)


def days_of(site: Site, first: date, last: date) -> list[DayPlan]:
    """Each day's opening, holiday and free places per kind, for a date picker."""
    rules = booking_rules(site.region)
    free: dict[date, dict[str, int]] = {}
    for day, kind, places in db.session.execute(
        select(Slot.day, Slot.kind, func.sum(Slot.capacity - Slot.booked - Slot.held))
        .where(
            Slot.site_id == site.id,
            Slot.day.between(first, last),
            Slot.status == SLOT_OPEN,
            _bookable(rules.booking_closes),
        )
        .group_by(Slot.day, Slot.kind)
    ):
        free.setdefault(day, {})[kind] = int(places)
    return [replace(plan, places=free.get(plan.day, {})) for plan in plan_days(site, first, last)]


EARTH_RADIUS_KM = 6371.0088


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine); good to metres at a city's scale."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def search_sites(
    *,
    city: str | None,
    point: tuple[float, float] | None,
    radius_km: float,
    first: date,
    last: date,
    kind: str | None,
) -> list[dict[str, Any]]:
    """Active sites with free places between two days: by city, near a point, or both.

    Nearest first when a point is given, else soonest free place first.
    """
    query = select(Site).where(Site.active.is_(True))
    if city:
        query = query.where(Site.city == city)
    if point:
        lat, lon = point
        d_lat = radius_km / 111.0
        d_lon = radius_km / max(111.0 * math.cos(math.radians(lat)), 1e-6)
        query = query.where(
            Site.latitude.between(lat - d_lat, lat + d_lat),
            Site.longitude.between(lon - d_lon, lon + d_lon),
        )
    sites = {site.id: site for site in db.session.scalars(query)}
    if not sites:
        return []
    free = Slot.capacity - Slot.booked - Slot.held
    availability = (
        select(Slot.site_id, Slot.kind, func.sum(free), func.min(Slot.starts_at))
        .where(
            Slot.site_id.in_(sites),
            Slot.day.between(first, last),
            Slot.status == SLOT_OPEN,
            Slot.booked + Slot.held < Slot.capacity,
            _bookable(timedelta(0)),
        )
        .group_by(Slot.site_id, Slot.kind)
    )
    if kind:
        availability = availability.where(Slot.kind == kind)
    found: dict[int, dict[str, Any]] = {}
    for site_id, slot_kind, places, first_free in db.session.execute(availability):
        site = sites[site_id]
        # Each site's own booking close applies; the query above only dropped started slots.
        closes = booking_rules(site.region).booking_closes
        if clock.as_utc(first_free) <= clock.now() + closes:
            places, bookable_from = _bookable_places(site, slot_kind, first, last, closes)
            if not places or bookable_from is None:
                continue
            first_free = bookable_from
        item = found.setdefault(
            site_id, {"site": site, "free_by_kind": {}, "next_free_at": None, "distance_km": None}
        )
        item["free_by_kind"][slot_kind] = int(places)
        first_free = clock.as_utc(first_free)
        if item["next_free_at"] is None or first_free < item["next_free_at"]:
            item["next_free_at"] = first_free
    results = []
    for item in found.values():
        site = item["site"]
        if point:
            if site.latitude is None or site.longitude is None:
                continue
            item["distance_km"] = round(
                distance_km(point[0], point[1], site.latitude, site.longitude), 2
            )
            if item["distance_km"] > radius_km:
                continue
        item["free_places"] = sum(item["free_by_kind"].values())
        results.append(item)
    if point:
        results.sort(key=lambda item: (item["distance_km"], item["site"].id))
    else:
        results.sort(key=lambda item: (item["next_free_at"], item["site"].id))
    return results


def _bookable_places(
    site: Site, kind: str, first: date, last: date, closes: timedelta
) -> tuple[int, datetime | None]:
    row = db.session.execute(
        select(func.sum(Slot.capacity - Slot.booked - Slot.held), func.min(Slot.starts_at)).where(
            Slot.site_id == site.id,
            Slot.kind == kind,
            Slot.day.between(first, last),
            Slot.status == SLOT_OPEN,
            Slot.booked + Slot.held < Slot.capacity,
            _bookable(closes),
        )
    ).one()
    return int(row[0] or 0), row[1]

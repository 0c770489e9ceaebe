"""Time-driven housekeeping (every minute): expired offers pass on, past days close."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, update

from appointments.models import (
    ACTIVE_WAITLIST,
    BOOKED,
    CHECKED_IN,
    LAPSED,
    NO_SHOW,
    NOT_DONATED,
    VISIT_CLOSED,
    VISIT_OPEN,
    Booking,
    CheckinCodeUse,
    Visit,
    WaitlistEntry,
)
from appointments.waitlist import (
    expire_offers,
)
from core import clock
from core.extensions import db


def _lapse_past_bookings(condition: Any, today: date) -> int:
    """A booking whose day is over stops being active: not seen is a no-show."""
    lapsed = 0
    for status, outcome in ((BOOKED, NO_SHOW), (CHECKED_IN, NOT_DONATED)):
        lapsed += cast(
            CursorResult[Any],
            db.session.execute(
                update(Booking)
                .where(condition, Booking.status == status, Booking.day < today)
                .values(status=outcome, changed_at=clock.now())
                .execution_options(synchronize_session=False)
            ),
        ).rowcount
    return lapsed


@dataclass(frozen=True)
class SweepReport:
    offers_expired: int
    bookings_lapsed: int
    entries_lapsed: int
    visits_closed: int
    codes_pruned: int


def sweep() -> SweepReport:
    """Time-driven housekeeping (run every minute): expired offers pass on, past days close."""
    now, today = clock.now(), clock.local_today()
    expired = expire_offers()
    lapsed = _lapse_past_bookings(Booking.id.isnot(None), today)
    entries = cast(
        CursorResult[Any],
        db.session.execute(
            update(WaitlistEntry)
            .where(WaitlistEntry.status.in_(ACTIVE_WAITLIST), WaitlistEntry.day < today)
            .values(status=LAPSED, closed_at=now)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    visits = cast(
        CursorResult[Any],
        db.session.execute(
            update(Visit)
            .where(Visit.status == VISIT_OPEN, Visit.day < today)
            .values(status=VISIT_CLOSED, closed_at=now, outcome="lapsed")
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    pruned = cast(
        CursorResult[Any],
        db.session.execute(
            CheckinCodeUse.__table__.delete().where(
                CheckinCodeUse.expires_at < now - timedelta(days=1)
            )
        ),
    ).rowcount
    return SweepReport(expired, lapsed, entries, visits, pruned)

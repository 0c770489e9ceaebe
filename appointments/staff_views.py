"""What staff see of their sites' days: bookings and visits, with counts by kind and status."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select

from appointments.models import (
    ACTIVE_BOOKING,
    Booking,
    Slot,
    Visit,
)
from core.auth import ADMIN, Caller
from core.extensions import db
from sites.services import current_staff, require_site


def staff_site_ids(staff: Caller, site_id: int | None) -> list[int] | None:
    """The sites a staff view covers: one named site, or all the caller serves (admins: all)."""
    if site_id is not None:
        return [require_site(staff, site_id).id]
    if staff.role == ADMIN:
        return None
    return current_staff(staff).site_ids


def _scoped(query: Select, column: Any, site_ids: list[int] | None) -> Select:
    return query if site_ids is None else query.where(column.in_(site_ids))


def site_bookings_query(
    site_ids: list[int] | None, day: date, status: str | None, kind: str | None
) -> Select:
    query = _scoped(select(Booking).join(Slot), Booking.site_id, site_ids).where(Booking.day == day)
    if status:
        query = query.where(Booking.status == status)
    if kind:
        query = query.where(Booking.kind == kind)
    return query.order_by(Slot.starts_at, Booking.id)


def _counts(rows: Iterable[Sequence[Any]]) -> dict[str, Any]:
    by_kind: dict[str, int] = {}
    by_status: dict[str, int] = {}
    table: dict[str, dict[str, int]] = {}
    for kind, status, count in rows:
        by_kind[kind] = by_kind.get(kind, 0) + count
        by_status[status] = by_status.get(status, 0) + count
        table.setdefault(kind, {})[status] = count
    return {
        "total": sum(by_kind.values()),
        "by_kind": by_kind,
        "by_status": by_status,
        "by_kind_and_status": table,
    }


def booking_counts(site_ids: list[int] | None, day: date) -> dict[str, Any]:
    query = _scoped(
        select(Booking.kind, Booking.status, func.count()), Booking.site_id, site_ids
    ).where(Booking.day == day)
    return _counts(db.session.execute(query.group_by(Booking.kind, Booking.status)).all())


def site_visits_query(site_ids: list[int] | None, day: date, status: str | None) -> Select:
    query = _scoped(select(Visit), Visit.site_id, site_ids).where(Visit.day == day)
    if status:
        query = query.where(Visit.status == status)
    return query.order_by(Visit.opened_at, Visit.id)


def visit_counts(site_ids: list[int] | None, day: date) -> dict[str, Any]:
    """Visits by status, and by the kind of the booking they came with ("walk_in" without one)."""
    kind = func.coalesce(Booking.kind, "walk_in")
    query = _scoped(
        select(kind, Visit.status, func.count()).outerjoin(Booking, Visit.booking_id == Booking.id),
        Visit.site_id,
        site_ids,
    ).where(Visit.day == day)
    return _counts(db.session.execute(query.group_by(kind, Visit.status)).all())


def booked_donor_ids(site_id: int, day: date) -> list[int]:
    """Donors expected or checked in at a site on a day: whom a face search there may compare."""
    return list(
        db.session.scalars(
            select(Booking.donor_id)
            .where(
                Booking.site_id == site_id,
                Booking.day == day,
                Booking.status.in_(ACTIVE_BOOKING),
            )
            .order_by(Booking.donor_id)
        )
    )

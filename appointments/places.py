"""Places on a slot, and who may take one: what bookings and waiting lists share.

Places are taken and given back only through the conditional UPDATEs below, so no interleaving
of requests can fill a slot beyond its capacity, on PostgreSQL or SQLite; the partial unique
index on bookings keeps one active booking per donor however concurrent the requests. Before a
place is taken: the slot open and within the horizon, the donor eligible on its day under the
site's region, and the donor's one active booking (a past day's lapses first).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, select, update
from sqlalchemy.orm import joinedload

from appointments.models import (
    ACTIVE_BOOKING,
    BOOKED,
    NO_SHOW,
    NOT_DONATED,
    SLOT_OPEN,
    Booking,
    Slot,
)
from appointments.rules import BookingRules, booking_rules
from certificate.eligibility import check_eligibility, reason_details
from core import clock
from core.errors import ApiError
from core.extensions import db
from core.lookups import get_or_404
from core.policy import PolicyUndecided, policy_for
from donors.models import Donor
from sites.models import Site

SYSTEM = ("system", None)


# ---------------------------------------------------------------- places on a slot


def _change_places(slot_id: int, condition: Any, **values: Any) -> bool:
    result = cast(
        CursorResult[Any],
        db.session.execute(
            update(Slot)
            .where(Slot.id == slot_id, condition)
            .values(**values)
            .execution_options(synchronize_session=False)
        ),
    )
    return result.rowcount == 1


def take_place(slot_id: int) -> bool:
    """Book one place if one is free; atomic, so the last place goes to exactly one request."""
    return _change_places(
        slot_id,
        and_(Slot.status == SLOT_OPEN, Slot.booked + Slot.held < Slot.capacity),
        booked=Slot.booked + 1,
    )


def release_place(slot_id: int) -> None:
    _change_places(slot_id, Slot.booked > 0, booked=Slot.booked - 1)


def hold_place(slot_id: int) -> bool:
    return _change_places(
        slot_id,
        and_(Slot.status == SLOT_OPEN, Slot.booked + Slot.held < Slot.capacity),
        held=Slot.held + 1,
    )


def release_hold(slot_id: int) -> None:
    _change_places(slot_id, Slot.held > 0, held=Slot.held - 1)


def convert_hold(slot_id: int) -> bool:
    return _change_places(
        slot_id,
        and_(Slot.status == SLOT_OPEN, Slot.held > 0),
        held=Slot.held - 1,
        booked=Slot.booked + 1,
    )


# ---------------------------------------------------------------- checks


def get_slot(slot_id: int) -> Slot:
    return get_or_404(
        Slot,
        slot_id,
        "slot_not_found",
        errors={"slot_id": ["slot_not_found"]},
        populate_existing=True,
        options=[joinedload(Slot.site)],
    )


def rules_for_site(site: Site) -> BookingRules:
    return booking_rules(site.region)


def bookable_until(slot: Slot, rules: BookingRules) -> datetime:
    return clock.as_utc(slot.starts_at) - rules.booking_closes


def change_until(booking: Booking) -> datetime:
    """Until when the donor may cancel or reschedule online."""
    return clock.as_utc(booking.slot.starts_at) - rules_for_site(booking.site).change_cutoff


def check_bookable(slot: Slot, rules: BookingRules) -> None:
    if slot.status != SLOT_OPEN or not slot.site.active:
        raise ApiError("slot_closed", 409, errors={"slot_id": ["slot_closed"]})
    if bookable_until(slot, rules) <= clock.now():
        raise ApiError("slot_closed", 409, errors={"slot_id": ["slot_closed"]})
    if slot.day > clock.local_today() + timedelta(days=rules.horizon_days):
        raise ApiError("slot_beyond_horizon", 422, errors={"slot_id": ["slot_beyond_horizon"]})


def is_eligible(donor: Donor, site: Site, kind: str, day: date) -> bool:
    try:
        return check_eligibility(donor, kind, day, policy_for(site.region)).allowed
    except (KeyError, PolicyUndecided):
        return False


def check_eligible(donor: Donor, site: Site, kind: str, day: date) -> None:
    """The certificate package's eligibility, under the rules of the site's region on the day."""
    try:
        result = check_eligibility(donor, kind, day, policy_for(site.region))
    except (KeyError, PolicyUndecided):
        raise ApiError("policy_undecided", 409) from None
    if not result.allowed:
        earliest = result.earliest_date.isoformat() if result.earliest_date else None
        raise ApiError(
            "not_eligible_on_date",
            409,
            errors={
                "eligibility": reason_details(result.reasons),
                "earliest_date": [earliest] if earliest else [],
            },
        )


def active_booking_row(donor_id: int) -> Booking | None:
    """The donor's active booking; one left over from a day already over lapses first."""
    booking = db.session.scalar(
        select(Booking).where(Booking.donor_id == donor_id, Booking.status.in_(ACTIVE_BOOKING))
    )
    if booking is not None and booking.day < clock.local_today():
        booking.status = NO_SHOW if booking.status == BOOKED else NOT_DONATED
        booking.changed_at = clock.now()
        db.session.flush()
        return None
    return booking

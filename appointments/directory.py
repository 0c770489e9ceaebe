"""What other packages may ask about bookings and places (notifications must not query these
tables):

- `active_booking(donor_id)`: the donor's upcoming or current booking, or None.
- `bookings_on(day)`: every booking still expected on a day, for the day-before reminder.
- `free_places_near(city, from_day, to_day)`: free places by site, day and kind in a city, for
  sizing an appeal to donors; `city_takes_bookings` says whether the city has slots at all.
- `booking_states(ids)`, `offer_states(ids)`: where named bookings and waiting-list offers stand
  now, for a message about one that must still be true when it is sent.

They return plain frozen dataclasses (`BookingInfo`, `FreePlaces`, ...), never rows.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, select

from appointments.models import (
    ACTIVE_BOOKING,
    BOOKED,
    SLOT_OPEN,
    Booking,
    Slot,
    WaitlistEntry,
)
from core import clock
from core.extensions import db
from sites.models import Site


@dataclass(frozen=True)
class BookingInfo:
    booking_id: int
    donor_id: int
    site_id: int
    site_name: str
    site_address: str
    kind: str
    day: date
    starts_at: datetime
    ends_at: datetime
    status: str


def _info(booking: Booking, slot: Slot, site: Site) -> BookingInfo:
    return BookingInfo(
        booking_id=booking.id,
        donor_id=booking.donor_id,
        site_id=site.id,
        site_name=site.name,
        site_address=site.address,
        kind=booking.kind,
        day=booking.day,
        starts_at=clock.as_utc(slot.starts_at),
        ends_at=clock.as_utc(slot.ends_at),
        status=booking.status,
    )


def active_booking(donor_id: int) -> BookingInfo | None:
    """The donor's booking still to come or in progress (today or later), or None."""
    row = db.session.execute(
        select(Booking, Slot, Site)
        .join(Slot, Booking.slot_id == Slot.id)
        .join(Site, Booking.site_id == Site.id)
        .where(
            Booking.donor_id == donor_id,
            Booking.status.in_(ACTIVE_BOOKING),
            Booking.day >= clock.local_today(),
        )
    ).first()
    return _info(*row) if row else None


def bookings_on(day: date) -> Iterator[BookingInfo]:
    """Every booking still expected on `day` (local date), by site and time, read in batches."""
    query = (
        select(Booking, Slot, Site)
        .join(Slot, Booking.slot_id == Slot.id)
        .join(Site, Booking.site_id == Site.id)
        .where(Booking.day == day, Booking.status == BOOKED)
        .order_by(Booking.site_id, Slot.starts_at, Booking.id)
        .execution_options(yield_per=500)
    )
    for booking, slot, site in db.session.execute(query):
        yield _info(booking, slot, site)


@dataclass(frozen=True)
class BookingState:
    booking_id: int
    status: str
    starts_at: datetime


def booking_states(booking_ids: Collection[int]) -> dict[int, BookingState]:
    """Where each named booking stands now, and when its slot starts (unknown ids left out)."""
    rows = db.session.execute(
        select(Booking.id, Booking.status, Slot.starts_at)
        .join(Slot, Booking.slot_id == Slot.id)
        .where(Booking.id.in_(set(booking_ids)))
    )
    return {row.id: BookingState(row.id, row.status, clock.as_utc(row.starts_at)) for row in rows}


@dataclass(frozen=True)
class OfferState:
    entry_id: int
    status: str
    slot_id: int | None  # the slot held for the donor while `status` is offered
    expires_at: datetime | None


def offer_states(entry_ids: Collection[int]) -> dict[int, OfferState]:
    """Where each named waiting-list entry stands now (unknown ids left out)."""
    rows = db.session.execute(
        select(
            WaitlistEntry.id,
            WaitlistEntry.status,
            WaitlistEntry.offered_slot_id,
            WaitlistEntry.offer_expires_at,
        ).where(WaitlistEntry.id.in_(set(entry_ids)))
    )
    return {
        row.id: OfferState(
            row.id,
            row.status,
            row.offered_slot_id,
            clock.as_utc(row.offer_expires_at) if row.offer_expires_at else None,
        )
        for row in rows
    }


@dataclass(frozen=True)
class FreePlaces:
    site_id: int
    site_name: str
    city: str
    day: date
    kind: str
    free: int


def city_takes_bookings(city: str, from_day: date, to_day: date) -> bool:
    """Whether any active site of the city has slots open over the days (full or not): if none
    has, its free places say nothing about how many donors it can receive."""
    return (
        db.session.scalar(
            select(Slot.id)
            .join(Site, Slot.site_id == Site.id)
            .where(*_open_in_city(city, from_day, to_day))
            .limit(1)
        )
        is not None
    )


def _open_in_city(city: str, from_day: date, to_day: date) -> tuple[ColumnElement[bool], ...]:
    """Open slots over the days at the city's active sites."""
    return (
        Site.city == city,
        Site.active.is_(True),
        Slot.status == SLOT_OPEN,
        Slot.day.between(from_day, to_day),
    )


def free_places_near(city: str, from_day: date, to_day: date) -> list[FreePlaces]:
    """Free places in slots yet to start at a city's active sites, per site, day and kind."""
    free = func.sum(Slot.capacity - Slot.booked - Slot.held)
    rows = db.session.execute(
        select(Site.id, Site.name, Site.city, Slot.day, Slot.kind, free)
        .join(Site, Slot.site_id == Site.id)
        .where(
            *_open_in_city(city, from_day, to_day),
            Slot.starts_at > clock.now(),
            Slot.booked + Slot.held < Slot.capacity,
        )
        .group_by(Site.id, Site.name, Site.city, Slot.day, Slot.kind)
        .order_by(Slot.day, Site.id, Slot.kind)
    ).all()
    return [FreePlaces(*row) for row in rows]

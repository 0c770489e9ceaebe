"""What notifications need to know about appointments, behind a small interface.

notifications does not import appointments: the app registers a directory backed by
appointments' services with `use_booking_directory` where it wires the packages together
(`wiring.py`), and hands over bookings and offers as the plain values below. Without a registered
directory (a tool that builds notifications alone) the default answers "no bookings, capacity
unknown": eligible-again reminders go to everyone eligible, no appointment reminders are sent,
and appeal waves fall back to the administrator's wave size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from flask import Flask, current_app


@dataclass(frozen=True)
class Booking:
    id: int
    donor_id: int
    starts_at: datetime  # aware
    site_name: str


@dataclass(frozen=True)
class PlaceOffer:
    """A place held for a donor from a waiting list until `expires_at`."""

    entry_id: int
    slot_id: int
    donor_id: int
    starts_at: datetime  # aware
    site_name: str
    expires_at: datetime  # aware


class BookingDirectory(Protocol):
    def active_booking(self, donor_id: int) -> Booking | None:
        """The donor's next booking that is neither cancelled nor past, if any."""
        ...

    def bookings_on(self, day: date) -> list[Booking]:
        """Every live booking whose appointment falls on `day` (local date)."""
        ...

    def free_places_near(
        self, city: str, from_day: date, to_day: date, kind: str | None = None
    ) -> int | None:
        """Free places (of `kind`, if given) at the sites of `city` over the days; None when
        capacity is unknown (the city's sites take no bookings then)."""
        ...


class NoBookings:
    """The directory while appointments is absent."""

    def active_booking(self, donor_id: int) -> Booking | None:
        return None

    def bookings_on(self, day: date) -> list[Booking]:
        return []

    def free_places_near(
        self, city: str, from_day: date, to_day: date, kind: str | None = None
    ) -> int | None:
        return None


def use_booking_directory(app: Flask, directory: BookingDirectory) -> None:
    app.extensions["booking_directory"] = directory


def booking_directory() -> BookingDirectory:
    return current_app.extensions.setdefault("booking_directory", NoBookings())

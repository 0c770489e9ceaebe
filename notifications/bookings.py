"""What notifications need to know about appointments, behind a small interface.

The appointments package (built separately) answers these questions; until it registers its
directory with `use_booking_directory`, the default answers "no bookings, capacity unknown":
eligible-again reminders go to everyone eligible, no appointment reminders are sent, and appeal
waves fall back to the administrator's wave size.
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


class BookingDirectory(Protocol):
    def active_booking(self, donor_id: int) -> Booking | None:
        """The donor's next booking that is neither cancelled nor past, if any."""
        ...

    def bookings_on(self, day: date) -> list[Booking]:
        """Every live booking whose appointment falls on `day` (local date)."""
        ...

    def free_places_near(self, city: str, from_day: date, to_day: date) -> int | None:
        """Free places at the sites of `city` over the days; None when capacity is unknown."""
        ...


class NoBookings:
    """The directory while appointments is absent."""

    def active_booking(self, donor_id: int) -> Booking | None:
        return None

    def bookings_on(self, day: date) -> list[Booking]:
        return []

    def free_places_near(self, city: str, from_day: date, to_day: date) -> int | None:
        return None


def use_booking_directory(app: Flask, directory: BookingDirectory) -> None:
    app.extensions["booking_directory"] = directory


def booking_directory() -> BookingDirectory:
    return current_app.extensions.setdefault("booking_directory", NoBookings())

"""Where appointments and notifications meet: the one place that imports both.

appointments does not import notifications, and notifications does not read appointments'
tables; the app connects them here when it is built (`init_app`, from app.register_workers):

- notifications asks appointments about bookings through a `BookingDirectory` backed by
  appointments' services (eligible-again reminders skip donors with a booking; appeal waves are
  sized to the free places near the city; the day-before reminders);
- appointments' signals become messages in the same transaction: a booking made writes its
  reminder at once (dated the day before), a booking cancelled or moved cancels it, a booking
  the site cancelled and a place offered from the waiting list are told to the donor;
- appointments' periodic work runs in notifications' scheduler, wherever that runs (`flask
  notifications worker` or `tick`, Celery beat): the sweep at every tick (about every minute),
  the opening of slots once a day;
- a place offered from the waiting list is held from when its text may first be sent (after the
  quiet hours), so offers made at night do not lapse untold;
- the messages about a booking or an offer rest on it, and appointments answers, just before
  they are sent, whether they still hold (`booking_active`: still booked, for the same time;
  `offer_open`: the place still held for this donor), so none goes out once it is untrue.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from flask import Flask

from appointments import directory, housekeeping, schedule, waitlist
from appointments.events import booking_cancelled, booking_made, place_offered
from appointments.models import BOOKED, OFFERED, WAITING, WaitlistEntry
from appointments.models import Booking as BookingRow
from core import clock
from notifications import services as messages
from notifications.bookings import Booking, PlaceOffer, use_booking_directory
from notifications.conditions import register_condition
from notifications.outbox import polite_time
from notifications.schedules import Job, RecurringJob, add_daily_job, add_recurring_job
from notifications.templates import template


def _booking(info: directory.BookingInfo) -> Booking:
    return Booking(info.booking_id, info.donor_id, info.starts_at, info.site_name)


def _booking_of(row: BookingRow) -> Booking:
    return Booking(row.id, row.donor_id, clock.as_utc(row.slot.starts_at), row.site.name)


class AppointmentsDirectory:
    """The BookingDirectory notifications uses, answered by appointments' services."""

    def active_booking(self, donor_id: int) -> Booking | None:
        info = directory.active_booking(donor_id)
        return _booking(info) if info else None

    def bookings_on(self, day: date) -> list[Booking]:
        return [_booking(info) for info in directory.bookings_on(day)]

    def free_places_near(
        self, city: str, from_day: date, to_day: date, kind: str | None = None
    ) -> int | None:
        if not directory.city_takes_bookings(city, from_day, to_day):
            return None
        places = directory.free_places_near(city, from_day, to_day)
        return sum(place.free for place in places if kind is None or place.kind == kind)


@booking_made.connect
def remind_of_the_booking(
    sender: Any, booking: BookingRow, replaced: BookingRow | None = None, **extra: Any
) -> None:
    if replaced is not None:
        messages.cancel_booking_reminder(replaced.id)
    messages.remind_of_booking(_booking_of(booking))


@booking_cancelled.connect
def forget_the_booking(sender: Any, booking: BookingRow, **extra: Any) -> None:
    messages.cancel_booking_reminder(booking.id)
    if booking.cancelled_by == "site":
        messages.tell_booking_cancelled_by_site(_booking_of(booking))


@place_offered.connect
def tell_the_offer(sender: Any, entry: WaitlistEntry, **extra: Any) -> None:
    slot = entry.offered_slot
    messages.tell_place_offered(
        PlaceOffer(
            entry_id=entry.id,
            slot_id=slot.id,
            donor_id=entry.donor_id,
            starts_at=clock.as_utc(slot.starts_at),
            site_name=entry.site.name,
            expires_at=clock.as_utc(entry.offer_expires_at),
        )
    )


def booking_still_active(args: list[dict[str, Any]]) -> list[str | None]:
    """A booking's reminder goes only while the booking is booked, for the time it names."""
    states = directory.booking_states({item["booking"] for item in args})
    answers: list[str | None] = []
    for item in args:
        state = states.get(item["booking"])
        if state is None:
            answers.append("booking_gone")
        elif state.status != BOOKED:
            answers.append(f"booking_{state.status}")  # cancelled, rescheduled, fulfilled ...
        elif state.starts_at != datetime.fromisoformat(item["starts_at"]):
            answers.append("booking_moved")
        else:
            answers.append(None)
    return answers


def offer_still_open(args: list[dict[str, Any]]) -> list[str | None]:
    """An offer's text goes only while the place is still held for the donor: not accepted,
    declined, passed on or withdrawn by the site meanwhile."""
    states = directory.offer_states({item["entry"] for item in args})
    now = clock.now()
    answers: list[str | None] = []
    for item in args:
        state = states.get(item["entry"])
        if state is None:
            answers.append("offer_gone")
        elif state.status == WAITING:
            answers.append("offer_withdrawn")  # the site closed the slot: back in line
        elif state.status != OFFERED:
            answers.append(f"offer_{state.status}")  # accepted, left, expired, lapsed
        elif state.slot_id != item["slot"]:
            answers.append("offer_changed")
        elif state.expires_at is None or state.expires_at <= now:
            answers.append("offer_expired")
        else:
            answers.append(None)
    return answers


def _sweep() -> dict[str, int]:
    return asdict(housekeeping.sweep())


def _open_slots(on: date) -> int:
    return sum(report.opened for report in schedule.open_all_slots().values())


def _offer_notice(moment: datetime) -> datetime:
    return polite_time(template("waitlist_offer").category, moment)


def init_app(app: Flask) -> None:
    use_booking_directory(app, AppointmentsDirectory())
    register_condition(app, "booking_active", booking_still_active)
    register_condition(app, "offer_open", offer_still_open)
    waitlist.use_offer_notice(app, _offer_notice)
    add_recurring_job(app, RecurringJob("appointments_sweep", _sweep))
    add_daily_job(app, Job("appointments_open_slots", _open_slots))

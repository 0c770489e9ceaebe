"""Where the packages meet: every reaction of one package to another's events, and every answer
one gives another, connected here, in one place, when the app is built (`init_app`).

Dependencies point one way (core <- donors, sites <- certificate <- appointments; rewards and
notifications listen), so a lower package tells the others what happened through a domain event
(certificate/events.py, donors/events.py, appointments/events.py) and never imports them. Each
package registers what it owns in its own `init_app` (its policy sections, its conditions, its
device maker); what crosses packages is below, in the order it runs. Every event is sent with
the app as its sender and each has one receiver per app, which runs the reactions in the order
listed (blinker alone would call them in no set order).

A donation is recorded (`certificate.services.record_donation`; a correction voids the old
record and records the new one in the same transaction):

1. inside the transaction, certificate writes the donation, its certificate and the audit entry,
   then sends `donation_recorded`, whose reactions run in this order:
   a. appointments closes the visit it came from (or the donor's open visit at the site that
      day) and fulfils the day's booking, then releases the donor's other booking and waiting
      places the new interval rules out (their places are offered at once: `booking_cancelled`
      and `place_offered` below); a visit closed meanwhile refuses the donation (409
      visit_not_open) and everything rolls back;
   b. teams links the donation to the call-out invitation whose arrival opened that visit
      (teams.arrivals);
   c. rewards marks the donor's standing to be recomputed just before commit;
   d. rewards credits the donation's points to the donor's ledger (rewards.points);
   e. notifications writes the thank-you (or, for a correction already thanked, the notice of
      the new number) to the outbox;
2. just before commit, rewards recomputes the donor's standing once (`core.transaction`): the
   benefits held are opened or withdrawn by the whole transaction, so a correction never
   withdraws and re-grants in between;
3. after commit, the outbox dispatches what is due (the thank-you), in the process or through
   Celery; nothing is told of a transaction that rolled back.

A donation is voided (`donation_voided`): rewards marks the donor's granted awards to be read
against the record just before commit (one the record no longer supports stands, flagged for
review: rewards/reviews.py), then marks the standing (recomputed just before commit; it follows
the awards, which stand) and takes back what is left of the donation's points, then
notifications cancels the thank-you if it has not gone.

Staff check a donor in (`visit_opened`, appointments): teams marks the donor's "coming" to a
call-out at that site as arrived, with the visit (teams.arrivals).

A donor signs a health form (`questionnaire_signed`, appointments): rewards credits its points
(at most once in the policy's `health_form_once_per`).

Points about to expire: a daily job asks rewards for the lots that expire within the policy's
warning lead and has notifications write one reminder per lot, sent only while the lot still has
points left (`points_left`). The expiry itself is rewards' own daily job.

A donor is erased (`donor_erased`, inside the erasure's transaction): appointments ends an open
visit, releases future bookings and waiting places (offered to other donors at once) and erases
the signed health forms; rewards cancels the donor's open souvenir orders (the stock comes back)
and drops their delivery addresses; teams ends the donor's memberships (left) and clears their
locations; donors removes the donor's family links, erasing the relatives' names and ID numbers
and the uploaded proofs (the reductions settled under them keep their rows); blooduse's admissions
no longer name the donor or those links; then notifications
cancels every unsent text to the donor (including any the releases just wrote).

A login code is issued (`login_code_issued`): notifications writes the text, sent after commit;
a code nobody sends is refused. The mobile changed (`mobile_changed`): the old number is told.
Someone tried to register the donor's ID number from another number
(`registration_for_registered_id`): the donor is told at the number on record.

A booking is made, moved, or cancelled, or a place offered (appointments' events), inside the
transaction: a booking made writes its reminder (dated the day before) and a moved one cancels
the old reminder; a booking cancelled cancels its reminder and, if the site cancelled it, tells
the donor; a place offered from the waiting list is told to the donor. The place is held from
when its text may first be sent (after the quiet hours), so offers made at night do not lapse
untold.

Answers one package gives another:

- certificate finds the visit staff name when recording a donation through appointments'
  `visit_ref`, and asks whether a donor is at a site (to defer them there) through appointments'
  `visiting` and `booked`;
- notifications asks appointments about bookings through a `BookingDirectory` (eligible-again
  reminders skip donors with a booking; appeal waves are sized to the free places near the city;
  the day-before reminders), and, just before it sends a message about a booking or an offer,
  whether it still holds (`booking_active`: still booked, for the same time; `offer_open`: the
  place still held for this donor), so none goes out once it is untrue;
- appointments' periodic work is registered in the app's one scheduler (core.jobs), which runs
  wherever it ticks (`flask notifications worker` or `tick`, Celery beat): the sweep at every
  tick (about every minute), the opening of slots once a day.

Wiring an app again changes nothing, and wiring one app connects nothing for another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from blinker import Signal
from flask import Flask

from appointments import checkin, directory, erasure, housekeeping, schedule, waitlist
from appointments.events import (
    booking_cancelled,
    booking_made,
    place_offered,
    questionnaire_signed,
    visit_opened,
)
from appointments.models import BOOKED, OFFERED, WAITING, WaitlistEntry
from appointments.models import Booking as BookingRow
from blooduse import admissions
from certificate.events import donation_recorded, donation_voided
from certificate.presence import use_presence_checks
from certificate.visits import use_visit_resolver
from core import clock
from core.jobs import Job, RecurringJob, add_daily_job, add_recurring_job
from donors import family
from donors.events import (
    donor_erased,
    login_code_issued,
    mobile_changed,
    registration_for_registered_id,
)
from notifications import listeners
from notifications import services as messages
from notifications.bookings import Booking, PlaceOffer, use_booking_directory
from notifications.conditions import register_condition
from notifications.rules import polite_time
from notifications.templates import template
from rewards import points, reviews, standing, store
from teams import arrivals, membership

Reaction = Callable[..., Any]


def _booking(info: directory.BookingInfo) -> Booking:
    return Booking(info.booking_id, info.donor_id, info.starts_at, info.site_name)


def _booking_of(row: BookingRow) -> Booking:
    return Booking(row.id, row.donor_id, clock.as_utc(row.slot.starts_at), row.site.name)


class AppointmentsDirectory:
    """The BookingDirectory notifications uses, answered by appointments' directory."""

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


def remind_of_the_booking(
    sender: Any, booking: BookingRow, replaced: BookingRow | None = None, **extra: Any
) -> None:
    if replaced is not None:
        messages.cancel_booking_reminder(replaced.id)
    messages.remind_of_booking(_booking_of(booking))


def forget_the_booking(sender: Any, booking: BookingRow, **extra: Any) -> None:
    messages.cancel_booking_reminder(booking.id)
    if booking.cancelled_by == "site":
        messages.tell_booking_cancelled_by_site(_booking_of(booking))


def tell_the_offer(sender: Any, entry: WaitlistEntry, **extra: Any) -> None:
    slot, expires_at = entry.offered_slot, entry.offer_expires_at
    if slot is None or expires_at is None:
        raise ValueError(f"waiting-list entry {entry.id} was offered no place")
    messages.tell_place_offered(
        PlaceOffer(
            entry_id=entry.id,
            slot_id=slot.id,
            donor_id=entry.donor_id,
            starts_at=clock.as_utc(slot.starts_at),
            site_name=entry.site.name,
            expires_at=clock.as_utc(expires_at),
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


def warn_of_expiring_points(on: date) -> int:
    """Reminders of points that expire within the warning lead, once per lot."""
    lots = [
        messages.ExpiringPoints(lot.donor_id, lot.lot_id, lot.points, lot.expires_on)
        for lot in points.lots_to_warn(on)
    ]
    return messages.warn_points_expiring(lots, on)


def points_still_left(args: list[dict[str, Any]]) -> list[str | None]:
    """A points reminder goes only while its lot still has points left."""
    left = points.points_left({item["lot"] for item in args})
    return [None if left.get(item["lot"], 0) > 0 else "points_used" for item in args]


def _sweep() -> dict[str, int]:
    return asdict(housekeeping.sweep())


def _open_slots(on: date) -> int:
    return sum(report.opened for report in schedule.open_all_slots().values())


def _offer_notice(moment: datetime) -> datetime:
    return polite_time(template("waitlist_offer").category, moment)


# What each event sets off, in the order it runs (the module's docstring tells the whole story).
REACTIONS: tuple[tuple[Signal, tuple[Reaction, ...]], ...] = (
    (
        donation_recorded,
        (
            checkin.fulfil_visit,
            arrivals.note_donation,
            standing.restand_before_commit,
            points.earn_for_the_donation,
            listeners.thank_the_donor,
        ),
    ),
    (
        donation_voided,
        (
            reviews.review_before_commit,
            standing.restand_before_commit,
            points.reverse_the_donation,
            listeners.unthank_the_donor,
        ),
    ),
    (visit_opened, (arrivals.note_arrival,)),
    (questionnaire_signed, (points.earn_for_the_health_form,)),
    (
        donor_erased,
        (
            erasure.forget_donor,
            store.forget_donor,
            membership.forget_donor,
            family.forget_donor,
            admissions.forget_donor,
            listeners.forget_the_donor,
        ),
    ),
    (login_code_issued, (listeners.deliver_the_code,)),
    (mobile_changed, (listeners.tell_the_old_number,)),
    (registration_for_registered_id, (listeners.tell_the_registered_holder,)),
    (booking_made, (remind_of_the_booking,)),
    (booking_cancelled, (forget_the_booking,)),
    (place_offered, (tell_the_offer,)),
)


def _in_order(reactions: tuple[Reaction, ...]) -> Reaction:
    if len(reactions) == 1:
        return reactions[0]

    def react(sender: Any, **event: Any) -> None:
        for reaction in reactions:
            reaction(sender, **event)

    return react


# One receiver per event, shared by every app: connecting it again for an app changes nothing.
_RECEIVERS = tuple((signal, _in_order(reactions)) for signal, reactions in REACTIONS)


def init_app(app: Flask) -> None:
    """Connect the packages for `app`, and for this app alone: each event's receiver is
    connected with the app as its sender, so another app built in the process (the tests build
    several) hears nothing of it, and is disconnected when the app goes. Idempotent."""
    for signal, receiver in _RECEIVERS:
        signal.connect(receiver, sender=app, weak=False)
    use_visit_resolver(app, checkin.visit_ref)
    use_presence_checks(app, checkin.visiting, checkin.booked)
    use_booking_directory(app, AppointmentsDirectory())
    register_condition(app, "booking_active", booking_still_active)
    register_condition(app, "offer_open", offer_still_open)
    register_condition(app, "points_left", points_still_left)
    waitlist.use_offer_notice(app, _offer_notice)
    add_recurring_job(app, RecurringJob("appointments_sweep", _sweep))
    add_daily_job(app, Job("appointments_open_slots", _open_slots))
    add_daily_job(app, Job("points_expiry_warnings", warn_of_expiring_points))

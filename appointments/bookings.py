"""Bookings: a donor books a slot's place, cancels or moves it until the cut-off, or takes the
place held for them from a waiting list; staff mark no-shows; a closed slot, a new donation or
an erasure releases bookings. A place given back goes to the day's waiting list first.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from appointments.events import booking_cancelled, booking_made
from appointments.models import (
    ACCEPTED,
    ACTIVE_BOOKING,
    BOOKED,
    CANCELLED,
    NO_SHOW,
    NOT_DONATED,
    OFFERED,
    RESCHEDULED,
    WAITING,
    Booking,
    Slot,
    WaitlistEntry,
)
from appointments.places import (
    SYSTEM,
    active_booking_row,
    change_until,
    check_bookable,
    check_eligible,
    convert_hold,
    get_slot,
    is_eligible,
    release_place,
    rules_for_site,
    take_place,
)
from appointments.waitlist import (
    active_entries,
    leave_waitlist,
    leave_waitlists_for,
    offer_free_places,
    offer_is_live,
    own_entry,
)
from core import audit, clock
from core.auth import Caller
from core.errors import ApiError
from core.extensions import db
from core.lookups import get_or_404
from donors.models import Donor
from sites.services import require_site


def _app() -> Any:
    return current_app._get_current_object()  # type: ignore[attr-defined]


def _booking_for(donor: Donor, slot: Slot) -> Booking:
    return Booking(
        donor_id=donor.id, slot=slot, site=slot.site, day=slot.day, kind=slot.kind, status=BOOKED
    )


def _insert_booking(booking: Booking) -> Booking:
    db.session.add(booking)
    try:
        db.session.flush()
    except IntegrityError:
        raise ApiError("already_booked", 409) from None
    return booking


def book(donor: Donor, slot_id: int) -> Booking:
    """Book a place for the slot's kind, if the donor may give it that day and a place is free."""
    slot = get_slot(slot_id)
    rules = rules_for_site(slot.site)
    check_bookable(slot, rules)
    if active_booking_row(donor.id) is not None:
        raise ApiError("already_booked", 409)
    check_eligible(donor, slot.site, slot.kind, slot.day)
    booking = _insert_booking(_booking_for(donor, slot))
    leave_waitlists_for(donor, slot)
    audit.record("booking.made", actor=("donor", donor.id), target=("booking", booking.id))
    db.session.flush()
    # Last, so the slot's row is locked only from here to the commit: a full slot rolls the
    # booking back, and a popular slot's requests wait on each other as briefly as possible.
    if not take_place(slot.id):
        raise ApiError("slot_full", 409, errors={"slot_id": ["slot_full"]})
    booking_made.send(_app(), booking=booking, replaced=None)
    return booking


def own_booking(donor: Donor, booking_id: int) -> Booking:
    return get_or_404(
        Booking,
        booking_id,
        "booking_not_found",
        visible=lambda row: row.donor_id == donor.id,
    )


def _check_changeable(booking: Booking) -> None:
    if booking.status != BOOKED:
        raise ApiError("booking_not_active", 409)
    if change_until(booking) <= clock.now():
        raise ApiError("change_window_closed", 409)


def cancel(donor: Donor, booking_id: int) -> Booking:
    """The donor cancels until the cut-off; the place goes to the day's waiting list first."""
    booking = own_booking(donor, booking_id)
    _check_changeable(booking)
    booking.status = CANCELLED
    booking.cancelled_by = "donor"
    booking.changed_at = clock.now()
    release_place(booking.slot_id)
    audit.record("booking.cancelled", actor=("donor", donor.id), target=("booking", booking.id))
    booking_cancelled.send(_app(), booking=booking)
    offer_free_places(booking.site_id, booking.day, booking.kind)
    return booking


def _replace(old: Booking, new_slot: Slot, donor: Donor) -> Booking:
    """Move an active booking to a slot whose place is already taken for the donor."""
    old.status = RESCHEDULED
    old.changed_at = clock.now()
    db.session.flush()  # the old booking stops being active before the new one is written
    new = _insert_booking(_booking_for(donor, new_slot))
    old.rescheduled_to_id = new.id
    release_place(old.slot_id)
    return new


def reschedule(donor: Donor, booking_id: int, slot_id: int) -> Booking:
    """Move to another slot until the cut-off: the new place is taken before the old is freed."""
    booking = own_booking(donor, booking_id)
    _check_changeable(booking)
    if slot_id == booking.slot_id:
        raise ApiError("already_booked", 409)
    slot = get_slot(slot_id)
    check_bookable(slot, rules_for_site(slot.site))
    check_eligible(donor, slot.site, slot.kind, slot.day)
    if not take_place(slot.id):
        raise ApiError("slot_full", 409, errors={"slot_id": ["slot_full"]})
    new = _replace(booking, slot, donor)
    leave_waitlists_for(donor, slot)
    audit.record(
        "booking.rescheduled",
        actor=("donor", donor.id),
        target=("booking", new.id),
        details={"from": booking.id},
    )
    booking_made.send(_app(), booking=new, replaced=booking)
    offer_free_places(booking.site_id, booking.day, booking.kind)
    return new


def mark_no_show(staff: Caller, booking_id: int) -> Booking:
    """Staff of the booking's site mark a donor who did not come, once the slot has started."""
    booking = get_or_404(Booking, booking_id, "booking_not_found")
    require_site(staff, booking.site_id)
    if booking.status != BOOKED:
        raise ApiError("booking_not_active", 409)
    if clock.as_utc(booking.slot.starts_at) > clock.now():
        raise ApiError("no_show_too_early", 409)
    booking.status = NO_SHOW
    booking.no_show_marked_by = staff.principal_id
    booking.changed_at = clock.now()
    audit.record(
        "booking.no_show", actor=("staff", staff.principal_id), target=("booking", booking.id)
    )
    return booking


def cancel_for_closed_slot(slot: Slot, reason: str) -> int:
    """The site closed a slot: its bookings are cancelled and its offers go back in line."""
    cancelled = 0
    for booking in db.session.scalars(
        select(Booking).where(Booking.slot_id == slot.id, Booking.status == BOOKED)
    ):
        booking.status = CANCELLED
        booking.cancelled_by = "site"
        booking.changed_at = clock.now()
        audit.record(
            "booking.cancelled_by_site",
            actor=SYSTEM,
            target=("booking", booking.id),
            details={"reason": reason},
        )
        booking_cancelled.send(_app(), booking=booking)
        cancelled += 1
    for entry in db.session.scalars(
        select(WaitlistEntry).where(
            WaitlistEntry.offered_slot_id == slot.id, WaitlistEntry.status == OFFERED
        )
    ):
        entry.status = WAITING  # keeps its place in line: the site withdrew, not the donor
        entry.offered_slot_id = entry.offered_at = entry.offer_expires_at = None
    db.session.flush()
    return cancelled


def withdraw_after_donation(donor: Donor) -> None:
    """A new donation can rule out the donor's other booking and waiting places (the intervals
    of GB 18467-2011); they are released at once, so the places go to other donors."""
    booking = active_booking_row(donor.id)
    if booking is not None and booking.status == BOOKED:
        if not is_eligible(donor, booking.site, booking.kind, booking.day):
            _release_booking(booking, "system", "booking.cancelled_not_eligible", SYSTEM)
    for entry in db.session.scalars(active_entries(donor.id)).all():
        if not is_eligible(donor, entry.site, entry.kind, entry.day):
            leave_waitlist(donor, entry.id)


def withdraw_for_erasure(donor: Donor) -> None:
    """An erased donor keeps no booking or waiting place: each is released at once, whatever
    the cut-off, so the places go to other donors. Past bookings stay, pseudonymous."""
    booking = active_booking_row(donor.id)
    if booking is not None and booking.status == BOOKED:
        _release_booking(booking, "donor", "booking.cancelled_donor_erased", ("donor", donor.id))
    for entry in db.session.scalars(active_entries(donor.id)).all():
        leave_waitlist(donor, entry.id)


def _release_booking(booking: Booking, cancelled_by: str, action: str, actor: Any) -> None:
    """Cancel a booking its donor can no longer keep; the place goes to the waiting list."""
    booking.status = CANCELLED
    booking.cancelled_by = cancelled_by
    booking.changed_at = clock.now()
    release_place(booking.slot_id)
    audit.record(action, actor=actor, target=("booking", booking.id))
    booking_cancelled.send(_app(), booking=booking)
    offer_free_places(booking.site_id, booking.day, booking.kind)


def donor_bookings_query(donor: Donor, status: str | None = None) -> Select:
    query = select(Booking).where(Booking.donor_id == donor.id)
    if status:
        query = query.where(Booking.status == status)
    return query.order_by(Booking.created_at.desc(), Booking.id.desc())


def accept_offer(donor: Donor, entry_id: int) -> Booking:
    """Take the place held for the donor; an existing booking moves to it (within its cut-off)."""
    entry = own_entry(donor, entry_id)
    if entry.status != OFFERED or entry.offered_slot_id is None:
        raise ApiError("offer_not_open", 409)
    if not offer_is_live(entry):
        raise ApiError("offer_expired", 409)
    slot = get_slot(entry.offered_slot_id)
    check_eligible(donor, slot.site, slot.kind, slot.day)
    current = active_booking_row(donor.id)
    if current is not None:
        _check_changeable(current)
    if not convert_hold(slot.id):
        raise ApiError("offer_not_open", 409)
    entry.status = ACCEPTED
    entry.closed_at = clock.now()
    if current is not None:
        booking = _replace(current, slot, donor)
    else:
        booking = _insert_booking(_booking_for(donor, slot))
    entry.booking_id = booking.id
    audit.record("waitlist.accepted", actor=("donor", donor.id), target=("booking", booking.id))
    booking_made.send(_app(), booking=booking, replaced=current)
    if current is not None:
        offer_free_places(current.site_id, current.day, current.kind)
    return booking


def shown_status(booking: Booking) -> str:
    """A booking whose day is over reads as the nightly sweep will record it."""
    if booking.status in ACTIVE_BOOKING and booking.day < clock.local_today():
        return NO_SHOW if booking.status == BOOKED else NOT_DONATED
    return booking.status

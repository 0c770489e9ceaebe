"""Bookings and waiting lists: the rules, callable from routes, the CLI and tests alike.

Places are taken and given back only through the conditional UPDATEs below, so no interleaving
of requests can fill a slot beyond its capacity, on PostgreSQL or SQLite; the partial unique
index on bookings keeps one active booking per donor however concurrent the requests.

For other packages (notifications must not query these tables), a few small functions:

- `active_booking(donor_id)`: the donor's upcoming or current booking, or None.
- `bookings_on(day)`: every booking still expected on a day, for the day-before reminder.
- `free_places_near(city, from_day, to_day)`: free places by site, day and kind in a city, for
  sizing an appeal to donors; `city_takes_bookings` says whether the city has slots at all.
- `booking_states(ids)`, `offer_states(ids)`: where named bookings and waiting-list offers stand
  now, for a message about one that must still be true when it is sent.

They return plain frozen dataclasses (`BookingInfo`, `FreePlaces`, ...), never rows.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from flask import Flask, current_app
from sqlalchemy import CursorResult, Select, and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from appointments.events import booking_cancelled, booking_made, offer_expired, place_offered
from appointments.models import (
    ACCEPTED,
    ACTIVE_BOOKING,
    ACTIVE_WAITLIST,
    BOOKED,
    CANCELLED,
    CHECKED_IN,
    EXPIRED,
    LAPSED,
    LEFT,
    NO_SHOW,
    NOT_DONATED,
    OFFERED,
    RESCHEDULED,
    SLOT_OPEN,
    VISIT_CLOSED,
    VISIT_OPEN,
    WAITING,
    Booking,
    CheckinCodeUse,
    Slot,
    Visit,
    WaitlistEntry,
)
from appointments.rules import BookingRules, booking_rules
from certificate.eligibility import check_eligibility, reason_details
from core import audit, clock
from core.auth import ADMIN, Caller
from core.errors import ApiError
from core.extensions import db
from core.policy import PolicyUndecided, policy_for
from donors.models import Donor
from sites.models import Site
from sites.services import current_staff, get_site, require_site

SYSTEM = ("system", None)
_OFFER_ROUNDS = 100  # bounds one pass of offering freed places; the next change continues it


def _app() -> Any:
    return current_app._get_current_object()  # type: ignore[attr-defined]


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


def _convert_hold(slot_id: int) -> bool:
    return _change_places(
        slot_id,
        and_(Slot.status == SLOT_OPEN, Slot.held > 0),
        held=Slot.held - 1,
        booked=Slot.booked + 1,
    )


# ---------------------------------------------------------------- checks


def get_slot(slot_id: int) -> Slot:
    slot = db.session.get(Slot, slot_id, populate_existing=True, options=[joinedload(Slot.site)])
    if slot is None:
        raise ApiError("slot_not_found", 404, errors={"slot_id": ["slot_not_found"]})
    return slot


def rules_for_site(site: Site) -> BookingRules:
    return booking_rules(site.region)


def bookable_until(slot: Slot, rules: BookingRules) -> datetime:
    return clock.as_utc(slot.starts_at) - rules.booking_closes


def change_until(booking: Booking) -> datetime:
    """Until when the donor may cancel or reschedule online."""
    return clock.as_utc(booking.slot.starts_at) - rules_for_site(booking.site).change_cutoff


def _check_bookable(slot: Slot, rules: BookingRules) -> None:
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


# ---------------------------------------------------------------- bookings


def _active_booking_row(donor_id: int) -> Booking | None:
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
    _check_bookable(slot, rules)
    if _active_booking_row(donor.id) is not None:
        raise ApiError("already_booked", 409)
    check_eligible(donor, slot.site, slot.kind, slot.day)
    booking = _insert_booking(_booking_for(donor, slot))
    _leave_waitlists_for(donor, slot)
    audit.record("booking.made", actor=("donor", donor.id), target=("booking", booking.id))
    db.session.flush()
    # Last, so the slot's row is locked only from here to the commit: a full slot rolls the
    # booking back, and a popular slot's requests wait on each other as briefly as possible.
    if not take_place(slot.id):
        raise ApiError("slot_full", 409, errors={"slot_id": ["slot_full"]})
    booking_made.send(_app(), booking=booking, replaced=None)
    return booking


def own_booking(donor: Donor, booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.donor_id != donor.id:
        raise ApiError("booking_not_found", 404)
    return booking


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
    _check_bookable(slot, rules_for_site(slot.site))
    check_eligible(donor, slot.site, slot.kind, slot.day)
    if not take_place(slot.id):
        raise ApiError("slot_full", 409, errors={"slot_id": ["slot_full"]})
    new = _replace(booking, slot, donor)
    _leave_waitlists_for(donor, slot)
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
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise ApiError("booking_not_found", 404)
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
    booking = _active_booking_row(donor.id)
    if booking is not None and booking.status == BOOKED:
        if not is_eligible(donor, booking.site, booking.kind, booking.day):
            _release_booking(booking, "system", "booking.cancelled_not_eligible", SYSTEM)
    for entry in db.session.scalars(_active_entries(donor.id)).all():
        if not is_eligible(donor, entry.site, entry.kind, entry.day):
            leave_waitlist(donor, entry.id)


def withdraw_for_erasure(donor: Donor) -> None:
    """An erased donor keeps no booking or waiting place: each is released at once, whatever
    the cut-off, so the places go to other donors. Past bookings stay, pseudonymous."""
    booking = _active_booking_row(donor.id)
    if booking is not None and booking.status == BOOKED:
        _release_booking(booking, "donor", "booking.cancelled_donor_erased", ("donor", donor.id))
    for entry in db.session.scalars(_active_entries(donor.id)).all():
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


# ---------------------------------------------------------------- waiting lists


def _bookable_slots(site: Site, day: date, kind: str, rules: BookingRules) -> list[Slot]:
    return list(
        db.session.scalars(
            select(Slot)
            .where(
                Slot.site_id == site.id,
                Slot.day == day,
                Slot.kind == kind,
                Slot.status == SLOT_OPEN,
                Slot.starts_at > clock.now() + rules.booking_closes,
            )
            .order_by(Slot.starts_at)
            .execution_options(populate_existing=True)
        )
    )


def _active_entries(donor_id: int) -> Select:
    return select(WaitlistEntry).where(
        WaitlistEntry.donor_id == donor_id, WaitlistEntry.status.in_(ACTIVE_WAITLIST)
    )


def join_waitlist(donor: Donor, site_id: int, day: date, kind: str) -> WaitlistEntry:
    """Wait for a place at a full site and day; freed places are offered first come first served."""
    site = get_site(site_id)
    rules = rules_for_site(site)
    today = clock.local_today()
    if not today <= day <= today + timedelta(days=rules.horizon_days):
        raise ApiError("slot_beyond_horizon", 422, errors={"day": ["slot_beyond_horizon"]})
    slots = _bookable_slots(site, day, kind, rules)
    if not slots:
        raise ApiError("waitlist_not_offered", 409)
    if any(slot.free > 0 for slot in slots):
        raise ApiError("waitlist_places_available", 409)
    current = _active_booking_row(donor.id)
    if current and (current.site_id, current.day, current.kind) == (site.id, day, kind):
        raise ApiError("already_booked", 409)
    entries = db.session.scalars(_active_entries(donor.id)).all()
    if any((e.site_id, e.day, e.kind) == (site.id, day, kind) for e in entries):
        raise ApiError("waitlist_already_joined", 409)
    if len(entries) >= rules.max_waitlist_entries:
        raise ApiError("waitlist_limit", 409)
    check_eligible(donor, site, kind, day)
    entry = WaitlistEntry(donor_id=donor.id, site_id=site.id, day=day, kind=kind)
    db.session.add(entry)
    try:
        db.session.flush()
    except IntegrityError:
        raise ApiError("waitlist_already_joined", 409) from None
    audit.record("waitlist.joined", actor=("donor", donor.id), target=("waitlist", entry.id))
    return entry


def position_in_line(entry: WaitlistEntry) -> int | None:
    """1 for the first donor in line; None once the entry is no longer waiting."""
    if entry.status not in ACTIVE_WAITLIST:
        return None
    ahead = db.session.execute(
        select(func.count())
        .select_from(WaitlistEntry)
        .where(
            WaitlistEntry.site_id == entry.site_id,
            WaitlistEntry.day == entry.day,
            WaitlistEntry.kind == entry.kind,
            WaitlistEntry.status.in_(ACTIVE_WAITLIST),
            (WaitlistEntry.created_at < entry.created_at)
            | ((WaitlistEntry.created_at == entry.created_at) & (WaitlistEntry.id < entry.id)),
        )
    ).scalar_one()
    return ahead + 1


def use_offer_notice(app: Flask, first_notice: Callable[[datetime], datetime]) -> None:
    """How soon a donor offered a place at a moment can be told (the quiet hours of texts)."""
    app.extensions["offer_notice"] = first_notice


def _first_notice(moment: datetime) -> datetime:
    first_notice = current_app.extensions.get("offer_notice")
    return first_notice(moment) if first_notice else moment


def offer_free_places(site_id: int, day: date, kind: str) -> int:
    """Hold each free place of the day for the next donor in line; returns the offers made.

    A hold runs from when the donor can first be told of it, not from when it was made: a place
    freed at night is held into the morning, so the line is not used up by offers no one heard
    of; a place that starts too soon after that moment is left for anyone to book.
    """
    site = db.session.get_one(Site, site_id)
    rules = rules_for_site(site)
    now = clock.now()
    told = _first_notice(now)
    offers = 0
    for _ in range(_OFFER_ROUNDS):
        slot_id, starts_at = db.session.execute(
            select(Slot.id, Slot.starts_at)
            .where(
                Slot.site_id == site_id,
                Slot.day == day,
                Slot.kind == kind,
                Slot.status == SLOT_OPEN,
                Slot.booked + Slot.held < Slot.capacity,
                Slot.starts_at > told + rules.booking_closes,
            )
            .order_by(Slot.starts_at)
            .limit(1)
        ).first() or (None, None)
        if slot_id is None or starts_at is None:
            break
        entry_id = db.session.scalar(
            select(WaitlistEntry.id)
            .where(
                WaitlistEntry.site_id == site_id,
                WaitlistEntry.day == day,
                WaitlistEntry.kind == kind,
                WaitlistEntry.status == WAITING,
            )
            .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
            .limit(1)
        )
        if entry_id is None:
            break
        if not hold_place(slot_id):
            continue  # taken meanwhile: look again
        expires = min(told + rules.offer_hold, clock.as_utc(starts_at) - rules.booking_closes)
        claimed = cast(
            CursorResult[Any],
            db.session.execute(
                update(WaitlistEntry)
                .where(WaitlistEntry.id == entry_id, WaitlistEntry.status == WAITING)
                .values(
                    status=OFFERED,
                    offered_slot_id=slot_id,
                    offered_at=now,
                    offer_expires_at=expires,
                )
                .execution_options(synchronize_session=False)
            ),
        ).rowcount
        if not claimed:
            release_hold(slot_id)
            continue
        entry = db.session.get_one(WaitlistEntry, entry_id, populate_existing=True)
        audit.record("waitlist.offered", actor=SYSTEM, target=("waitlist", entry.id))
        place_offered.send(_app(), entry=entry)
        offers += 1
    return offers


def own_entry(donor: Donor, entry_id: int) -> WaitlistEntry:
    entry = db.session.get(WaitlistEntry, entry_id, populate_existing=True)
    if entry is None or entry.donor_id != donor.id:
        raise ApiError("waitlist_entry_not_found", 404)
    return entry


def offer_is_live(entry: WaitlistEntry) -> bool:
    expires = entry.offer_expires_at
    return entry.status == OFFERED and expires is not None and clock.as_utc(expires) > clock.now()


def accept_offer(donor: Donor, entry_id: int) -> Booking:
    """Take the place held for the donor; an existing booking moves to it (within its cut-off)."""
    entry = own_entry(donor, entry_id)
    if entry.status != OFFERED or entry.offered_slot_id is None:
        raise ApiError("offer_not_open", 409)
    if not offer_is_live(entry):
        raise ApiError("offer_expired", 409)
    slot = get_slot(entry.offered_slot_id)
    check_eligible(donor, slot.site, slot.kind, slot.day)
    current = _active_booking_row(donor.id)
    if current is not None:
        _check_changeable(current)
    if not _convert_hold(slot.id):
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


def leave_waitlist(donor: Donor, entry_id: int) -> WaitlistEntry:
    """Leave the list, declining any place held: it passes to the next donor in line at once."""
    entry = own_entry(donor, entry_id)
    if entry.status not in ACTIVE_WAITLIST:
        return entry
    held_slot = entry.offered_slot_id if entry.status == OFFERED else None
    entry.status = LEFT
    entry.closed_at = clock.now()
    audit.record("waitlist.left", actor=("donor", donor.id), target=("waitlist", entry.id))
    if held_slot is not None:
        release_hold(held_slot)
        offer_free_places(entry.site_id, entry.day, entry.kind)
    return entry


def _leave_waitlists_for(donor: Donor, slot: Slot) -> None:
    """A donor who books the day they waited for needs the list no more."""
    entries = db.session.scalars(
        _active_entries(donor.id).where(
            WaitlistEntry.site_id == slot.site_id,
            WaitlistEntry.day == slot.day,
            WaitlistEntry.kind == slot.kind,
        )
    ).all()
    for entry in entries:
        leave_waitlist(donor, entry.id)


def donor_waitlist_query(donor: Donor) -> Select:
    return (
        select(WaitlistEntry)
        .where(WaitlistEntry.donor_id == donor.id)
        .order_by(WaitlistEntry.created_at.desc(), WaitlistEntry.id.desc())
    )


def expire_offers() -> int:
    """Pass on every place whose hold ran out; returns how many offers expired."""
    now = clock.now()
    expired = 0
    due = db.session.scalars(
        select(WaitlistEntry.id)
        .where(WaitlistEntry.status == OFFERED, WaitlistEntry.offer_expires_at <= now)
        .order_by(WaitlistEntry.offer_expires_at)
        .limit(1000)
    ).all()
    for entry_id in due:
        claimed = cast(
            CursorResult[Any],
            db.session.execute(
                update(WaitlistEntry)
                .where(WaitlistEntry.id == entry_id, WaitlistEntry.status == OFFERED)
                .values(status=EXPIRED, closed_at=now)
                .execution_options(synchronize_session=False)
            ),
        ).rowcount
        if not claimed:
            continue
        entry = db.session.get_one(WaitlistEntry, entry_id, populate_existing=True)
        if entry.offered_slot_id is not None:
            release_hold(entry.offered_slot_id)
        audit.record("waitlist.offer_expired", actor=SYSTEM, target=("waitlist", entry.id))
        offer_expired.send(_app(), entry=entry)
        offer_free_places(entry.site_id, entry.day, entry.kind)
        expired += 1
    return expired


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


# ---------------------------------------------------------------- staff views


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


# ---------------------------------------------------------------- for other packages


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
            .where(
                Site.city == city,
                Site.active.is_(True),
                Slot.status == SLOT_OPEN,
                Slot.day.between(from_day, to_day),
            )
            .limit(1)
        )
        is not None
    )


def free_places_near(city: str, from_day: date, to_day: date) -> list[FreePlaces]:
    """Free places in slots yet to start at a city's active sites, per site, day and kind."""
    free = func.sum(Slot.capacity - Slot.booked - Slot.held)
    rows = db.session.execute(
        select(Site.id, Site.name, Site.city, Slot.day, Slot.kind, free)
        .join(Site, Slot.site_id == Site.id)
        .where(
            Site.city == city,
            Site.active.is_(True),
            Slot.status == SLOT_OPEN,
            Slot.day.between(from_day, to_day),
            Slot.starts_at > clock.now(),
            Slot.booked + Slot.held < Slot.capacity,
        )
        .group_by(Site.id, Site.name, Site.city, Slot.day, Slot.kind)
        .order_by(Slot.day, Site.id, Slot.kind)
    ).all()
    return [FreePlaces(*row) for row in rows]


# ---------------------------------------------------------------- views


def site_view(site: Site) -> dict[str, Any]:
    """Plain values, so a view built before the commit needs no reload after it."""
    keys = ("id", "name", "address", "city", "phone", "latitude", "longitude", "notice")
    return {key: getattr(site, key) for key in keys}


def shown_status(booking: Booking) -> str:
    """A booking whose day is over reads as the nightly sweep will record it."""
    if booking.status in ACTIVE_BOOKING and booking.day < clock.local_today():
        return NO_SHOW if booking.status == BOOKED else NOT_DONATED
    return booking.status


def booking_view(booking: Booking) -> dict[str, Any]:
    slot, site = booking.slot, booking.site
    return {
        "id": booking.id,
        "status": shown_status(booking),
        "kind": booking.kind,
        "kind_name": policy_for(site.region).kind_name(booking.kind),
        "day": booking.day,
        "starts_at": slot.starts_at,
        "ends_at": slot.ends_at,
        "site": site_view(site),
        "change_until": change_until(booking),
        "created_at": booking.created_at,
        "changed_at": booking.changed_at,
        "cancelled_by": booking.cancelled_by,
        "rescheduled_to_id": booking.rescheduled_to_id,
        "calendar_url": f"/api/v1/me/appointments/{booking.id}/calendar.ics",
    }


def entry_view(entry: WaitlistEntry) -> dict[str, Any]:
    """An entry as its donor sees it; an offer whose hold ran out shows expired at once."""
    status = entry.status
    if status == OFFERED and not offer_is_live(entry):
        status = EXPIRED
    offer = None
    slot = entry.offered_slot if status == OFFERED else None
    if slot is not None:
        offer = {
            "slot_id": slot.id,
            "starts_at": slot.starts_at,
            "ends_at": slot.ends_at,
            "expires_at": entry.offer_expires_at,
        }
    return {
        "id": entry.id,
        "site": site_view(entry.site),
        "day": entry.day,
        "kind": entry.kind,
        "kind_name": policy_for(entry.site.region).kind_name(entry.kind),
        "status": status,
        "position": position_in_line(entry) if status in ACTIVE_WAITLIST else None,
        "offer": offer,
        "booking_id": entry.booking_id,
        "created_at": entry.created_at,
    }

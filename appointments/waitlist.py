"""Waiting lists: a donor waits for a place at a full site and day; a freed place is held for
the next donor in line, first come first served, for a while (`offer_free_places`), and passes on
when the donor leaves the list or the hold runs out. Taking the place held makes a booking
(`bookings.accept_offer`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, cast

from flask import Flask, current_app
from sqlalchemy import CursorResult, Select, func, select, update
from sqlalchemy.exc import IntegrityError

from appointments.events import offer_expired, place_offered
from appointments.models import (
    ACTIVE_WAITLIST,
    EXPIRED,
    LEFT,
    OFFERED,
    SLOT_OPEN,
    WAITING,
    Slot,
    WaitlistEntry,
)
from appointments.places import (
    SYSTEM,
    active_booking_row,
    check_eligible,
    hold_place,
    release_hold,
    rules_for_site,
)
from appointments.rules import BookingRules
from core import audit, clock
from core.errors import ApiError
from core.extensions import db
from core.lookups import get_or_404
from donors.models import Donor
from sites.models import Site
from sites.services import get_site

_OFFER_ROUNDS = 100  # bounds one pass of offering freed places; the next change continues it


def _app() -> Any:
    return current_app._get_current_object()  # type: ignore[attr-defined]


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


def active_entries(donor_id: int) -> Select:
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
    current = active_booking_row(donor.id)
    if current and (current.site_id, current.day, current.kind) == (site.id, day, kind):
        raise ApiError("already_booked", 409)
    entries = db.session.scalars(active_entries(donor.id)).all()
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
    return get_or_404(
        WaitlistEntry,
        entry_id,
        "waitlist_entry_not_found",
        visible=lambda entry: entry.donor_id == donor.id,
        populate_existing=True,
    )


def offer_is_live(entry: WaitlistEntry) -> bool:
    expires = entry.offer_expires_at
    return entry.status == OFFERED and expires is not None and clock.as_utc(expires) > clock.now()


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


def leave_waitlists_for(donor: Donor, slot: Slot) -> None:
    """A donor who books the day they waited for needs the list no more."""
    entries = db.session.scalars(
        active_entries(donor.id).where(
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


def shown_entry_status(entry: WaitlistEntry) -> str:
    """An offer whose hold ran out reads as expired at once, before the sweep records it."""
    status = entry.status
    if status == OFFERED and not offer_is_live(entry):
        status = EXPIRED
    return status

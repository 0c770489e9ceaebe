"""The donor's bookings and waiting-list entries as plain values for their schemas."""

from __future__ import annotations

from typing import Any

from appointments.models import (
    ACTIVE_BOOKING,
    ACTIVE_WAITLIST,
    BOOKED,
    EXPIRED,
    NO_SHOW,
    NOT_DONATED,
    OFFERED,
    Booking,
    WaitlistEntry,
)
from appointments.places import (
    change_until,
)
from appointments.waitlist import (
    offer_is_live,
    position_in_line,
)
from core import clock
from core.policy import policy_for
from sites.models import Site


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
    if status == OFFERED:
        slot = entry.offered_slot
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

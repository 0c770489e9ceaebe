"""Arrivals: a member who said they are coming is checked in at the call-out's site as a visit,
and the donation recorded on that visit closes the loop (and counts, as every donation does).

Reactions to appointments' `visit_opened` and certificate's `donation_recorded`, run inside the
transaction that sent them and connected, in order, in wiring.py.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from appointments.models import Visit
from core import clock
from core.extensions import db
from teams.models import CALL_OUT_CANCELLED, COMING, CallOut, CallOutInvitation


def note_arrival(sender: Any, visit: Any, **extra: Any) -> None:
    """A visit opened at a site: the donor's latest "coming" to a call-out there has arrived."""
    invitation = db.session.scalar(
        select(CallOutInvitation)
        .join(CallOut, CallOut.id == CallOutInvitation.call_out_id)
        .where(
            CallOutInvitation.donor_id == visit.donor_id,
            CallOutInvitation.answer == COMING,
            CallOutInvitation.arrived_at.is_(None),
            CallOut.site_id == visit.site_id,
            CallOut.status != CALL_OUT_CANCELLED,
        )
        .order_by(CallOutInvitation.invited_at.desc(), CallOutInvitation.id.desc())
        .limit(1)
    )
    if invitation is not None:
        invitation.visit_id = visit.id
        invitation.arrived_at = clock.now()


def note_donation(sender: Any, donation: Any, **extra: Any) -> None:
    """A donation recorded on an arrival's visit is the call-out's (after appointments closed
    the visit with it); a correction moves the link to the corrected record."""
    if donation.replaces_id is not None:
        db.session.execute(
            update(CallOutInvitation)
            .where(CallOutInvitation.donation_id == donation.replaces_id)
            .values(donation_id=donation.id)
            .execution_options(synchronize_session="fetch")
        )
        return
    visit_id = db.session.scalar(select(Visit.id).where(Visit.donation_id == donation.id))
    if visit_id is None:
        return
    db.session.execute(
        update(CallOutInvitation)
        .where(CallOutInvitation.visit_id == visit_id, CallOutInvitation.donation_id.is_(None))
        .values(donation_id=donation.id)
        .execution_options(synchronize_session="fetch")
    )

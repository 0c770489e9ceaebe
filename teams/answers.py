"""Answers to a call-out, and the thank-you that stands the rest down.

A member answers by the reply link in the SMS (`/c/<token>`: the token is 128 random bits, of
which only a keyed hash is stored) or in the app: coming, with an arrival time, or not now. They
may change their mind while the call-out is open. When as many said they are coming as are
needed, the call-out is filled and every other member called who has not said so is thanked and
stood down, once; staff closing or cancelling a call-out stand down the rest the same way.

The stand-down goes only to those the call-out reached: an invitation still waiting in the
outbox (a non-urgent one held by the night) is cancelled instead, and one never sent (no mobile,
opted out, over the week's cap) is followed by nothing. For an urgent call-out those who have not
answered may be on their way at 2 a.m., so they are told at once (the urgent category); those who
said "not now" hear it in the morning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, or_, select

from core import audit, clock
from core.crypto import cipher
from core.errors import ApiError
from core.extensions import db
from core.lookups import get_or_404
from core.pagination import paginate
from donors.models import Donor
from notifications.models import DELIVERED, SENDING, SENT, OutboxMessage
from notifications.outbox import Addressee, Draft, cancel_unsent, write
from sites.models import Site
from teams.models import (
    CALL_OUT_FILLED,
    CALL_OUT_OPEN,
    COMING,
    NOT_NOW,
    CallOut,
    CallOutInvitation,
)

ANSWERS = (COMING, NOT_NOW)
BY_LINK = "link"
IN_APP = "app"
FILLED = "filled"
ENDED_BY_STAFF = ("closed", "cancelled")
TOKEN_LENGTHS = (16, 64)  # what a reply token can be; anything else names nothing


def reply_token_hash(token: str) -> str:
    return cipher().lookup_hash("call-out-reply", token)


def invitation_key(call_out_id: int, donor_id: int) -> str:
    """The invitation's outbox key: a member never receives the same call-out twice."""
    return f"call_out:{call_out_id}:{donor_id}"


def stand_down_key(invitation_id: int) -> str:
    return f"call_out_stand_down:{invitation_id}"


def group_name(abo: str, rhd: str) -> str:
    """A blood group as the texts name it: O型RhD阴性."""
    return f"{abo}型RhD{'阳性' if rhd == 'positive' else '阴性'}"


def lock_call_out(call_out_id: int) -> CallOut:
    """The call-out, its row locked for the transaction (on PostgreSQL): waves, answers that may
    fill it and its closing happen one at a time."""
    return get_or_404(
        CallOut,
        call_out_id,
        "call_out_not_found",
        with_for_update=True,
        populate_existing=True,
    )


@dataclass(frozen=True)
class InvitedCallOut:
    """A call-out as the member invited sees it: where, what and by when, and their answer."""

    invitation: CallOutInvitation
    call_out: CallOut
    site: Site

    @property
    def can_answer(self) -> bool:
        return (
            self.call_out.status == CALL_OUT_OPEN
            and self.invitation.stood_down_at is None
            and self.invitation.arrived_at is None
        )


def _invited(invitation: CallOutInvitation) -> InvitedCallOut:
    call_out = db.session.get_one(CallOut, invitation.call_out_id)
    return InvitedCallOut(invitation, call_out, db.session.get_one(Site, call_out.site_id))


def invitation_by_token(token: str) -> InvitedCallOut:
    """The invitation a reply link names; 404 for any other text, alike."""
    low, high = TOKEN_LENGTHS
    invitation = None
    if low <= len(token) <= high:
        invitation = db.session.scalar(
            select(CallOutInvitation).where(
                CallOutInvitation.reply_token_hash == reply_token_hash(token)
            )
        )
    if invitation is None:
        raise ApiError("call_out_reply_unknown", 404)
    return _invited(invitation)


def my_call_outs_query(donor: Donor) -> Select:
    return (
        select(CallOutInvitation, CallOut, Site)
        .join(CallOut, CallOut.id == CallOutInvitation.call_out_id)
        .join(Site, Site.id == CallOut.site_id)
        .where(CallOutInvitation.donor_id == donor.id)
        .order_by(CallOutInvitation.invited_at.desc(), CallOutInvitation.id.desc())
    )


def my_call_outs(donor: Donor, page: int, per_page: int) -> dict[str, Any]:
    """The call-outs the donor was invited to, newest first, each with their answer."""
    found = paginate(my_call_outs_query(donor), page, per_page)
    found["items"] = [InvitedCallOut(*row) for row in found["items"]]
    return found


def my_invitation(donor: Donor, call_out_id: int) -> InvitedCallOut:
    """The donor's invitation to a call-out; a call-out they were not invited to is unknown."""
    invitation = db.session.scalar(
        select(CallOutInvitation).where(
            CallOutInvitation.call_out_id == call_out_id,
            CallOutInvitation.donor_id == donor.id,
        )
    )
    if invitation is None:
        raise ApiError("call_out_not_found", 404)
    return _invited(invitation)


def answer(
    invited: InvitedCallOut, given: str, arriving_at: datetime | None, via: str
) -> InvitedCallOut:
    """Record the member's answer (again, if they changed their mind) while the call-out is
    open; a "coming" that makes the number needed fills it and stands the rest down."""
    if given not in ANSWERS:
        raise ValueError(f"an answer is one of {ANSWERS}, not {given!r}")
    call_out = lock_call_out(invited.call_out.id)
    invitation = db.session.get_one(
        CallOutInvitation, invited.invitation.id, populate_existing=True
    )
    if call_out.status != CALL_OUT_OPEN or invitation.stood_down_at is not None:
        raise ApiError("call_out_not_open", 409)
    if invitation.arrived_at is not None:
        raise ApiError("call_out_already_arrived", 409)
    now = clock.now()
    if given == COMING:
        arriving_at = _arrival(arriving_at, call_out, now)
    else:
        arriving_at = None
    invitation.answer = given
    invitation.arriving_at = arriving_at
    invitation.answered_at = now
    invitation.answered_via = via
    db.session.flush()
    if given == COMING and _fills(call_out):
        fill(call_out)
    return InvitedCallOut(invitation, call_out, invited.site)


def _arrival(arriving_at: datetime | None, call_out: CallOut, now: datetime) -> datetime:
    if arriving_at is None:
        raise ApiError(
            "call_out_arriving_at_required",
            422,
            errors={"arriving_at": ["call_out_arriving_at_required"]},
        )
    arriving_at = clock.as_utc(arriving_at)
    skew = timedelta(minutes=current_app.config["CALL_OUT_ARRIVAL_SKEW_MINUTES"])
    if arriving_at < now - skew:
        raise ApiError(
            "call_out_arriving_at_past", 422, errors={"arriving_at": ["call_out_arriving_at_past"]}
        )
    if arriving_at > clock.as_utc(call_out.needed_by):
        raise ApiError(
            "call_out_arriving_after_needed_by",
            422,
            errors={"arriving_at": ["call_out_arriving_after_needed_by"]},
        )
    return arriving_at


def _fills(call_out: CallOut) -> bool:
    """Enough said they are coming. A drill that asks nobody to come is never filled: it
    measures how many answer, so everyone called may."""
    if call_out.drill and not call_out.drill_asks_to_come:
        return False
    coming = db.session.scalar(
        select(CallOutInvitation.id)
        .where(CallOutInvitation.call_out_id == call_out.id, CallOutInvitation.answer == COMING)
        .limit(1)
        .offset(call_out.needed - 1)
    )
    return coming is not None


def fill(call_out: CallOut) -> None:
    call_out.status = CALL_OUT_FILLED
    call_out.filled_at = clock.now()
    stood_down = stand_down(call_out, FILLED, include_coming=False)
    audit.record(
        "call_out.filled",
        actor=("system", None),
        target=("call_out", call_out.id),
        details={"stood_down": stood_down},
    )


def stand_down(call_out: CallOut, ending: str, *, include_coming: bool) -> int:
    """Thank and stand down, once, every member called who has not arrived and (unless
    `include_coming`: a cancelled call-out) has not said they are coming. Returns how many."""
    query = (
        select(CallOutInvitation, Donor)
        .join(Donor, Donor.id == CallOutInvitation.donor_id)
        .where(
            CallOutInvitation.call_out_id == call_out.id,
            CallOutInvitation.stood_down_at.is_(None),
            CallOutInvitation.arrived_at.is_(None),
        )
        .order_by(CallOutInvitation.id)
    )
    if not include_coming:
        query = query.where(
            or_(CallOutInvitation.answer.is_(None), CallOutInvitation.answer != COMING)
        )
    rows = db.session.execute(query).all()
    if not rows:
        return 0
    keys = [invitation_key(call_out.id, invitation.donor_id) for invitation, _ in rows]
    # An invitation still waiting (held by the night) goes no further.
    cancel_unsent(OutboxMessage.key.in_(keys), f"call_out_{ending}")
    reached = set(
        db.session.scalars(
            select(OutboxMessage.key).where(
                OutboxMessage.key.in_(keys),
                or_(
                    OutboxMessage.status.in_((SENT, DELIVERED, SENDING)),
                    OutboxMessage.in_flight_since.is_not(None),
                ),
            )
        )
    )
    now = clock.now()
    site = db.session.get_one(Site, call_out.site_id)
    urgent: list[Draft] = []
    later: list[Draft] = []
    for invitation, donor in rows:
        invitation.stood_down_at = now
        if invitation_key(call_out.id, donor.id) not in reached and invitation.answer is None:
            continue  # never told of it: nothing to stand down from
        draft = Draft(
            key=stand_down_key(invitation.id),
            donor=Addressee.of(donor),
            context={
                "name": donor.name or "",
                "site": site.name,
                "group": group_name(call_out.abo, call_out.rhd),
                "drill": call_out.drill,
                "ending": ending,
            },
        )
        (urgent if call_out.urgent and invitation.answer != NOT_NOW else later).append(draft)
    if urgent:
        write("call_out_stand_down_urgent", urgent)
    if later:
        write("call_out_stand_down", later)
    db.session.flush()
    return len(rows)

"""What staff follow of a call-out, live: the answers counted, the waves, and each member called
(masked name, team, distance, answer, arrival; never where the member is)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, select

from core.auth import ADMIN, Caller
from core.extensions import db
from core.lookups import get_or_404
from core.pagination import paginate
from donors.models import Donor
from sites.models import Site
from sites.services import current_staff, serves_site
from teams.models import (
    COMING,
    NOT_NOW,
    CallOut,
    CallOutInvitation,
    CallOutWave,
    Team,
)


@dataclass(frozen=True)
class AnswerCounts:
    invited: int
    coming: int
    not_now: int
    no_answer: int
    arrived: int
    donated: int
    stood_down: int


@dataclass(frozen=True)
class InvitationLine:
    invitation: CallOutInvitation
    donor_name: str | None
    blood_group_source: str | None
    team_name: str
    wave_number: int


@dataclass(frozen=True)
class CallOutProgress:
    call_out: CallOut
    site: Site
    counts: AnswerCounts
    waves: list[CallOutWave]
    invitations: dict[str, Any]  # a page of InvitationLine


def visible_call_out(who: Caller, call_out_id: int) -> CallOut:
    """A call-out an administrator, or the staff of its site, may follow; any other is unknown."""
    return get_or_404(
        CallOut,
        call_out_id,
        "call_out_not_found",
        visible=lambda call_out: serves_site(who, call_out.site_id),
    )


def call_outs_query(who: Caller, status: str | None) -> Select:
    """The call-outs the caller may follow, newest first: all of them for an administrator,
    those of the sites they serve for site staff."""
    query = select(CallOut)
    if who.role != ADMIN:
        query = query.where(CallOut.site_id.in_(current_staff(who).site_ids))
    if status:
        query = query.where(CallOut.status == status)
    return query.order_by(CallOut.opened_at.desc(), CallOut.id.desc())


def answer_counts(call_out_id: int) -> AnswerCounts:
    invitation = CallOutInvitation
    row = db.session.execute(
        select(
            func.count(),
            func.count(case((invitation.answer == COMING, 1))),
            func.count(case((invitation.answer == NOT_NOW, 1))),
            func.count(case((invitation.answer.is_(None), 1))),
            func.count(invitation.arrived_at),
            func.count(invitation.donation_id),
            func.count(invitation.stood_down_at),
        ).where(invitation.call_out_id == call_out_id)
    ).one()
    return AnswerCounts(*row)


def invitations_query(call_out_id: int) -> Select:
    """Those coming first (soonest arrival first), then those who have not answered (nearest
    first), then those who cannot come now."""
    invitation = CallOutInvitation
    return (
        select(invitation, Donor.name, Donor.blood_group_source, Team.name, CallOutWave.number)
        .join(Donor, Donor.id == invitation.donor_id)
        .join(Team, Team.id == invitation.team_id)
        .join(CallOutWave, CallOutWave.id == invitation.wave_id)
        .where(invitation.call_out_id == call_out_id)
        .order_by(
            case((invitation.answer == COMING, 0), (invitation.answer.is_(None), 1), else_=2),
            invitation.arriving_at.asc().nulls_last(),
            invitation.distance_km.asc().nulls_last(),
            invitation.id,
        )
    )


def progress(who: Caller, call_out_id: int, page: int, per_page: int) -> CallOutProgress:
    call_out = visible_call_out(who, call_out_id)
    found = paginate(invitations_query(call_out.id), page, per_page)
    found["items"] = [InvitationLine(*row) for row in found["items"]]
    waves = db.session.scalars(
        select(CallOutWave)
        .where(CallOutWave.call_out_id == call_out.id)
        .order_by(CallOutWave.number)
    ).all()
    return CallOutProgress(
        call_out,
        db.session.get_one(Site, call_out.site_id),
        answer_counts(call_out.id),
        list(waves),
        found,
    )

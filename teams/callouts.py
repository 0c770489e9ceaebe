"""Call-outs: a station calls the members of its emergency teams who can give now, nearest
first, in waves sized to what is still needed; staff close or cancel it.

Who is called (issue 19 items 2 and 4): active members (not paused, not left) of the active teams
of the site's region (or the teams named), whose donor has the blood group and Rh asked for, has a
mobile number, and has not been invited to this call-out yet; nearest first from where each said
they can be reached (members without a location last). The group, the teams and the distance are
filtered and ordered in SQL: the distance is equirectangular, with the cosine of the site's
latitude computed here, so SQLite needs no maths functions. Eligibility
(`certificate.eligibility.check_eligibility`: age, intervals, deferrals, caps) is then checked in
that order, a page of candidates at a time with their donations and deferrals read in two
queries, until the wave is full: on the day the wave goes and on the day the donors are needed by.

A wave is numbered: asking for a wave that was already sent answers with it and sends nothing, so
a retried request never calls anyone twice; each invitation is one row (unique per call-out and
donor) and one outbox message keyed by call-out and donor.
"""

from __future__ import annotations

import math
import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from sqlalchemy import ColumnElement, Select, func, literal, select
from sqlalchemy.orm import load_only

from certificate.eligibility import check_eligibility, in_force
from certificate.models import VALID, Donation
from certificate.policy import donation_rules
from core import audit, clock
from core.auth import Caller
from core.errors import ApiError
from core.extensions import db
from core.lookups import get_or_404
from core.policy import PolicyUndecided, RegionPolicy, policy_for
from donors.models import DONOR_ACTIVE, Deferral, Donor
from notifications.outbox import Addressee, Draft, write
from sites.models import Site
from teams.answers import (
    ENDED_BY_STAFF,
    group_name,
    invitation_key,
    lock_call_out,
    reply_token_hash,
    stand_down,
)
from teams.models import (
    CALL_OUT_CANCELLED,
    CALL_OUT_CLOSED,
    CALL_OUT_FILLED,
    CALL_OUT_OPEN,
    COMING,
    MEMBER_ACTIVE,
    CallOut,
    CallOutInvitation,
    CallOutWave,
    Team,
    TeamMember,
)

KM_PER_DEGREE = 111.195  # a degree of latitude (the Earth's mean radius, 6371 km)
REPLY_TOKEN_BYTES = 16  # 128 bits: 22 characters in the link
# Candidates read per page while filling a wave: a few more than it needs, since some are not
# eligible that day.
PAGE_FACTOR = 2
MIN_PAGE = 50


@dataclass(frozen=True)
class CallOutRequest:
    """What a duty officer asks for: donors of a group and Rh, for a kind, at a site, by a time."""

    site_id: int
    abo: str
    rhd: str
    kind: str
    needed: int
    needed_by: datetime
    urgent: bool = False
    drill: bool = False
    drill_asks_to_come: bool = False
    team_ids: tuple[int, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class Candidate:
    """A member who may be invited: the membership nearest the site, and its distance."""

    member_id: int
    team_id: int
    donor: Donor
    distance_km: float | None


def open_call_out(request: CallOutRequest, admin: Caller) -> CallOut:
    """Open a call-out at a site and invite its first wave at once."""
    site = get_or_404(Site, request.site_id, "site_not_found", visible=lambda site: site.active)
    if clock.as_utc(request.needed_by) <= clock.now():
        raise ApiError(
            "call_out_needed_by_past", 422, errors={"needed_by": ["call_out_needed_by_past"]}
        )
    try:
        donation_rules(policy_for(site.region)).kind(request.kind, clock.local_today())
    except (KeyError, PolicyUndecided):
        raise ApiError(
            "unknown_donation_kind", 422, errors={"kind": ["unknown_donation_kind"]}
        ) from None
    team_ids = sorted(set(request.team_ids))
    if team_ids:
        found = set(
            db.session.scalars(
                select(Team.id).where(
                    Team.id.in_(team_ids), Team.region == site.region, Team.active.is_(True)
                )
            )
        )
        if found != set(team_ids):
            raise ApiError(
                "call_out_team_unknown", 422, errors={"team_ids": ["call_out_team_unknown"]}
            )
    call_out = CallOut(
        region=site.region,
        site_id=site.id,
        abo=request.abo,
        rhd=request.rhd,
        kind=request.kind,
        needed=request.needed,
        needed_by=clock.as_utc(request.needed_by),
        urgent=request.urgent,
        drill=request.drill,
        drill_asks_to_come=request.drill and request.drill_asks_to_come,
        team_ids=team_ids,
        note=request.note,
        status=CALL_OUT_OPEN,
        opened_by=admin.principal_id,
        opened_at=clock.now(),
    )
    db.session.add(call_out)
    db.session.flush()
    audit.record(
        "call_out.opened",
        actor=("staff", admin.principal_id),
        target=("call_out", call_out.id),
        details={
            "site": site.id,
            "group": f"{call_out.abo}{call_out.rhd}",
            "kind": call_out.kind,
            "needed": call_out.needed,
            "urgent": call_out.urgent,
            "drill": call_out.drill,
        },
    )
    send_wave(call_out.id, 1, admin)
    return call_out


def get_call_out(call_out_id: int) -> CallOut:
    return get_or_404(CallOut, call_out_id, "call_out_not_found")


def coming_count(call_out_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(CallOutInvitation)
            .where(CallOutInvitation.call_out_id == call_out_id, CallOutInvitation.answer == COMING)
        )
        or 0
    )


def wave_size(call_out: CallOut) -> int:
    """What is still needed times the wave factor, at most the largest wave. A drill that asks
    nobody to come is never filled: its waves are sized to the whole number asked for."""
    still = call_out.needed
    if not (call_out.drill and not call_out.drill_asks_to_come):
        still -= coming_count(call_out.id)
    factor = current_app.config["CALL_OUT_WAVE_FACTOR"]
    return max(0, min(still * factor, current_app.config["CALL_OUT_MAX_WAVE"]))


def send_wave(call_out_id: int, number: int, staff: Caller) -> tuple[CallOutWave, bool]:
    """Send wave `number` of an open call-out: (the wave, whether it was sent now).

    A wave already sent is answered as it is, nothing sent again (a retried request, or two
    officers pressing at once: the call-out's row is locked while a wave is chosen)."""
    call_out = lock_call_out(call_out_id)
    sent = db.session.scalar(
        select(CallOutWave).where(
            CallOutWave.call_out_id == call_out.id, CallOutWave.number == number
        )
    )
    if sent is not None:
        return sent, False
    if call_out.status != CALL_OUT_OPEN:
        raise ApiError("call_out_not_open", 409)
    last = db.session.scalar(
        select(func.max(CallOutWave.number)).where(CallOutWave.call_out_id == call_out.id)
    )
    if number != (last or 0) + 1:
        raise ApiError(
            "call_out_wave_out_of_order", 409, errors={"number": ["call_out_wave_out_of_order"]}
        )
    now = clock.now()
    wave = CallOutWave(
        call_out_id=call_out.id, number=number, invited=0, sent_at=now, sent_by=staff.principal_id
    )
    db.session.add(wave)
    db.session.flush()
    size = wave_size(call_out)
    chosen = select_members(call_out, size) if size else []
    invite(call_out, wave, chosen)
    audit.record(
        "call_out.wave_sent",
        actor=("staff", staff.principal_id),
        target=("call_out", call_out.id),
        details={"wave": number, "invited": wave.invited},
    )
    return wave, True


# ---------------------------------------------------------------- selection


def _squared_distance(site: Site) -> ColumnElement[float | None]:
    """Squared equirectangular distance in degrees of latitude from the site (NULL where the
    member gave no location, or the site has none)."""
    if site.latitude is None or site.longitude is None:
        return literal(None)
    shrink = math.cos(math.radians(site.latitude))
    east = (TeamMember.longitude - site.longitude) * shrink
    north = TeamMember.latitude - site.latitude
    return east * east + north * north


def candidates_query(call_out: CallOut, site: Site) -> Select:
    """Every membership that may be called, nearest first: an active member of a team called,
    of the group and Rh, reachable, not yet invited. A donor in two teams appears twice; the
    caller keeps the first (nearest) row."""
    teams = select(Team.id).where(Team.active.is_(True))
    if call_out.team_ids:
        teams = teams.where(Team.id.in_(call_out.team_ids))
    else:
        teams = teams.where(Team.region == call_out.region)
    invited = select(CallOutInvitation.donor_id).where(CallOutInvitation.call_out_id == call_out.id)
    squared = _squared_distance(site)
    return (
        select(TeamMember.id, TeamMember.team_id, Donor, squared.label("squared"))
        .join(Donor, Donor.id == TeamMember.donor_id)
        .options(
            load_only(
                Donor.id,
                Donor.status,
                Donor.name,
                Donor.birth_date,
                Donor.mobile_hash,
                Donor.region,
            )
        )
        .where(
            TeamMember.team_id.in_(teams),
            TeamMember.status == MEMBER_ACTIVE,
            Donor.abo == call_out.abo,
            Donor.rhd == call_out.rhd,
            Donor.status == DONOR_ACTIVE,
            Donor.mobile_hash.is_not(None),
            Donor.id.notin_(invited),
        )
        .order_by(squared.asc().nulls_last(), TeamMember.id)
    )


def select_members(call_out: CallOut, wanted: int) -> list[Candidate]:
    """Up to `wanted` members to invite, nearest first, each eligible for the call-out's kind
    today and on the day the donors are needed by."""
    site = db.session.get_one(Site, call_out.site_id)
    policy = policy_for(call_out.region)
    days = sorted({clock.local_today(), clock.to_local(call_out.needed_by).date()})
    query = candidates_query(call_out, site)
    page = max(wanted * PAGE_FACTOR, MIN_PAGE)
    chosen: list[Candidate] = []
    seen: set[int] = set()
    offset = 0
    while len(chosen) < wanted:
        rows = db.session.execute(query.limit(page).offset(offset)).all()
        offset += page
        fresh = []
        for member_id, team_id, donor, squared in rows:
            if donor.id in seen:
                continue  # a second team's membership of a donor already considered
            seen.add(donor.id)
            distance = None if squared is None else math.sqrt(squared) * KM_PER_DEGREE
            fresh.append(Candidate(member_id, team_id, donor, distance))
        for candidate in _eligible(fresh, call_out.kind, days, policy):
            chosen.append(candidate)
            if len(chosen) >= wanted:
                break
        if len(rows) < page:
            break
    return chosen


def _eligible(
    candidates: list[Candidate], kind: str, days: list[date], policy: RegionPolicy
) -> Iterable[Candidate]:
    """The candidates eligible on every one of `days`, in order; their donations and deferrals
    read in one query each."""
    if not candidates:
        return
    ids = [candidate.donor.id for candidate in candidates]
    history: dict[int, list[Donation]] = defaultdict(list)
    for donation in db.session.scalars(
        select(Donation)
        .where(Donation.donor_id.in_(ids), Donation.status == VALID)
        .order_by(Donation.donation_date)
    ):
        history[donation.donor_id].append(donation)
    deferrals: dict[int, list[Deferral]] = defaultdict(list)
    for deferral in db.session.scalars(
        select(Deferral).where(Deferral.donor_id.in_(ids), Deferral.lifted_at.is_(None))
    ):
        deferrals[deferral.donor_id].append(deferral)
    for candidate in candidates:
        donor_id = candidate.donor.id
        if all(
            check_eligibility(
                candidate.donor,
                kind,
                day,
                policy,
                history=history[donor_id],
                deferrals=[deferral for deferral in deferrals[donor_id] if in_force(deferral, day)],
            ).allowed
            for day in days
        ):
            yield candidate


# ---------------------------------------------------------------- invitations and their texts


def reply_url(token: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/c/{token}"


def invite(call_out: CallOut, wave: CallOutWave, chosen: list[Candidate]) -> None:
    """One invitation row and one message per member chosen; only the reply token's hash is
    kept (the token itself is in the text alone)."""
    if not chosen:
        return
    site = db.session.get_one(Site, call_out.site_id)
    now = clock.now()
    tokens = {candidate.donor.id: secrets.token_urlsafe(REPLY_TOKEN_BYTES) for candidate in chosen}
    db.session.add_all(
        [
            CallOutInvitation(
                call_out_id=call_out.id,
                wave_id=wave.id,
                donor_id=candidate.donor.id,
                member_id=candidate.member_id,
                team_id=candidate.team_id,
                distance_km=candidate.distance_km,
                reply_token_hash=reply_token_hash(tokens[candidate.donor.id]),
                invited_at=now,
            )
            for candidate in chosen
        ]
    )
    db.session.flush()
    wave.invited = len(chosen)
    kind_name = "捐献" + donation_rules(policy_for(call_out.region)).kind_name(call_out.kind)
    write(
        "call_out_urgent" if call_out.urgent else "call_out",
        [
            Draft(
                key=invitation_key(call_out.id, candidate.donor.id),
                donor=Addressee.of(candidate.donor),
                context={
                    "name": candidate.donor.name or "",
                    "drill": call_out.drill,
                    "come": call_out.drill_asks_to_come,
                    "site": site.name,
                    "address": site.address,
                    "group": group_name(call_out.abo, call_out.rhd),
                    "kind_name": kind_name,
                    "needed_by": clock.as_utc(call_out.needed_by),
                    "url": reply_url(tokens[candidate.donor.id]),
                },
            )
            for candidate in chosen
        ],
        expires_at=clock.as_utc(call_out.needed_by),
    )


# ---------------------------------------------------------------- the end of a call-out


def end_call_out(call_out_id: int, ending: str, staff: Caller) -> CallOut:
    """Staff close a call-out (enough donors, or the time has passed: those who said they are
    coming still come) or cancel it (the need is gone: they are told too). Everyone else who was
    called and has not arrived stands down, once."""
    if ending not in ENDED_BY_STAFF:
        raise ValueError(f"a call-out ends as one of {ENDED_BY_STAFF}, not {ending!r}")
    call_out = lock_call_out(call_out_id)
    if call_out.status not in (CALL_OUT_OPEN, CALL_OUT_FILLED):
        raise ApiError("call_out_not_open", 409)
    call_out.status = CALL_OUT_CANCELLED if ending == "cancelled" else CALL_OUT_CLOSED
    call_out.closed_at = clock.now()
    call_out.closed_by = staff.principal_id
    stood_down = stand_down(call_out, ending, include_coming=ending == "cancelled")
    audit.record(
        f"call_out.{ending}",
        actor=("staff", staff.principal_id),
        target=("call_out", call_out.id),
        details={"stood_down": stood_down},
    )
    return call_out

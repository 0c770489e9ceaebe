"""Builders for emergency donor teams: teams and members through the membership service, and
call-outs with their waves and invitations written as rows (a drill's answers at fixed times),
as teams/callouts.py and teams/answers.py would leave them."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from core import auth, clock
from core.extensions import db
from donors import services as donor_services
from donors.identity import parse_resident_id
from donors.models import Donor
from teams import membership
from teams.models import CallOut, CallOutInvitation, CallOutWave, Team, TeamMember
from tests.factories import bearer, make_site, resident_id

_sequence = itertools.count(1)


def donor_with_token(
    *, abo: str | None = None, rhd: str | None = None, source: str | None = None
) -> tuple[Donor, dict[str, str]]:
    """A registered donor (with the blood group given, or none) and their auth headers, without
    the SMS round trip."""
    resident = parse_resident_id(resident_id())
    donor = Donor(
        name="王小明",
        id_number=resident.number,
        id_number_hash=donor_services.id_number_hash(resident.number),
        birth_date=resident.birth_date,
        sex=resident.sex,
        abo=abo,
        rhd=rhd,
        blood_group_source=source,
        region="zhejiang",
    )
    db.session.add(donor)
    db.session.flush()
    tokens = auth.issue_tokens("donor", donor.id, auth.DONOR)
    db.session.commit()
    return donor, bearer(tokens["access_token"])


def make_team(
    region: str = "zhejiang", kind: str = "rare_type", *, active: bool = True, **fields: Any
) -> Team:
    """A team, as an administrator creates it (active unless told otherwise)."""
    team = Team(
        name=fields.pop("name", None) or f"应急献血队{next(_sequence)}",
        region=region,
        kind=kind,
        active=active,
        **fields,
    )
    db.session.add(team)
    db.session.commit()
    return team


def join(
    team: Team,
    donor: Donor,
    latitude: float | None = None,
    longitude: float | None = None,
    blood_group: tuple[str, str] | None = None,
) -> TeamMember:
    """The donor joins `team` with consent to the current text, as through the API."""
    location = (
        membership.Location(latitude, longitude)
        if latitude is not None and longitude is not None
        else None
    )
    declared = membership.DeclaredBloodGroup(*blood_group) if blood_group else None
    joined, _ = membership.join(
        team.id, donor, membership.Joining(membership.CONSENT.version, location, declared)
    )
    db.session.commit()
    return joined.member


def call_out_row(*, drill: bool = True, **fields: Any) -> CallOut:
    """A call-out as a station opens it (a drill by default), at a new site."""
    site = fields.pop("site", None) or make_site()
    now = clock.now()
    row = CallOut(
        region=site.region,
        site_id=site.id,
        abo="O",
        rhd="negative",
        kind="whole_blood",
        needed=2,
        needed_by=now + timedelta(hours=3),
        urgent=False,
        drill=drill,
        opened_at=now,
        **fields,
    )
    db.session.add(row)
    db.session.flush()
    db.session.add(CallOutWave(call_out_id=row.id, number=1, sent_at=now))
    db.session.commit()
    return row


def invitation_row(
    call_out: CallOut,
    member: TeamMember,
    *,
    invited_at: datetime,
    answer: str | None = None,
    answered_after: timedelta | None = None,
    arrived_after: timedelta | None = None,
) -> CallOutInvitation:
    """One member's invitation in the call-out's first wave, answered `answered_after` the
    invitation (or not at all), and arrived `arrived_after` it."""
    wave = db.session.scalars(
        select(CallOutWave).where(CallOutWave.call_out_id == call_out.id, CallOutWave.number == 1)
    ).one()
    row = CallOutInvitation(
        call_out_id=call_out.id,
        wave_id=wave.id,
        donor_id=member.donor_id,
        member_id=member.id,
        team_id=member.team_id,
        reply_token_hash=f"drill-{next(_sequence):058d}",
        invited_at=invited_at,
        answer=answer,
        answered_at=invited_at + answered_after if answered_after is not None else None,
        answered_via="link" if answer else None,
        arrived_at=invited_at + arrived_after if arrived_after is not None else None,
    )
    db.session.add(row)
    db.session.commit()
    return row

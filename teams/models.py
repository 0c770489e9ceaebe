"""Emergency donor teams: teams and their members (who joined with consent and may pause or
leave), call-outs sent in waves to eligible members nearest first, and each member's invitation
with their answer and arrival."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core import clock
from core.extensions import Model
from core.types import UTCDateTime

# Kinds of team (issue 19: rare type, civil defence, employer, university).
TEAM_KINDS = ("rare_type", "civil_defence", "employer", "university")

MEMBER_ACTIVE = "active"
MEMBER_PAUSED = "paused"
MEMBER_LEFT = "left"

CALL_OUT_OPEN = "open"
CALL_OUT_FILLED = "filled"  # enough members said they are coming: the rest stood down
CALL_OUT_CLOSED = "closed"
CALL_OUT_CANCELLED = "cancelled"

COMING = "coming"
NOT_NOW = "not_now"


class Team(Model):
    """A standing team of donors a station can call on (Xianning's civil-defence teams, a rare
    type register, an employer's or a university's team)."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class TeamMember(Model):
    """A donor's membership: joined with consent, paused or left at any time (a row per team and
    donor; leaving and joining again reuses it, the audit log keeps the history).

    The location is where the member said they can be reached from (to call the nearest first);
    it is shown to staff as a distance only, never to other members.
    """

    __tablename__ = "team_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=MEMBER_ACTIVE)
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    consent_text: Mapped[str] = mapped_column(Text)
    consent_version: Mapped[str] = mapped_column(String(32))  # the version of the text agreed to
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        UniqueConstraint("team_id", "donor_id", name="uq_team_members_team_donor"),
        Index("ix_team_members_team_status", "team_id", "status"),
    )


class CallOut(Model):
    """A station's call for donors of a blood group and Rh to give a kind of donation at a site
    by a time; a drill is one marked as such (nobody is asked to come unless it says so)."""

    __tablename__ = "call_outs"

    id: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = mapped_column(String(32))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    abo: Mapped[str] = mapped_column(String(2))
    rhd: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(32))
    needed: Mapped[int] = mapped_column(Integer)
    needed_by: Mapped[datetime] = mapped_column(UTCDateTime)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    drill: Mapped[bool] = mapped_column(Boolean, default=False)
    drill_asks_to_come: Mapped[bool] = mapped_column(Boolean, default=False)
    team_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # empty: the region's teams
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=CALL_OUT_OPEN)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    filled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    __table_args__ = (Index("ix_call_outs_region_status", "region", "status"),)


class CallOutWave(Model):
    """One wave of invitations: sized to what is still needed."""

    __tablename__ = "call_out_waves"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_out_id: Mapped[int] = mapped_column(ForeignKey("call_outs.id"))
    number: Mapped[int] = mapped_column(Integer)
    invited: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    sent_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    __table_args__ = (UniqueConstraint("call_out_id", "number", name="uq_call_out_waves_number"),)


class CallOutInvitation(Model):
    """A member invited to a call-out (once per call-out and donor), their answer by the SMS's
    reply link or in the app, and whether they arrived and gave."""

    __tablename__ = "call_out_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_out_id: Mapped[int] = mapped_column(ForeignKey("call_outs.id"))
    wave_id: Mapped[int] = mapped_column(ForeignKey("call_out_waves.id"))
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("team_members.id"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    distance_km: Mapped[float | None] = mapped_column(Float)
    reply_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    answer: Mapped[str | None] = mapped_column(String(16))
    arriving_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_via: Mapped[str | None] = mapped_column(String(16))  # link | app
    stood_down_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    donation_id: Mapped[int | None] = mapped_column(ForeignKey("donations.id"))

    __table_args__ = (
        UniqueConstraint("call_out_id", "donor_id", name="uq_call_out_invitations_donor"),
        Index("ix_call_out_invitations_call_out_answer", "call_out_id", "answer"),
    )

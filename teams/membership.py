"""Teams and their members (issue 19 item 1): administrators keep the teams; a donor joins one
with consent to the text the service shows (kept on the membership with its version), may say
where they can be reached from and their blood group, pauses, resumes and leaves at any time.

A member's blood group is the donor's: confirmed where a donation's test result put it on
record (`laboratory`), declared otherwise. A group stated at joining is kept on the donor as
declared (`self_reported`) only while the donor has none; a laboratory group is never
overwritten. A member's location serves to call the nearest first: staff see only whether one
is set, other members never anything of it; leaving or an erasure clears it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select, update

from core import audit, clock
from core.auth import Caller
from core.errors import ApiError
from core.extensions import db
from core.lookups import get_or_404
from core.pagination import paginate
from core.policy import regions
from donors.models import Donor
from teams.models import MEMBER_ACTIVE, MEMBER_LEFT, MEMBER_PAUSED, Team, TeamMember

LABORATORY = "laboratory"  # Donor.blood_group_source set by a donation's test result
SELF_REPORTED = "self_reported"
CONFIRMED = "confirmed"
DECLARED = "declared"


@dataclass(frozen=True)
class Consent:
    """The words a donor agrees to when joining a team, and their version (a new version for
    every change to the words)."""

    version: str
    text: str


CONSENT = Consent(
    version="2026-12-01",
    text="\n".join(
        (
            "应急献血队伍成员知情同意书",
            "加入应急献血队伍，表示您愿意在血站急需用血（例如稀有血型患者抢救、季节性或某一血"
            "型短缺）时接到献血召集。请您仔细阅读：",
            "1. 召集方式：血站通过短信和本应用向您发送召集，说明所需血型、献血种类、地点和"
            "时间。是否前往完全由您决定，您可以回复“不方便”，不会有任何影响。",
            "2. 资格核对：只有在当天符合献血条件（健康要求、献血间隔、暂缓献血等）的成员才"
            "会收到召集；到达献血点后仍须按规定进行健康征询和检查。",
            "3. 紧急召集：标明“紧急”的召集可能在夜间或休息时间发送，也可能不受每周消息次"
            "数的限制。演练召集会在短信中注明“演练”。",
            "4. 位置信息：您可自愿提供常用所在位置（经纬度），仅用于优先召集距离献血点较近"
            "的成员。工作人员只能看到您与献血点的大致距离，看不到您的具体位置；其他成员看不到"
            "任何与您位置有关的信息。",
            "5. 血型：您的血型以献血检测结果为准；尚无检测结果时，显示为您自己申报的血型，"
            "并注明“自报”。",
            "6. 暂停与退出：您可随时在本应用中暂停或恢复接收召集，或退出队伍。退出后您的位"
            "置信息即被删除；再次加入需要重新同意本告知书。注销账户时，您的所有队伍成员身份随"
            "之结束，位置信息一并删除。",
        )
    ),
)


@dataclass(frozen=True)
class Location:
    """Where a member says they can be reached from (WGS 84 degrees)."""

    latitude: float
    longitude: float


@dataclass(frozen=True)
class DeclaredBloodGroup:
    abo: str
    rhd: str


@dataclass(frozen=True)
class Joining:
    """What a donor sends to join: the consent version they saw (the schema requires their
    agreement), and optionally a location and the blood group they declare."""

    consent_version: str
    location: Location | None = None
    blood_group: DeclaredBloodGroup | None = None


@dataclass(frozen=True)
class TeamDraft:
    name: str
    region: str
    kind: str
    description: str | None = None


@dataclass(frozen=True)
class ShownBloodGroup:
    """A member's blood group as staff and the member see it: confirmed by a donation's test
    result, or declared by the donor."""

    abo: str
    rhd: str | None
    basis: str  # confirmed | declared


@dataclass(frozen=True)
class Membership:
    """A donor's membership with its team and the donor (whose blood group it shows)."""

    member: TeamMember
    team: Team
    donor: Donor

    @property
    def blood_group(self) -> ShownBloodGroup | None:
        return shown_blood_group(self.donor.abo, self.donor.rhd, self.donor.blood_group_source)


def shown_blood_group(
    abo: str | None, rhd: str | None, source: str | None
) -> ShownBloodGroup | None:
    if not abo:
        return None
    return ShownBloodGroup(abo, rhd, CONFIRMED if source == LABORATORY else DECLARED)


# ---------------------------------------------------------------- administrators: teams


def _check_region(region: str) -> None:
    if region not in regions():
        raise ApiError("region_unknown", 422, errors={"region": ["region_unknown"]})


def create_team(draft: TeamDraft, admin: Caller) -> Team:
    """A new active team in a region the policies know (422 otherwise); audited."""
    _check_region(draft.region)
    team = Team(
        name=draft.name,
        region=draft.region,
        kind=draft.kind,
        description=draft.description,
        active=True,
        created_by=admin.principal_id,
    )
    db.session.add(team)
    db.session.flush()
    audit.record(
        "team.created",
        actor=("staff", admin.principal_id),
        target=("team", team.id),
        details={"region": team.region, "kind": team.kind},
    )
    return team


def get_team(team_id: int) -> Team:
    return get_or_404(Team, team_id, "team_not_found")


def teams_query(
    region: str | None = None, kind: str | None = None, active: bool | None = None
) -> Select:
    """Teams by region and name, filtered as given."""
    query = select(Team).order_by(Team.region, Team.name, Team.id)
    if region is not None:
        query = query.where(Team.region == region)
    if kind is not None:
        query = query.where(Team.kind == kind)
    if active is not None:
        query = query.where(Team.active.is_(active))
    return query


TEAM_CHANGES = ("name", "kind", "description")


def update_team(team: Team, changes: dict[str, Any], admin: Caller) -> Team:
    """Change a team's name, kind or description (its region stays: its members joined a team
    of that region); audited with the fields changed."""
    changed = sorted(
        field
        for field in TEAM_CHANGES
        if field in changes and changes[field] != getattr(team, field)
    )
    for field in changed:
        setattr(team, field, changes[field])
    if changed:
        audit.record(
            "team.updated",
            actor=("staff", admin.principal_id),
            target=("team", team.id),
            details={"fields": changed},
        )
    return team


def deactivate_team(team: Team, admin: Caller) -> Team:
    """The team takes no new members and is no longer listed to donors; its members stay.
    Idempotent; audited once."""
    if team.active:
        team.active = False
        audit.record(
            "team.deactivated", actor=("staff", admin.principal_id), target=("team", team.id)
        )
    return team


def members_query(team: Team, status: str | None = None) -> Select:
    """A team's members for staff: the name (the schema masks it), the donor's blood group and
    its source, status and dates, and whether a location is set (never the location)."""
    query = (
        select(
            TeamMember.id,
            TeamMember.donor_id,
            TeamMember.status,
            TeamMember.joined_at,
            TeamMember.paused_at,
            TeamMember.left_at,
            TeamMember.latitude.is_not(None).label("location_set"),
            Donor.name,
            Donor.abo,
            Donor.rhd,
            Donor.blood_group_source,
        )
        .join(Donor, Donor.id == TeamMember.donor_id)
        .where(TeamMember.team_id == team.id)
        .order_by(TeamMember.joined_at, TeamMember.id)
    )
    if status is not None:
        query = query.where(TeamMember.status == status)
    return query


def record_members_viewed(team: Team, admin: Caller, page: int) -> None:
    """Staff reading a team's member list is a look at donors' data: audited (no data kept)."""
    audit.record(
        "team.members_viewed",
        actor=("staff", admin.principal_id),
        target=("team", team.id),
        details={"page": page},
    )


# ---------------------------------------------------------------- donors: membership


def joinable_teams_query(region: str) -> Select:
    """The active teams of a region, by name."""
    _check_region(region)
    return teams_query(region=region, active=True)


def _membership_row(team_id: int, donor: Donor) -> TeamMember | None:
    return db.session.scalars(
        select(TeamMember).where(TeamMember.team_id == team_id, TeamMember.donor_id == donor.id)
    ).one_or_none()


def join(team_id: int, donor: Donor, joining: Joining) -> tuple[Membership, bool]:
    """Join a team with consent to the current text (409 for another version), and whether
    this call joined: a member (active or paused) who joins again changes nothing; one who left
    joins anew, with this consent. The text agreed to is kept on the membership."""
    team = get_or_404(Team, team_id, "team_not_found")
    if not team.active:
        raise ApiError("team_inactive", 409)
    if joining.consent_version != CONSENT.version:
        raise ApiError(
            "team_consent_outdated", 409, errors={"consent_version": ["team_consent_outdated"]}
        )
    member = _membership_row(team.id, donor)
    if member is not None and member.status != MEMBER_LEFT:
        return Membership(member, team, donor), False
    if member is None:
        member = TeamMember(team_id=team.id, donor_id=donor.id)
        db.session.add(member)
    now = clock.now()
    member.status = MEMBER_ACTIVE
    member.consented_at = member.joined_at = now
    member.consent_text = CONSENT.text
    member.consent_version = CONSENT.version
    member.paused_at = member.left_at = None
    _place(member, joining.location)
    if joining.blood_group is not None and not donor.abo:
        donor.abo, donor.rhd = joining.blood_group.abo, joining.blood_group.rhd
        donor.blood_group_source = SELF_REPORTED
    db.session.flush()
    _record("team.joined", member, {"consent_version": CONSENT.version})
    return Membership(member, team, donor), True


def _place(member: TeamMember, location: Location | None) -> None:
    member.latitude = location.latitude if location else None
    member.longitude = location.longitude if location else None


def _record(action: str, member: TeamMember, details: dict[str, Any] | None = None) -> None:
    audit.record(
        action,
        actor=("donor", member.donor_id),
        target=("team", member.team_id),
        details={"member": member.id, **(details or {})},
    )


def membership_of(team_id: int, donor: Donor) -> Membership:
    """The donor's own membership of a team; none (or another donor's) is 404."""
    member = _membership_row(team_id, donor)
    if member is None:
        raise ApiError("team_membership_not_found", 404)
    return Membership(member, db.session.get_one(Team, team_id), donor)


def memberships_page(donor: Donor, page: int, per_page: int) -> dict[str, Any]:
    """The donor's memberships, the latest joined first (those left too, shown as left)."""
    query = (
        select(TeamMember, Team)
        .join(Team, Team.id == TeamMember.team_id)
        .where(TeamMember.donor_id == donor.id)
        .order_by(TeamMember.joined_at.desc(), TeamMember.id.desc())
    )
    listed = paginate(query, page, per_page)
    items = [Membership(member, team, donor) for member, team in listed["items"]]
    return {**listed, "items": items}


def _still_member(membership: Membership) -> TeamMember:
    if membership.member.status == MEMBER_LEFT:
        raise ApiError("team_membership_left", 409)
    return membership.member


def pause(membership: Membership) -> Membership:
    """No call-out reaches a paused member until they resume; pausing again changes nothing."""
    member = _still_member(membership)
    if member.status == MEMBER_ACTIVE:
        member.status = MEMBER_PAUSED
        member.paused_at = clock.now()
        _record("team.paused", member)
    return membership


def resume(membership: Membership) -> Membership:
    """Back to receiving call-outs; resuming an active membership changes nothing."""
    member = _still_member(membership)
    if member.status == MEMBER_PAUSED:
        member.status = MEMBER_ACTIVE
        member.paused_at = None
        _record("team.resumed", member)
    return membership


def leave(membership: Membership) -> Membership:
    """Leave at any time: the location goes with it; leaving again changes nothing."""
    member = membership.member
    if member.status != MEMBER_LEFT:
        member.status = MEMBER_LEFT
        member.left_at = clock.now()
        _place(member, None)
        _record("team.left", member)
    return membership


def move(membership: Membership, location: Location | None) -> Membership:
    """Set, change or (None) clear where the member can be reached from; audited without it."""
    member = _still_member(membership)
    _place(member, location)
    _record("team.location_changed", member, {"location_set": location is not None})
    return membership


# ---------------------------------------------------------------- erasure


def forget_donor(_sender: Any, donor: Donor, **_: Any) -> None:
    """An erased donor leaves every team, in the erasure's transaction, and their locations go;
    the memberships stay, as left, for the call-outs that name them."""
    db.session.execute(
        update(TeamMember)
        .where(TeamMember.donor_id == donor.id, TeamMember.status != MEMBER_LEFT)
        .values(status=MEMBER_LEFT, left_at=clock.now())
        .execution_options(synchronize_session="fetch")
    )
    db.session.execute(
        update(TeamMember)
        .where(TeamMember.donor_id == donor.id)
        .values(latitude=None, longitude=None)
        .execution_options(synchronize_session="fetch")
    )

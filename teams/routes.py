"""Routes: teams and membership, and a call-out's report (drills)."""

from __future__ import annotations

from typing import Any

from flask import Response

from core.auth import ADMIN, DONOR, caller, roles_required
from core.extensions import db
from core.http import Blueprint
from core.pagination import paginate
from core.requests import current_donor
from core.schemas import PageQuerySchema
from teams import drills, membership, schemas
from teams.models import Team

bp = Blueprint("teams", __name__, description="Emergency donor teams, call-outs and drills")


# ---------------------------------------------------------------- administrators: teams


@bp.post("/admin/teams")
@roles_required(ADMIN)
@bp.arguments(schemas.TeamCreateSchema)
@bp.response(201, schemas.TeamSchema)
def create_team(body: dict[str, Any]) -> Team:
    """Create a team (name, region from the policies, kind, description); audited."""
    team = membership.create_team(membership.TeamDraft(**body), caller())
    db.session.commit()
    return team


@bp.get("/admin/teams")
@roles_required(ADMIN)
@bp.arguments(schemas.TeamQuerySchema, location="query")
@bp.response(200, schemas.TeamPageSchema)
def list_teams(query: dict[str, Any]) -> dict[str, Any]:
    """Teams by region and name, filtered by region, kind and whether active."""
    select = membership.teams_query(query.get("region"), query.get("kind"), query.get("active"))
    return paginate(select, query["page"], query["per_page"])


@bp.get("/admin/teams/<int:team_id>")
@roles_required(ADMIN)
@bp.response(200, schemas.TeamSchema)
def read_team(team_id: int) -> Team:
    """One team."""
    return membership.get_team(team_id)


@bp.patch("/admin/teams/<int:team_id>")
@roles_required(ADMIN)
@bp.arguments(schemas.TeamUpdateSchema)
@bp.response(200, schemas.TeamSchema)
def update_team(body: dict[str, Any], team_id: int) -> Team:
    """Change a team's name, kind or description (not its region); audited."""
    team = membership.update_team(membership.get_team(team_id), body, caller())
    db.session.commit()
    return team


@bp.post("/admin/teams/<int:team_id>/deactivate")
@roles_required(ADMIN)
@bp.response(200, schemas.TeamSchema)
def deactivate_team(team_id: int) -> Team:
    """Deactivate a team: it takes no new members and donors no longer see it; audited."""
    team = membership.deactivate_team(membership.get_team(team_id), caller())
    db.session.commit()
    return team


@bp.get("/admin/teams/<int:team_id>/members")
@roles_required(ADMIN)
@bp.arguments(schemas.TeamMemberQuerySchema, location="query")
@bp.response(200, schemas.TeamMemberPageSchema)
def team_members(query: dict[str, Any], team_id: int) -> dict[str, Any]:
    """A team's members (names masked, the blood group confirmed or declared, whether a
    location is set, never the location); each look is audited."""
    team = membership.get_team(team_id)
    page = paginate(
        membership.members_query(team, query.get("status")), query["page"], query["per_page"]
    )
    membership.record_members_viewed(team, caller(), query["page"])
    db.session.commit()
    return page


# ---------------------------------------------------------------- donors: membership


@bp.get("/teams/consent")
@roles_required(DONOR)
@bp.response(200, schemas.TeamConsentSchema)
def team_consent() -> membership.Consent:
    """The consent a donor agrees to when joining a team, with its version."""
    return membership.CONSENT


@bp.get("/teams")
@roles_required(DONOR)
@bp.arguments(schemas.JoinableTeamQuerySchema, location="query")
@bp.response(200, schemas.JoinableTeamPageSchema)
def joinable_teams(query: dict[str, Any]) -> dict[str, Any]:
    """The active teams of a region a donor may join (the donor's region by default)."""
    select = membership.joinable_teams_query(query.get("region") or current_donor().region)
    return paginate(select, query["page"], query["per_page"])


@bp.post("/me/teams/<int:team_id>/join")
@roles_required(DONOR)
@bp.arguments(schemas.JoinSchema)
@bp.response(201, schemas.MembershipSchema)
@bp.alt_response(200, schema=schemas.MembershipSchema, description="a member already")
def join_team(joining: membership.Joining, team_id: int) -> tuple[membership.Membership, int]:
    """Join a team with consent to the current text, optionally with a location and a declared
    blood group; joining again as a member changes nothing (200)."""
    joined, created = membership.join(team_id, current_donor(), joining)
    db.session.commit()
    return joined, 201 if created else 200


@bp.get("/me/teams")
@roles_required(DONOR)
@bp.arguments(PageQuerySchema, location="query")
@bp.response(200, schemas.MembershipPageSchema)
def my_teams(query: dict[str, Any]) -> dict[str, Any]:
    """The donor's memberships, latest first: team, status, blood group confirmed or declared."""
    return membership.memberships_page(current_donor(), query["page"], query["per_page"])


@bp.post("/me/teams/<int:team_id>/pause")
@roles_required(DONOR)
@bp.response(200, schemas.MembershipSchema)
def pause_membership(team_id: int) -> membership.Membership:
    """Pause: no call-out reaches the member until they resume."""
    paused = membership.pause(membership.membership_of(team_id, current_donor()))
    db.session.commit()
    return paused


@bp.post("/me/teams/<int:team_id>/resume")
@roles_required(DONOR)
@bp.response(200, schemas.MembershipSchema)
def resume_membership(team_id: int) -> membership.Membership:
    """Resume a paused membership."""
    resumed = membership.resume(membership.membership_of(team_id, current_donor()))
    db.session.commit()
    return resumed


@bp.post("/me/teams/<int:team_id>/leave")
@roles_required(DONOR)
@bp.response(200, schemas.MembershipSchema)
def leave_team(team_id: int) -> membership.Membership:
    """Leave the team, at any time; the location given for it is deleted."""
    left = membership.leave(membership.membership_of(team_id, current_donor()))
    db.session.commit()
    return left


@bp.patch("/me/teams/<int:team_id>")
@roles_required(DONOR)
@bp.arguments(schemas.MoveSchema)
@bp.response(200, schemas.MembershipSchema)
def move_membership(body: dict[str, Any], team_id: int) -> membership.Membership:
    """Set, change or clear (both null) where the member can be reached from."""
    moved = membership.move(membership.membership_of(team_id, current_donor()), body["location"])
    db.session.commit()
    return moved


# ---------------------------------------------------------------- a call-out's report (drills)


@bp.get("/admin/call-outs/<int:call_out_id>/report")
@roles_required(ADMIN)
@bp.response(200, schemas.DrillReportSchema)
def call_out_report(call_out_id: int) -> drills.CallOutReport:
    """A call-out's (a drill's) figures per team and in total: invited, answered, coming, not
    now, no answer, the median and fastest time to answer (seconds), arrivals."""
    return drills.report(call_out_id)


@bp.get("/admin/call-outs/<int:call_out_id>/report.csv")
@roles_required(ADMIN)
@bp.response(200, content_type="text/csv")
def call_out_report_csv(call_out_id: int) -> Response:
    """The call-out's report as CSV (UTF-8 with a BOM, formula-safe cells)."""
    text = drills.report_csv(drills.report(call_out_id))
    return Response(
        text,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="call-out-{call_out_id}-report.csv"'
        },
    )

"""What the teams routes take and answer: teams, memberships (the donor's own and the member
list staff see, names masked, locations never shown) and a call-out's report."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from core.masking import mask_name
from core.schemas import LocalDateTime, PageQuerySchema, StrictSchema, computed, page_of
from teams import membership
from teams.models import MEMBER_ACTIVE, MEMBER_LEFT, MEMBER_PAUSED, TEAM_KINDS

MEMBER_STATUSES = (MEMBER_ACTIVE, MEMBER_PAUSED, MEMBER_LEFT)
REGION = fields.String(
    validate=validate.Length(min=1, max=32),
    metadata={"description": "a region with a policy file, e.g. zhejiang"},
)
KIND = fields.String(
    validate=validate.OneOf(TEAM_KINDS),
    metadata={"description": "rare_type, civil_defence, employer or university"},
)
NAME = fields.String(validate=validate.Length(min=1, max=200))
DESCRIPTION = fields.String(validate=validate.Length(max=2000), allow_none=True)


# ---------------------------------------------------------------- teams


def _tidy_name(data: dict[str, Any]) -> dict[str, Any]:
    if "name" in data:
        data["name"] = data["name"].strip()
        if not data["name"]:
            raise ma.ValidationError({"name": ["field_empty"]})
    return data


class TeamCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    region = fields.String(
        required=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "a region with a policy file, e.g. zhejiang"},
    )
    kind = fields.String(
        required=True,
        validate=validate.OneOf(TEAM_KINDS),
        metadata={"description": "rare_type, civil_defence, employer or university"},
    )
    description = DESCRIPTION

    @ma.post_load
    def tidy(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return _tidy_name(data)


class TeamUpdateSchema(StrictSchema):
    """What an administrator may change: the region stays (members joined a team there)."""

    name = NAME
    kind = KIND
    description = DESCRIPTION

    @ma.post_load
    def tidy(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return _tidy_name(data)


class TeamQuerySchema(PageQuerySchema):
    region = REGION
    kind = KIND
    active = fields.Boolean()


class JoinableTeamQuerySchema(PageQuerySchema):
    region = fields.String(
        validate=validate.Length(min=1, max=32),
        metadata={"description": "the region's teams (default: the donor's region)"},
    )


class TeamSchema(ma.Schema):
    """A team as staff see it."""

    id = fields.Integer()
    name = fields.String()
    region = fields.String()
    kind = fields.String(metadata={"description": "rare_type, civil_defence, employer, university"})
    description = fields.String(allow_none=True)
    active = fields.Boolean(metadata={"description": "false: deactivated, takes no new members"})
    created_at = LocalDateTime()


TeamPageSchema = page_of(TeamSchema, "TeamPage")


class JoinableTeamSchema(ma.Schema):
    """A team a donor may join."""

    id = fields.Integer()
    name = fields.String()
    region = fields.String()
    kind = fields.String()
    description = fields.String(allow_none=True)


JoinableTeamPageSchema = page_of(JoinableTeamSchema, "JoinableTeamPage")


class ShownBloodGroupSchema(ma.Schema):
    abo = fields.String()
    rhd = fields.String(allow_none=True)
    basis = fields.String(
        metadata={
            "description": "confirmed: by a donation's test result; declared: as the donor stated"
            " it, not yet confirmed"
        }
    )


def _member_group(row: Any) -> membership.ShownBloodGroup | None:
    return membership.shown_blood_group(row.abo, row.rhd, row.blood_group_source)


class TeamMemberSchema(ma.Schema):
    """A team's member as staff see them: the name masked, never the location."""

    id = fields.Integer()
    donor_id = fields.Integer()
    name = computed(fields.String(allow_none=True), lambda row: mask_name(row.name))
    blood_group = computed(fields.Nested(ShownBloodGroupSchema, allow_none=True), _member_group)
    status = fields.String(metadata={"description": "active, paused or left"})
    joined_at = LocalDateTime()
    paused_at = LocalDateTime(allow_none=True)
    left_at = LocalDateTime(allow_none=True)
    location_set = fields.Boolean(
        metadata={"description": "whether the member gave a location (never the location)"}
    )


TeamMemberPageSchema = page_of(TeamMemberSchema, "TeamMemberPage")


class TeamMemberQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(MEMBER_STATUSES))


# ---------------------------------------------------------------- the donor's memberships


class TeamConsentSchema(ma.Schema):
    version = fields.String(metadata={"description": "send it back as consent_version to join"})
    text = fields.String(metadata={"description": "the consent, in Chinese"})


def _degrees(low: int, high: int) -> fields.Float:
    return fields.Float(
        allow_nan=False, validate=validate.Range(min=low, max=high), allow_none=True
    )


class LocationFields(StrictSchema):
    latitude = _degrees(-90, 90)
    longitude = _degrees(-180, 180)


def _location_of(data: dict[str, Any]) -> membership.Location | None:
    """Both degrees, or neither (null or left out): a location, or None."""
    latitude, longitude = data.get("latitude"), data.get("longitude")
    if latitude is None and longitude is None:
        return None
    if latitude is None or longitude is None:
        raise ma.ValidationError(
            {"longitude" if longitude is None else "latitude": ["location_incomplete"]}
        )
    return membership.Location(latitude, longitude)


class DeclaredBloodGroupSchema(StrictSchema):
    abo = fields.String(required=True, validate=validate.OneOf(["A", "B", "O", "AB"]))
    rhd = fields.String(required=True, validate=validate.OneOf(["positive", "negative"]))

    @ma.post_load
    def group(self, data: dict[str, Any], **kwargs: Any) -> membership.DeclaredBloodGroup:
        return membership.DeclaredBloodGroup(data["abo"], data["rhd"])


class JoinSchema(LocationFields):
    consent = fields.Boolean(
        required=True, metadata={"description": "true: the donor agrees to the consent text"}
    )
    consent_version = fields.String(
        required=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "the version of the consent text the donor was shown"},
    )
    blood_group = fields.Nested(
        DeclaredBloodGroupSchema,
        metadata={"description": "the group the donor declares; kept only while none is on record"},
    )

    @ma.validates("consent")
    def agreed(self, value: bool, **kwargs: Any) -> None:
        if value is not True:
            raise ma.ValidationError("team_consent_required")

    @ma.post_load
    def joining(self, data: dict[str, Any], **kwargs: Any) -> membership.Joining:
        return membership.Joining(
            consent_version=data["consent_version"],
            location=_location_of(data),
            blood_group=data.get("blood_group"),
        )


class MoveSchema(LocationFields):
    """A location to set, or both null to clear it."""

    @ma.validates_schema
    def both_given(self, data: dict[str, Any], **kwargs: Any) -> None:
        missing = {key: ["field_required"] for key in ("latitude", "longitude") if key not in data}
        if missing:
            raise ma.ValidationError(missing)

    @ma.post_load
    def place(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {"location": _location_of(data)}


class LocationSchema(ma.Schema):
    latitude = fields.Float()
    longitude = fields.Float()


def _own_location(item: membership.Membership) -> membership.Location | None:
    member = item.member
    if member.latitude is None or member.longitude is None:
        return None
    return membership.Location(member.latitude, member.longitude)


class MembershipSchema(ma.Schema):
    """The donor's own membership: the team, its status and the blood group it shows."""

    team = fields.Nested(JoinableTeamSchema)
    status = fields.String(
        attribute="member.status", metadata={"description": "active, paused or left"}
    )
    blood_group = fields.Nested(ShownBloodGroupSchema, allow_none=True)
    consent_version = fields.String(attribute="member.consent_version")
    consented_at = LocalDateTime(attribute="member.consented_at")
    joined_at = LocalDateTime(attribute="member.joined_at")
    paused_at = LocalDateTime(attribute="member.paused_at", allow_none=True)
    left_at = LocalDateTime(attribute="member.left_at", allow_none=True)
    location = computed(
        fields.Nested(
            LocationSchema,
            allow_none=True,
            metadata={"description": "the member's own location, shown to them alone"},
        ),
        _own_location,
    )


MembershipPageSchema = page_of(MembershipSchema, "TeamMembershipPage")


# ---------------------------------------------------------------- a call-out's report


class DrillFiguresSchema(ma.Schema):
    invited = fields.Integer()
    answered = fields.Integer()
    coming = fields.Integer()
    not_now = fields.Integer()
    no_answer = fields.Integer()
    median_seconds = fields.Float(
        allow_none=True,
        metadata={"description": "median time from invitation to answer; null: none answered"},
    )
    fastest_seconds = fields.Float(allow_none=True)
    arrived = fields.Integer()


class DrillTeamFiguresSchema(DrillFiguresSchema):
    team_id = fields.Integer()
    team_name = fields.String()


class DrillCallOutSchema(ma.Schema):
    id = fields.Integer()
    drill = fields.Boolean()
    urgent = fields.Boolean()
    region = fields.String()
    site_id = fields.Integer()
    abo = fields.String()
    rhd = fields.String()
    kind = fields.String()
    needed = fields.Integer()
    status = fields.String()
    opened_at = LocalDateTime()
    needed_by = LocalDateTime()


class DrillReportSchema(ma.Schema):
    """How many members of each team were invited, answered (how fast), came, and in total."""

    call_out = fields.Nested(DrillCallOutSchema)
    teams = fields.List(fields.Nested(DrillTeamFiguresSchema))
    totals = fields.Nested(DrillFiguresSchema)

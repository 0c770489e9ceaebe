"""Schemas of call-outs: what a duty officer asks for, what staff see live (counts and each
invitation: masked name, team, distance, answer; never a member's location), and what the
member invited sees and answers."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from certificate.policy import donation_rules
from core.masking import mask_name
from core.policy import policy_for
from core.schemas import (
    LARGEST_ID,
    LocalDateTime,
    PageMetaSchema,
    PageQuerySchema,
    StrictSchema,
    bounded_int,
    computed,
    page_of,
)
from teams.answers import ANSWERS, InvitedCallOut, group_name
from teams.models import (
    CALL_OUT_CANCELLED,
    CALL_OUT_CLOSED,
    CALL_OUT_FILLED,
    CALL_OUT_OPEN,
)

CALL_OUT_KINDS = ("whole_blood", "apheresis_platelets")
CALL_OUT_STATUSES = (CALL_OUT_OPEN, CALL_OUT_FILLED, CALL_OUT_CLOSED, CALL_OUT_CANCELLED)


class CallOutCreateSchema(StrictSchema):
    site_id = bounded_int(1, LARGEST_ID, required=True, metadata={"description": "where"})
    abo = fields.String(required=True, validate=validate.OneOf(["A", "B", "O", "AB"]))
    rhd = fields.String(required=True, validate=validate.OneOf(["positive", "negative"]))
    kind = fields.String(required=True, validate=validate.OneOf(CALL_OUT_KINDS))
    needed = bounded_int(1, 500, required=True, metadata={"description": "how many donors"})
    needed_by = LocalDateTime(
        required=True, metadata={"description": "when they are needed by (with its offset)"}
    )
    urgent = fields.Boolean(
        load_default=False,
        metadata={"description": "goes at once, in the night and past the weekly caps"},
    )
    drill = fields.Boolean(load_default=False)
    drill_asks_to_come = fields.Boolean(
        load_default=False, metadata={"description": "a drill whose members are asked to come"}
    )
    team_ids = fields.List(
        bounded_int(1, LARGEST_ID),
        load_default=list,
        validate=validate.Length(max=100),
        metadata={"description": "the teams called; none: the region's active teams"},
    )
    note = fields.String(validate=validate.Length(max=500), allow_none=True)


class CallOutWaveCreateSchema(StrictSchema):
    number = bounded_int(
        1,
        1000,
        required=True,
        metadata={"description": "the wave meant (the next one): asked again, nothing is sent"},
    )


class CallOutEndSchema(StrictSchema):
    cancel = fields.Boolean(
        load_default=False,
        metadata={"description": "the need is gone: those coming are stood down too"},
    )


class CallOutQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(CALL_OUT_STATUSES))


class CallOutInvitationQuerySchema(PageQuerySchema):
    pass


class CallOutSchema(ma.Schema):
    id = fields.Integer()
    region = fields.String()
    site_id = fields.Integer()
    abo = fields.String()
    rhd = fields.String()
    kind = fields.String()
    needed = fields.Integer()
    needed_by = LocalDateTime()
    urgent = fields.Boolean()
    drill = fields.Boolean()
    drill_asks_to_come = fields.Boolean()
    team_ids = fields.List(fields.Integer())
    note = fields.String(allow_none=True)
    status = fields.String()
    opened_at = LocalDateTime()
    filled_at = LocalDateTime(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)


CallOutPageSchema = page_of(CallOutSchema, "CallOutPage")


class CallOutWaveSchema(ma.Schema):
    call_out_id = fields.Integer()
    number = fields.Integer()
    invited = fields.Integer()
    sent_at = LocalDateTime()


class CallOutAnswerCountsSchema(ma.Schema):
    invited = fields.Integer()
    coming = fields.Integer()
    not_now = fields.Integer()
    no_answer = fields.Integer()
    arrived = fields.Integer()
    donated = fields.Integer()
    stood_down = fields.Integer()


class CallOutInvitationLineSchema(ma.Schema):
    """One member called, as staff see them: no location, no number, the name masked."""

    id = computed(fields.Integer(), lambda line: line.invitation.id)
    name = computed(fields.String(allow_none=True), lambda line: mask_name(line.donor_name))
    team_id = computed(fields.Integer(), lambda line: line.invitation.team_id)
    team = computed(fields.String(), lambda line: line.team_name)
    wave = computed(fields.Integer(), lambda line: line.wave_number)
    blood_group_source = computed(
        fields.String(
            allow_none=True,
            metadata={"description": "laboratory: confirmed by a test result; else declared"},
        ),
        lambda line: line.blood_group_source,
    )
    distance_km = computed(
        fields.Float(allow_none=True),
        lambda line: (
            None if line.invitation.distance_km is None else round(line.invitation.distance_km, 1)
        ),
    )
    answer = computed(fields.String(allow_none=True), lambda line: line.invitation.answer)
    arriving_at = computed(LocalDateTime(allow_none=True), lambda line: line.invitation.arriving_at)
    answered_at = computed(LocalDateTime(allow_none=True), lambda line: line.invitation.answered_at)
    answered_via = computed(
        fields.String(allow_none=True), lambda line: line.invitation.answered_via
    )
    invited_at = computed(LocalDateTime(), lambda line: line.invitation.invited_at)
    stood_down_at = computed(
        LocalDateTime(allow_none=True), lambda line: line.invitation.stood_down_at
    )
    arrived_at = computed(LocalDateTime(allow_none=True), lambda line: line.invitation.arrived_at)
    visit_id = computed(fields.Integer(allow_none=True), lambda line: line.invitation.visit_id)
    donation_id = computed(
        fields.Integer(allow_none=True), lambda line: line.invitation.donation_id
    )


class CallOutInvitationPageSchema(ma.Schema):
    items = fields.List(fields.Nested(CallOutInvitationLineSchema))
    page = fields.Nested(PageMetaSchema)


class CallOutProgressSchema(ma.Schema):
    """A call-out as the duty officer follows it: the answers counted and each invitation."""

    call_out = fields.Nested(CallOutSchema)
    site_name = computed(fields.String(), lambda progress: progress.site.name)
    counts = fields.Nested(CallOutAnswerCountsSchema)
    waves = fields.List(fields.Nested(CallOutWaveSchema))
    invitations = fields.Nested(CallOutInvitationPageSchema)


class CallOutAnswerSchema(StrictSchema):
    answer = fields.String(required=True, validate=validate.OneOf(ANSWERS))
    arriving_at = LocalDateTime(
        allow_none=True, metadata={"description": "required when coming: when you will arrive"}
    )


def _kind_name(invited: InvitedCallOut) -> str:
    return donation_rules(policy_for(invited.call_out.region)).kind_name(invited.call_out.kind)


class InvitedCallOutSchema(ma.Schema):
    """A call-out as the member invited sees it, with their own answer."""

    call_out_id = computed(fields.Integer(), lambda invited: invited.call_out.id)
    site = computed(fields.String(), lambda invited: invited.site.name)
    address = computed(fields.String(), lambda invited: invited.site.address)
    group = computed(
        fields.String(), lambda invited: group_name(invited.call_out.abo, invited.call_out.rhd)
    )
    kind = computed(fields.String(), lambda invited: invited.call_out.kind)
    kind_name = computed(fields.String(), _kind_name)
    needed_by = computed(LocalDateTime(), lambda invited: invited.call_out.needed_by)
    urgent = computed(fields.Boolean(), lambda invited: invited.call_out.urgent)
    drill = computed(fields.Boolean(), lambda invited: invited.call_out.drill)
    asks_to_come = computed(
        fields.Boolean(),
        lambda invited: not invited.call_out.drill or invited.call_out.drill_asks_to_come,
    )
    status = computed(fields.String(), lambda invited: invited.call_out.status)
    answer = computed(fields.String(allow_none=True), lambda invited: invited.invitation.answer)
    arriving_at = computed(
        LocalDateTime(allow_none=True), lambda invited: invited.invitation.arriving_at
    )
    answered_at = computed(
        LocalDateTime(allow_none=True), lambda invited: invited.invitation.answered_at
    )
    stood_down = computed(
        fields.Boolean(), lambda invited: invited.invitation.stood_down_at is not None
    )
    arrived = computed(fields.Boolean(), lambda invited: invited.invitation.arrived_at is not None)
    can_answer = computed(fields.Boolean(), lambda invited: invited.can_answer)


InvitedCallOutPageSchema = page_of(InvitedCallOutSchema, "InvitedCallOutPage")

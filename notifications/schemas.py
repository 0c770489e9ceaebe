"""Shapes of preferences, the station's unit issues, stock appeals and the admin views."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from core.schemas import (
    Date,
    LocalDateTime,
    PageQuerySchema,
    StrictSchema,
    bounded_int,
    computed,
    page_of,
)
from notifications.models import STATUSES
from notifications.services import message_mobile
from notifications.templates import (
    CAPPED,
    OPT_OUTS,
    TEMPLATES,
    URGENT,
    MessageTemplate,
    render,
)
from notifications.templates import (
    segments as sms_parts,
)


def _sample(spec: MessageTemplate) -> str:
    return render(spec.code, spec.sample)


class JsonBoolean(fields.Boolean):
    """true or false only: not "no", not 0."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class PreferencesUpdateSchema(StrictSchema):
    greetings = JsonBoolean(metadata={"description": "birthday and donor-day greetings"})
    appeals = JsonBoolean(metadata={"description": "low-stock appeals"})
    reminders = JsonBoolean(
        metadata={
            "description": "'you may give again' reminders, and the note of your free blood use "
            "when a hospital admits you or a relative"
        }
    )


class QuietHoursSchema(ma.Schema):
    start = fields.String()
    end = fields.String()


class PreferencesSchema(ma.Schema):
    """A donor's `NotificationSettings`."""

    greetings = fields.Boolean()
    appeals = fields.Boolean()
    reminders = fields.Boolean()
    transactional = fields.Boolean(
        metadata={
            "description": "codes, thanks, where your blood went, appointment reminders: always on"
        }
    )
    quiet_hours = fields.Nested(
        QuietHoursSchema, metadata={"description": "local time; non-urgent messages wait"}
    )
    weekly_cap = fields.Integer(
        metadata={"description": "most reminders, greetings and appeals in any 7 days"}
    )
    updated_at = LocalDateTime(allow_none=True)


class UnitIssueCreateSchema(StrictSchema):
    din = fields.String(
        required=True,
        validate=validate.Length(min=13, max=24),
        metadata={"description": "ISBT 128 donation identification number of the unit"},
    )
    issue_id = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=64), validate.Regexp(r"^[A-Za-z0-9._:\-/]+$")],
        metadata={"description": "the inventory system's own reference for this issue"},
    )
    hospital = fields.String(required=True, validate=validate.Length(min=2, max=200))
    component = fields.String(validate=validate.Length(min=1, max=64), allow_none=True)
    issued_at = LocalDateTime(required=True)


class UnitIssueSchema(ma.Schema):
    id = fields.Integer()
    din = fields.String()
    issue_id = fields.String(attribute="issue_ref")
    hospital = fields.String()
    component = fields.String(allow_none=True)
    issued_at = LocalDateTime()
    reported_at = LocalDateTime()


class MessageQuerySchema(PageQuerySchema):
    status = fields.List(
        fields.String(validate=validate.OneOf(STATUSES)),
        validate=validate.Length(max=len(STATUSES)),
        metadata={"description": "repeat to ask for several"},
    )
    template = fields.String(validate=validate.OneOf(sorted(TEMPLATES)))


class MessageSchema(ma.Schema):
    """An outbox row as an administrator sees it: never the text, the number masked."""

    id = fields.Integer()
    key = fields.String()
    template = fields.String()
    category = fields.String()
    donor_id = fields.Integer(allow_none=True)
    mobile = computed(fields.String(allow_none=True), message_mobile)
    segments = fields.Integer(metadata={"description": "SMS parts (70 UCS-2 chars, 67 per part)"})
    status = fields.String()
    status_reason = fields.String(allow_none=True)
    error_code = fields.String(allow_none=True)
    attempts = fields.Integer()
    provider = fields.String(allow_none=True)
    provider_sid = fields.String(allow_none=True)
    provider_status = fields.String(allow_none=True)
    not_before = LocalDateTime()
    created_at = LocalDateTime()
    sent_at = LocalDateTime(allow_none=True)
    delivered_at = LocalDateTime(allow_none=True)


MessagePageSchema = page_of(MessageSchema, "NotificationMessagePage")


class TemplateSchema(ma.Schema):
    """A template as administrators see it, with a sample rendering and its length in SMS parts."""

    code = fields.String()
    category = fields.String()
    urgent = computed(fields.Boolean(), lambda spec: spec.category in URGENT)
    can_opt_out = computed(fields.Boolean(), lambda spec: spec.category in OPT_OUTS)
    capped = computed(fields.Boolean(), lambda spec: spec.category in CAPPED)
    variables = computed(fields.List(fields.String()), lambda spec: sorted(spec.variables))
    sample = computed(fields.String(), lambda spec: _sample(spec))
    characters = computed(fields.Integer(), lambda spec: len(_sample(spec)))
    segments = computed(fields.Integer(), lambda spec: sms_parts(_sample(spec)))


class TemplateListSchema(ma.Schema):
    signature = fields.String()
    items = fields.List(fields.Nested(TemplateSchema))


class AppealCreateSchema(StrictSchema):
    abo = fields.String(required=True, validate=validate.OneOf(["A", "B", "O", "AB"]))
    rhd = fields.String(required=True, validate=validate.OneOf(["positive", "negative"]))
    city = fields.String(required=True, validate=validate.Length(min=1, max=64))
    kind = fields.String(load_default="whole_blood", validate=validate.Length(min=1, max=32))
    ends_on = Date(required=True)
    max_wave = bounded_int(1, 10_000, metadata={"description": "most donors told per wave"})
    region = fields.String(validate=validate.Length(min=1, max=32))


class AppealQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(["open", "closed"]))


class AppealSchema(ma.Schema):
    id = fields.Integer()
    abo = fields.String()
    rhd = fields.String()
    city = fields.String()
    kind = fields.String()
    region = fields.String()
    ends_on = Date()
    max_wave = fields.Integer()
    status = fields.String()
    waves = fields.Integer()
    notified = fields.Integer(metadata={"description": "donors told so far"})
    next_wave_at = LocalDateTime(allow_none=True)
    declared_at = LocalDateTime()
    closed_at = LocalDateTime(allow_none=True)


AppealPageSchema = page_of(AppealSchema, "StockAppealPage")

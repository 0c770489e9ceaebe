"""Shapes of the audit log's filters and entries (core/audit_routes.py)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from core import audit
from core.schemas import LARGEST_ID, LocalDateTime, PageQuerySchema, StrictSchema, bounded_int


class AuditFilterSchema(StrictSchema):
    donor_id = bounded_int(
        1,
        LARGEST_ID,
        strict=False,
        metadata={"description": "entries about the donor, naming the donor, or done by the donor"},
    )
    actor_type = fields.String(validate=validate.OneOf(audit.ACTOR_TYPES))
    actor_id = bounded_int(1, LARGEST_ID, strict=False)
    action = fields.String(validate=validate.Length(min=1, max=64))
    from_ = LocalDateTime(
        data_key="from", metadata={"description": "from this moment (with its time zone)"}
    )
    to = LocalDateTime(metadata={"description": "up to this moment (with its time zone)"})


class AuditQuerySchema(PageQuerySchema, AuditFilterSchema):
    pass


class AuditEntrySchema(ma.Schema):
    id = fields.Integer()
    at = LocalDateTime()
    actor_type = fields.String()
    actor_id = fields.Integer(allow_none=True)
    action = fields.String()
    target_type = fields.String(allow_none=True)
    target_id = fields.String(allow_none=True)
    details = fields.Dict(allow_none=True)
    client_address = fields.String(
        allow_none=True, metadata={"description": "the client's address, as the app saw it"}
    )
    request_id = fields.String(allow_none=True)

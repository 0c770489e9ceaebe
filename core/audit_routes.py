"""Administrators read the audit log: who read or changed which donor's data, when, from where."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, current_app
from marshmallow import fields, validate

from core import audit
from core.auth import ADMIN, roles_required
from core.http import Blueprint
from core.pagination import paginate
from core.schemas import (
    LARGEST_ID,
    LocalDateTime,
    PageQuerySchema,
    StrictSchema,
    bounded_int,
    page_of,
)

bp = Blueprint("audit", __name__, description="The audit log")


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


def _entries(query: dict[str, Any]) -> Any:
    return audit.entries_query(
        donor_id=query.get("donor_id"),
        actor_type=query.get("actor_type"),
        actor_id=query.get("actor_id"),
        action=query.get("action"),
        since=query.get("from_"),
        until=query.get("to"),
    )


@bp.get("/admin/audit")
@roles_required(ADMIN)
@bp.arguments(AuditQuerySchema, location="query")
@bp.response(200, page_of(AuditEntrySchema, "AuditEntryPage"))
def audit_entries(query: dict[str, Any]) -> dict[str, Any]:
    """The audit log, newest first, filtered by donor, actor, action and time."""
    return paginate(_entries(query), query["page"], query["per_page"])


@bp.get("/admin/audit.csv")
@roles_required(ADMIN)
@bp.arguments(AuditFilterSchema, location="query")
@bp.response(200, content_type="text/csv")
def audit_entries_csv(query: dict[str, Any]) -> Response:
    """The filtered audit log as CSV (formula-safe cells), up to `AUDIT_EXPORT_MAX_ROWS` rows."""
    text = audit.entries_csv(_entries(query), current_app.config["AUDIT_EXPORT_MAX_ROWS"])
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )

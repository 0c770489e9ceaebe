"""Administrators read the audit log: who read or changed which donor's data, when, from where."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app

from core import audit
from core.audit_schemas import AuditEntrySchema, AuditFilterSchema, AuditQuerySchema
from core.auth import ADMIN, roles_required
from core.http import Blueprint
from core.pagination import paginate
from core.schemas import page_of

bp = Blueprint("audit", __name__, description="The audit log")


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

"""Routes: donors' preferences, the station system's unit issues, admin views, Twilio callbacks."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from twilio.request_validator import RequestValidator

from core.auth import ADMIN, DONOR, STATION_SYSTEM, caller, roles_required
from core.docs import answers
from core.errors import ApiError
from core.extensions import db
from core.http import Blueprint, accepts
from core.pagination import paginate
from core.requests import current_donor
from notifications import appeals, schemas, services
from notifications.templates import TEMPLATES, signature

bp = Blueprint("notifications", __name__, description="Messages to donors and their settings")
webhooks_bp = Blueprint("webhooks", __name__, description="Callbacks from the SMS provider")


@bp.get("/me/notification-preferences")
@roles_required(DONOR)
@bp.response(200, schemas.PreferencesSchema)
def my_preferences():
    """What the donor hears: greetings, appeals and reminders can be off; the rest is always on."""
    return services.preferences(current_donor())


@bp.patch("/me/notification-preferences")
@roles_required(DONOR)
@bp.arguments(schemas.PreferencesUpdateSchema)
@bp.response(200, schemas.PreferencesSchema)
def update_my_preferences(body: dict[str, bool]):
    """Turn greetings, appeals or reminders off (or on again)."""
    result = services.update_preferences(current_donor(), body)
    db.session.commit()
    return result


@bp.post("/station/unit-issues")
@roles_required(STATION_SYSTEM)
@bp.arguments(schemas.UnitIssueCreateSchema)
@bp.response(201, schemas.UnitIssueSchema)
@bp.alt_response(200, schema=schemas.UnitIssueSchema, description="already reported")
@answers(404)
def report_unit_issue(body: dict[str, Any]):
    """A unit (by DIN) was issued to a hospital: its donor is told where it went, once."""
    issue, new = services.report_unit_issue(caller(), body)
    db.session.commit()
    return issue, 201 if new else 200


@bp.get("/admin/notifications")
@roles_required(ADMIN)
@bp.arguments(schemas.MessageQuerySchema, location="query")
@bp.response(200, schemas.MessagePageSchema)
def list_messages(query: dict[str, Any]):
    """Outbox messages, newest first, by status and template (never their text)."""
    return paginate(
        services.messages_query(query.get("status"), query.get("template")),
        query["page"],
        query["per_page"],
    )


@bp.get("/admin/notifications/failed")
@roles_required(ADMIN)
@bp.arguments(schemas.PageQuerySchema, location="query")
@bp.response(200, schemas.MessagePageSchema)
def list_undelivered(query: dict[str, Any]):
    """Messages that failed for good, came back undelivered, or expired unsent."""
    return paginate(services.undelivered_query(), query["page"], query["per_page"])


@bp.post("/admin/notifications/<int:message_id>/retry")
@roles_required(ADMIN)
@bp.response(200, schemas.MessageSchema)
def retry_message(message_id: int):
    """Send an undelivered message again, as a new attempt of the same message."""
    row = services.retry_message(services.get_message(message_id), caller())
    db.session.commit()
    return row


@bp.get("/admin/notifications/templates")
@roles_required(ADMIN)
@bp.response(200, schemas.TemplateListSchema)
def list_templates():
    """Every message template with a sample and its length in SMS parts."""
    return {"signature": signature(), "items": list(TEMPLATES.values())}


@bp.post("/admin/stock-appeals")
@roles_required(ADMIN)
@bp.arguments(schemas.AppealCreateSchema)
@bp.response(201, schemas.AppealSchema)
def declare_appeal(body: dict[str, Any]):
    """Blood group X is low in city Y: tell eligible donors near Y, in waves."""
    appeal = appeals.declare_appeal(body, caller())
    db.session.commit()
    return appeal


@bp.get("/admin/stock-appeals")
@roles_required(ADMIN)
@bp.arguments(schemas.AppealQuerySchema, location="query")
@bp.response(200, schemas.AppealPageSchema)
def list_appeals(query: dict[str, Any]):
    """Stock appeals, newest first."""
    return paginate(appeals.appeals_query(query.get("status")), query["page"], query["per_page"])


@bp.post("/admin/stock-appeals/<int:appeal_id>/close")
@roles_required(ADMIN)
@bp.response(200, schemas.AppealSchema)
def close_appeal(appeal_id: int):
    """Stock recovered: send no further waves."""
    appeal = appeals.close_appeal(appeals.get_appeal(appeal_id), caller())
    db.session.commit()
    return appeal


def _signed_url() -> str:
    """The URL Twilio called, as configured publicly (proxies may rewrite the one we see)."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    query = request.query_string.decode("latin-1")
    return base + request.path + (f"?{query}" if query else "")


@webhooks_bp.post("/webhooks/twilio/status")
@accepts("application/x-www-form-urlencoded")
@webhooks_bp.response(204)
@answers(403)
def twilio_status():
    """Twilio's delivery report for a message; refused without a valid X-Twilio-Signature."""
    token = current_app.config["TWILIO_AUTH_TOKEN"]
    signature_header = request.headers.get("X-Twilio-Signature", "")
    form = request.form.to_dict()
    if not token or not RequestValidator(token).validate(_signed_url(), form, signature_header):
        raise ApiError("signature_invalid", 403)
    sid, status = form.get("MessageSid", ""), form.get("MessageStatus", "")
    if sid and status and len(sid) <= 64:
        services.record_delivery_status(sid, status, form.get("ErrorCode") or None)
        db.session.commit()

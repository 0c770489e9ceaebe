"""Routes: administrators open call-outs and send their waves; staff follow the answers live;
members answer in the app or by the SMS's reply link (`/c/<token>`, on its own public
blueprint, so the link stays short)."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, render_template, request

from core import clock
from core.auth import ADMIN, DONOR, STAFF, caller, roles_required
from core.docs import answers as documents
from core.errors import ApiError
from core.extensions import db, limiter
from core.http import Blueprint
from core.idempotency import idempotent
from core.pagination import paginate
from core.requests import current_donor
from core.schemas import ErrorSchema
from teams import answers, callouts, progress
from teams import callout_schemas as schemas

callouts_bp = Blueprint(
    "call_outs", __name__, description="Emergency call-outs: waves, answers, stand-down, arrivals"
)
callout_public_bp = Blueprint(
    "call_out_replies",
    __name__,
    description="Answering a call-out by the link in its SMS",
    template_folder="templates",
)

_IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": True,
    "schema": {"type": "string", "minLength": 8, "maxLength": 128},
}


# ---------------------------------------------------------------- the duty officer


@callouts_bp.post("/admin/call-outs")
@roles_required(ADMIN)
@idempotent
@callouts_bp.arguments(schemas.CallOutCreateSchema)
@callouts_bp.response(201, schemas.CallOutProgressSchema)
@callouts_bp.doc(parameters=[_IDEMPOTENCY_KEY])
@documents(404, 422)
def open_call_out(body: dict[str, Any]) -> Any:
    """Open a call-out at a site (send an Idempotency-Key); its first wave is invited at once.

    Members of the region's active teams (or those named) of the group and Rh who are eligible
    today and on the day needed, nearest first; the wave is what is needed times the wave factor.
    """
    wanted = callouts.CallOutRequest(**{**body, "team_ids": tuple(body["team_ids"])})
    call_out = callouts.open_call_out(wanted, caller())
    return progress.progress(caller(), call_out.id, 1, 20), 201


@callouts_bp.get("/admin/call-outs")
@roles_required(ADMIN, STAFF)
@callouts_bp.arguments(schemas.CallOutQuerySchema, location="query")
@callouts_bp.response(200, schemas.CallOutPageSchema)
def list_call_outs(query: dict[str, Any]) -> Any:
    """Call-outs, newest first: every one for administrators, their sites' for site staff."""
    found = progress.call_outs_query(caller(), query.get("status"))
    return paginate(found, query["page"], query["per_page"])


@callouts_bp.get("/admin/call-outs/<int:call_out_id>")
@roles_required(ADMIN, STAFF)
@callouts_bp.arguments(schemas.CallOutInvitationQuerySchema, location="query")
@callouts_bp.response(200, schemas.CallOutProgressSchema)
def call_out_progress(query: dict[str, Any], call_out_id: int) -> Any:
    """A call-out live: the answers counted, its waves, and a page of the members called
    (coming first; masked name, team, distance, answer, arrival; never a location)."""
    return progress.progress(caller(), call_out_id, query["page"], query["per_page"])


@callouts_bp.post("/admin/call-outs/<int:call_out_id>/waves")
@roles_required(ADMIN)
@callouts_bp.arguments(schemas.CallOutWaveCreateSchema)
@callouts_bp.response(201, schemas.CallOutWaveSchema)
@callouts_bp.alt_response(
    200, schema=schemas.CallOutWaveSchema, description="already sent: nothing sent again"
)
@documents(409)
def send_wave(body: dict[str, Any], call_out_id: int) -> Any:
    """Send the call-out's next wave, named by its number: a wave already sent is answered as
    it is (200) and nobody is called twice."""
    wave, sent = callouts.send_wave(call_out_id, body["number"], caller())
    db.session.commit()
    return wave, 201 if sent else 200


@callouts_bp.post("/admin/call-outs/<int:call_out_id>/close")
@roles_required(ADMIN)
@callouts_bp.arguments(schemas.CallOutEndSchema)
@callouts_bp.response(200, schemas.CallOutSchema)
@documents(409)
def close_call_out(body: dict[str, Any], call_out_id: int) -> Any:
    """Close a call-out (or cancel it: `cancel`); everyone called who has not said they are
    coming (on a cancel: who has not arrived) is thanked and stood down."""
    ending = "cancelled" if body["cancel"] else "closed"
    call_out = callouts.end_call_out(call_out_id, ending, caller())
    db.session.commit()
    return call_out


# ---------------------------------------------------------------- members, in the app


@callouts_bp.get("/me/call-outs")
@roles_required(DONOR)
@callouts_bp.arguments(schemas.PageQuerySchema, location="query")
@callouts_bp.response(200, schemas.InvitedCallOutPageSchema)
def my_call_outs(query: dict[str, Any]) -> Any:
    """The call-outs you were invited to, newest first, with your answer."""
    return answers.my_call_outs(current_donor(), query["page"], query["per_page"])


@callouts_bp.post("/me/call-outs/<int:call_out_id>/answer")
@roles_required(DONOR)
@callouts_bp.arguments(schemas.CallOutAnswerSchema)
@callouts_bp.response(200, schemas.InvitedCallOutSchema)
@documents(409)
def answer_call_out(body: dict[str, Any], call_out_id: int) -> Any:
    """Answer a call-out: coming (with `arriving_at`) or not now; you may change your mind
    while it is open."""
    invited = answers.my_invitation(current_donor(), call_out_id)
    answered = answers.answer(invited, body["answer"], body.get("arriving_at"), answers.IN_APP)
    db.session.commit()
    return answered


# ---------------------------------------------------------------- members, by the SMS's link


def _reply_limit() -> str:
    return current_app.config["CALL_OUT_REPLY_RATE_LIMIT"]


def _reply_miss_limit() -> str:
    return current_app.config["CALL_OUT_REPLY_MISS_RATE_LIMIT"]


def _private(response: Response) -> Response:
    """The link is the member's key: the page is not cached, and no other site sees it."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@callout_public_bp.get("/c/<string(maxlength=64):token>")
@limiter.limit(_reply_limit)
@limiter.limit(_reply_miss_limit, deduct_when=lambda response: response.status_code == 404)
@callout_public_bp.response(200, schemas.InvitedCallOutSchema)
@callout_public_bp.alt_response(
    200,
    schema={"type": "string"},
    content_type="text/html",
    description="JSON, or a small Chinese page to answer on a phone (Accept: text/html)",
    success=True,
)
@callout_public_bp.alt_response(404, schema=ErrorSchema, description="call_out_reply_unknown")
@callout_public_bp.alt_response(
    404, schema={"type": "string"}, content_type="text/html", description="call_out_reply_unknown"
)
def reply_page(token: str) -> Any:
    """The call-out a reply link names: JSON for clients, a small Chinese page for a phone.

    Both limits count per address; the second counts only links that name nothing.
    """
    wants_html = (
        request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"
    )
    try:
        invited = answers.invitation_by_token(token)
    except ApiError:
        if not wants_html:
            raise
        page = render_template("call_out_reply.html", invited=None, local=clock.to_local)
        return _private(Response(page, status=404, mimetype="text/html"))
    if wants_html:
        page = render_template("call_out_reply.html", invited=invited, local=clock.to_local)
        return _private(Response(page, status=200, mimetype="text/html"))
    return invited


@callout_public_bp.post("/c/<string(maxlength=64):token>")
@limiter.limit(_reply_limit)
@limiter.limit(_reply_miss_limit, deduct_when=lambda response: response.status_code == 404)
@callout_public_bp.arguments(schemas.CallOutAnswerSchema)
@callout_public_bp.response(200, schemas.InvitedCallOutSchema)
@callout_public_bp.alt_response(404, schema=ErrorSchema, description="call_out_reply_unknown")
@documents(409)
def reply(body: dict[str, Any], token: str) -> Any:
    """Answer the call-out the link names: coming (with `arriving_at`) or not now."""
    invited = answers.invitation_by_token(token)
    answered = answers.answer(invited, body["answer"], body.get("arriving_at"), answers.BY_LINK)
    db.session.commit()
    return answered

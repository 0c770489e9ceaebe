"""Routes: donors see and use their three frees; gates check codes; admins run the scheme."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, render_template, request

from core.auth import ADMIN, DONOR, GATE, caller, roles_required
from core.docs import answers
from core.errors import ApiError
from core.extensions import db, limiter
from core.http import Blueprint
from core.pagination import paginate
from core.qr import NO_STORE, PNG, SVG, per_donor_limit, qr_response
from core.requests import current_donor
from core.schemas import ErrorSchema
from donors import services as donor_services
from rewards import (
    applications,
    awards,
    benefits,
    cycles,
    gates,
    honour_cards,
    honours,
    minting,
    reviews,
    schemas,
)
from rewards.models import GRANTED

bp = Blueprint("rewards", __name__, description="The three frees: benefits, codes and gates")
public_bp = Blueprint(
    "honour_verification",
    __name__,
    description="Public verification of honour cards",
    template_folder="templates",
)


# ---------------------------------------------------------------- donors


@bp.get("/me/benefits")
@roles_required(DONOR)
@bp.response(200, schemas.BenefitsSchema)
def my_benefits():
    """The three frees: what is held, since when and by which route, and progress to the rest."""
    return benefits.benefits_of(current_donor())


@bp.post("/me/benefit-applications")
@roles_required(DONOR)
@bp.arguments(schemas.ApplicationSchema)
@bp.response(201, schemas.ApplicationResultSchema)
@bp.alt_response(200, schema=schemas.ApplicationResultSchema, description="refused or held")
def apply(body: dict[str, Any]):
    """Apply on the counted-donations route: granted at once when the records prove it."""
    donor = current_donor()
    outcome, view = applications.apply(donor, body.get("region") or donor.region)
    db.session.commit()
    return {"outcome": outcome, "benefits": view}, 201 if outcome == GRANTED else 200


@bp.get("/me/benefit-code")
@roles_required(DONOR)
@bp.arguments(schemas.BenefitCodeQuerySchema, location="query")
@bp.response(200, schemas.BenefitCodeSchema)
@answers(409)
def my_benefit_code(query: dict[str, Any]):
    """A fresh benefit code (about a minute) to show at a gate, turnstile or clinic desk."""
    return minting.benefit_code(current_donor(), query.get("region")), 200, NO_STORE


@bp.get("/me/benefit-code/qr.png")
@roles_required(DONOR)
@per_donor_limit
@bp.arguments(schemas.BenefitCodeQuerySchema, location="query")
@bp.response(200, content_type="image/png")
@answers(409)
def my_benefit_code_png(query: dict[str, Any]):
    """A fresh benefit code as a QR code (PNG)."""
    minted = minting.benefit_code(current_donor(), query.get("region"))
    return qr_response(minted.code, PNG, headers=NO_STORE)


@bp.get("/me/benefit-code/qr.svg")
@roles_required(DONOR)
@per_donor_limit
@bp.arguments(schemas.BenefitCodeQuerySchema, location="query")
@bp.response(200, content_type="image/svg+xml")
@answers(409)
def my_benefit_code_svg(query: dict[str, Any]):
    """A fresh benefit code as a QR code (SVG)."""
    minted = minting.benefit_code(current_donor(), query.get("region"))
    return qr_response(minted.code, SVG, headers=NO_STORE)


@bp.get("/me/honours")
@roles_required(DONOR)
@bp.response(200, schemas.HonoursSchema)
def my_honours():
    """Honours: tiers reached on the record and when, awards conferred, and the next tier."""
    return honours.honours_of(current_donor())


@bp.get("/me/honours/card")
@roles_required(DONOR)
@bp.arguments(schemas.HonourCardQuerySchema, location="query")
@bp.response(200, schemas.HonourCardSchema)
@answers(409)
def my_honour_card(query: dict[str, Any]):
    """A signed honour card for a tier or award the donor holds (the same card when asked again)."""
    issued = honour_cards.issue_card(current_donor(), **query)
    db.session.commit()
    return issued


@bp.get("/me/honours/card.png")
@roles_required(DONOR)
@per_donor_limit
@bp.arguments(schemas.HonourCardQuerySchema, location="query")
@bp.response(200, content_type="image/png")
@answers(409)
def my_honour_card_png(query: dict[str, Any]):
    """The honour card's QR code (PNG; limited per donor): the link /v/h/<number> verifies."""
    issued = honour_cards.issue_card(current_donor(), **query)
    db.session.commit()
    return qr_response(issued.url, PNG, cached=True)


@bp.get("/me/honours/card.svg")
@roles_required(DONOR)
@per_donor_limit
@bp.arguments(schemas.HonourCardQuerySchema, location="query")
@bp.response(200, content_type="image/svg+xml")
@answers(409)
def my_honour_card_svg(query: dict[str, Any]):
    """The honour card's QR code (SVG; limited per donor): the link /v/h/<number> verifies."""
    issued = honour_cards.issue_card(current_donor(), **query)
    db.session.commit()
    return qr_response(issued.url, SVG, cached=True)


def _verify_limit() -> str:
    return current_app.config["VERIFY_RATE_LIMIT"]


def _verify_miss_limit() -> str:
    return current_app.config["VERIFY_MISS_RATE_LIMIT"]


@public_bp.get("/v/h/<string(maxlength=64):number>")
@limiter.limit(_verify_limit)
@limiter.limit(_verify_miss_limit, deduct_when=lambda response: response.status_code == 404)
@public_bp.response(200, schemas.HonourCardCheckSchema)
@public_bp.alt_response(
    200,
    schema={"type": "string"},
    content_type="text/html",
    description="JSON, or a page for a phone's browser (Accept: text/html)",
    success=True,
)
@public_bp.alt_response(404, schema=ErrorSchema, description="honour_card_unknown")
@public_bp.alt_response(
    404, schema={"type": "string"}, content_type="text/html", description="honour_card_unknown"
)
def verify_honour_card(number: str):
    """Verify an honour card: JSON for clients, a small Chinese page for a phone's browser.

    The limits are the certificate page's (per address; the second counts unknown numbers).
    """
    result = honour_cards.verify_card(number)
    wants_html = (
        request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"
    )
    if wants_html:
        page = render_template("verify_honour.html", result=result, number=number)
        return Response(page, status=200 if result else 404, mimetype="text/html")
    if result is None:
        raise ApiError("honour_card_unknown", 404)
    return result


# ---------------------------------------------------------------- gates


@bp.post("/gate/verify")
@roles_required(GATE, view_checks_session=True)
@bp.arguments(schemas.GateVerifySchema)
@bp.response(200, schemas.GateDecisionSchema)
def gate_verify(body: dict[str, Any]):
    """Check a scanned benefit code and record the use: allow or deny, with a reason."""
    device = caller()
    return gates.verify_online(body["code"], gates.gate_of(device), device.session_id)


@bp.get("/gate/offline-kit")
@roles_required(GATE)
@bp.response(200, schemas.OfflineKitSchema)
@answers(409)
def gate_offline_kit():
    """Everything a gate needs to check codes offline: the public keys, its region and letter."""
    return gates.offline_kit(gates.gate_of(caller()))


@bp.post("/gate/offline-uses")
@roles_required(GATE)
@bp.arguments(schemas.OfflineUploadSchema)
@bp.response(200, schemas.OfflineUploadResultSchema)
def gate_offline_uses(body: dict[str, Any]):
    """Upload uses admitted offline, each with its code; a batch sent again adds nothing."""
    if len(body["uses"]) > current_app.config["BENEFIT_OFFLINE_BATCH_MAX"]:
        raise ApiError("offline_batch_too_large", 422, errors={"uses": ["offline_batch_too_large"]})
    result = gates.upload_offline(body["uses"], gates.gate_of(caller()))
    db.session.commit()
    return result


@bp.get("/gate/usage")
@roles_required(GATE)
@bp.arguments(schemas.GateUsageQuerySchema, location="query")
@bp.response(200, schemas.UsagePageSchema)
def gate_usage(query: dict[str, Any]):
    """The operator's own uses per day and benefit kind (what it will be reimbursed for)."""
    gates.check_range(query["from_"], query["to"])
    gate = gates.gate_of(caller())
    select = gates.usage_query(query["from_"], query["to"], gate.operator_id)
    return paginate(select, query["page"], query["per_page"])


@bp.get("/gate/usage.csv")
@roles_required(GATE)
@bp.arguments(schemas.GateUsageCsvQuerySchema, location="query")
@bp.response(200, content_type="text/csv")
def gate_usage_csv(query: dict[str, Any]):
    """The operator's own uses per day and benefit kind, as CSV."""
    gates.check_range(query["from_"], query["to"])
    gate = gates.gate_of(caller())
    select = gates.usage_query(query["from_"], query["to"], gate.operator_id)
    return _csv(gates.usage_csv(select), f"usage-{query['from_']}-{query['to']}.csv")


def _csv(text: str, filename: str) -> Response:
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# ---------------------------------------------------------------- admins: awards


@bp.post("/admin/donors/<int:donor_id>/awards")
@roles_required(ADMIN)
@bp.arguments(schemas.AwardCreateSchema)
@bp.response(201, schemas.AwardSchema)
def record_award(body: dict[str, Any], donor_id: int):
    """Record an award conferred on a donor; benefits resting on it begin at once."""
    grant = awards.record_award(
        donor_services.donor_by_id(donor_id), awards.AwardRecord(**body), actor=caller()
    )
    db.session.commit()
    return grant


@bp.get("/admin/donors/<int:donor_id>/awards")
@roles_required(ADMIN)
@bp.arguments(schemas.PageQuerySchema, location="query")
@bp.response(200, schemas.AwardPageSchema)
def donor_awards(query: dict[str, Any], donor_id: int):
    """A donor's recorded awards, newest first, revoked ones included (the access is logged)."""
    donor = donor_services.donor_by_id(donor_id)
    page = paginate(awards.donor_awards_query(donor), query["page"], query["per_page"])
    awards.record_awards_seen_by_staff(caller(), donor)
    db.session.commit()
    return page


@bp.post("/admin/awards/<int:grant_id>/revoke")
@roles_required(ADMIN)
@bp.arguments(schemas.RevokeSchema)
@bp.response(200, schemas.AwardSchema)
def revoke_award(body: dict[str, Any], grant_id: int):
    """Revoke a mistaken award record; benefits resting on it are withdrawn at once."""
    grant = awards.revoke_award(awards.get_award(grant_id), body["reason"], caller())
    db.session.commit()
    return grant


@bp.get("/admin/donors/<int:donor_id>/benefits")
@roles_required(ADMIN)
@bp.response(200, schemas.BenefitsSchema)
def donor_benefits(donor_id: int):
    """A donor's three frees as the donor sees them (the access is logged)."""
    donor = donor_services.donor_by_id(donor_id)
    view = benefits.benefits_of(donor)
    benefits.record_benefits_seen_by_staff(caller(), donor)
    db.session.commit()
    return view


# ---------------------------------------------------------------- admins: operators and devices


@bp.post("/admin/gate-operators")
@roles_required(ADMIN)
@bp.arguments(schemas.OperatorCreateSchema)
@bp.response(201, schemas.OperatorSchema)
def create_operator(body: dict[str, Any]):
    """Register a transit company, park, museum or clinic that admits holders."""
    operator = gates.create_operator(body, caller())
    db.session.commit()
    return operator


@bp.get("/admin/gate-operators")
@roles_required(ADMIN)
@bp.arguments(schemas.OperatorQuerySchema, location="query")
@bp.response(200, schemas.OperatorPageSchema)
def list_operators(query: dict[str, Any]):
    """Gate operators, oldest first."""
    return paginate(gates.operators_query(query.get("region")), query["page"], query["per_page"])


@bp.get("/admin/gate-operators/<int:operator_id>")
@roles_required(ADMIN)
@bp.response(200, schemas.OperatorSchema)
def read_operator(operator_id: int):
    """One gate operator."""
    return gates.get_operator(operator_id)


@bp.post("/admin/gate-operators/<int:operator_id>/deactivate")
@roles_required(ADMIN)
@bp.response(200, schemas.OperatorSchema)
def deactivate_operator(operator_id: int):
    """End an operator's service: all its devices stop working at once."""
    operator = gates.deactivate_operator(gates.get_operator(operator_id), caller())
    db.session.commit()
    return operator


@bp.post("/admin/gate-operators/<int:operator_id>/devices")
@roles_required(ADMIN)
@bp.arguments(schemas.DeviceCreateSchema)
@bp.response(201, schemas.DeviceSchema)
def create_device(body: dict[str, Any], operator_id: int):
    """Register a gate device for the operator; its secret is shown this once."""
    operator = gates.get_operator(operator_id)
    device, link, secret = gates.create_gate_device(
        operator, body["name"], body.get("location"), caller()
    )
    db.session.commit()
    return gates.IssuedDevice(device, link, secret)


@bp.get("/admin/gate-operators/<int:operator_id>/devices")
@roles_required(ADMIN)
@bp.arguments(schemas.PageQuerySchema, location="query")
@bp.response(200, schemas.DevicePageSchema)
def list_devices(query: dict[str, Any], operator_id: int):
    """The operator's gate devices (never their secrets)."""
    operator = gates.get_operator(operator_id)
    return paginate(gates.operator_devices_query(operator), query["page"], query["per_page"])


@bp.post("/admin/gate-devices/<string(maxlength=64):client_id>/rotate")
@roles_required(ADMIN)
@bp.response(200, schemas.DeviceSchema)
def rotate_device(client_id: str):
    """Give a gate device a new secret; the old secret and its tokens stop working."""
    view = gates.rotate_gate_device(client_id, caller())
    db.session.commit()
    return view


@bp.post("/admin/gate-devices/<string(maxlength=64):client_id>/revoke")
@roles_required(ADMIN)
@bp.response(200, schemas.DeviceSchema)
def revoke_device(client_id: str):
    """Revoke a lost or retired gate device for good."""
    view = gates.revoke_gate_device(client_id, caller())
    db.session.commit()
    return view


# ---------------------------------------------------------------- admins: settlement


@bp.get("/admin/benefit-usage")
@roles_required(ADMIN)
@bp.arguments(schemas.UsageQuerySchema, location="query")
@bp.response(200, schemas.UsagePageSchema)
def usage(query: dict[str, Any]):
    """Uses per operator, day and benefit kind, for reimbursing operators."""
    gates.check_range(query["from_"], query["to"])
    select = gates.usage_query(query["from_"], query["to"], query.get("operator_id"))
    return paginate(select, query["page"], query["per_page"])


@bp.get("/admin/benefit-usage.csv")
@roles_required(ADMIN)
@bp.arguments(schemas.UsageCsvQuerySchema, location="query")
@bp.response(200, content_type="text/csv")
def usage_csv(query: dict[str, Any]):
    """Uses per operator, day and benefit kind, as CSV."""
    gates.check_range(query["from_"], query["to"])
    select = gates.usage_query(query["from_"], query["to"], query.get("operator_id"))
    return _csv(gates.usage_csv(select), f"benefit-usage-{query['from_']}-{query['to']}.csv")


@bp.get("/admin/awards/flagged")
@roles_required(ADMIN)
@bp.arguments(schemas.PageQuerySchema, location="query")
@bp.response(200, schemas.AwardPageSchema)
def flagged_awards(query: dict[str, Any]):
    """Awards flagged for review: a voided donation left the record short of them (they stand)."""
    return paginate(reviews.flagged_query(), query["page"], query["per_page"])


@bp.post("/admin/awards/<int:grant_id>/clear-flag")
@roles_required(ADMIN)
@bp.arguments(schemas.ClearFlagSchema)
@bp.response(200, schemas.AwardSchema)
def clear_award_flag(body: dict[str, Any], grant_id: int):
    """Clear an award's review flag with a note: reviewed, it stands (audited)."""
    grant = reviews.clear_flag(awards.get_award(grant_id), body["note"], caller())
    db.session.commit()
    return grant


# ---------------------------------------------------------------- admins: award cycles


@bp.post("/admin/award-cycles")
@roles_required(ADMIN)
@bp.arguments(schemas.CycleCreateSchema)
@bp.response(201, schemas.CycleSchema)
def open_award_cycle(body: dict[str, Any]):
    """Open an award cycle (scheme, region, period, cut-off): one open per scheme and period."""
    cycle = cycles.open_cycle(cycles.CycleOpening(**body), caller())
    db.session.commit()
    return cycle


@bp.get("/admin/award-cycles")
@roles_required(ADMIN)
@bp.arguments(schemas.CycleQuerySchema, location="query")
@bp.response(200, schemas.CyclePageSchema)
def list_award_cycles(query: dict[str, Any]):
    """Award cycles, newest first."""
    select = cycles.cycles_query(query.get("region"), query.get("status"))
    return paginate(select, query["page"], query["per_page"])


@bp.get("/admin/award-cycles/<int:cycle_id>")
@roles_required(ADMIN)
@bp.response(200, schemas.CycleSchema)
def read_award_cycle(cycle_id: int):
    """One award cycle, with the donors left out of its confirmed list and why."""
    return cycles.get_cycle(cycle_id)


@bp.get("/admin/award-cycles/<int:cycle_id>/nominations")
@roles_required(ADMIN)
@bp.arguments(schemas.PageQuerySchema, location="query")
@bp.response(200, schemas.NominationPageSchema)
def award_cycle_nominations(query: dict[str, Any], cycle_id: int):
    """The donors the record qualifies at the cut-off for an award they do not hold (masked)."""
    return cycles.nominations_page(cycles.get_cycle(cycle_id), query["page"], query["per_page"])


@bp.get("/admin/award-cycles/<int:cycle_id>/nominations.csv")
@roles_required(ADMIN)
@bp.response(200, content_type="text/csv")
def award_cycle_nominations_csv(cycle_id: int):
    """The cycle's nominations as CSV for the nomination forms (masked, formula-safe cells)."""
    cycle = cycles.get_cycle(cycle_id)
    text = cycles.nominations_csv(cycle)
    return _csv(text, f"nominations-{cycle.region}-{cycle.scheme}-{cycle.period}.csv")


@bp.post("/admin/award-cycles/<int:cycle_id>/confirm")
@roles_required(ADMIN)
@bp.arguments(schemas.CycleConfirmSchema)
@bp.response(200, schemas.CycleSchema)
def confirm_award_cycle(body: dict[str, Any], cycle_id: int):
    """Confirm the cycle's list with the decision: each donor not excluded gets the award."""
    confirmation = cycles.Confirmation(
        body["decision"],
        body["awarded_on"],
        [cycles.Exclusion(item["donor_id"], item["reason"]) for item in body["exclusions"]],
    )
    cycle = cycles.confirm_cycle(cycles.get_cycle(cycle_id), confirmation, caller())
    db.session.commit()
    return cycle

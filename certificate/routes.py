"""Routes: staff record donations; donors see certificates and eligibility; anyone verifies."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, render_template, request

from certificate import deferrals, history, presence, schemas, services
from certificate.eligibility import eligibility_for_all_kinds
from core import clock
from core.auth import ADMIN, DONOR, STAFF, caller, roles_required
from core.docs import answers
from core.errors import ApiError
from core.extensions import db, limiter
from core.http import Blueprint
from core.idempotency import idempotent
from core.limits import limit_per_caller
from core.pagination import paginate
from core.policy import policy_for
from core.qr import PNG, SVG, per_donor_limit, qr_response
from core.requests import current_donor
from core.schemas import ErrorSchema
from donors import services as donor_services
from sites.services import require_site

bp = Blueprint("certificate", __name__, description="Donations, eligibility and certificates")
public_bp = Blueprint(
    "verification", __name__, description="Public verification", template_folder="templates"
)


@bp.post("/staff/donations")
@roles_required(STAFF, ADMIN)
@idempotent
@bp.arguments(schemas.DonationCreateSchema)
@bp.response(201, schemas.DonationSchema)
@bp.alt_response(409, schema=schemas.NotEligibleSchema, description="donor_not_eligible")
@bp.doc(
    parameters=[
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": True,
            "schema": {"type": "string", "minLength": 8, "maxLength": 128},
        }
    ]
)
@answers(404)
def record_donation(body: dict[str, Any]):
    """Record a donation at a site the caller serves; issues the signed certificate.

    Name the donor by ID number, or give the `visit_id` of their check-in: the visit and its
    booking are then fulfilled in the same transaction.
    """
    site = require_site(caller(), body["site_id"])
    id_number = body["donor"]["id_number"].number if body.get("donor") else None
    donor, visit_id = services.donation_donor(site, id_number, body.get("visit_id"))
    donation, _ = services.record_donation(
        services.DonationRequest(
            donor=donor,
            site=site,
            kind=body["kind"],
            volume_ml=body.get("volume_ml"),
            units=body.get("units"),
            collected_at=body.get("collected_at") or clock.now(),
            din=body.get("din"),
            override_reason=body.get("override_reason"),
            visit_id=visit_id,
            reaction=services.Reaction(**body["reaction"]) if body.get("reaction") else None,
        ),
        caller(),
    )
    return donation


@bp.get("/staff/donations/<int:donation_id>")
@roles_required(STAFF, ADMIN)
@bp.response(200, schemas.StaffDonationSchema)
def staff_donation(donation_id: int):
    """One donation of a site you serve, with its reaction and the reaction's note (logged)."""
    donation = services.staff_donation(caller(), donation_id)
    services.audit_staff_access(caller(), donation.donor)
    db.session.commit()
    return donation


@bp.get("/staff/donations/<int:donation_id>/certificate-qr.png")
@roles_required(STAFF, ADMIN)
@per_donor_limit
@bp.response(200, content_type="image/png")
@answers(404)
def staff_certificate_qr_png(donation_id: int):
    """The certificate's QR code of a donation at a site you serve, for the donor to scan at the
    desk: the same verification URL as the donor's own QR (limited per caller, as theirs)."""
    certificate = services.staff_donation(caller(), donation_id).certificate
    if certificate is None:
        raise ApiError("not_found", 404)
    return qr_response(services.verification_url(certificate.number), PNG, box_size=8, cached=True)


@bp.post("/staff/donations/<int:donation_id>/reaction")
@roles_required(STAFF, ADMIN)
@bp.arguments(schemas.ReactionCreateSchema)
@bp.response(201, schemas.StaffDonationSchema)
def record_reaction(body: dict[str, Any], donation_id: int):
    """Record a donation reaction after the fact, on a donation of a site you serve (audited).

    A later entry replaces an earlier one as the donation's reaction; both are kept. Any
    reaction but `none` ends the donor's extension past the first-time age limit.
    """
    donation = services.staff_donation(caller(), donation_id)
    services.record_reaction(donation, services.Reaction(**body), caller())
    db.session.commit()
    return donation


@bp.post("/staff/donor-lookup")
@roles_required(STAFF, ADMIN)
@limit_per_caller("DONOR_LOOKUP_RATE_LIMIT")
@bp.arguments(schemas.StaffDonorLookupSchema)
@bp.response(200, schemas.StaffDonorLookupResultSchema)
@answers(404)
def lookup_donor(body: dict[str, Any]):
    """Find a walk-in donor by ID number: masked identity and today's eligibility.

    Audited with the site: the donor may then be deferred there today.
    """
    site = require_site(caller(), body["site_id"])
    donor = donor_services.find_donor_by_id_number(body["id_number"].number)
    if donor is None:
        raise ApiError("donor_not_found", 404)
    presence.record_desk_lookup(caller(), site, donor)
    db.session.commit()
    return {
        "donor": donor,
        "eligibility": eligibility_for_all_kinds(
            donor, clock.local_today(), policy_for(donor.region)
        ),
    }


deferral_limit = limit_per_caller("DEFERRAL_RATE_LIMIT")


@bp.post("/staff/deferrals")
@roles_required(STAFF, ADMIN)
@deferral_limit
@bp.arguments(schemas.DeferralCreateSchema)
@bp.response(201, schemas.DeferralSchema)
@answers(404)
def record_deferral(body: dict[str, Any]):
    """Defer a donor at a site the caller serves, for the policy's period or permanently.

    Only a donor the site serves now: a visit there (open or today's), a booking there, a recent
    donation there, or a look-up by ID number at its desk today (`POST /staff/donor-lookup`).
    Any other id is answered as an unknown one (404 donor_not_found). Recording and lifting
    deferrals share one limit per staff member (`DEFERRAL_RATE_LIMIT`).
    """
    site = require_site(caller(), body["site_id"])
    donor = presence.served_donor(site, body["donor_id"])
    deferral = deferrals.record_deferral(
        donor=donor,
        reason_code=body["reason_code"],
        staff_id=caller().principal_id,
        site_id=site.id,
        anchor_date=body.get("anchor_date"),
        until=body.get("until"),
        permanent=body["permanent"],
        policy=policy_for(donor.region),
    )
    db.session.commit()
    return deferral


@bp.delete("/staff/deferrals/<int:deferral_id>")
@roles_required(STAFF, ADMIN)
@deferral_limit
@bp.response(200, schemas.DeferralSchema)
def lift_deferral(deferral_id: int):
    """Lift a deferral recorded in error or no longer needed (staff of the recording site;
    another site's deferral is answered as an unknown one)."""
    deferral = presence.served_deferral(caller(), deferral_id)
    deferral = donor_services.lift_deferral(deferral, caller().principal_id)
    db.session.commit()
    return deferral


@bp.post("/admin/donations/<int:donation_id>/void")
@roles_required(ADMIN)
@bp.arguments(schemas.VoidSchema)
@bp.response(200, schemas.DonationSchema)
def void_donation(body: dict[str, Any], donation_id: int):
    """Void a donation with a reason; its certificate shows voided and totals follow."""
    donation = services.void_donation(services.get_donation(donation_id), body["reason"], caller())
    db.session.commit()
    return donation


@bp.post("/admin/donations/<int:donation_id>/correction")
@roles_required(ADMIN)
@bp.arguments(schemas.DonationCorrectionSchema)
@bp.response(201, schemas.DonationSchema)
@bp.alt_response(409, schema=schemas.NotEligibleSchema, description="donor_not_eligible")
def correct_donation(body: dict[str, Any], donation_id: int):
    """Void a donation and record its corrected version as a new record."""
    donation = services.correct_donation(services.get_donation(donation_id), body, caller())
    db.session.commit()
    return donation


@bp.get("/me/eligibility")
@roles_required(DONOR)
@bp.arguments(schemas.EligibilityQuerySchema, location="query")
@bp.response(200, schemas.EligibilityListSchema)
@answers(409)
def my_eligibility(query: dict[str, Any]):
    """When each kind of donation is next allowed, and why not today."""
    donor = current_donor()
    on = query.get("on") or clock.local_today()
    return {
        "region": donor.region,
        "on": on,
        "kinds": eligibility_for_all_kinds(donor, on, policy_for(donor.region)),
    }


@bp.get("/me/certificates")
@roles_required(DONOR)
@bp.arguments(schemas.CertificateListQuerySchema, location="query")
@bp.response(200, schemas.CertificatePageSchema)
def my_certificates(query: dict[str, Any]):
    """The donor's certificates, newest first."""
    return paginate(
        services.donor_certificates_query(current_donor()), query["page"], query["per_page"]
    )


@bp.get("/me/certificates/<string(maxlength=64):number>")
@roles_required(DONOR)
@bp.response(200, schemas.CertificateSchema)
def my_certificate(number: str):
    """One of the donor's certificates."""
    return services.donor_certificate(current_donor(), number)


@bp.post("/me/history-claims")
@roles_required(DONOR)
@bp.arguments(schemas.HistoryClaimSchema)
@bp.response(200, schemas.HistoryClaimResultSchema)
@answers(429)
def claim_history(body: dict[str, Any]):
    """Take over donations imported from the station's records by naming one of their DINs."""
    count = history.claim_history(current_donor(), body["din"])
    db.session.commit()
    return {"claimed_donations": count}


def _qr_target(number: str) -> str:
    return services.donor_certificate(current_donor(), number).number


@bp.get("/certificates/<string(maxlength=64):number>/qr.png")
@roles_required(DONOR)
@per_donor_limit
@bp.response(200, content_type="image/png")
def certificate_qr_png(number: str):
    """The certificate's QR code (PNG): a short verification URL (limited per donor)."""
    url = services.verification_url(_qr_target(number))
    return qr_response(url, PNG, box_size=8, cached=True)


@bp.get("/certificates/<string(maxlength=64):number>/qr.svg")
@roles_required(DONOR)
@per_donor_limit
@bp.response(200, content_type="image/svg+xml")
def certificate_qr_svg(number: str):
    """The certificate's QR code (SVG; limited per donor)."""
    return qr_response(services.verification_url(_qr_target(number)), SVG, cached=True)


def _verify_limit() -> str:
    return current_app.config["VERIFY_RATE_LIMIT"]


def _verify_miss_limit() -> str:
    return current_app.config["VERIFY_MISS_RATE_LIMIT"]


@public_bp.get("/v/<string(maxlength=64):number>")
@limiter.limit(_verify_limit)
@limiter.limit(_verify_miss_limit, deduct_when=lambda response: response.status_code == 404)
@public_bp.arguments(schemas.VerificationQuerySchema, location="query")
@public_bp.response(200, schemas.VerificationSchema)
@public_bp.alt_response(
    200,
    schema={"type": "string"},
    content_type="text/html",
    description="JSON, or a page for a phone's browser (Accept: text/html)",
    success=True,
)
@public_bp.alt_response(404, schema=ErrorSchema, description="certificate_unknown")
@public_bp.alt_response(
    404, schema={"type": "string"}, content_type="text/html", description="certificate_unknown"
)
def verify(query: dict[str, Any], number: str):
    """Verify a certificate: JSON for clients, a small Chinese page for a phone's browser.

    Both limits count per address; the second counts only numbers that name no certificate.
    """
    result = services.verify_certificate(number, query.get("k"))
    wants_html = (
        request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"
    )
    if wants_html:
        status = 200 if result else 404
        return Response(
            render_template("verify.html", result=result, number=number),
            status=status,
            mimetype="text/html",
        )
    if result is None:
        raise ApiError("certificate_unknown", 404)
    return result


# ---------------------------------------------------------------- imported history at a site


@bp.post("/staff/history-claims")
@roles_required(STAFF, ADMIN)
@bp.arguments(schemas.StaffHistoryClaimSchema)
@bp.response(200, schemas.StaffHistoryClaimResultSchema)
@answers(404)
def claim_history_at_site(body: dict[str, Any]):
    """Confirm a registered donor's imported records after checking their ID card at a site.

    The records then show with their certificates and count, as after the donor's own claim;
    asking again changes nothing.
    """
    site = require_site(caller(), body["site_id"])
    donor, count = history.claim_history_at_site(site, body["id_number"].number, caller())
    db.session.commit()
    return {"donor": donor, "claimed_donations": count}


# ---------------------------------------------------------------- codes a client can discover


@bp.get("/staff/deferral-reasons")
@roles_required(STAFF, ADMIN)
@bp.arguments(schemas.DeferralReasonQuerySchema, location="query")
@bp.response(200, schemas.DeferralReasonPageSchema)
@answers(409)
def deferral_reasons(query: dict[str, Any]):
    """The reason codes staff may give to `POST /staff/deferrals`, with their periods.

    As the donor health standard in force in the region on the date lists them (today by default).
    """
    region = query.get("region") or current_app.config["DEFAULT_REGION"]
    on = query.get("on") or clock.local_today()
    standard, reasons = deferrals.deferral_reasons(region, on)
    page = paginate(reasons, query["page"], query["per_page"])
    return {"region": region, "on": on, "standard": standard, **page}

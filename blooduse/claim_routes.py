"""Routes: donors claim a bill's reduction after the fact and follow it; station staff review,
decide and pay claims out, and import the reductions an old system made."""

from __future__ import annotations

from typing import Any

from flask import Response

from blooduse import claim_schemas as schemas
from blooduse import claims, imports
from blooduse.claims import ClaimedBill
from blooduse.models import BloodFeeReduction
from core.auth import ADMIN, DONOR, caller, roles_required
from core.docs import answers
from core.extensions import db
from core.http import FORM_AND_FILES, Blueprint, accepts, allows_body_of
from core.pagination import paginate
from core.requests import current_donor

claims_bp = Blueprint(
    "blood_fee_claims",
    __name__,
    description="Free blood use: claims after the fact, and the import of earlier use",
)

MULTIPART = "multipart/form-data"
DOCUMENT_TYPES = ("image/jpeg", "image/png", "application/pdf")


# ---------------------------------------------------------------- donors


@claims_bp.post("/me/blood-fee-claims")
@roles_required(DONOR)
@accepts(MULTIPART)
@allows_body_of("BLOOD_FEE_CLAIM_MAX_BYTES")
@claims_bp.arguments(schemas.ClaimFormSchema, location=FORM_AND_FILES)
@claims_bp.response(201, schemas.ClaimSchema)
@answers(404)
def submit_claim(form: dict[str, Any]) -> BloodFeeReduction:
    """Claim a paid bill's reduction, for oneself or a verified relative, with its documents."""
    bill_photo, discharge_summary = form.pop("bill_photo"), form.pop("discharge_summary")
    claim = claims.submit_claim(current_donor(), ClaimedBill(**form), bill_photo, discharge_summary)
    db.session.commit()
    return claim


@claims_bp.get("/me/blood-fee-claims")
@roles_required(DONOR)
@claims_bp.arguments(schemas.PageQuerySchema, location="query")
@claims_bp.response(200, schemas.ClaimPageSchema)
def my_claims(query: dict[str, Any]) -> dict[str, Any]:
    """The donor's claims, newest first, each with its status and amounts."""
    return paginate(claims.donor_claims_query(current_donor()), query["page"], query["per_page"])


@claims_bp.get("/me/blood-fee-claims/<int:claim_id>")
@roles_required(DONOR)
@claims_bp.response(200, schemas.ClaimSchema)
def my_claim(claim_id: int) -> BloodFeeReduction:
    """One of the donor's claims: status, amounts, the decision's reason, the payout."""
    return claims.donor_claim(current_donor(), claim_id)


# ---------------------------------------------------------------- station staff


@claims_bp.get("/admin/blood-fee-claims")
@roles_required(ADMIN)
@claims_bp.arguments(schemas.ClaimQuerySchema, location="query")
@claims_bp.response(200, schemas.ReviewedClaimPageSchema)
def list_claims(query: dict[str, Any]) -> dict[str, Any]:
    """Claims to review (by status), oldest first, the donor masked."""
    return paginate(claims.claims_query(query["status"]), query["page"], query["per_page"])


@claims_bp.get("/admin/blood-fee-claims/<int:claim_id>/documents/<int:document_id>")
@roles_required(ADMIN)
@claims_bp.response(200, content_type="application/octet-stream")
@claims_bp.doc(
    responses={
        "200": {
            "description": "the document as uploaded",
            "content": {kind: {"schema": {"type": "string"}} for kind in DOCUMENT_TYPES},
        }
    }
)
def claim_document(claim_id: int, document_id: int) -> Response:
    """A claim's bill or discharge summary, for the staff reviewing it (every look audited)."""
    document = claims.claim_document(claim_id, document_id, caller())
    db.session.commit()
    return Response(
        document.content, mimetype=document.content_type, headers={"Cache-Control": "no-store"}
    )


@claims_bp.post("/admin/blood-fee-claims/<int:claim_id>/approve")
@roles_required(ADMIN)
@claims_bp.response(200, schemas.ReviewedClaimSchema)
def approve_claim(claim_id: int) -> BloodFeeReduction:
    """Approve the computed reduction: drawn from the pool now; refused when none remains."""
    claim = claims.approve_claim(claim_id, caller())
    db.session.commit()
    return claim


@claims_bp.post("/admin/blood-fee-claims/<int:claim_id>/reject")
@roles_required(ADMIN)
@claims_bp.arguments(schemas.RejectionSchema)
@claims_bp.response(200, schemas.ReviewedClaimSchema)
def reject_claim(body: dict[str, Any], claim_id: int) -> BloodFeeReduction:
    """Reject a claim with the reason the donor is told; the pool is untouched."""
    claim = claims.reject_claim(claim_id, body["reason"], caller())
    db.session.commit()
    return claim


@claims_bp.post("/admin/blood-fee-claims/<int:claim_id>/payout")
@roles_required(ADMIN)
@claims_bp.arguments(schemas.PayoutSchema)
@claims_bp.response(200, schemas.ReviewedClaimSchema)
@answers(422)
def pay_claim(body: dict[str, Any], claim_id: int) -> BloodFeeReduction:
    """Record an approved claim's payout, once: amount, method and reference."""
    claim = claims.record_payout(
        claim_id, body["amount_cents"], body["method"], body["reference"], caller()
    )
    db.session.commit()
    return claim


@claims_bp.post("/admin/blood-use-imports")
@roles_required(ADMIN)
@accepts(MULTIPART)
@allows_body_of("BLOOD_USE_IMPORT_MAX_BYTES")
@claims_bp.arguments(schemas.ImportFormSchema, location=FORM_AND_FILES)
@claims_bp.response(200, schemas.ImportReportSchema)
def import_earlier_use(form: dict[str, Any]) -> imports.ImportReport:
    """Import bills an old system reduced (CSV): each row imported, skipped or refused, why."""
    report = imports.import_earlier_use(form["file"], caller())
    db.session.commit()
    return report

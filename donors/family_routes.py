"""Family links over HTTP: donors declare, remove and prove their relatives; the station
reviews the uploads; hospitals verify from the documents they saw. Thin: parse, one service call
(donors/family.py), respond."""

from __future__ import annotations

from typing import Any

from flask import Response

from core.auth import ADMIN, DONOR, HOSPITAL, caller, roles_required
from core.docs import answers
from core.extensions import db
from core.http import Blueprint, accepts, allows_body_of
from core.pagination import paginate
from core.requests import current_donor
from donors import family
from donors import family_schemas as schemas

family_bp = Blueprint(
    "family", __name__, description="Family links: relatives whose blood fee a donor's gift reduces"
)


# ---------------------------------------------------------------- donors


@family_bp.get("/me/family")
@roles_required(DONOR)
@family_bp.arguments(schemas.FamilyLinkQuerySchema, location="query")
@family_bp.response(200, schemas.FamilyLinkPageSchema)
def my_family(query: dict[str, Any]):
    """The relatives the donor declared, masked, removed ones too, newest first."""
    select = family.links_query(current_donor())
    return paginate(select, query["page"], query["per_page"])


@family_bp.post("/me/family")
@roles_required(DONOR)
@family_bp.arguments(schemas.FamilyLinkCreateSchema)
@family_bp.response(201, schemas.FamilyLinkSchema)
@answers(409, 422)
def declare_relative(body: dict[str, Any]):
    """Declare a relative: a relation of the region's list, name, ID number (until verified).

    Refused: a relation the donor's region does not name, the donor's own ID number, a relative
    already linked (unless that link was removed), more than FAMILY_LINKS_MAX links at once.
    """
    link = family.declare_link(current_donor(), body["relation"], body["name"], body["id_number"])
    db.session.commit()
    return link


@family_bp.delete("/me/family/<int:link_id>")
@roles_required(DONOR)
@family_bp.response(204)
def remove_relative(link_id: int):
    """Remove a relative: no further use; what was settled stays, and the link shows removed."""
    donor = current_donor()
    family.remove_link(donor, family.donor_link(donor, link_id))
    db.session.commit()


@family_bp.post("/me/family/<int:link_id>/document")
@roles_required(DONOR)
@accepts("multipart/form-data")
@allows_body_of("DOCUMENT_REQUEST_MAX_BYTES")
@family_bp.arguments(schemas.FamilyDocumentUploadSchema, location="files")
@family_bp.response(200, schemas.FamilyLinkSchema)
@answers(409, 422)
def upload_proof(files: dict[str, Any], link_id: int):
    """Upload the proof of the relation (multipart, field `file`); replaces an earlier one."""
    donor = current_donor()
    link = family.attach_document(donor, family.donor_link(donor, link_id), files["file"])
    db.session.commit()
    return link


# ---------------------------------------------------------------- the station


@family_bp.get("/admin/family-links")
@roles_required(ADMIN)
@family_bp.arguments(schemas.FamilyLinkQuerySchema, location="query")
@family_bp.response(200, schemas.ReviewedFamilyLinkPageSchema)
def links_to_review(query: dict[str, Any]):
    """Family links by status (declared: the queue), oldest first, masked, with their proofs."""
    select = family.review_query(query.get("status"))
    return paginate(select, query["page"], query["per_page"])


@family_bp.get("/admin/family-links/<int:link_id>/document")
@roles_required(ADMIN)
@family_bp.response(
    200,
    description="the uploaded proof (JPEG, PNG or PDF)",
    content_type="application/octet-stream",
)
def read_proof(link_id: int):
    """The proof a donor uploaded for a link, with its content type; every read is audited."""
    document = family.read_document(family.get_link(link_id), caller())
    db.session.commit()
    return Response(
        document.content,
        mimetype=document.content_type,
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


@family_bp.post("/admin/family-links/<int:link_id>/verify")
@roles_required(ADMIN)
@family_bp.arguments(schemas.FamilyLinkVerifySchema)
@family_bp.response(200, schemas.ReviewedFamilyLinkSchema)
def verify_from_upload(body: dict[str, Any], link_id: int):
    """Verify a declared link from its upload, naming the document seen (audited)."""
    link = family.verify_by_staff(family.get_link(link_id), body["document_type"], caller())
    db.session.commit()
    return link


@family_bp.post("/admin/family-links/<int:link_id>/reject")
@roles_required(ADMIN)
@family_bp.arguments(schemas.FamilyLinkRejectSchema)
@family_bp.response(200, schemas.ReviewedFamilyLinkSchema)
def reject_upload(body: dict[str, Any], link_id: int):
    """Reject a declared link's upload with a reason the donor reads (a new upload re-declares)."""
    link = family.reject_link(family.get_link(link_id), body["reason"], caller())
    db.session.commit()
    return link


# ---------------------------------------------------------------- hospitals


@family_bp.post("/hospital/family-links/<int:link_id>/verify")
@roles_required(HOSPITAL)
@family_bp.arguments(schemas.HospitalFamilyLinkVerifySchema)
@family_bp.response(200, schemas.HospitalFamilyLinkSchema)
@answers(403)
def verify_at_hospital(body: dict[str, Any], link_id: int):
    """Verify the link of the patient treated, from the documents the cashier saw (audited)."""
    link = family.verify_by_hospital(
        link_id,
        body["patient_id_number"],
        body["document_type"],
        family.hospital_of(caller()),
    )
    db.session.commit()
    return link

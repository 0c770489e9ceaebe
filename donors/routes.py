"""Donor-facing HTTP routes: parse, authorise, call a service, commit, shape the response."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from core.auth import ADMIN, DONOR, STAFF, caller, roles_required
from core.docs import answers
from core.extensions import db
from core.http import Blueprint
from core.limits import limit_per_caller
from core.requests import allows_images, current_donor
from core.schemas import TokenPairSchema
from donors import faces, schemas, services
from sites.services import require_site

bp = Blueprint("donors", __name__, description="Donor accounts, login and profile")


@bp.post("/auth/otp")
@bp.arguments(schemas.OtpRequestSchema)
@bp.response(202, schemas.OtpSentSchema)
@answers(429)
def send_code(body: dict[str, Any]):
    """Send a one-time code to a mobile number (the answer never says whether it is registered)."""
    result = services.request_code(body["mobile"], request.remote_addr or "")
    db.session.commit()
    return result


@bp.post("/auth/login")
@bp.arguments(schemas.LoginSchema)
@bp.response(200, TokenPairSchema)
@answers(404, 429)
def login(body: dict[str, Any]):
    """Log a donor in with the code sent to their mobile number."""
    _, tokens = services.login_donor(body["mobile"], body["code"], request.remote_addr or "")
    db.session.commit()
    return tokens


@bp.post("/donors")
@bp.arguments(schemas.RegisterSchema)
@bp.response(202, schemas.RegistrationAcceptedSchema)
@answers(429)
def register(body: dict[str, Any]):
    """Register a donor, proving the mobile number with a one-time code; continues by SMS.

    The answer is the same whether or not the ID number is registered already: a free one gets
    the account and the mobile number a login code (log in with it, POST /auth/login); a taken
    one changes nothing, and its holder is told at the number on record. The code is spent
    either way.
    """
    services.register_donor(
        name=body["name"],
        resident_id=body["id_number"],
        e164=body["mobile"],
        code=body["code"],
        client_ip=request.remote_addr or "",
        abo=(body.get("blood_group") or {}).get("abo"),
        rhd=(body.get("blood_group") or {}).get("rhd"),
        city=body.get("city"),
    )
    db.session.commit()
    return services.registration_accepted()


@bp.get("/me")
@roles_required(DONOR)
@bp.response(200, schemas.DonorSchema)
def read_profile():
    """The donor's own profile."""
    return current_donor()


@bp.patch("/me")
@roles_required(DONOR)
@bp.arguments(schemas.ProfileUpdateSchema)
@bp.response(200, schemas.DonorSchema)
def update_profile(body: dict[str, Any]):
    """Change what a donor may change alone: self-reported blood group, city."""
    donor = services.update_profile(current_donor(), body)
    db.session.commit()
    return donor


@bp.post("/me/mobile")
@roles_required(DONOR)
@bp.arguments(schemas.MobileChangeSchema)
@bp.response(200, schemas.DonorSchema)
@answers(429)
def change_mobile(body: dict[str, Any]):
    """Move the account to a new mobile number, proven by a code sent to it."""
    donor = services.change_mobile(
        current_donor(), body["mobile"], body["code"], request.remote_addr or ""
    )
    db.session.commit()
    return donor


@bp.post("/me/erasure")
@roles_required(DONOR)
@bp.arguments(schemas.ErasureSchema)
@bp.response(204)
@answers(429)
def erase(body: dict[str, Any]):
    """Erase the donor's identifying data (keeps pseudonymised donation records); logs out."""
    services.erase_donor(current_donor(), body["code"], request.remote_addr or "")
    db.session.commit()


@bp.post("/staff/donor-mobile")
@roles_required(STAFF, ADMIN)
@bp.arguments(schemas.MobileAtSiteSchema)
@bp.response(200, schemas.DonorSchema)
def move_mobile_at_site(body: dict[str, Any]):
    """Move a donor's account to a new mobile number at a site, after checking the ID card.

    For a donor whose phone on record is gone: the donor proves the new number with a code sent
    to it (POST /auth/otp); the old phone's logins end and the old number is told. Audited.
    """
    site = require_site(caller(), body["site_id"])
    donor = services.move_mobile_at_site(
        body["id_number"].number,
        body["mobile"],
        body["code"],
        request.remote_addr or "",
        staff_id=caller().principal_id,
        site_id=site.id,
    )
    db.session.commit()
    return donor


@bp.get("/me/face")
@roles_required(DONOR)
@bp.response(200, schemas.FaceStatusSchema)
def read_face():
    """Whether a face is enrolled, the consent given, and the consent text to show."""
    return faces.face_status(current_donor())


@bp.post("/me/face/consent")
@roles_required(DONOR)
@bp.arguments(schemas.FaceConsentSchema)
@bp.response(201, schemas.FaceConsentStateSchema)
def consent_to_face_check(body: dict[str, Any]):
    """Agree to the face-check consent text (its current version), before enrolling."""
    consent = faces.give_consent(
        current_donor(),
        body["version"],
        client_ip=request.remote_addr or "",
        device=body.get("device") or request.user_agent.string,
    )
    db.session.commit()
    return {"version": consent.version, "given_at": consent.given_at, "current": True}


@bp.post("/me/face")
@roles_required(DONOR)
@limit_per_caller("FACE_ENROL_RATE_LIMIT")
@allows_images
@bp.arguments(schemas.FaceEnrolSchema)
@bp.response(201, schemas.FaceStatusSchema)
def enrol_face(body: dict[str, Any]):
    """Enrol the donor's face from one photo; only its encoding is kept unless asked."""
    donor = current_donor()
    faces.enrol_face(donor, body["photo"], keep_photo=body["keep_photo"])
    db.session.commit()
    return faces.face_status(donor)


@bp.delete("/me/face")
@roles_required(DONOR)
@bp.response(204)
def withdraw_face():
    """Withdraw consent and erase the enrolled face and any kept photo."""
    donor = current_donor()
    faces.erase_face(donor, actor=("donor", donor.id), reason="donor_withdrew")
    db.session.commit()


@bp.get("/me/face/photo")
@roles_required(DONOR)
@bp.response(200, content_type="image/jpeg")
@answers(404)
def read_kept_photo():
    """The photo the donor chose to keep (JPEG), for their own eyes."""
    photo = faces.kept_photo(current_donor())
    return Response(photo, mimetype="image/jpeg", headers={"Cache-Control": "no-store"})

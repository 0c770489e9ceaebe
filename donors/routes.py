"""Donor-facing HTTP routes: parse, authorise, call a service, commit, shape the response."""

from __future__ import annotations

from typing import Any

from flask import request

from core.auth import DONOR, caller, roles_required
from core.extensions import db
from core.http import Blueprint
from donors import schemas, services

bp = Blueprint("donors", __name__, description="Donor accounts, login and profile")


def current_donor():
    return services.get_donor(caller().principal_id)


@bp.post("/auth/otp")
@bp.arguments(schemas.OtpRequestSchema)
@bp.response(202, schemas.OtpSentSchema)
def send_code(body: dict[str, Any]):
    """Send a one-time code to a mobile number (the answer never says whether it is registered)."""
    result = services.request_code(body["mobile"], request.remote_addr or "")
    db.session.commit()
    return result


@bp.post("/auth/login")
@bp.arguments(schemas.LoginSchema)
@bp.response(200, schemas.TokenPairSchema)
def login(body: dict[str, Any]):
    """Log a donor in with the code sent to their mobile number."""
    _, tokens = services.login_donor(body["mobile"], body["code"])
    db.session.commit()
    return tokens


@bp.post("/donors")
@bp.arguments(schemas.RegisterSchema)
@bp.response(201, schemas.RegisteredSchema)
def register(body: dict[str, Any]):
    """Register a donor, proving the mobile number with a one-time code; logs them in."""
    donor, tokens = services.register_donor(
        name=body["name"],
        resident_id=body["id_number"],
        e164=body["mobile"],
        code=body["code"],
        abo=(body.get("blood_group") or {}).get("abo"),
        rhd=(body.get("blood_group") or {}).get("rhd"),
        city=body.get("city"),
    )
    db.session.commit()
    return {"donor": donor, "tokens": tokens}


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
def change_mobile(body: dict[str, Any]):
    """Move the account to a new mobile number, proven by a code sent to it."""
    donor = services.change_mobile(current_donor(), body["mobile"], body["code"])
    db.session.commit()
    return donor


@bp.post("/me/erasure")
@roles_required(DONOR)
@bp.arguments(schemas.ErasureSchema)
@bp.response(204)
def erase(body: dict[str, Any]):
    """Erase the donor's identifying data (keeps pseudonymised donation records); logs out."""
    services.erase_donor(current_donor(), body["code"])
    db.session.commit()

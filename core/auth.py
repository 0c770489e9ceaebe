"""Tokens, roles and the one auth decorator.

Every token names a login session (`sid`). Logout revokes the session; refreshing rotates the
refresh token, and presenting a refresh token that was already rotated away revokes the whole
session, since only a thief would hold the old one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Flask, current_app, g, request
from flask.typing import ResponseReturnValue
from flask_jwt_extended import (
    create_access_token,
    create_refresh_token,
    decode_token,
    get_jwt,
    verify_jwt_in_request,
)
from flask_smorest import Blueprint
from jwt import ExpiredSignatureError
from sqlalchemy import ColumnElement, exists, select

from core import clock
from core.crypto import dummy_password_hash, hash_password, verify_password
from core.errors import ApiError, error_body
from core.extensions import db, jwt
from core.models import AuthSession, Device

DONOR = "donor"
STAFF = "staff"
ADMIN = "admin"
GATE = "gate"
HOSPITAL = "hospital"
STATION_SYSTEM = "station_system"
DEVICE_ROLES = (GATE, HOSPITAL, STATION_SYSTEM)
ALL_ROLES = (DONOR, STAFF, ADMIN, *DEVICE_ROLES)


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the token says."""

    principal_type: str  # donor | staff | device
    principal_id: int
    role: str
    session_id: str
    claims: dict[str, Any]


def issue_tokens(
    principal_type: str, principal_id: int, role: str, claims: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Open a login session and return its first access and refresh tokens."""
    session = AuthSession(
        principal_type=principal_type,
        principal_id=principal_id,
        role=role,
        current_refresh_jti="",
        expires_at=clock.now() + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"],
    )
    db.session.add(session)
    db.session.flush()
    return _tokens_for(session, claims or {})


def _tokens_for(session: AuthSession, claims: dict[str, Any]) -> dict[str, Any]:
    identity = f"{session.principal_type}:{session.principal_id}"
    all_claims = {**claims, "role": session.role, "sid": session.id}
    refresh_jti = secrets.token_hex(16)
    access = create_access_token(identity=identity, additional_claims=all_claims)
    refresh = create_refresh_token(
        identity=identity, additional_claims={**all_claims, "jti": refresh_jti}
    )
    session.current_refresh_jti = refresh_jti
    expires = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": int(expires.total_seconds()),
    }


def rotate_refresh_token() -> dict[str, Any]:
    """Exchange the presented refresh token for a new pair; a reused one ends the session."""
    verify_jwt_in_request(refresh=True)
    claims = get_jwt()
    session = db.session.get(AuthSession, claims["sid"])
    if session is None or session.revoked_at is not None:
        raise ApiError("token_revoked", 401)
    if claims["jti"] != session.current_refresh_jti:
        session.revoked_at = clock.now()
        session.revoked_reason = "refresh_reused"
        db.session.commit()
        raise ApiError("refresh_reused", 401)
    session.refreshed_at = clock.now()
    extra = {k: v for k, v in claims.items() if k in ("kind", "sites")}
    return _tokens_for(session, extra)


def revoke_session(session_id: str, reason: str) -> None:
    session = db.session.get(AuthSession, session_id)
    if session is not None and session.revoked_at is None:
        session.revoked_at = clock.now()
        session.revoked_reason = reason


def revoke_all_sessions(principal_type: str, principal_id: int, reason: str) -> None:
    """End every login of a principal (erasure, disabled staff, rotated device secret)."""
    sessions = db.session.scalars(
        db.select(AuthSession).where(
            AuthSession.principal_type == principal_type,
            AuthSession.principal_id == principal_id,
            AuthSession.revoked_at.is_(None),
        )
    )
    for session in sessions:
        session.revoked_at = clock.now()
        session.revoked_reason = reason


def caller() -> Caller:
    """The verified caller of this request (only inside a `roles_required` view)."""
    return g.caller


def roles_required(*roles: str, view_checks_session: bool = False) -> Callable:
    """The one auth decorator: a valid access token whose role is one of `roles`.

    The token's login session must not be revoked. That costs a database round trip, so a view
    on a hot path whose own statement can carry the check (`live_session`) may take it over with
    `view_checks_session`; it must then call `session_checked` or `require_live_session` before
    it answers, or the request fails loudly rather than skip the check.
    """
    unknown = set(roles) - set(ALL_ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            g.session_check_deferred = view_checks_session
            claims = _verified_access_claims()
            if claims.get("role") not in roles:
                raise ApiError("forbidden", 403)
            principal_type, _, principal_id = claims["sub"].partition(":")
            g.caller = Caller(
                principal_type, int(principal_id), claims["role"], claims["sid"], claims
            )
            answer = view(*args, **kwargs)
            if view_checks_session and not g.get("session_checked"):
                raise RuntimeError(f"{view.__name__} answered without checking the session")
            return answer

        documented = Blueprint.doc(security=[{"bearerAuth": []}])(wrapper)
        documented._roles = roles
        return documented

    return decorator


_VERIFIED_TOKENS_MAX = 4096


def _verified_access_claims() -> dict[str, Any]:
    """The request's access-token claims, verified once per process for each token.

    A device sends the same token for its whole life, and checking its signature again is most
    of the cost of a gate's request; the exact token string that passed verification maps to its
    claims here. Expiry (by the service clock) and the session are still checked every time.
    """
    header = request.headers.get("Authorization", "")
    known: dict[str, dict[str, Any]] = current_app.extensions.setdefault("verified_tokens", {})
    claims = known.get(header)
    if claims is not None and claims["exp"] > clock.now().timestamp():
        if _session_revoked(claims):
            raise ApiError("token_revoked", 401)
        return claims
    verify_jwt_in_request()
    claims = get_jwt()
    if len(known) >= _VERIFIED_TOKENS_MAX:
        known.clear()
    known[header] = claims
    return claims


def _session_revoked(claims: dict[str, Any]) -> bool:
    if g.get("session_check_deferred"):
        return False
    session = db.session.get(AuthSession, claims.get("sid", ""))
    return session is None or session.revoked_at is not None


def live_session(session_id: Any) -> ColumnElement[bool]:
    """SQL that is true while the login session is open: for a view's own statement."""
    return exists().where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))


def session_checked() -> None:
    """The view's statement found the caller's session open (see `roles_required`)."""
    g.session_checked = True


def require_live_session(session_id: str) -> None:
    """Refuse the request as the auth check would when the caller's session was revoked."""
    if not db.session.scalar(select(live_session(session_id))):
        raise ApiError("token_revoked", 401)
    session_checked()


def authenticate_device(client_id: str, client_secret: str) -> dict[str, Any]:
    """Device credential -> tokens with the device's role (and benefit kind for a gate)."""
    device = db.session.scalar(db.select(Device).where(Device.client_id == client_id))
    # Hash anyway when the id is unknown, so timing does not reveal which ids exist.
    stored = device.secret_hash if device else dummy_password_hash()
    valid = verify_password(stored, client_secret)
    if device is None or not valid or not device.active:
        raise ApiError("device_credentials_invalid", 401)
    claims = {"kind": device.benefit_kind} if device.benefit_kind else {}
    return issue_tokens("device", device.id, device.role, claims)


def create_device(role: str, name: str, benefit_kind: str | None = None) -> tuple[Device, str]:
    """Register a device; the secret is returned once and stored only as a hash."""
    if role not in DEVICE_ROLES:
        raise ValueError(f"device role must be one of {DEVICE_ROLES}")
    secret = secrets.token_urlsafe(32)
    device = Device(
        client_id=f"{role}-{secrets.token_hex(8)}",
        secret_hash=hash_password(secret),
        role=role,
        name=name,
        benefit_kind=benefit_kind,
    )
    db.session.add(device)
    db.session.flush()
    return device, secret


DeviceMaker = Callable[[str, dict[str, Any]], tuple[Device, str]]
_DEVICE_MAKERS = "device_makers"


def register_device_maker(app: Flask, role: str, make: DeviceMaker) -> None:
    """Let the package that keeps what devices of `role` belong to make them from the shell.

    A gate checks codes only as a device of a gate operator, which rewards keeps and core may not
    import: rewards registers its maker from its `init_app` (as it registers its policy
    sections), so `make_device` never makes a gate that refuses every code.
    """
    app.extensions.setdefault(_DEVICE_MAKERS, {})[role] = make


def make_device(role: str, name: str, options: dict[str, Any]) -> tuple[Device, str]:
    """A device as the shell asks for one: by its role's maker, or plain where none is needed.

    `options` are what the maker reads (a gate's operator, benefit kind, location); one given to
    a role that has no use for it is refused rather than silently dropped.
    """
    make = current_app.extensions.get(_DEVICE_MAKERS, {}).get(role)
    if make is not None:
        return make(name, options)
    unused = sorted(key for key, value in options.items() if value is not None)
    if unused:
        raise ApiError(
            "device_option_unused", 422, errors={key: ["device_option_unused"] for key in unused}
        )
    return create_device(role, name)


def rotate_device_secret(device: Device) -> str:
    secret = secrets.token_urlsafe(32)
    device.secret_hash = hash_password(secret)
    device.secret_rotated_at = clock.now()
    revoke_all_sessions("device", device.id, "secret_rotated")
    return secret


def revoke_device(device: Device) -> None:
    device.active = False
    device.revoked_at = clock.now()
    revoke_all_sessions("device", device.id, "device_revoked")


def key_id(secret: str) -> str:
    """A token's `kid`: names which JWT secret signed it without telling anything of it."""
    return hmac.new(secret.encode(), b"jwt key id", hashlib.sha256).hexdigest()[:12]


def init_app(app: Flask) -> None:
    @jwt.additional_headers_loader
    def signed_with(identity: object) -> dict[str, str]:
        return {"kid": key_id(current_app.config["JWT_SECRET_KEY"])}

    @jwt.decode_key_loader
    def key_for(jwt_header: dict, payload: dict) -> str:
        """The current secret, or a previous one (JWT_PREVIOUS_SECRET_KEYS) for the tokens it
        signed before a rotation; a token naming neither is checked against the current one."""
        current = current_app.config["JWT_SECRET_KEY"]
        named = jwt_header.get("kid")
        for secret in (current, *current_app.config["JWT_PREVIOUS_SECRET_KEYS"]):
            if named == key_id(secret):
                return secret
        return current

    @jwt.token_verification_loader
    def within_lifetime(jwt_header: dict, payload: dict) -> bool:
        """Expiry by the service's clock too, so the suite can move time past a token's life."""
        if payload["exp"] <= clock.now().timestamp():
            expired = ExpiredSignatureError("token expired")
            # flask-jwt-extended's expired-token handler reads the token's parts off the error.
            expired.jwt_header, expired.jwt_data = jwt_header, payload  # type: ignore[attr-defined]
            raise expired
        return True

    @jwt.token_in_blocklist_loader
    def session_revoked(jwt_header: dict, payload: dict) -> bool:
        return _session_revoked(payload)

    @jwt.unauthorized_loader
    def missing_token(reason: str) -> ResponseReturnValue:
        return error_body("unauthorized", 401), 401, {"WWW-Authenticate": "Bearer"}

    @jwt.invalid_token_loader
    def invalid_token(reason: str) -> ResponseReturnValue:
        return error_body("token_invalid", 401), 401, {"WWW-Authenticate": "Bearer"}

    @jwt.expired_token_loader
    def expired_token(jwt_header: dict, payload: dict) -> ResponseReturnValue:
        return error_body("token_expired", 401), 401, {"WWW-Authenticate": "Bearer"}

    @jwt.revoked_token_loader
    def revoked_token(jwt_header: dict, payload: dict) -> ResponseReturnValue:
        return error_body("token_revoked", 401), 401

    @jwt.needs_fresh_token_loader
    def stale_token(jwt_header: dict, payload: dict) -> ResponseReturnValue:
        return error_body("unauthorized", 401), 401

    @jwt.token_verification_failed_loader
    def failed_claims(jwt_header: dict, payload: dict) -> ResponseReturnValue:
        return error_body("token_invalid", 401), 401

    @jwt.user_lookup_error_loader
    def lookup_failed(jwt_header: dict, payload: dict) -> ResponseReturnValue:
        return error_body("token_invalid", 401), 401


def peek_claims(token: str) -> dict[str, Any]:
    """Decode a token we issued (for logout of a refresh token passed in the body)."""
    return decode_token(token, allow_expired=True)

"""Token routes shared by every kind of principal: refresh, logout, device tokens."""

from __future__ import annotations

from typing import Any

from flask_jwt_extended import get_jwt, verify_jwt_in_request
from marshmallow import fields, validate

from core import auth
from core.docs import answers
from core.extensions import db
from core.http import Blueprint
from core.schemas import StrictSchema, TokenPairSchema
from core.signing import keyring

bp = Blueprint("auth", __name__, description="Tokens for every principal")
keys_bp = Blueprint("keys", __name__, description="Public keys for offline verification")


class DeviceCredentialSchema(StrictSchema):
    client_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    client_secret = fields.String(required=True, validate=validate.Length(min=1, max=200))


@bp.post("/auth/refresh")
@bp.response(200, TokenPairSchema)
@bp.doc(security=[{"bearerAuth": []}], description="Send the refresh token as the bearer token.")
def refresh():
    """Exchange a refresh token for a new pair; each refresh token works once."""
    tokens = auth.rotate_refresh_token()
    db.session.commit()
    return tokens


@bp.post("/auth/logout")
@bp.response(204)
@bp.doc(security=[{"bearerAuth": []}])
def logout():
    """End the login session: its access and refresh tokens stop working at once."""
    verify_jwt_in_request(verify_type=False)
    auth.revoke_session(get_jwt()["sid"], "logout")
    db.session.commit()


@bp.post("/auth/device-token")
@bp.arguments(DeviceCredentialSchema)
@bp.response(200, TokenPairSchema)
@answers(401)
def device_token(body: dict[str, Any]):
    """Tokens for a gate, hospital or station system from its client id and secret."""
    tokens = auth.authenticate_device(body["client_id"], body["client_secret"])
    db.session.commit()
    return tokens


@keys_bp.get("/.well-known/jwks.json")
@keys_bp.response(200)
def jwks():
    """The Ed25519 public keys (JWK set) that certificates and codes are signed with."""
    return keyring().jwks()

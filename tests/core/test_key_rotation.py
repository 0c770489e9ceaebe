"""Rotating the token and certificate keys (issue 17 item 1): tokens and certificates signed
before a rotation keep working for as long as the old key is kept for verification; new ones are
signed with the new key; a key dropped from the settings no longer vouches for anything."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from app import create_app
from core.extensions import db
from tests.factories import bearer, donor_record, make_site, make_staff, record, staff_token

OLD_JWT, NEW_JWT = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
NEW_SEED = "TkVXTkVXTkVXTkVXTkVXTkVXTkVXTkVXTkVXTkVXTkU="  # base64 of 32 bytes, tests only


@pytest.fixture
def app_with(database_url: str) -> Iterator[Callable[..., Flask]]:
    """`app_with(**settings)`: the app started again with other keys, on the same database."""
    built: list[Flask] = []

    def build(**settings) -> Flask:
        built.append(
            create_app(
                {
                    "APP_ENV": "testing",
                    "SQLALCHEMY_DATABASE_URI": database_url,
                    "SMS_BACKEND": "memory",
                    **settings,
                }
            )
        )
        return built[-1]

    yield build
    for started in built:
        with started.app_context():
            db.engine.dispose()


@pytest.mark.committed_db
def test_a_token_signed_before_a_jwt_rotation_works_while_the_old_key_is_kept(
    app, client, app_with
):
    before = app_with(JWT_SECRET_KEY=OLD_JWT)
    staff = make_staff([make_site()])
    token = staff_token(before.test_client(), staff)

    rotated = app_with(JWT_SECRET_KEY=NEW_JWT, JWT_PREVIOUS_SECRET_KEYS=(OLD_JWT,))
    assert rotated.test_client().get("/api/v1/staff/me", headers=bearer(token)).status_code == 200
    fresh = staff_token(rotated.test_client(), staff)
    assert fresh.split(".")[0] != token.split(".")[0]  # another kid in the header

    dropped = app_with(JWT_SECRET_KEY=NEW_JWT)
    refused = dropped.test_client().get("/api/v1/staff/me", headers=bearer(token))
    assert (refused.status_code, refused.get_json()["code"]) == (401, "token_invalid")
    assert dropped.test_client().get("/api/v1/staff/me", headers=bearer(fresh)).status_code == 200


@pytest.mark.committed_db
def test_a_certificate_signed_before_a_signing_key_rotation_still_verifies(
    app, client, sms, app_with
):
    site = make_site()
    donor, _ = donor_record(client, sms)
    staff = staff_token(client, make_staff([site]))
    recorded = record(client, staff, site, donor.id_number).get_json()
    number = recorded["certificate"]["number"]
    (old_kid,) = json.loads(app.config["SIGNING_KEYS"])

    both = {**json.loads(app.config["SIGNING_KEYS"]), "k2": NEW_SEED}
    rotated = app_with(SIGNING_KEYS=json.dumps(both), SIGNING_ACTIVE_KID="k2")
    checked = rotated.test_client().get(f"/v/{number}", headers={"Accept": "application/json"})
    assert checked.get_json()["status"] == "valid"
    jwks = rotated.test_client().get("/.well-known/jwks.json").get_json()
    assert {old_kid, "k2"} <= {key["kid"] for key in jwks["keys"]}

    dropped = app_with(SIGNING_KEYS=json.dumps({"k2": NEW_SEED}), SIGNING_ACTIVE_KID="k2")
    checked = dropped.test_client().get(f"/v/{number}", headers={"Accept": "application/json"})
    assert checked.get_json()["status"] != "valid"


def test_production_refuses_a_previous_jwt_key_that_is_weak_or_the_current_one():
    from core.config import ConfigError, load_config
    from tests.core.test_config import STRONG

    with pytest.raises(ConfigError, match=r"JWT_PREVIOUS_SECRET_KEYS\[1\]"):
        load_config("production", {**STRONG, "JWT_PREVIOUS_SECRET_KEYS": ("short",)})
    with pytest.raises(ConfigError, match="is the current"):
        load_config(
            "production", {**STRONG, "JWT_PREVIOUS_SECRET_KEYS": (STRONG["JWT_SECRET_KEY"],)}
        )

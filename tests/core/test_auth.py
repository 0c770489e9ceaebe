"""The one auth decorator: tokens verified once per process, the session checked every time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask

from app import create_app
from core import auth, clock
from core.extensions import db
from tests.factories import bearer, register_donor


def test_a_token_already_accepted_is_refused_after_logout(client, sms):
    token = register_donor(client, sms)["tokens"]["access_token"]
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
    refused = client.get("/api/v1/me", headers=bearer(token))
    assert (refused.status_code, refused.get_json()["code"]) == (401, "token_revoked")


def test_a_token_already_accepted_is_refused_once_it_expires(client, sms):
    token = register_donor(client, sms)["tokens"]["access_token"]
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    with clock.travelled(timedelta(minutes=16)):
        refused = client.get("/api/v1/me", headers=bearer(token))
    assert (refused.status_code, refused.get_json()["code"]) == (401, "token_expired")


def test_a_refresh_token_is_never_taken_for_an_access_token(client, sms):
    tokens = register_donor(client, sms)["tokens"]
    assert client.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code == 200
    refused = client.get("/api/v1/me", headers=bearer(tokens["refresh_token"]))
    assert refused.status_code == 401


@pytest.fixture
def session_app(app: Flask, database_url: str) -> Iterator[Flask]:
    """An app with two views that take over the session check: one does it, one forgets."""
    built = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": database_url})
    built.config["PROPAGATE_EXCEPTIONS"] = False

    @auth.roles_required(auth.DONOR, view_checks_session=True)
    def checks():
        auth.require_live_session(auth.caller().session_id)
        return {"checked": True}

    @auth.roles_required(auth.DONOR, view_checks_session=True)
    def forgets():
        return {"checked": False}

    built.add_url_rule("/test/checks", view_func=checks)
    built.add_url_rule("/test/forgets", view_func=forgets)
    with built.app_context():
        yield built
        db.session.remove()
        db.engine.dispose()


def _donor_session(session_app: Flask) -> tuple[str, str]:
    with session_app.app_context():
        tokens = auth.issue_tokens("donor", 1, auth.DONOR)
        db.session.commit()
    token = tokens["access_token"]
    return token, auth.peek_claims(token)["sid"]


def test_a_view_that_checks_the_session_itself_refuses_a_revoked_one(session_app):
    token, session_id = _donor_session(session_app)
    client = session_app.test_client()
    assert client.get("/test/checks", headers=bearer(token)).get_json() == {"checked": True}
    with session_app.app_context():
        auth.revoke_session(session_id, "logout")
        db.session.commit()
    refused = client.get("/test/checks", headers=bearer(token))
    assert (refused.status_code, refused.get_json()["code"]) == (401, "token_revoked")


def test_a_view_that_takes_over_the_session_check_and_skips_it_fails(session_app):
    token, _ = _donor_session(session_app)
    response = session_app.test_client().get("/test/forgets", headers=bearer(token))
    assert response.status_code == 500
    assert "checked" not in response.get_json()

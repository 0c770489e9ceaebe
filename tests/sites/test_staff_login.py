"""Staff and admin password login with bounded attempts (item 10)."""

from __future__ import annotations

from datetime import timedelta

from core import clock
from core.extensions import db
from sites import services
from tests.factories import bearer, make_site, make_staff


def login(client, username, password):
    return client.post(
        "/api/v1/auth/staff-login", json={"username": username, "password": password}
    )


def test_staff_log_in_and_see_their_sites(client):
    site = make_site()
    user = make_staff([site])
    response = login(client, user.username, "correct-horse-1")
    assert response.status_code == 200
    me = client.get("/api/v1/staff/me", headers=bearer(response.get_json()["access_token"]))
    assert me.get_json()["role"] == "staff"
    assert [s["id"] for s in me.get_json()["sites"]] == [site.id]


def test_passwords_are_stored_as_scrypt_hashes(app):
    user = make_staff()
    assert user.password_hash.startswith("scrypt:")
    assert "correct-horse-1" not in user.password_hash


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(client):
    user = make_staff()
    wrong = login(client, user.username, "nope")
    unknown = login(client, "nobody", "nope")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()


def test_five_failures_lock_the_account_even_for_the_right_password(client, app):
    user = make_staff()
    for _ in range(app.config["STAFF_MAX_FAILED_LOGINS"]):
        login(client, user.username, "nope")
    locked = login(client, user.username, "correct-horse-1")
    assert locked.status_code == 429
    assert locked.get_json()["code"] == "account_locked"
    assert int(locked.headers["Retry-After"]) > 0
    with clock.travelled(app.config["STAFF_LOCKOUT"] + timedelta(seconds=1)):
        assert login(client, user.username, "correct-horse-1").status_code == 200


def test_a_disabled_user_cannot_log_in_and_loses_open_sessions(client):
    user = make_staff()
    token = login(client, user.username, "correct-horse-1").get_json()["access_token"]
    services.disable_staff(user)
    db.session.commit()
    assert client.get("/api/v1/staff/me", headers=bearer(token)).status_code == 401
    response = login(client, user.username, "correct-horse-1")
    assert response.status_code == 403
    assert response.get_json()["code"] == "account_disabled"

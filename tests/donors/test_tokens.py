"""Access and refresh tokens: rotation, reuse detection, logout (item 8)."""

from __future__ import annotations

from datetime import timedelta

from core import clock
from tests.factories import bearer, register_donor
from tests.timetravel import later


def refresh(client, token):
    return client.post("/api/v1/auth/refresh", headers=bearer(token))


def test_access_token_lasts_15_minutes(client, sms):
    tokens = register_donor(client, sms)["tokens"]
    assert tokens["expires_in"] == 15 * 60
    with clock.travelled(timedelta(minutes=16)):
        response = client.get("/api/v1/me", headers=bearer(tokens["access_token"]))
    assert response.status_code == 401
    assert response.get_json()["code"] == "token_expired"


def test_refresh_returns_a_new_pair_and_the_old_refresh_token_stops_working(client, sms):
    tokens = register_donor(client, sms)["tokens"]
    first = refresh(client, tokens["refresh_token"])
    assert first.status_code == 200
    new = first.get_json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert client.get("/api/v1/me", headers=bearer(new["access_token"])).status_code == 200


def test_reusing_a_rotated_refresh_token_ends_the_whole_session(client, sms):
    tokens = register_donor(client, sms)["tokens"]
    new = refresh(client, tokens["refresh_token"]).get_json()
    reused = refresh(client, tokens["refresh_token"])
    assert reused.status_code == 401
    assert reused.get_json()["code"] == "refresh_reused"
    assert refresh(client, new["refresh_token"]).status_code == 401
    me = client.get("/api/v1/me", headers=bearer(new["access_token"]))
    assert me.get_json()["code"] == "token_revoked"


def test_refresh_token_lasts_30_days(client, sms):
    tokens = register_donor(client, sms)["tokens"]
    with clock.travelled(timedelta(days=29)):
        assert refresh(client, tokens["refresh_token"]).status_code == 200
    with clock.travelled(timedelta(days=31)):
        assert refresh(client, tokens["refresh_token"]).status_code == 401


def test_an_access_token_cannot_refresh(client, sms):
    tokens = register_donor(client, sms)["tokens"]
    response = refresh(client, tokens["access_token"])
    assert response.status_code == 401


def test_a_refresh_token_cannot_call_the_api(client, sms):
    tokens = register_donor(client, sms)["tokens"]
    response = client.get("/api/v1/me", headers=bearer(tokens["refresh_token"]))
    assert response.status_code == 401


def test_logout_revokes_access_and_refresh_tokens(client, sms):
    tokens = register_donor(client, sms)["tokens"]
    assert client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"])).status_code
    me = client.get("/api/v1/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 401
    assert me.get_json()["code"] == "token_revoked"
    assert refresh(client, tokens["refresh_token"]).status_code == 401


def test_logout_of_one_session_keeps_the_others(client, sms):
    data = register_donor(client, sms)
    number = data["plain"]["mobile"]
    from tests.factories import last_code, send_code

    with later(timedelta(minutes=2)):
        send_code(client, number)
        other = client.post(
            "/api/v1/auth/login", json={"mobile": number, "code": last_code(sms, number)}
        ).get_json()
        client.post("/api/v1/auth/logout", headers=bearer(data["tokens"]["access_token"]))
        assert client.get("/api/v1/me", headers=bearer(other["access_token"])).status_code == 200

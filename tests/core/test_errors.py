"""One JSON error shape for every failure (foundation issue, item 5)."""

from __future__ import annotations

import pytest

from tests.factories import bearer, register_donor


def assert_error_shape(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["code"] == code
    assert body["status"] == status
    assert isinstance(body["message"], str) and body["message"]
    return body


def test_malformed_json_is_400_invalid_json(client):
    response = client.post("/api/v1/auth/otp", data='{"mobile": ', content_type="application/json")
    assert_error_shape(response, 400, "invalid_json")


def test_invalid_utf8_body_is_400_invalid_json(client):
    response = client.post(
        "/api/v1/auth/otp", data=b'{"mobile": "\xff\xfe"}', content_type="application/json"
    )
    assert_error_shape(response, 400, "invalid_json")


def test_wrong_content_type_is_415(client):
    response = client.post(
        "/api/v1/auth/otp",
        data="mobile=13800000000",
        content_type="application/x-www-form-urlencoded",
    )
    assert_error_shape(response, 415, "unsupported_media_type")


def test_oversized_body_is_413(client, app):
    padding = "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    response = client.post("/api/v1/auth/otp", json={"mobile": padding})
    assert_error_shape(response, 413, "payload_too_large")


def test_wrong_type_is_422_with_field_detail(client):
    response = client.post("/api/v1/auth/otp", json={"mobile": 13800000000})
    body = assert_error_shape(response, 422, "validation_failed")
    assert body["errors"] == {"mobile": ["应为字符串。"]}


def test_unknown_field_is_422_naming_the_field(client):
    response = client.post("/api/v1/auth/otp", json={"mobile": "13800000000", "admin": True})
    body = assert_error_shape(response, 422, "validation_failed")
    assert list(body["errors"]) == ["admin"]


def test_body_that_is_not_an_object_is_422(client):
    response = client.post("/api/v1/auth/otp", json=["13800000000"])
    assert_error_shape(response, 422, "validation_failed")


@pytest.mark.parametrize("per_page", ["1" + "0" * 40, "-1", "abc", "1e400"])
def test_huge_or_bad_query_numbers_are_422(client, per_page):
    response = client.get(f"/api/v1/sites?per_page={per_page}")
    body = assert_error_shape(response, 422, "validation_failed")
    assert "per_page" in body["errors"]


def test_huge_number_in_json_body_is_rejected_without_500(client):
    digits = "9" * 5000  # beyond Python's int parsing limit
    response = client.post(
        "/api/v1/auth/otp", data='{"mobile": ' + digits + "}", content_type="application/json"
    )
    assert response.status_code in (400, 422)
    assert response.get_json()["code"] in ("invalid_json", "validation_failed")


def test_huge_float_in_json_body_is_422(client):
    response = client.post(
        "/api/v1/auth/otp", data='{"mobile": 1e999}', content_type="application/json"
    )
    assert_error_shape(response, 422, "validation_failed")


def test_unknown_route_is_404_json(client):
    assert_error_shape(client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_wrong_method_is_405_json_with_allow_header(client):
    response = client.delete("/api/v1/auth/otp")
    assert_error_shape(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_missing_token_is_401(client):
    response = client.get("/api/v1/me")
    assert_error_shape(response, 401, "unauthorized")


def test_garbage_token_is_401_token_invalid(client):
    response = client.get("/api/v1/me", headers=bearer("not.a.token"))
    assert_error_shape(response, 401, "token_invalid")


def test_donor_token_on_admin_route_is_403(client, sms):
    donor = register_donor(client, sms)
    response = client.get("/api/v1/admin/sites", headers=bearer(donor["tokens"]["access_token"]))
    assert_error_shape(response, 403, "forbidden")


def test_english_messages_with_accept_language_en(client):
    response = client.post(
        "/api/v1/auth/otp",
        json={"mobile": "123"},
        headers={"Accept-Language": "en-US,en;q=0.9"},
    )
    body = assert_error_shape(response, 422, "validation_failed")
    assert body["message"] == "Some fields are invalid."
    assert body["errors"]["mobile"] == ["Enter a valid mainland China mobile number."]


def test_chinese_is_the_default_language(client):
    body = client.get("/api/v1/me").get_json()
    assert body["message"] == "请先登录。"


JUNK_BODIES = [
    b"",
    b"null",
    b"[]",
    b"0",
    b'"text"',
    b"{}",
    b'{"mobile": null, "code": null}',
    b'{"mobile": {"a": 1}, "code": []}',
    b'{"name": "' + b"\xe5" * 3 + b'"}',
    b"\x00\x01\x02",
]

JSON_ENDPOINTS = [
    ("POST", "/api/v1/auth/otp"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/donors"),
    ("POST", "/api/v1/auth/staff-login"),
    ("POST", "/api/v1/auth/device-token"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
]


@pytest.mark.parametrize("method,path", JSON_ENDPOINTS)
def test_junk_bodies_never_cause_a_500(client, method, path):
    for junk in JUNK_BODIES:
        response = client.open(path, method=method, data=junk, content_type="application/json")
        assert 400 <= response.status_code < 500, (path, junk, response.status_code)
        assert response.get_json()["code"]

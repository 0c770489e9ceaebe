"""Text no database column can hold, and JSON nested without end, are refused at the edge with a
400 in the error shape, for every route (issue 18, item 1).

PostgreSQL refuses a NUL character in text and neither database stores an unpaired surrogate;
before this check each reached the driver and came back as a 500, several without logging in.
"""

from __future__ import annotations

import pytest

from core.http import MAX_JSON_DEPTH
from sites.models import Site
from tests.core.test_errors import assert_error_shape
from tests.factories import bearer, make_site, make_staff, register_donor, staff_token

NUL = "\x00"


def refused(response, where: str | None = None) -> None:
    body = assert_error_shape(response, 400, "invalid_characters")
    if where is not None:
        assert list(body["errors"]) == [where]


def test_a_nul_in_the_path_is_refused(client):
    refused(client.get("/v/2026%00"), "path")


def test_a_nul_in_the_query_string_is_refused(client):
    refused(client.get("/api/v1/sites/search?city=a%00b"), "city")
    refused(client.get("/api/v1/sites?x%00=1"), "query")


def test_a_nul_or_a_lone_surrogate_in_a_login_name_is_refused(client):
    refused(client.post("/api/v1/auth/staff-login", json={"username": "a\x00b", "password": "x"}))
    raw = b'{"username": "a\\ud800b", "password": "x"}'
    response = client.post("/api/v1/auth/staff-login", data=raw, content_type="application/json")
    refused(response, "username")


def test_a_lone_surrogate_in_a_key_is_refused_without_echoing_it(client):
    raw = b'{"mobile": "13800000000", "\\udfff": 1}'
    response = client.post("/api/v1/auth/otp", data=raw, content_type="application/json")
    refused(response, "body")


def test_a_donor_city_with_a_nul_or_a_lone_surrogate_changes_nothing(client, sms):
    donor = register_donor(client, sms)
    headers = bearer(donor["tokens"]["access_token"])
    assert client.patch("/api/v1/me", json={"city": "杭州市"}, headers=headers).status_code == 200
    refused(client.patch("/api/v1/me", json={"city": "宁波" + NUL}, headers=headers), "city")
    raw = b'{"city": "\\udc80"}'
    response = client.patch(
        "/api/v1/me", data=raw, content_type="application/json", headers=headers
    )
    refused(response, "city")
    assert client.get("/api/v1/me", headers=headers).get_json()["city"] == "杭州市"


def test_strings_deep_in_a_body_are_checked(client):
    site = make_site()
    token = staff_token(client, make_staff([site]))
    body = {"site_id": site.id, "donor": {"id_number": "3301" + NUL}, "kind": "whole_blood"}
    headers = {**bearer(token), "Idempotency-Key": "deep-nul-0001"}
    refused(client.post("/api/v1/staff/donations", json=body, headers=headers), "donor.id_number")


def test_a_site_name_with_a_nul_is_refused_and_no_site_is_made(client, app):
    token = staff_token(client, make_staff(admin=True))
    site = {
        "facility_code": "W4402",
        "name": "武林" + NUL,
        "kind": "donation_house",
        "address": "浙江省杭州市",
        "city": "杭州市",
    }
    refused(client.post("/api/v1/admin/sites", json=site, headers=bearer(token)), "name")
    from core.extensions import db

    assert db.session.scalar(db.select(Site).where(Site.facility_code == "W4402")) is None


@pytest.mark.parametrize("header", ["Idempotency-Key", "User-Agent"])
def test_a_nul_in_a_header_that_reaches_the_database_is_refused(client, header):
    site = make_site()
    token = staff_token(client, make_staff([site]))
    headers = {**bearer(token), "Idempotency-Key": "nul-header-01", header: "key-0001" + NUL}
    response = client.post("/api/v1/staff/donations", json={}, headers=headers)
    refused(response, header)


def test_a_nul_in_a_form_body_is_refused(client):
    response = client.post("/webhooks/twilio/status", data={"MessageSid": "SM" + NUL})
    refused(response, "MessageSid")


def test_json_nested_a_thousand_deep_is_400_not_a_recursion_error(client):
    deep = b"[" * 1000 + b"]" * 1000
    for path in ("/api/v1/auth/otp", "/api/v1/auth/staff-login", "/api/v1/donors"):
        response = client.post(path, data=deep, content_type="application/json")
        assert_error_shape(response, 400, "json_too_deep")


def test_json_is_taken_to_its_depth_limit_and_refused_beyond(client):
    def nested(levels: int) -> bytes:
        inner = b'{"a": ' * (levels - 1) + b"1" + b"}" * (levels - 1)
        return b'{"mobile": "13800000000", "x": ' + inner + b"}"

    at_limit = client.post(
        "/api/v1/auth/otp", data=nested(MAX_JSON_DEPTH), content_type="application/json"
    )
    assert_error_shape(at_limit, 422, "validation_failed")  # read, then refused as unknown
    beyond = client.post(
        "/api/v1/auth/otp", data=nested(MAX_JSON_DEPTH + 1), content_type="application/json"
    )
    assert_error_shape(beyond, 400, "json_too_deep")


def test_ordinary_chinese_text_passes(client, sms):
    donor = register_donor(client, sms)
    headers = bearer(donor["tokens"]["access_token"])
    response = client.patch("/api/v1/me", json={"city": "杭州市𠀋"}, headers=headers)
    assert response.status_code == 200
    assert response.get_json()["city"] == "杭州市𠀋"

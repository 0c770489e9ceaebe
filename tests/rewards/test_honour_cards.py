"""Honour cards (issue 14 item 3): a signed card for a tier or award the donor holds, a QR code
limited per donor, verified at /v/h/<number> like a certificate (masked, signed with the same
keyring, checked offline against the same JWKS), withdrawn when what it rests on no longer holds."""

from __future__ import annotations

import json
import subprocess

import jwt

from core.config import PROJECT_ROOT
from tests.factories.rewards import NOT_ON_RECORD, Scheme
from tests.timetravel import at_service_time


def card(client, headers, **query):
    return client.get("/api/v1/me/honours/card", query_string=query, headers=headers)


def verify(client, url_or_number, **headers):
    number = url_or_number.rsplit("/", 1)[-1]
    return client.get(f"/v/h/{number}", headers=headers)


def test_a_bronze_reached_on_the_record_gets_a_card_that_verifies_masked(client, sms):
    # POLICY.md §2: bronze at 20 counts (10 x 400 ml); the page shows the surname only.
    scheme = Scheme(client, sms)
    _, data, headers = scheme.donor(name="张三丰")
    given = scheme.give(data, 10)
    response = card(client, headers, honour="bronze")
    assert response.status_code == 200, response.get_json()
    issued = response.get_json()
    assert issued["url"].endswith(f"/v/h/{issued['number']}")
    checked = verify(client, issued["url"]).get_json()
    assert (checked["status"], checked["signature"]) == ("valid", "valid")
    assert checked["card"]["name"] == "张**"
    assert checked["card"]["honour_name"] == "无偿献血奉献奖铜奖"
    assert (checked["card"]["source"], checked["card"]["on"]) == (
        "record",
        given[-1]["donation_date"],
    )
    text = json.dumps(checked, ensure_ascii=False)
    assert "张三丰" not in text and data["plain"]["id_number"] not in text
    assert card(client, headers, honour="bronze").get_json()["number"] == issued["number"]


def test_a_tier_not_reached_gets_no_card(client, sms):
    # POLICY.md §2: 18 counts are short of bronze; a silver needs 30.
    scheme = Scheme(client, sms)
    _, data, headers = scheme.donor()
    scheme.give(data, 9)
    for query in ({"honour": "bronze"}, {"honour": "gold", "occurrence": 2}, {"award_id": 1}):
        response = card(client, headers, **query)
        assert response.status_code == 409, query
        assert response.get_json()["code"] == "honour_not_held"


def test_the_card_asks_for_an_honour_or_an_award_not_both(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers = scheme.donor()
    for query in ({}, {"honour": "bronze", "award_id": 1}):
        response = card(client, headers, **query)
        assert response.status_code == 422
        assert response.get_json()["errors"] == {"honour": ["请指定一项荣誉或一条表彰记录。"]}


def test_voiding_the_donations_a_tier_rests_on_withdraws_its_card(client, sms):
    # POLICY.md §2 counts valid donations: the card shows withdrawn once the tier no longer holds.
    scheme = Scheme(client, sms)
    _, data, headers = scheme.donor()
    given = scheme.give(data, 10)
    issued = card(client, headers, honour="bronze").get_json()
    voided = client.post(
        f"/api/v1/admin/donations/{given[0]['id']}/void",
        json={"reason": "录入错误"},
        headers=scheme.admin,
    )
    assert voided.status_code == 200
    assert verify(client, issued["url"]).get_json()["status"] == "withdrawn"


def test_an_award_conferred_gets_a_card_with_its_decision_and_revoking_withdraws_it(client, sms):
    scheme = Scheme(client, sms)
    donor, _, headers = scheme.donor()
    grant = scheme.award(donor.id, award="zhijiang_cup", period="2024").get_json()
    issued = card(client, headers, award_id=grant["id"]).get_json()
    checked = verify(client, issued["url"]).get_json()
    assert checked["status"] == "valid"
    assert (checked["card"]["source"], checked["card"]["decision"], checked["card"]["period"]) == (
        "award",
        "国卫医急发〔2025〕11号",
        "2024",
    )
    assert checked["card"]["region_name"] == "浙江省"
    client.post(
        f"/api/v1/admin/awards/{grant['id']}/revoke", json={"reason": "错误"}, headers=scheme.admin
    )
    assert verify(client, issued["url"]).get_json()["status"] == "withdrawn"


def test_another_donors_award_gets_no_card(client, sms):
    scheme = Scheme(client, sms)
    donor, _, _ = scheme.donor()
    _, _, other = scheme.donor()
    grant = scheme.award(donor.id, reason=NOT_ON_RECORD).get_json()
    assert card(client, other, award_id=grant["id"]).status_code == 409


def test_the_card_token_checks_offline_against_the_published_keys(client, sms, tmp_path):
    # Issue 14 item 3: offline-verifiable with the same JWKS as certificates.
    scheme = Scheme(client, sms)
    _, data, headers = scheme.donor()
    scheme.give(data, 10)
    issued = card(client, headers, honour="bronze").get_json()
    keys = client.get("/.well-known/jwks.json").get_json()
    assert jwt.get_unverified_header(issued["signed_token"])["kid"] in {
        k["kid"] for k in keys["keys"]
    }
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(keys))
    script = str(PROJECT_ROOT / "scripts" / "verify-certificate-offline")
    token = issued["signed_token"]
    good = subprocess.run(at_service_time(script, str(jwks), token), capture_output=True, text=True)
    assert good.returncode == 0, good.stdout + good.stderr
    assert issued["number"] in good.stdout and "/v/h/" in good.stdout
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload[:-2]}AA.{signature}"
    bad = subprocess.run(at_service_time(script, str(jwks), forged), capture_output=True, text=True)
    assert bad.returncode == 1 and "NOT VALID" in bad.stdout


def test_the_qr_codes_carry_the_verification_link(client, sms):
    scheme = Scheme(client, sms)
    _, data, headers = scheme.donor()
    scheme.give(data, 10)
    png = client.get("/api/v1/me/honours/card.png?honour=bronze", headers=headers)
    svg = client.get("/api/v1/me/honours/card.svg?honour=bronze", headers=headers)
    assert (png.status_code, png.mimetype) == (200, "image/png")
    assert (svg.status_code, svg.mimetype) == (200, "image/svg+xml")
    assert png.data.startswith(b"\x89PNG")


def test_the_verification_page_for_a_phone_is_chinese_and_masked(client, sms):
    scheme = Scheme(client, sms)
    _, data, headers = scheme.donor(name="李四")
    scheme.give(data, 10)
    issued = card(client, headers, honour="bronze").get_json()
    page = verify(client, issued["url"], Accept="text/html")
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "真实有效" in text and "李*" in text and "李四" not in text
    unknown = client.get("/v/h/2026-AAAA-BBBB-CCCC-DDDD-E", headers={"Accept": "text/html"})
    assert unknown.status_code == 404
    assert client.get("/v/h/2026-AAAA-BBBB-CCCC-DDDD-E").get_json()["code"] == "honour_card_unknown"

"""The donor's certificates, QR codes, public verification and the JWK set."""

from __future__ import annotations

import io
from datetime import timedelta

import jwt
import pytest
import zxingcpp
from PIL import Image

from core import clock
from tests.factories import bearer, donor_record, make_site, make_staff, record, staff_token


def recorded(client, sms, **fields):
    site = make_site(name="武林献血屋")
    token = staff_token(client, make_staff([site]))
    _, data = donor_record(client, sms, name="张三丰")
    response = record(client, token, site, data["plain"]["id_number"], **fields)
    assert response.status_code == 201, response.get_json()
    return data, response.get_json()


def test_a_donor_lists_their_certificates_newest_first(client, sms):
    site = make_site()
    token = staff_token(client, make_staff([site]))
    _, data = donor_record(client, sms)
    with clock.travelled(-timedelta(days=30)):
        first = record(
            client,
            token,
            site,
            data["plain"]["id_number"],
            kind="apheresis_platelets",
            volume_ml=260,
            units=1,
        ).get_json()
    second = record(client, token, site, data["plain"]["id_number"]).get_json()
    page = client.get(
        "/api/v1/me/certificates?per_page=1", headers=bearer(data["tokens"]["access_token"])
    )
    body = page.get_json()
    assert body["page"]["total"] == 2
    assert [item["number"] for item in body["items"]] == [second["certificate"]["number"]]
    assert first["certificate"]["number"] != second["certificate"]["number"]


def test_a_donor_cannot_read_another_donors_certificate(client, sms):
    _, donation = recorded(client, sms)
    _, other = donor_record(client, sms)
    number = donation["certificate"]["number"]
    headers = bearer(other["tokens"]["access_token"])
    assert client.get(f"/api/v1/me/certificates/{number}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/certificates/{number}/qr.png", headers=headers).status_code == 404


def test_the_qr_code_decodes_to_the_verification_url_which_verifies(client, sms):
    data, donation = recorded(client, sms)
    number = donation["certificate"]["number"]
    png = client.get(
        f"/api/v1/certificates/{number}/qr.png", headers=bearer(data["tokens"]["access_token"])
    )
    assert png.mimetype == "image/png"
    decoded = zxingcpp.read_barcodes(
        Image.open(io.BytesIO(png.data)), formats=zxingcpp.BarcodeFormat.QRCode
    )
    assert len(decoded) == 1
    url = decoded[0].text
    assert url.endswith(f"/v/{number}")
    path = url[url.index("/v/") :]
    verified = client.get(path, headers={"Accept": "application/json"}).get_json()
    assert verified["status"] == "valid"
    assert verified["signature"] == "valid"
    assert verified["certificate"]["name"] == "张**"


def test_the_svg_qr_code_is_served(client, sms):
    data, donation = recorded(client, sms)
    svg = client.get(
        f"/api/v1/certificates/{donation['certificate']['number']}/qr.svg",
        headers=bearer(data["tokens"]["access_token"]),
    )
    assert svg.mimetype == "image/svg+xml"
    assert b"<svg" in svg.data


def test_verification_shows_only_masked_data(client, sms):
    data, donation = recorded(client, sms)
    body = client.get(f"/v/{donation['certificate']['number']}").get_json()
    text = str(body)
    assert "张三丰" not in text
    assert data["plain"]["id_number"] not in text
    assert donation["din"].split()[0] not in text
    assert set(body["certificate"]) == {
        "number",
        "name",
        "date",
        "kind",
        "kind_name",
        "amount",
        "unit",
        "site",
        "site_name",
    }


def test_an_unknown_certificate_is_404(client):
    response = client.get("/v/2026-0000-9999-X", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["code"] == "certificate_unknown"


def test_a_phone_browser_gets_a_chinese_page(client, sms):
    _, donation = recorded(client, sms)
    page = client.get(
        f"/v/{donation['certificate']['number']}",
        headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    )
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "真实有效" in html and "张**" in html and "viewport" in html


def test_the_signed_token_verifies_offline_with_the_jwks(client, sms):
    _, donation = recorded(client, sms)
    jwks = client.get("/.well-known/jwks.json").get_json()
    token = donation["certificate"]["signed_token"]
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks["keys"] if k["kid"] == kid)
    claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=["EdDSA"])
    assert claims["no"] == donation["certificate"]["number"]
    assert claims["amount"] == 400 and claims["unit"] == "ml"


def test_a_tampered_token_fails_offline_verification(client, sms):
    _, donation = recorded(client, sms)
    jwks = client.get("/.well-known/jwks.json").get_json()
    header, payload, signature = donation["certificate"]["signed_token"].split(".")
    forged = f"{header}.{payload[:-2]}AA.{signature}"
    key = jwt.PyJWK(jwks["keys"][0]).key
    with pytest.raises(jwt.PyJWTError):
        jwt.decode(forged, key, algorithms=["EdDSA"])


def test_verification_is_rate_limited(app, client, sms):
    _, donation = recorded(client, sms)
    limit = int(app.config["VERIFY_RATE_LIMIT"].split("/")[0])
    path = f"/v/{donation['certificate']['number']}"
    statuses = [
        client.get(path, environ_base={"REMOTE_ADDR": "10.7.7.7"}).status_code
        for _ in range(limit + 1)
    ]
    assert statuses[:limit] == [200] * limit
    assert statuses[-1] == 429
    assert client.get(path, environ_base={"REMOTE_ADDR": "10.7.7.8"}).status_code == 200


def test_the_offline_script_accepts_a_real_token_and_refuses_a_forged_one(client, sms, tmp_path):
    import json
    import subprocess

    from core.config import PROJECT_ROOT
    from tests.timetravel import at_service_time

    _, donation = recorded(client, sms)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(client.get("/.well-known/jwks.json").get_json()))
    script = str(PROJECT_ROOT / "scripts" / "verify-certificate-offline")
    token = donation["certificate"]["signed_token"]
    good = subprocess.run(at_service_time(script, str(jwks), token), capture_output=True, text=True)
    assert good.returncode == 0, good.stdout + good.stderr
    assert donation["certificate"]["number"] in good.stdout
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload[:-2]}AA.{signature}"
    bad = subprocess.run(at_service_time(script, str(jwks), forged), capture_output=True, text=True)
    assert bad.returncode == 1 and "NOT VALID" in bad.stdout

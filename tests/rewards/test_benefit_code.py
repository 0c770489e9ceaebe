"""The rotating benefit code: signed, pseudonymous, short-lived and small as a QR code."""

from __future__ import annotations

import io
from datetime import timedelta

import jwt
import zxingcpp
from PIL import Image

from core import clock
from core.qr import qr_symbol
from rewards.standing import holder_ref
from tests.factories.rewards import Scheme


def test_a_holder_gets_a_signed_code_any_jose_library_verifies_with_the_jwks(client, sms):
    scheme = Scheme(client, sms)
    donor, _, headers, _ = scheme.holder()
    response = client.get("/api/v1/me/benefit-code", headers=headers)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["kinds"] == [
        "urban_public_transport",
        "government_parks_scenic_museums",
        "outpatient_consultation_fee",
    ]
    assert 30 <= body["expires_in"] <= 120
    header = jwt.get_unverified_header(body["code"])
    assert (header["alg"], header["typ"]) == ("EdDSA", "benefit+jwt")
    jwks = client.get("/.well-known/jwks.json").get_json()
    key = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == header["kid"]))
    claims = jwt.decode(body["code"], key.key, algorithms=["EdDSA"])
    assert claims["rg"] == "zhejiang"
    assert claims["bk"] == "tpo"
    assert claims["sub"] == holder_ref(donor.id)
    assert claims["sub"] != str(donor.id) and len(claims["sub"]) >= 16  # a pseudonym, not the id
    assert set(claims) == {"sub", "rg", "bk", "jti", "exp"}


def test_each_code_is_fresh(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    first, second = scheme.code(headers), scheme.code(headers)
    assert first != second
    assert (
        jwt.decode(first, options={"verify_signature": False})["jti"]
        != jwt.decode(second, options={"verify_signature": False})["jti"]
    )


def test_the_pseudonym_differs_between_donors_and_is_not_their_id(client, sms):
    scheme = Scheme(client, sms)
    one, _, _ = scheme.donor()
    two, _, _ = scheme.donor()
    assert holder_ref(one.id) != holder_ref(two.id)
    assert len(holder_ref(one.id)) == 16


def test_the_qr_code_is_small_and_decodes_to_the_code(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    code = scheme.code(headers)
    assert len(code) < 300
    png = client.get("/api/v1/me/benefit-code/qr.png", headers=headers)
    assert png.status_code == 200 and png.mimetype == "image/png"
    [decoded] = zxingcpp.read_barcodes(
        Image.open(io.BytesIO(png.data)), formats=zxingcpp.BarcodeFormat.QRCode
    )
    assert decoded.text.count(".") == 2
    assert decoded.text == decoded.text.strip() and len(decoded.text) == len(code)
    # Version 12 (65 modules a side) or smaller at level M: a turnstile scanner reads it at once.
    assert qr_symbol(code).version <= 12
    svg = client.get("/api/v1/me/benefit-code/qr.svg", headers=headers)
    assert svg.status_code == 200 and svg.data.startswith(b"<?xml")


def test_no_code_without_a_benefit_held(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers = scheme.donor()
    response = client.get("/api/v1/me/benefit-code", headers=headers)
    assert response.status_code == 409
    assert response.get_json()["code"] == "no_benefit_held"
    assert client.get("/api/v1/me/benefit-code/qr.png", headers=headers).status_code == 409


def test_a_code_for_a_region_not_held_is_refused(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    response = client.get("/api/v1/me/benefit-code?region=shandong", headers=headers)
    assert response.status_code == 409


def test_the_code_expires_about_a_minute_after_it_is_shown(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    body = client.get("/api/v1/me/benefit-code", headers=headers).get_json()
    claims = jwt.decode(body["code"], options={"verify_signature": False})
    left = claims["exp"] - clock.now().timestamp()
    assert timedelta(seconds=left) <= timedelta(seconds=body["expires_in"])
    assert left > 0

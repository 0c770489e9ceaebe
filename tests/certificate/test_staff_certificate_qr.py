"""The certificate's QR at the desk: staff of the donation's site show it for the donor to scan,
and a donation recorded without a collection time is collected now, by the service's clock."""

from __future__ import annotations

import io
from datetime import datetime

import zxingcpp
from PIL import Image

from core import clock
from tests.factories import bearer, donor_record, make_site, make_staff, record, staff_token
from tests.factories.notifications import recent_local


def recorded_at(client, sms, site):
    token = staff_token(client, make_staff([site]))
    _, data = donor_record(client, sms, name="张三丰")
    response = record(client, token, site, data["plain"]["id_number"])
    assert response.status_code == 201, response.get_json()
    return token, response.get_json()


def test_staff_of_the_site_get_the_certificates_qr_carrying_its_verification_url(client, sms):
    token, donation = recorded_at(client, sms, make_site())
    png = client.get(
        f"/api/v1/staff/donations/{donation['id']}/certificate-qr.png", headers=bearer(token)
    )
    assert png.status_code == 200
    assert png.mimetype == "image/png"
    (decoded,) = zxingcpp.read_barcodes(
        Image.open(io.BytesIO(png.data)), formats=zxingcpp.BarcodeFormat.QRCode
    )
    assert decoded.text == donation["certificate"]["verify_url"]
    path = decoded.text[decoded.text.index("/v/") :]
    verified = client.get(path, headers={"Accept": "application/json"}).get_json()
    assert verified["status"] == "valid" and verified["signature"] == "valid"


def test_staff_of_another_site_are_answered_as_if_the_donation_did_not_exist(client, sms):
    _, donation = recorded_at(client, sms, make_site())
    elsewhere = staff_token(client, make_staff([make_site()]))
    response = client.get(
        f"/api/v1/staff/donations/{donation['id']}/certificate-qr.png", headers=bearer(elsewhere)
    )
    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"


def test_a_donor_cannot_use_the_staff_qr_route(client, sms):
    _, donation = recorded_at(client, sms, make_site())
    _, other = donor_record(client, sms)
    response = client.get(
        f"/api/v1/staff/donations/{donation['id']}/certificate-qr.png",
        headers=bearer(other["tokens"]["access_token"]),
    )
    assert response.status_code == 403


def test_a_donation_recorded_without_a_collection_time_is_collected_at_the_services_now(
    client, sms
):
    site = make_site()
    token = staff_token(client, make_staff([site]))
    _, data = donor_record(client, sms)
    at = recent_local(10)  # not in the future: the staff's token stays valid
    body = {
        "site_id": site.id,
        "donor": {"id_number": data["plain"]["id_number"]},
        "kind": "whole_blood",
        "volume_ml": 400,
    }
    headers = {**bearer(token), "Idempotency-Key": "no-time-given-1"}
    with clock.frozen_at(at):
        response = client.post("/api/v1/staff/donations", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    assert datetime.fromisoformat(response.get_json()["collected_at"]) == at

"""Check-in: a rotating signed QR code, read by a real QR reader, opens the donor's visit at a
site the staff member serves; expired, forged, replayed and wrong-site codes are refused."""

from __future__ import annotations

import base64
import io
import json
from contextlib import AbstractContextManager
from datetime import datetime, time, timedelta

import jwt
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image
from sqlalchemy import select

from appointments.models import CheckinCodeUse, Visit
from appointments.rules import booking_rules
from core import clock
from core.extensions import db
from core.models import AuditEntry
from core.qr import render_cache
from core.signing import keyring
from tests.factories import bearer, make_site, make_staff, staff_token
from tests.factories.appointments import open_day, quick_donor


def code_of(client, token):
    response = client.get("/api/v1/me/checkin-code", headers=bearer(token))
    assert response.status_code == 200
    return response.get_json()["code"]


def check_in(client, staff, site, **body):
    return client.post(
        "/api/v1/staff/checkins", json={"site_id": site.id, **body}, headers=bearer(staff)
    )


def answer_form(client, token):
    form = client.get("/api/v1/questionnaires/current", headers=bearer(token)).get_json()
    answers = [{"code": q["code"], "answer": False} for q in form["questions"]]
    response = client.post(
        "/api/v1/me/questionnaire",
        json={"version": form["version"], "answers": answers, "consent": True},
        headers=bearer(token),
    )
    assert response.status_code == 201


def early_today() -> AbstractContextManager:
    """08:00 today, local: the day's 09:00 session is still ahead whenever the suite runs."""
    return clock.frozen_at(datetime.combine(clock.local_today(), time(8), clock.LOCAL_ZONE))


def site_and_staff(client):
    site = make_site(name="武林献血屋")
    return site, staff_token(client, make_staff([site]))


def test_the_qr_code_read_by_a_real_reader_checks_the_donor_in(client):
    site, staff = site_and_staff(client)
    donor, token = quick_donor()
    with early_today():
        slots = open_day(site, clock.local_today())
        booked = client.post(
            "/api/v1/me/appointments", json={"slot_id": slots[-1].id}, headers=bearer(token)
        )
        assert booked.status_code == 201
        answer_form(client, token)
        png = client.get("/api/v1/me/checkin-code/qr.png", headers=bearer(token))
        assert png.status_code == 200 and png.mimetype == "image/png"
        assert png.headers["Cache-Control"] == "no-store"
        decoded = zxingcpp.read_barcodes(
            Image.open(io.BytesIO(png.data)), formats=zxingcpp.BarcodeFormat.QRCode
        )
        assert len(decoded) == 1
        response = check_in(client, staff, site, code=decoded[0].text)
    assert response.status_code == 201, response.get_json()
    visit = response.get_json()
    assert visit["status"] == "open" and visit["method"] == "qr"
    assert visit["donor"]["id"] == donor.id
    assert visit["donor"]["name"] == "测****"
    assert "*" in visit["donor"]["id_number"] and donor.id_number not in str(visit)
    assert visit["donor"]["blood_group"]["abo"] == "O"
    assert {e["kind"] for e in visit["eligibility"]} >= {"whole_blood", "apheresis_platelets"}
    assert visit["questionnaire"]["status"] == "valid"
    assert visit["questionnaire"]["result"]["outcome"] == "no_deferral"
    assert len(visit["questionnaire"]["answers"]) > 5
    assert visit["booking"]["id"] and visit["booking"]["status"] == "checked_in"


def ten_today() -> AbstractContextManager:
    """10:00:00 today, local: the start of a rotation step (steps divide the minute)."""
    return clock.frozen_at(datetime.combine(clock.local_today(), time(10), clock.LOCAL_ZONE))


def test_the_svg_and_json_codes_are_served_never_to_be_stored(client):
    _, token = quick_donor()
    svg = client.get("/api/v1/me/checkin-code/qr.svg", headers=bearer(token))
    assert svg.status_code == 200 and b"<svg" in svg.data
    assert svg.headers["Cache-Control"] == "no-store"
    first = client.get("/api/v1/me/checkin-code", headers=bearer(token))
    assert first.headers["Cache-Control"] == "no-store"
    body = first.get_json()
    life = booking_rules("zhejiang").checkin_code_life
    assert 0 < body["expires_in"] <= life.total_seconds()
    claims = jwt.decode(body["code"], options={"verify_signature": False})
    assert set(claims) == {"sub", "jti", "exp"}  # the donor's id only: no name, no ID number


def test_a_code_is_the_same_for_half_its_life_then_rotates(client):
    # Issue 18 item 9: one code per rotation step, so its QR image can be drawn once.
    life = booking_rules("zhejiang").checkin_code_life
    with ten_today():
        _, token = quick_donor()
        first = client.get("/api/v1/me/checkin-code", headers=bearer(token)).get_json()
        assert first["expires_in"] == life.total_seconds()
        with clock.travelled(life / 2 - timedelta(seconds=1)):
            same = client.get("/api/v1/me/checkin-code", headers=bearer(token)).get_json()
        with clock.travelled(life / 2):
            rotated = client.get("/api/v1/me/checkin-code", headers=bearer(token)).get_json()
    assert same["code"] == first["code"] and same["expires_in"] == life.total_seconds() / 2 + 1
    assert rotated["code"] != first["code"]
    assert rotated["expires_in"] == life.total_seconds()
    _, other = quick_donor()
    assert code_of(client, other) != code_of(client, token)


def test_a_scanned_code_is_not_handed_out_again(client):
    site, staff = site_and_staff(client)
    with ten_today():
        _, token = quick_donor()
        scanned = code_of(client, token)
        assert check_in(client, staff, site, code=scanned).status_code == 201
        fresh = code_of(client, token)
        assert fresh != scanned
        assert check_in(client, staff, site, code=fresh).status_code == 200  # the same visit


def test_a_codes_qr_image_is_drawn_once_and_kept_in_a_bounded_cache(app, client, monkeypatch):
    # Issue 18 item 9: drawing costs CPU; the same code's image comes from the cache.
    render_cache.clear()
    monkeypatch.setitem(app.config, "QR_CACHE_ENTRIES", 2)
    life = booking_rules("zhejiang").checkin_code_life
    with ten_today():
        _, token = quick_donor()
        first = client.get("/api/v1/me/checkin-code/qr.png", headers=bearer(token))
        again = client.get("/api/v1/me/checkin-code/qr.png", headers=bearer(token))
        assert again.data == first.data and len(render_cache) == 1
        for step in (1, 2, 3):
            with clock.travelled(life / 2 * step):
                rotated = client.get("/api/v1/me/checkin-code/qr.png", headers=bearer(token))
            assert rotated.status_code == 200 and rotated.data != first.data
    assert len(render_cache) == 2
    render_cache.clear()


def test_qr_images_are_limited_per_donor(app, client, monkeypatch):
    # Issue 18 item 9: each drawing costs CPU; a donor's QR images share one limit.
    monkeypatch.setitem(app.config, "QR_IMAGE_RATE_LIMIT", "3/minute")
    _, token = quick_donor()
    paths = ["qr.png", "qr.svg", "qr.png", "qr.svg"]
    statuses = [
        client.get(f"/api/v1/me/checkin-code/{path}", headers=bearer(token)).status_code
        for path in paths
    ]
    assert statuses == [200, 200, 200, 429]
    _, other = quick_donor()
    assert client.get("/api/v1/me/checkin-code/qr.png", headers=bearer(other)).status_code == 200


def test_an_expired_code_is_refused(client):
    site, staff = site_and_staff(client)
    _, token = quick_donor()
    code = code_of(client, token)
    life = booking_rules("zhejiang").checkin_code_life
    with clock.travelled(life + timedelta(seconds=1)):
        response = check_in(client, staff, site, code=code)
    assert response.status_code == 422
    assert response.get_json()["code"] == "checkin_code_expired"
    assert db.session.scalar(select(Visit.id)) is None


def test_a_forged_code_is_refused(client):
    site, staff = site_and_staff(client)
    donor, token = quick_donor()
    real = code_of(client, token)
    header = jwt.get_unverified_header(real)
    claims = jwt.decode(real, options={"verify_signature": False})
    forged = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers=header)
    head, _, signature = real.split(".")
    altered = json.dumps({**claims, "sub": str(donor.id + 1)}).encode()
    payload = base64.urlsafe_b64encode(altered).rstrip(b"=").decode()
    for code in (forged, f"{head}.{payload}.{signature}", "not-a-code", real + "x"):
        response = check_in(client, staff, site, code=code)
        assert response.status_code == 422, code
        assert response.get_json()["code"] == "checkin_code_invalid"
    assert db.session.scalar(select(Visit.id)) is None


def test_a_code_of_another_type_is_refused(client):
    site, staff = site_and_staff(client)
    donor, _ = quick_donor()
    exp = int((clock.now() + timedelta(minutes=1)).timestamp())
    certificate_like = keyring().sign(
        {"sub": str(donor.id), "jti": "abcdefgh12345678", "exp": exp}, "donation-certificate+jwt"
    )
    response = check_in(client, staff, site, code=certificate_like)
    assert response.status_code == 422 and response.get_json()["code"] == "checkin_code_invalid"


def test_a_replayed_code_is_refused(client):
    site, staff = site_and_staff(client)
    _, token = quick_donor()
    code = code_of(client, token)
    assert check_in(client, staff, site, code=code).status_code == 201
    again = check_in(client, staff, site, code=code)
    assert again.status_code == 409 and again.get_json()["code"] == "checkin_code_used"


def test_a_code_scanned_at_a_site_the_staff_does_not_serve_is_refused_and_kept(client):
    site, staff = site_and_staff(client)
    elsewhere = make_site()
    _, token = quick_donor()
    code = code_of(client, token)
    refused = check_in(client, staff, elsewhere, code=code)
    assert refused.status_code == 403 and refused.get_json()["code"] == "site_not_served"
    assert db.session.scalar(select(CheckinCodeUse.jti)) is None
    assert check_in(client, staff, site, code=code).status_code == 201


def test_scanning_a_fresh_code_again_returns_the_same_visit(client):
    site, staff = site_and_staff(client)
    _, token = quick_donor()
    first = check_in(client, staff, site, code=code_of(client, token)).get_json()
    second = check_in(client, staff, site, code=code_of(client, token))
    assert second.status_code == 200 and second.get_json()["id"] == first["id"]


def test_a_walk_in_is_checked_in_by_id_number(client):
    site, staff = site_and_staff(client)
    donor, _ = quick_donor()
    response = check_in(client, staff, site, id_number=donor.id_number)
    assert response.status_code == 201
    visit = response.get_json()
    assert visit["method"] == "id_number" and visit["booking"] is None
    assert visit["questionnaire"] == {"status": "missing"}
    unknown = check_in(client, staff, site, id_number="110101199003070011")
    assert unknown.status_code == 404 and unknown.get_json()["code"] == "donor_not_found"


def test_give_the_code_or_the_id_number(client):
    site, staff = site_and_staff(client)
    donor, token = quick_donor()
    both = check_in(client, staff, site, code=code_of(client, token), id_number=donor.id_number)
    neither = check_in(client, staff, site)
    assert both.status_code == neither.status_code == 422


def test_staff_of_another_site_see_neither_the_visit_nor_the_answers(client):
    site, staff = site_and_staff(client)
    stranger = staff_token(client, make_staff([make_site()]))
    _, token = quick_donor()
    answer_form(client, token)
    visit = check_in(client, staff, site, code=code_of(client, token)).get_json()
    own = client.get(f"/api/v1/staff/visits/{visit['id']}", headers=bearer(staff))
    assert own.status_code == 200 and own.get_json()["questionnaire"]["answers"]
    other = client.get(f"/api/v1/staff/visits/{visit['id']}", headers=bearer(stranger))
    assert other.status_code == 404 and "answers" not in str(other.get_json())


def test_staff_access_to_a_donor_and_their_answers_is_logged(client):
    site, staff = site_and_staff(client)
    donor, token = quick_donor()
    answer_form(client, token)
    check_in(client, staff, site, code=code_of(client, token))
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert {"visit.opened", "donor.viewed_by_staff", "questionnaire.viewed_by_staff"} <= set(
        actions
    )


def test_staff_close_a_visit_without_a_donation(client):
    site, staff = site_and_staff(client)
    _, token = quick_donor()
    visit = check_in(client, staff, site, code=code_of(client, token)).get_json()
    path = f"/api/v1/staff/visits/{visit['id']}/close"
    closed = client.post(path, json={"outcome": "deferred_at_screening"}, headers=bearer(staff))
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    again = client.post(path, json={"outcome": "left_without_donating"}, headers=bearer(staff))
    assert again.status_code == 409 and again.get_json()["code"] == "visit_not_open"


def test_every_staff_look_at_a_visits_answers_is_logged_once_and_only_then(client):
    # DESIGN.md "Security and privacy": health answers are sensitive; log every staff access.
    site, staff = site_and_staff(client)
    stranger = staff_token(client, make_staff([make_site()]))
    _, token = quick_donor()
    answer_form(client, token)
    visit = check_in(client, staff, site, code=code_of(client, token)).get_json()["id"]
    assert client.get(f"/api/v1/staff/visits/{visit}", headers=bearer(staff)).status_code == 200
    closed = client.post(
        f"/api/v1/staff/visits/{visit}/close", json={"outcome": "other"}, headers=bearer(staff)
    )
    assert closed.status_code == 200
    assert client.get(f"/api/v1/staff/visits/{visit}", headers=bearer(stranger)).status_code == 404
    walk_in, _ = quick_donor()
    assert check_in(client, staff, site, id_number=walk_in.id_number).status_code == 201
    looks = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "questionnaire.viewed_by_staff")
    ).all()
    assert [look.details for look in looks] == [{"visit": visit}] * 3

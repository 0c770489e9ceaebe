"""Face enrolment by the donor: consent first, one usable face, encoding only, erasable."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select, text

from core.extensions import db
from core.models import AuditEntry
from donors import face_engine
from donors.faces import face_policy
from donors.models import FaceConsent, FaceEnrolment
from tests.factories import (
    bearer,
    last_code,
    make_site,
    make_staff,
    register_donor,
    send_code,
    staff_token,
)
from tests.factories.faces import b64, consent, enrol, photo, with_small_face, without_face
from tests.timetravel import later


@pytest.fixture
def donor(client, sms):
    data = register_donor(client, sms)
    return {"id": data["donor"]["id"], "token": data["tokens"]["access_token"], "data": data}


@pytest.fixture
def consenting(client, donor):
    assert consent(client, donor["token"]).status_code == 201
    return donor


def status(client, token):
    return client.get("/api/v1/me/face", headers=bearer(token)).get_json()


def actions() -> list[str]:
    return db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()


def enrolments() -> int:
    return db.session.scalar(select(func.count()).select_from(FaceEnrolment))


# ---------------------------------------------------------------- consent


def test_a_donor_sees_the_consent_text_before_anything_is_enrolled(client, donor):
    body = status(client, donor["token"])
    assert body["enrolled"] is False and body["consent"] is None
    assert body["consent_text"]["version"]
    assert "人脸" in body["consent_text"]["text"]


def test_enrolment_without_consent_is_refused_and_keeps_nothing(client, donor):
    response = enrol(client, donor["token"], "obama_1.jpg")
    assert response.status_code == 403
    assert response.get_json()["code"] == "face_consent_required"
    assert enrolments() == 0


def test_consent_records_the_text_version_time_address_and_device(client, donor):
    response = consent(client, donor["token"])
    assert response.status_code == 201
    assert response.get_json()["current"] is True
    assert "+08:00" in response.get_json()["given_at"]
    row = db.session.scalar(select(FaceConsent))
    policy = face_policy("zhejiang")
    assert (row.version, row.text_sha256) == (policy.consent_version, policy.consent_sha256)
    assert row.client_ip == "127.0.0.1" and row.device == "iPhone 15 / WeChat 8.0"
    stored_ip = db.session.execute(text("SELECT client_ip FROM face_consents")).scalar()
    assert "127.0.0.1" not in stored_ip  # encrypted at rest
    assert "face.consent_given" in actions()


def test_consent_without_a_device_name_records_the_user_agent(client, donor):
    response = client.post(
        "/api/v1/me/face/consent",
        json={"version": face_policy("zhejiang").consent_version, "agree": True},
        headers={**bearer(donor["token"]), "User-Agent": "MiniProgram/3.4"},
    )
    assert response.status_code == 201
    assert db.session.scalar(select(FaceConsent.device)) == "MiniProgram/3.4"


def test_consent_to_an_outdated_text_is_refused(client, donor):
    response = consent(client, donor["token"], version="2020-01-01")
    assert response.status_code == 409
    assert response.get_json()["code"] == "face_consent_outdated"
    assert db.session.scalar(select(func.count()).select_from(FaceConsent)) == 0


def test_consent_must_be_an_explicit_yes(client, donor):
    for agree in (False, "true", None):
        response = consent(client, donor["token"], agree=agree)
        assert response.status_code == 422, agree
    assert db.session.scalar(select(func.count()).select_from(FaceConsent)) == 0


def test_agreeing_twice_to_the_same_text_keeps_one_consent(client, consenting):
    assert consent(client, consenting["token"]).status_code == 201
    assert db.session.scalar(select(func.count()).select_from(FaceConsent)) == 1


# ---------------------------------------------------------------- enrolment


def test_a_donor_enrols_one_face_and_only_its_encoding_is_kept(client, consenting):
    response = enrol(client, consenting["token"], "obama_1.jpg")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["enrolled"] is True and body["photo_kept"] is False
    assert "encoding" not in response.get_data(as_text=True)
    row = db.session.scalar(select(FaceEnrolment))
    assert row.photo_jpeg is None and row.model == face_engine.MODEL
    assert face_engine.unpack(row.encoding).shape == (128,)
    stored = db.session.execute(text("SELECT encoding FROM face_enrolments")).scalar()
    assert stored.startswith("v1:") and "f32:" not in stored  # ciphertext only
    assert "face.enrolled" in actions()


def test_the_enrolled_encoding_is_the_photo_s_encoding(client, consenting, encodings):
    enrol(client, consenting["token"], "obama_2.jpg")
    stored = face_engine.unpack(db.session.scalar(select(FaceEnrolment.encoding)))
    assert abs(stored - encodings["obama_2.jpg"]).max() < 1e-5


def test_a_png_photo_enrols(client, consenting):
    assert enrol(client, consenting["token"], "lacamoire_1.png").status_code == 201


def test_a_data_url_is_accepted(client, consenting):
    response = client.post(
        "/api/v1/me/face",
        json={"photo": "data:image/jpeg;base64," + b64(photo("leslie_1.jpg"))},
        headers=bearer(consenting["token"]),
    )
    assert response.status_code == 201


def test_a_large_photo_is_analysed_downscaled_and_enrols(client, consenting):
    image = Image.open(io.BytesIO(photo("obama_2.jpg")))
    out = io.BytesIO()
    image.resize((image.width * 3, image.height * 3)).save(out, format="JPEG", quality=80)
    assert enrol(client, consenting["token"], out.getvalue()).status_code == 201


def test_the_photo_is_kept_encrypted_only_when_the_donor_asks(client, consenting):
    response = enrol(client, consenting["token"], "obama_1.jpg", keep_photo=True)
    assert response.get_json()["photo_kept"] is True
    stored = db.session.execute(text("SELECT photo_jpeg FROM face_enrolments")).scalar()
    assert stored.startswith("v1:") and not stored.startswith("v1:/9j/")
    kept = client.get("/api/v1/me/face/photo", headers=bearer(consenting["token"]))
    assert kept.status_code == 200 and kept.mimetype == "image/jpeg"
    assert kept.headers["Cache-Control"] == "no-store"
    image = Image.open(io.BytesIO(kept.data))
    assert image.format == "JPEG" and max(image.size) <= 640 and not image.getexif()


def test_no_photo_is_served_when_none_was_kept(client, consenting):
    enrol(client, consenting["token"], "obama_1.jpg")
    response = client.get("/api/v1/me/face/photo", headers=bearer(consenting["token"]))
    assert response.status_code == 404
    assert response.get_json()["code"] == "face_photo_not_kept"


def test_a_donor_sees_only_their_own_kept_photo(client, sms, consenting):
    enrol(client, consenting["token"], "obama_1.jpg", keep_photo=True)
    other = register_donor(client, sms)["tokens"]["access_token"]
    response = client.get("/api/v1/me/face/photo", headers=bearer(other))
    assert response.status_code == 404
    assert status(client, other)["enrolled"] is False


def test_staff_cannot_use_the_donor_face_routes(client, consenting):
    site = make_site()
    token = staff_token(client, make_staff([site]))
    assert client.get("/api/v1/me/face", headers=bearer(token)).status_code == 403
    assert enrol(client, token, "obama_1.jpg").status_code == 403


def test_enrolling_again_replaces_the_face(client, consenting, encodings):
    enrol(client, consenting["token"], "obama_1.jpg", keep_photo=True)
    assert enrol(client, consenting["token"], "biden_1.jpg").status_code == 201
    assert enrolments() == 1
    row = db.session.scalar(select(FaceEnrolment))
    assert abs(face_engine.unpack(row.encoding) - encodings["biden_1.jpg"]).max() < 1e-5
    assert row.photo_jpeg is None
    details = db.session.scalars(
        select(AuditEntry.details).where(AuditEntry.action == "face.enrolled")
    ).all()
    assert [d["replaced"] for d in details] == [False, True]


@pytest.mark.parametrize(
    ("image", "code"),
    [
        (without_face, "face_not_found"),
        ("multi_two_people.jpg", "face_several"),
        ("multi_obama_biden.jpg", "face_several"),
        ("partial_obama.jpg", "face_partial"),
        (with_small_face, "face_too_small"),
    ],
    ids=["no-face", "two-people", "group", "half-a-face", "small-face"],
)
def test_a_photo_without_exactly_one_usable_face_is_refused(client, consenting, image, code):
    data = image() if callable(image) else photo(image)
    response = enrol(client, consenting["token"], data)
    assert response.status_code == 422
    assert response.get_json()["code"] == code
    assert response.get_json()["message"]
    assert enrolments() == 0


def test_an_unreadable_photo_is_refused(client, consenting):
    data = photo("obama_2.jpg")
    response = enrol(client, consenting["token"], data[: len(data) // 3])
    assert response.status_code == 422
    assert response.get_json()["code"] == "face_image_unreadable"


def test_a_gif_is_refused(client, consenting):
    out = io.BytesIO()
    Image.open(io.BytesIO(photo("obama_2.jpg"))).save(out, format="GIF")
    response = enrol(client, consenting["token"], out.getvalue())
    assert response.get_json()["code"] == "face_image_format"


def test_text_that_is_not_base64_is_a_field_error(client, consenting):
    for bad in ("not base64!!", "", "data:image/jpeg,abc"):
        response = client.post(
            "/api/v1/me/face", json={"photo": bad}, headers=bearer(consenting["token"])
        )
        assert response.status_code == 422, bad
        assert "photo" in response.get_json()["errors"]


def test_bad_fields_are_refused_without_change(client, consenting):
    for body in (
        {"photo": b64(photo("obama_1.jpg")), "keep_photo": "maybe"},
        {"photo": b64(photo("obama_1.jpg")), "extra": 1},
        {"photo": 12},
        {},
    ):
        response = client.post("/api/v1/me/face", json=body, headers=bearer(consenting["token"]))
        assert response.status_code == 422, body
    assert enrolments() == 0


def test_a_photo_over_the_size_limit_is_refused(client, app, consenting, monkeypatch):
    monkeypatch.setitem(app.config, "FACE_PHOTO_MAX_BYTES", 50_000)
    response = enrol(client, consenting["token"], "obama_1.jpg")
    assert response.status_code == 413
    assert response.get_json()["code"] == "face_image_too_large"


def test_a_body_over_the_request_limit_is_refused(client, app, consenting, monkeypatch):
    monkeypatch.setitem(app.config, "FACE_REQUEST_MAX_BYTES", 100_000)
    response = enrol(client, consenting["token"], "obama_1.jpg")
    assert response.status_code == 413
    assert response.get_json()["code"] == "payload_too_large"


def test_the_face_route_accepts_bodies_larger_than_other_routes(client, app, consenting):
    image = Image.open(io.BytesIO(photo("obama_3.jpg")))
    out = io.BytesIO()
    image.resize((image.width * 3 // 2, image.height * 3 // 2)).save(out, format="PNG")
    assert len(b64(out.getvalue())) > app.config["MAX_CONTENT_LENGTH"]  # other routes' limit
    assert enrol(client, consenting["token"], out.getvalue()).status_code == 201


# ---------------------------------------------------------------- withdrawal and erasure


def test_withdrawing_consent_erases_the_face_and_photo(client, consenting):
    enrol(client, consenting["token"], "obama_1.jpg", keep_photo=True)
    response = client.delete("/api/v1/me/face", headers=bearer(consenting["token"]))
    assert response.status_code == 204
    assert enrolments() == 0
    consent_row = db.session.scalar(select(FaceConsent))
    assert consent_row.withdrawn_at is not None
    assert consent_row.withdrawal_reason == "donor_withdrew"
    assert "face.erased" in actions()
    body = status(client, consenting["token"])
    assert body["enrolled"] is False and body["consent"] is None


def test_after_withdrawal_enrolling_needs_consent_again(client, consenting):
    enrol(client, consenting["token"], "obama_1.jpg")
    client.delete("/api/v1/me/face", headers=bearer(consenting["token"]))
    response = enrol(client, consenting["token"], "obama_1.jpg")
    assert response.get_json()["code"] == "face_consent_required"
    assert consent(client, consenting["token"]).status_code == 201
    assert enrol(client, consenting["token"], "obama_1.jpg").status_code == 201


def test_withdrawing_with_nothing_enrolled_is_harmless(client, donor):
    assert client.delete("/api/v1/me/face", headers=bearer(donor["token"])).status_code == 204
    assert "face.erased" not in actions()


def test_erasing_the_account_erases_the_face(client, sms, consenting):
    enrol(client, consenting["token"], "obama_1.jpg", keep_photo=True)
    number = consenting["data"]["plain"]["mobile"]
    with later(timedelta(minutes=2)):
        send_code(client, number)
        response = client.post(
            "/api/v1/me/erasure",
            json={"code": last_code(sms, number)},
            headers=bearer(consenting["token"]),
        )
    assert response.status_code == 204
    assert enrolments() == 0
    row = db.session.execute(
        text("SELECT client_ip, device, withdrawn_at, withdrawal_reason FROM face_consents")
    ).one()
    assert (row.client_ip, row.device) == (None, None)
    assert row.withdrawn_at is not None and row.withdrawal_reason == "donor_erased"
    assert "face.erased" in actions() and "donor.erased" in actions()


def test_enrolment_attempts_are_limited_per_donor(client, sms, app, consenting, monkeypatch):
    monkeypatch.setitem(app.config, "FACE_ENROL_RATE_LIMIT", "2/hour")
    unreadable = b"not a photo"
    for _ in range(2):
        assert enrol(client, consenting["token"], unreadable).status_code == 422
    response = enrol(client, consenting["token"], unreadable)
    assert response.status_code == 429
    assert response.get_json()["code"] == "rate_limited"
    other = register_donor(client, sms)["tokens"]["access_token"]
    consent(client, other)
    assert enrol(client, other, unreadable).status_code == 422  # another donor is not limited

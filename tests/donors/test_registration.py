"""Donor registration with a proven mobile number (item 7)."""

from __future__ import annotations

from sqlalchemy import text

from core.extensions import db
from tests.factories import last_code, mobile, register_donor, resident_id, send_code


def test_registration_derives_birth_date_and_sex_and_masks_identifiers(client, sms):
    id_number = resident_id(birth="19850715", male=False)
    data = register_donor(client, sms, id_number=id_number, name="王芳")
    donor = data["donor"]
    assert donor["name"] == "王芳"
    assert donor["birth_date"] == "1985-07-15"
    assert donor["sex"] == "female"
    assert donor["id_number"] == id_number[:6] + "********" + id_number[-4:]
    number = data["plain"]["mobile"]
    assert donor["mobile"] == f"{number[:3]}****{number[-4:]}"
    assert data["tokens"]["access_token"] and data["tokens"]["refresh_token"]


def test_registration_keeps_an_optional_blood_group(client, sms):
    data = register_donor(client, sms, blood_group={"abo": "AB", "rhd": "negative"})
    assert data["donor"]["blood_group"] == {
        "abo": "AB",
        "rhd": "negative",
        "source": "self_reported",
    }


def test_id_number_and_mobile_are_encrypted_at_rest(client, sms):
    data = register_donor(client, sms)
    row = db.session.execute(text("SELECT id_number, mobile, id_number_hash FROM donors")).one()
    assert data["plain"]["id_number"] not in row.id_number
    assert data["plain"]["mobile"][-8:] not in row.mobile
    assert row.id_number.startswith("v1:") and row.mobile.startswith("v1:")
    assert data["plain"]["id_number"] not in row.id_number_hash


def test_a_wrong_check_digit_is_refused(client, sms):
    number = mobile()
    send_code(client, number)
    good = resident_id()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    response = client.post(
        "/api/v1/donors",
        json={"name": "张伟", "id_number": bad, "mobile": number, "code": last_code(sms, number)},
    )
    assert response.status_code == 422
    assert response.get_json()["errors"]["id_number"] == ["身份证号校验位不正确。"]


def test_an_impossible_birth_date_is_refused(client, sms):
    number = mobile()
    send_code(client, number)
    body = "33010219900230123"  # 30 February
    from stdnum.cn import ric

    id_number = body + ric.calc_check_digit(body + "0")
    response = client.post(
        "/api/v1/donors",
        json={
            "name": "张伟",
            "id_number": id_number,
            "mobile": number,
            "code": last_code(sms, number),
        },
    )
    assert response.status_code == 422
    assert "id_number" in response.get_json()["errors"]


def test_a_landline_is_not_a_mobile_number(client):
    response = client.post("/api/v1/auth/otp", json={"mobile": "057187654321"})
    assert response.status_code == 422
    assert "mobile" in response.get_json()["errors"]


def test_registration_needs_the_code_sent_to_that_number(client, sms):
    number = mobile()
    send_code(client, number)
    response = client.post(
        "/api/v1/donors",
        json={
            "name": "张伟",
            "id_number": resident_id(),
            "mobile": number,
            "code": "000000" if last_code(sms, number) != "000000" else "111111",
        },
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "otp_invalid"
    assert db.session.execute(text("SELECT count(*) FROM donors")).scalar() == 0


def test_one_account_per_id_number(client, sms):
    first = register_donor(client, sms)
    number = mobile()
    send_code(client, number)
    response = client.post(
        "/api/v1/donors",
        json={
            "name": "张伟",
            "id_number": first["plain"]["id_number"],
            "mobile": number,
            "code": last_code(sms, number),
        },
    )
    assert response.status_code == 409
    assert response.get_json()["code"] == "id_number_taken"


def test_one_account_per_mobile_number(client, sms):
    first = register_donor(client, sms)
    number = first["plain"]["mobile"]
    client.application.config["OTP_RESEND_AFTER"] = client.application.config["OTP_RESEND_AFTER"]
    from datetime import timedelta

    from core import clock

    with clock.travelled(timedelta(minutes=2)):
        send_code(client, number)
        response = client.post(
            "/api/v1/donors",
            json={
                "name": "李强",
                "id_number": resident_id(),
                "mobile": number,
                "code": last_code(sms, number),
            },
        )
    assert response.status_code == 409
    assert response.get_json()["code"] == "mobile_taken"


def test_a_refused_registration_leaves_the_code_usable(client, sms):
    number = mobile()
    send_code(client, number)
    code = last_code(sms, number)
    bad = client.post(
        "/api/v1/donors",
        json={"name": "", "id_number": resident_id(), "mobile": number, "code": code},
    )
    assert bad.status_code == 422
    good = client.post(
        "/api/v1/donors",
        json={"name": "张伟", "id_number": resident_id(), "mobile": number, "code": code},
    )
    assert good.status_code == 201


def test_a_donor_born_before_their_district_code_existed_can_register(client, sms):
    # GB 11643-1999: the address code is the one in force when the number was issued, so a
    # Hangzhou donor born in 1970 holds a 330102 number although the code dates from 1983.
    data = register_donor(client, sms, id_number=resident_id(birth="19700101", region="330102"))
    assert data["donor"]["birth_date"] == "1970-01-01"


def test_an_address_code_that_never_existed_is_refused(client, sms):
    number = mobile()
    send_code(client, number)
    response = client.post(
        "/api/v1/donors",
        json={
            "name": "张伟",
            "id_number": resident_id(birth="19900101", region="990000"),
            "mobile": number,
            "code": last_code(sms, number),
        },
    )
    assert response.status_code == 422
    assert "id_number" in response.get_json()["errors"]

"""Donor registration with a proven mobile number (item 7), which reveals nobody (issue 18
item 4)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text

from core import clock
from core.extensions import db
from core.models import AuditEntry
from donors.models import Donor
from tests.factories import (
    bearer,
    last_code,
    make_site,
    make_staff,
    mobile,
    register_donor,
    resident_id,
    send_code,
    staff_token,
)
from tests.timetravel import later


def register(client, number, code, id_number, name="张伟"):
    return client.post(
        "/api/v1/donors",
        json={"name": name, "id_number": id_number, "mobile": number, "code": code},
    )


def texts_to(sms, number) -> list[str]:
    return [message.body for message in sms if message.to.endswith(number[-11:])]


def donors() -> int:
    return db.session.scalar(select(func.count()).select_from(Donor))


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


def test_registration_continues_by_sms_with_a_login_code(client, sms):
    number = mobile()
    send_code(client, number)
    response = register(client, number, last_code(sms, number), resident_id())
    assert response.status_code == 202
    body = response.get_json()
    assert set(body) == {"message", "expires_in", "resend_after"}
    assert len(texts_to(sms, number)) == 2  # the registration's code, then a login code
    tokens = client.post(
        "/api/v1/auth/login", json={"mobile": number, "code": last_code(sms, number)}
    )
    assert tokens.status_code == 200
    me = client.get("/api/v1/me", headers=bearer(tokens.get_json()["access_token"]))
    assert me.get_json()["mobile"].endswith(number[-4:])


def test_a_registered_id_number_gets_the_answer_a_free_one_gets(client, sms):
    # Issue 18 item 4: a taken ID number answered 409 id_number_taken.
    holder = register_donor(client, sms)
    with later(timedelta(minutes=2)):
        free_number, taken_number = mobile(), mobile()
        send_code(client, free_number)
        send_code(client, taken_number)
        free = register(client, free_number, last_code(sms, free_number), resident_id())
        taken = register(
            client, taken_number, last_code(sms, taken_number), holder["plain"]["id_number"]
        )
    assert (taken.status_code, taken.get_json()) == (free.status_code, free.get_json())
    assert taken.status_code == 202
    # nothing changed: no account for the other number, the holder's number stays
    assert donors() == 2
    account = db.session.get(Donor, holder["donor"]["id"])
    assert account.mobile == "+86" + holder["plain"]["mobile"]
    with later(timedelta(minutes=4)):
        send_code(client, taken_number)
        login = client.post(
            "/api/v1/auth/login",
            json={"mobile": taken_number, "code": last_code(sms, taken_number)},
        )
    assert login.get_json()["code"] == "not_registered"


def test_the_holder_of_a_registered_id_number_is_told_at_the_number_on_record(client, sms):
    holder = register_donor(client, sms)
    other = mobile()
    with later(timedelta(minutes=2)):
        send_code(client, other)
        register(client, other, last_code(sms, other), holder["plain"]["id_number"])
    (told,) = [text for text in texts_to(sms, holder["plain"]["mobile"]) if "身份证号" in text]
    assert f"{other[:3]}****{other[-4:]}" in told and other not in told
    assert "献血点" in told  # the way forward for a holder whose phone is gone
    (entry,) = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "donor.registration_refused")
    )
    assert (entry.actor_type, entry.target_id) == ("anonymous", str(holder["donor"]["id"]))


def test_the_holder_hears_of_such_attempts_at_most_once_a_day(client, sms, daytime):
    holder = register_donor(client, sms)
    for minutes in (2, 4, 6):
        with clock.travelled(timedelta(minutes=minutes)):
            other = mobile()
            send_code(client, other)
            register(client, other, last_code(sms, other), holder["plain"]["id_number"])
    told = [text for text in texts_to(sms, holder["plain"]["mobile"]) if "身份证号" in text]
    assert len(told) == 1


def test_one_code_tests_one_id_number(client, sms):
    # Issue 18 item 4: one code let a caller test any number of ID numbers (the refusal rolled
    # back, leaving the code usable). The code is spent whatever the outcome.
    holder = register_donor(client, sms)
    number = mobile()
    with later(timedelta(minutes=2)):
        send_code(client, number)
        code = last_code(sms, number)
        assert register(client, number, code, holder["plain"]["id_number"]).status_code == 202
        again = register(client, number, code, resident_id())
    assert (again.status_code, again.get_json()["code"]) == (400, "otp_invalid")
    assert donors() == 1


def test_a_code_refused_for_a_taken_mobile_number_is_spent_too(client, sms):
    number = register_donor(client, sms)["plain"]["mobile"]
    with later(timedelta(minutes=2)):
        send_code(client, number)
        code = last_code(sms, number)
        assert register(client, number, code, resident_id()).status_code == 409
        assert register(client, number, code, resident_id()).get_json()["code"] == "otp_invalid"


def test_a_donor_whose_phone_is_gone_moves_the_account_at_a_site(client, sms):
    site = make_site()
    staff = bearer(staff_token(client, make_staff([site])))
    holder = register_donor(client, sms)
    old_token = holder["tokens"]["access_token"]
    new_number = mobile()
    with later(timedelta(minutes=2)):
        send_code(client, new_number)
        body = {
            "site_id": site.id,
            "id_number": holder["plain"]["id_number"],
            "id_card_checked": True,
            "mobile": new_number,
            "code": last_code(sms, new_number),
        }
        moved = client.post("/api/v1/staff/donor-mobile", json=body, headers=staff)
        assert moved.status_code == 200, moved.get_json()
        assert moved.get_json()["mobile"] == f"{new_number[:3]}****{new_number[-4:]}"
        assert client.get("/api/v1/me", headers=bearer(old_token)).status_code == 401
        assert "更换" in texts_to(sms, holder["plain"]["mobile"])[-1]
        with later(timedelta(minutes=2)):
            send_code(client, new_number)
            login = client.post(
                "/api/v1/auth/login",
                json={"mobile": new_number, "code": last_code(sms, new_number)},
            )
    assert login.status_code == 200
    (entry,) = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "donor.mobile_changed", AuditEntry.actor_type == "staff"
        )
    )
    assert entry.details == {"site": site.id, "proof": "id_card_checked"}


def test_moving_an_account_at_a_site_needs_the_site_and_the_id_card(client, sms):
    served, other_site = make_site(), make_site()
    staff = bearer(staff_token(client, make_staff([served])))
    holder = register_donor(client, sms)
    new_number = mobile()
    body = {
        "site_id": other_site.id,
        "id_number": holder["plain"]["id_number"],
        "id_card_checked": True,
        "mobile": new_number,
        "code": "123456",
    }
    post = client.post
    assert post("/api/v1/staff/donor-mobile", json=body, headers=staff).status_code == 403
    unchecked = {**body, "site_id": served.id, "id_card_checked": False}
    assert post("/api/v1/staff/donor-mobile", json=unchecked, headers=staff).status_code == 422
    unknown = {**body, "site_id": served.id, "id_number": resident_id()}
    response = post("/api/v1/staff/donor-mobile", json=unknown, headers=staff)
    assert response.get_json()["code"] == "donor_not_found"
    donor_token = bearer(holder["tokens"]["access_token"])
    assert post("/api/v1/staff/donor-mobile", json=body, headers=donor_token).status_code == 403


def test_one_account_per_mobile_number(client, sms):
    first = register_donor(client, sms)
    number = first["plain"]["mobile"]
    with later(timedelta(minutes=2)):
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


def test_a_request_refused_before_its_code_is_checked_leaves_the_code_usable(client, sms):
    # A malformed request tells nothing about anyone: its code was never looked at.
    number = mobile()
    send_code(client, number)
    code = last_code(sms, number)
    assert register(client, number, code, resident_id(), name="").status_code == 422
    assert register(client, number, code, resident_id()).status_code == 202


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

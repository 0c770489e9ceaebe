"""Login by SMS one-time code and its limits (item 8)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from core import clock
from core.extensions import db
from tests.factories import bearer, last_code, mobile, register_donor, send_code


def login(client, number, code):
    return client.post("/api/v1/auth/login", json={"mobile": number, "code": code})


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_registered_donor_logs_in_with_the_code(client, sms):
    number = register_donor(client, sms)["plain"]["mobile"]
    with clock.travelled(timedelta(minutes=2)):
        send_code(client, number)
        response = login(client, number, last_code(sms, number))
        assert response.status_code == 200
        me = client.get("/api/v1/me", headers=bearer(response.get_json()["access_token"]))
    assert me.status_code == 200


def test_the_code_is_six_digits_and_stored_only_as_a_hash(client, sms):
    number = mobile()
    send_code(client, number)
    code = last_code(sms, number)
    assert len(code) == 6 and code.isdigit()
    stored = db.session.execute(text("SELECT code_hash FROM one_time_codes")).scalar()
    assert code not in stored and len(stored) == 64


def test_the_same_answer_whether_or_not_the_number_is_registered(client, sms):
    registered = register_donor(client, sms)["plain"]["mobile"]
    with clock.travelled(timedelta(minutes=2)):
        known = send_code(client, registered, ip="10.0.0.1")
        unknown = send_code(client, mobile(), ip="10.0.0.1")
    assert known.status_code == unknown.status_code == 202
    assert known.get_json() == unknown.get_json()


def test_a_code_works_once(client, sms):
    number = register_donor(client, sms)["plain"]["mobile"]
    with clock.travelled(timedelta(minutes=2)):
        send_code(client, number)
        code = last_code(sms, number)
        assert login(client, number, code).status_code == 200
        assert login(client, number, code).get_json()["code"] == "otp_invalid"


def test_a_code_expires_after_five_minutes(client, sms):
    number = register_donor(client, sms)["plain"]["mobile"]
    with clock.travelled(timedelta(minutes=2)):
        send_code(client, number)
        code = last_code(sms, number)
    with clock.travelled(timedelta(minutes=7, seconds=1)):
        response = login(client, number, code)
    assert response.status_code == 400
    assert response.get_json()["code"] == "otp_invalid"


def test_five_wrong_tries_burn_the_code(client, sms):
    number = register_donor(client, sms)["plain"]["mobile"]
    with clock.travelled(timedelta(minutes=2)):
        send_code(client, number)
        code = last_code(sms, number)
        codes = [login(client, number, wrong(code)).get_json()["code"] for _ in range(5)]
        assert codes == ["otp_invalid"] * 4 + ["otp_too_many_attempts"]
        final = login(client, number, code)
    assert final.status_code == 429
    assert final.get_json()["code"] == "otp_too_many_attempts"


def test_a_new_code_replaces_the_previous_one(client, sms):
    number = register_donor(client, sms)["plain"]["mobile"]
    with clock.travelled(timedelta(minutes=2)):
        send_code(client, number)
        old = last_code(sms, number)
    with clock.travelled(timedelta(minutes=3, seconds=5)):
        send_code(client, number)
        new = last_code(sms, number)
        if old != new:
            assert login(client, number, old).status_code == 400
        assert login(client, number, new).status_code == 200


def test_resend_within_60_seconds_is_429_with_retry_after(client, sms):
    number = mobile()
    assert send_code(client, number).status_code == 202
    response = send_code(client, number)
    assert response.status_code == 429
    assert response.get_json()["code"] == "otp_resend_too_soon"
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert len(sms) == 1


def test_daily_cap_per_number(client, app, sms):
    number = mobile()
    cap = app.config["OTP_MAX_PER_NUMBER_PER_DAY"]
    start = clock.now().astimezone(clock.LOCAL_ZONE).replace(hour=1, minute=0)
    with clock.frozen_at(start):
        for minute in range(cap):
            with clock.travelled(timedelta(minutes=2 * minute)):
                assert send_code(client, number, ip=f"10.1.0.{minute}").status_code == 202
        with clock.travelled(timedelta(minutes=2 * cap)):
            response = send_code(client, number, ip="10.2.0.1")
    assert response.status_code == 429
    assert response.get_json()["code"] == "otp_daily_limit"
    assert int(response.headers["Retry-After"]) > 3600


def test_hourly_cap_per_ip(client, app):
    cap = app.config["OTP_MAX_PER_IP_PER_HOUR"]
    for _ in range(cap):
        assert send_code(client, mobile(), ip="10.9.9.9").status_code == 202
    response = send_code(client, mobile(), ip="10.9.9.9")
    assert response.status_code == 429
    assert response.get_json()["code"] == "otp_ip_limit"
    assert "Retry-After" in response.headers
    assert send_code(client, mobile(), ip="10.9.9.10").status_code == 202


def test_an_unregistered_number_with_a_valid_code_is_told_to_register(client, sms):
    number = mobile()
    send_code(client, number)
    response = login(client, number, last_code(sms, number))
    assert response.status_code == 404
    assert response.get_json()["code"] == "not_registered"


def test_an_unregistered_number_with_a_wrong_code_learns_nothing(client, sms):
    number = mobile()
    send_code(client, number)
    response = login(client, number, wrong(last_code(sms, number)))
    assert response.get_json()["code"] == "otp_invalid"

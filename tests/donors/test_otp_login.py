"""Login by SMS one-time code and its limits (item 8; issue 18 items 5 and 6), kept in the
limiter's windows (issue 13 item 5: the OTP_*_LIMIT_* settings).

Tests that read a wait stop the process's clock (`time_machine`): the windows are the store's."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import text

from core import clock, limits
from core.extensions import db
from donors.services import (
    OTP_GUESS_PER_ADDRESS,
    OTP_RESEND_PER_NUMBER,
    OTP_SEND_PER_ADDRESS,
    OTP_SEND_PER_NUMBER,
)
from tests.factories import bearer, last_code, mobile, register_donor, resident_id, send_code
from tests.factories.limits import guess_through_the_longest_window
from tests.timetravel import later


def login(client, number, code, ip="127.0.0.1"):
    return client.post(
        "/api/v1/auth/login",
        json={"mobile": number, "code": code},
        environ_base={"REMOTE_ADDR": ip},
    )


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_registered_donor_logs_in_with_the_code(client, sms):
    number = register_donor(client, sms)["plain"]["mobile"]
    with later(timedelta(minutes=2)):
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
    with later(timedelta(minutes=2)):
        known = send_code(client, registered, ip="10.0.0.1")
        unknown = send_code(client, mobile(), ip="10.0.0.1")
    assert known.status_code == unknown.status_code == 202
    assert known.get_json() == unknown.get_json()


def test_a_code_works_once(client, sms):
    number = register_donor(client, sms)["plain"]["mobile"]
    with later(timedelta(minutes=2)):
        send_code(client, number)
        code = last_code(sms, number)
        assert login(client, number, code).status_code == 200
        assert login(client, number, code).get_json()["code"] == "otp_invalid"


def test_a_code_expires_after_five_minutes(client, sms):
    number = register_donor(client, sms)["plain"]["mobile"]
    with later(timedelta(minutes=2)):
        send_code(client, number)
        code = last_code(sms, number)
    with clock.travelled(timedelta(minutes=7, seconds=1)):
        response = login(client, number, code)
    assert response.status_code == 400
    assert response.get_json()["code"] == "otp_invalid"


def test_five_wrong_tries_burn_the_code(client, sms):
    number = register_donor(client, sms)["plain"]["mobile"]
    with later(timedelta(minutes=2)):
        send_code(client, number)
        code = last_code(sms, number)
        codes = [
            login(client, number, wrong(code), ip=f"10.5.0.{n}").get_json()["code"]
            for n in range(5)
        ]
        assert codes == ["otp_invalid"] * 4 + ["otp_too_many_attempts"]
        final = login(client, number, code)
    assert final.status_code == 429
    assert final.get_json()["code"] == "otp_too_many_attempts"


def test_a_new_code_replaces_the_previous_one(client, sms):
    number = register_donor(client, sms)["plain"]["mobile"]
    with later(timedelta(minutes=2)):
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


def test_daily_cap_per_number_until_beijing_midnight(client, app, sms, time_machine):
    number = mobile()
    cap = limits.windows(OTP_SEND_PER_NUMBER)[0].amount
    resend = limits.windows(OTP_RESEND_PER_NUMBER)[0].get_expiry()
    one_am = clock.now().astimezone(clock.LOCAL_ZONE).replace(hour=1, minute=0, second=0)
    time_machine.move_to(one_am.replace(microsecond=0), tick=False)
    for n in range(cap):
        assert send_code(client, number, ip=f"10.1.0.{n}").status_code == 202
        time_machine.shift(resend)
    response = send_code(client, number, ip="10.2.0.1")
    assert response.status_code == 429
    assert response.get_json()["code"] == "otp_daily_limit"
    to_midnight = (24 - 1) * 3600 - cap * resend
    assert int(response.headers["Retry-After"]) == to_midnight
    time_machine.shift(to_midnight + 1)  # a new Beijing day
    assert send_code(client, number, ip="10.2.0.1").status_code == 202


def test_hourly_cap_per_ip(client, app):
    cap = limits.windows(OTP_SEND_PER_ADDRESS)[0].amount
    for _ in range(cap):
        assert send_code(client, mobile(), ip="10.9.9.9").status_code == 202
    response = send_code(client, mobile(), ip="10.9.9.9")
    assert response.status_code == 429
    assert response.get_json()["code"] == "otp_ip_limit"
    assert "Retry-After" in response.headers
    assert send_code(client, mobile(), ip="10.9.9.10").status_code == 202


def test_a_refused_request_counts_against_no_other_limit(client, app, sms):
    number = mobile()
    assert send_code(client, number, ip="10.9.8.1").status_code == 202
    for _ in range(limits.windows(OTP_SEND_PER_ADDRESS)[0].amount):
        assert send_code(client, number, ip="10.9.8.2").status_code == 429  # too soon
    assert send_code(client, mobile(), ip="10.9.8.2").status_code == 202


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


def test_an_unregistered_number_keeps_its_right_code_for_registering(client, sms):
    number = mobile()
    send_code(client, number)
    code = last_code(sms, number)
    assert login(client, number, code).get_json()["code"] == "not_registered"
    registered = client.post(
        "/api/v1/donors",
        json={"name": "张伟", "id_number": resident_id(), "mobile": number, "code": code},
    )
    assert registered.status_code == 202


def test_one_address_cannot_burn_a_donors_code_without_waiting(client, app, sms, time_machine):
    # Issue 18 item 6: anyone could burn any number's current code with five guesses.
    number = register_donor(client, sms)["plain"]["mobile"]
    free = limits.windows(OTP_GUESS_PER_ADDRESS)[0]
    assert free.amount < app.config["OTP_MAX_ATTEMPTS"]
    time_machine.move_to(clock.now() + timedelta(minutes=2), tick=False)
    send_code(client, number)
    code = last_code(sms, number)
    for _ in range(free.amount):
        assert login(client, number, wrong(code), ip="10.6.6.6").status_code == 400
    throttled = login(client, number, wrong(code), ip="10.6.6.6")
    assert throttled.status_code == 429
    assert throttled.get_json()["code"] == "otp_guess_throttled"
    assert int(throttled.headers["Retry-After"]) == free.get_expiry()
    # the throttled guess was never checked: the donor's code still works
    assert login(client, number, code, ip="192.0.2.1").status_code == 200


def test_an_address_that_keeps_guessing_waits_for_each_window_in_turn(client, app, time_machine):
    number = mobile()  # no code was sent: every guess is wrong, and no code runs out

    def guess():
        return login(client, number, "123456", ip="10.7.7.7")

    guessing = guess_through_the_longest_window(
        guess, OTP_GUESS_PER_ADDRESS, "otp_guess_throttled", time_machine
    )
    windows = limits.windows(OTP_GUESS_PER_ADDRESS)
    assert guessing.checked == windows[-1].amount
    assert guessing.waits[0] == windows[0].get_expiry()
    assert max(guessing.waits) == guessing.waits[-1] > guessing.waits[0]
    assert guess().status_code == 400


def test_right_codes_from_one_address_do_not_slow_it(client, sms):
    # A donation house's Wi-Fi: many donors, one address, only wrong codes count.
    for _ in range(2 * limits.windows(OTP_GUESS_PER_ADDRESS)[-1].amount):
        number = mobile()
        send_code(client, number, ip="10.5.5.5")
        assert login(client, number, last_code(sms, number), ip="10.5.5.5").status_code == 404


@pytest.mark.committed_db
def test_parallel_wrong_codes_are_checked_at_most_five_times_and_burn_the_code(app, sms, client):
    # Issue 18 item 5: on SQLite 27 of 40 wrong guesses were checked and the right code worked.
    number = mobile()
    send_code(client, number)
    code = last_code(sms, number)

    def guess(n):
        with app.app_context(), app.test_client() as other:
            return login(other, number, wrong(code), ip=f"10.8.{n}.1").get_json()["code"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(guess, range(40)))
    limit = app.config["OTP_MAX_ATTEMPTS"]
    assert answers.count("otp_invalid") == limit - 1
    assert answers.count("otp_too_many_attempts") == 40 - (limit - 1)
    db.session.expire_all()
    assert db.session.execute(text("SELECT attempts FROM one_time_codes")).scalar() == limit
    assert login(client, number, code, ip="192.0.2.2").get_json()["code"] == (
        "otp_too_many_attempts"
    )


@pytest.mark.committed_db
def test_parallel_wrong_codes_from_one_address_leave_the_code_to_its_holder(app, sms, client):
    number = register_donor(client, sms)["plain"]["mobile"]
    with later(timedelta(minutes=2)):
        send_code(client, number)
        code = last_code(sms, number)

        def guess(_):
            with app.app_context(), app.test_client() as other:
                return login(other, number, wrong(code), ip="10.9.0.1").status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(guess, range(40)))
        free = limits.windows(OTP_GUESS_PER_ADDRESS)[0].amount
        assert sorted(answers) == [400] * free + [429] * (40 - free)
        assert login(client, number, code, ip="192.0.2.3").status_code == 200


@pytest.mark.committed_db
def test_one_right_code_sent_twice_at_once_logs_in_once(app, sms, client):
    number = register_donor(client, sms)["plain"]["mobile"]
    with later(timedelta(minutes=2)):
        send_code(client, number)
        code = last_code(sms, number)

        def use(n):
            with app.app_context(), app.test_client() as other:
                return login(other, number, code, ip=f"10.10.0.{n}").status_code

        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(use, range(4)))
    assert sorted(answers) == [200, 400, 400, 400]


@pytest.mark.committed_db
def test_parallel_requests_for_one_number_send_one_code(app, sms):
    # Issue 18 item 5 (limits that hold under parallel requests): the resend wait is checked in
    # turn, so a burst of requests cannot pump texts to one number.
    number = mobile()

    def ask(n):
        with app.app_context(), app.test_client() as other:
            return send_code(other, number, ip=f"10.11.{n}.1").status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, range(20)))
    assert sorted(answers) == [202] + [429] * 19
    assert len(sms) == 1


@pytest.mark.committed_db
def test_parallel_requests_from_one_address_stop_at_its_hourly_cap(app, sms):
    cap = limits.windows(OTP_SEND_PER_ADDRESS)[0].amount
    numbers = [mobile() for _ in range(cap + 10)]

    def ask(number):
        with app.app_context(), app.test_client() as other:
            return send_code(other, number, ip="10.12.0.1").status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, numbers))
    assert sorted(answers) == [202] * cap + [429] * 10
    assert len(sms) == cap

"""Staff and admin password login: bounded per address and per account, locking out nobody else
(issue 18 items 5 and 6), in the limiter's windows (issue 13 item 5: STAFF_LOGIN_LIMIT_PER_ADDRESS
and STAFF_LOGIN_LIMIT_PER_ACCOUNT).

Tests that read a wait stop the process's clock (`time_machine`): the windows are the store's."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from sqlalchemy import select

from app import create_app
from core import clock, limits
from core.extensions import db
from core.models import AuditEntry
from sites import services
from sites.services import STAFF_LOGIN_PER_ACCOUNT, STAFF_LOGIN_PER_ADDRESS
from tests.factories import bearer, make_site, make_staff, staff_token
from tests.factories.limits import guess_through_the_longest_window

RIGHT = "correct-horse-1"


def login(client, username, password, ip="10.0.0.1"):
    return client.post(
        "/api/v1/auth/staff-login",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": ip},
    )


def lock(client, app, user) -> None:
    """Lock the account from as many addresses, one wrong password each (none is throttled)."""
    for n in range(_first(STAFF_LOGIN_PER_ACCOUNT).amount):
        assert login(client, user.username, "nope", ip=f"10.66.0.{n}").status_code == 401
    assert services.login_lock(user).waiting


def _first(budget: str):
    return limits.windows(budget)[0]


def _longest(budget: str):
    return limits.windows(budget)[-1]


def actions(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_staff_log_in_and_see_their_sites(client):
    site = make_site()
    user = make_staff([site])
    response = login(client, user.username, RIGHT)
    assert response.status_code == 200
    me = client.get("/api/v1/staff/me", headers=bearer(response.get_json()["access_token"]))
    assert me.get_json()["role"] == "staff"
    assert [s["id"] for s in me.get_json()["sites"]] == [site.id]


def test_passwords_are_stored_as_scrypt_hashes(app):
    user = make_staff()
    assert user.password_hash.startswith("scrypt:")
    assert RIGHT not in user.password_hash


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(client):
    user = make_staff()
    wrong = login(client, user.username, "nope")
    unknown = login(client, "nobody", "nope")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()


def test_a_locked_account_answers_as_an_unknown_name_does(client, app):
    # Issue 18 item 6: a locked account answered 429 account_locked, an unknown name 401.
    user = make_staff()
    lock(client, app, user)
    locked = login(client, user.username, RIGHT, ip="10.66.0.0")  # an address that failed
    unknown = login(client, "nobody-at-all", RIGHT, ip="10.66.0.1")
    assert locked.status_code == unknown.status_code == 401
    assert locked.get_json() == unknown.get_json()
    assert locked.get_json()["code"] == "login_failed"
    assert "Retry-After" not in locked.headers and "Retry-After" not in unknown.headers


def test_the_right_password_from_an_address_with_no_failures_logs_in_to_a_locked_account(
    client, app
):
    # Issue 18 item 6: five wrong passwords from anyone kept `admin` locked for everyone.
    admin = make_staff(admin=True)
    lock(client, app, admin)
    assert login(client, admin.username, RIGHT, ip="10.66.0.3").status_code == 401
    assert login(client, admin.username, RIGHT, ip="192.0.2.10").status_code == 200
    # The login it let through does not end the lock for the addresses that failed.
    assert login(client, admin.username, RIGHT, ip="10.66.0.4").status_code == 401


def test_an_address_that_keeps_failing_waits_before_its_passwords_are_checked(
    client, app, time_machine
):
    time_machine.move_to(clock.now(), tick=False)
    user = make_staff()
    free = _first(STAFF_LOGIN_PER_ADDRESS)
    for _ in range(free.amount):
        assert login(client, user.username, "nope").status_code == 401
    throttled = login(client, user.username, RIGHT)
    assert throttled.status_code == 429
    assert throttled.get_json()["code"] == "login_throttled"
    assert int(throttled.headers["Retry-After"]) == free.get_expiry()
    # Whichever account it tries: the address waits, not the name.
    assert login(client, "someone-else", "nope").status_code == 429
    time_machine.shift(free.get_expiry())
    assert login(client, user.username, RIGHT).status_code == 200
    # Refused attempts were never checked, so the account is not locked.
    assert not services.login_lock(user).waiting


def test_an_address_that_keeps_failing_waits_for_each_window_in_turn(client, app, time_machine):
    user = make_staff()
    guessing = guess_through_the_longest_window(
        lambda: login(client, user.username, "nope", ip="10.55.0.1"),
        STAFF_LOGIN_PER_ADDRESS,
        "login_throttled",
        time_machine,
    )
    windows = limits.windows(STAFF_LOGIN_PER_ADDRESS)
    assert guessing.checked == windows[-1].amount
    assert guessing.waits[0] == windows[0].get_expiry()
    assert max(guessing.waits) == guessing.waits[-1] > guessing.waits[0]
    assert login(client, user.username, RIGHT, ip="10.55.0.1").status_code == 200


def test_one_address_cannot_lock_an_account_before_it_is_slowed(client, app):
    user = make_staff()
    answers = [login(client, user.username, "nope").status_code for _ in range(10)]
    free = _first(STAFF_LOGIN_PER_ADDRESS).amount
    assert answers == [401] * free + [429] * (10 - free)
    assert free < _first(STAFF_LOGIN_PER_ACCOUNT).amount
    assert services.login_lock(user) == limits.Standing(free, 0.0)


def test_the_lock_grows_once_failures_go_on(client, app, time_machine):
    time_machine.move_to(clock.now(), tick=False)
    user = make_staff()
    first, longest = _first(STAFF_LOGIN_PER_ACCOUNT), _longest(STAFF_LOGIN_PER_ACCOUNT)
    lock(client, app, user)
    assert services.login_lock(user).wait_seconds == first.get_expiry()
    for n in range(longest.amount - first.amount):
        assert login(client, user.username, "still-wrong", ip=f"10.77.0.{n}").status_code == 401
    assert services.login_lock(user).wait_seconds == longest.get_expiry()
    time_machine.shift(longest.get_expiry() - 1)
    assert login(client, user.username, "wrong-again", ip="10.77.1.1").status_code == 401
    assert login(client, user.username, RIGHT, ip="10.77.1.1").status_code == 401
    time_machine.shift(1)
    assert login(client, user.username, RIGHT, ip="10.77.1.1").status_code == 200
    assert len(actions("staff.locked")) == 2  # each lock once: the first window's, the day's


def test_the_lock_is_never_longer_than_the_longest_window(client, app, time_machine):
    time_machine.move_to(clock.now(), tick=False)
    user = make_staff()
    for n in range(30):
        login(client, user.username, "nope", ip=f"10.88.{n}.1")
    longest = _longest(STAFF_LOGIN_PER_ACCOUNT)
    assert services.login_lock(user) == limits.Standing(30, longest.get_expiry())


def test_a_successful_login_forgets_earlier_failures(client, app):
    user = make_staff()
    for n in range(_first(STAFF_LOGIN_PER_ACCOUNT).amount - 1):
        login(client, user.username, "nope", ip=f"10.99.0.{n}")
    assert login(client, user.username, RIGHT, ip="192.0.2.20").status_code == 200
    assert login(client, user.username, "nope", ip="10.99.1.1").status_code == 401
    assert services.login_lock(user) == limits.Standing(1, 0.0)


def test_an_administrator_unlocks_an_account_and_it_is_audited(client, app):
    admin = make_staff(admin=True)
    admin_token = staff_token(client, admin)
    user = make_staff()
    lock(client, app, user)
    staff = staff_token(client, make_staff(), password=RIGHT)
    path = f"/api/v1/admin/staff/{user.id}/unlock"
    assert client.post(path, headers=bearer(staff)).status_code == 403
    response = client.post(path, json={"reason": "rang her back"}, headers=bearer(admin_token))
    assert response.status_code == 200
    assert response.get_json() == {"id": user.id, "username": user.username, "was_locked": True}
    assert login(client, user.username, RIGHT, ip="10.66.0.0").status_code == 200
    (entry,) = actions("staff.unlocked")
    assert (entry.actor_type, entry.actor_id, entry.target_id) == ("staff", admin.id, str(user.id))
    assert entry.details["reason"] == "rang her back"
    assert (
        client.post("/api/v1/admin/staff/999999/unlock", headers=bearer(admin_token)).status_code
        == 404
    )


def test_the_shell_unlocks_an_account_and_it_is_audited(client, app):
    user = make_staff()
    lock(client, app, user)
    listed = app.test_cli_runner().invoke(args=["users", "list"]).output.splitlines()
    assert [line.split()[2] for line in listed if user.username in line] == ["locked"]
    result = app.test_cli_runner().invoke(args=["users", "unlock", user.username])
    assert result.exit_code == 0, result.output
    assert login(client, user.username, RIGHT, ip="10.66.0.0").status_code == 200
    (entry,) = actions("staff.unlocked")
    assert entry.actor_type == "shell" and entry.details["was_locked"] is True
    again = app.test_cli_runner().invoke(args=["users", "unlock", user.username])
    assert "was not locked" in again.output


def test_the_shell_says_it_cannot_see_a_servers_counts_in_memory(app):
    # With the development store each process counts apart: a shell's unlock reaches no server.
    user = make_staff()
    result = app.test_cli_runner().invoke(args=["users", "unlock", user.username])
    assert "RATELIMIT_STORAGE_URI" in result.stderr
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"


@pytest.mark.committed_db
def test_parallel_wrong_passwords_from_one_address_are_checked_only_within_its_budget(app):
    # Issue 18 item 5: limits must hold under parallel requests, on both databases.
    user = make_staff()
    username = user.username

    def attempt(_):
        with app.app_context(), app.test_client() as other:
            return login(other, username, "nope", ip="10.123.0.1").status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(attempt, range(24)))
    free = _first(STAFF_LOGIN_PER_ADDRESS).amount
    assert sorted(answers) == [401] * free + [429] * (24 - free)
    assert services.login_lock(user).failures == free


@pytest.mark.committed_db
def test_parallel_wrong_passwords_from_many_addresses_are_all_counted(app):
    user = make_staff()
    username = user.username

    def attempt(n):
        with app.app_context(), app.test_client() as other:
            return login(other, username, "nope", ip=f"10.124.0.{n}").status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(attempt, range(16)))
    assert answers == [401] * 16
    standing = services.login_lock(user)
    assert standing.failures == 16
    assert standing.wait_seconds > _first(STAFF_LOGIN_PER_ACCOUNT).get_expiry()


@pytest.fixture
def behind_a_proxy(app: Flask, database_url: str) -> Iterator[Flask]:
    built = create_app(
        {"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": database_url, "TRUSTED_PROXY_HOPS": 1}
    )
    with built.app_context():
        yield built
        db.session.remove()
        db.engine.dispose()


def test_behind_a_proxy_each_client_address_is_limited_on_its_own(behind_a_proxy):
    username = make_staff().username
    client = behind_a_proxy.test_client()

    def from_client(address, password):
        return client.post(
            "/api/v1/auth/staff-login",
            json={"username": username, "password": password},
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
            headers={"X-Forwarded-For": address},
        )

    for _ in range(_first(STAFF_LOGIN_PER_ADDRESS).amount):
        assert from_client("198.51.100.7", "nope").status_code == 401
    assert from_client("198.51.100.7", "nope").status_code == 429
    assert from_client("198.51.100.8", RIGHT).status_code == 200


def test_a_disabled_user_cannot_log_in_and_loses_open_sessions(client):
    user = make_staff()
    token = login(client, user.username, RIGHT).get_json()["access_token"]
    services.disable_staff(user)
    db.session.commit()
    assert client.get("/api/v1/staff/me", headers=bearer(token)).status_code == 401
    response = login(client, user.username, RIGHT)
    assert response.status_code == 403
    assert response.get_json()["code"] == "account_disabled"

"""One limiter for every limit (issue 13 item 5): guess budgets in Flask-Limiter's store, counted
before a guess is checked, shared by every server process when the store is Redis."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests

from core import limits
from core.extensions import db
from ops.machine import free_port
from sites.services import STAFF_LOGIN_PER_ADDRESS
from tests.factories import make_staff
from tests.wsgiserver import serving

BUDGET = "OTP_GUESS_LIMIT_PER_ADDRESS"


def test_a_right_guess_gives_its_count_back_only_once_its_request_commits(app):
    attempt = limits.take(BUDGET, "an-address")
    attempt.give_back()
    db.session.rollback()
    assert limits.standing(BUDGET, "an-address").failures == 1
    attempt.give_back()
    db.session.commit()
    assert limits.standing(BUDGET, "an-address").failures == 0


def test_a_refused_guess_leaves_the_window_at_its_amount(app):
    first = limits.windows(BUDGET)[0]
    for _ in range(first.amount):
        limits.take(BUDGET, "busy")
    for _ in range(5):
        with pytest.raises(limits.Throttled):
            limits.take(BUDGET, "busy")
    assert limits.standing(BUDGET, "busy").failures == first.amount


def test_keys_and_budgets_count_apart(app):
    limits.take(BUDGET, "one")
    limits.take("STAFF_LOGIN_LIMIT_PER_ADDRESS", "one")
    assert limits.standing(BUDGET, "one").failures == 1
    assert limits.standing(BUDGET, "two").failures == 0


def _login(base: str, username: str) -> int:
    return requests.post(
        f"{base}/api/v1/auth/staff-login",
        json={"username": username, "password": "wrong-password"},
        timeout=30,
    ).status_code


@pytest.mark.committed_db
def test_two_server_processes_check_one_addresses_passwords_within_one_budget(
    app, database_url, redis_server
):
    store = redis_server.url.removesuffix("/0") + "/1"
    redis.Redis.from_url(store).flushdb()
    username = make_staff().username
    env = {"DATABASE_URL": database_url, "RATELIMIT_STORAGE_URI": store}
    with serving(env) as one, serving(env) as other:
        servers = [one, other] * 12
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(_login, servers, [username] * len(servers)))
    free = limits.windows(STAFF_LOGIN_PER_ADDRESS)[0].amount
    assert sorted(answers) == [401] * free + [429] * (len(servers) - free)


def test_a_store_that_cannot_be_reached_answers_503_and_checks_nothing(app, database_url):
    unreachable = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    env = {"DATABASE_URL": database_url, "RATELIMIT_STORAGE_URI": unreachable}
    with serving(env) as base:
        answer = requests.post(
            f"{base}/api/v1/auth/staff-login",
            json={"username": "anyone", "password": "wrong-password"},
            timeout=30,
        )
    assert answer.status_code == 503
    assert answer.json()["code"] == "service_unavailable"

"""Nothing lives in one process (issue 17 item 2): rate limits, replay refusal and the scheduler's
single run of each job hold across the production set's two app instances and two Celery
workers; behind nginx the app counts the client's address, not the proxy's."""

from __future__ import annotations

import time
from functools import partial

import psycopg
import pytest
from celery import Celery

from bench import load
from ops.production import ProductionSet
from tests.ops.conftest import login_code

DEMO_MOBILE = "13800000001"  # 张伟, who holds Zhejiang's three frees in the demo data


# One request from the loopback address `source` (127.0.0.x: a different client), on a
# connection of its own.
call = partial(load.request, fresh=True)


def donor_token(production: ProductionSet) -> str:
    status, _ = call(production.url, "POST", "/api/v1/auth/otp", {"mobile": DEMO_MOBILE})
    assert status in (200, 202)  # 202: a Celery worker sends it
    code = login_code(production, "+86" + DEMO_MOBILE)
    status, tokens = call(
        production.url, "POST", "/api/v1/auth/login", {"mobile": DEMO_MOBILE, "code": code}
    )
    assert status == 200, tokens
    return tokens["access_token"]


def test_a_login_code_sent_by_one_instance_holds_back_a_resend_from_the_other(production):
    first, second = production.instance_urls
    number = {"mobile": "13800000002"}
    assert call(first, "POST", "/api/v1/auth/otp", number)[0] in (200, 202)
    status, refused = call(second, "POST", "/api/v1/auth/otp", number)
    assert status == 429, refused
    assert refused["code"] == "otp_resend_too_soon"


def test_a_benefit_code_used_at_one_instance_is_refused_at_the_other(production):
    first, second = production.instance_urls
    status, code = call(
        production.url, "GET", "/api/v1/me/benefit-code", token=donor_token(production)
    )
    assert status == 200, code
    client_id, secret = production.demo_device("gate")
    status, device = call(
        production.url,
        "POST",
        "/api/v1/auth/device-token",
        {"client_id": client_id, "client_secret": secret},
    )
    assert status == 200, device
    gate = device["access_token"]
    status, allowed = call(first, "POST", "/api/v1/gate/verify", {"code": code["code"]}, gate)
    assert (status, allowed["decision"]) == (200, "allow"), allowed
    status, again = call(second, "POST", "/api/v1/gate/verify", {"code": code["code"]}, gate)
    assert (status, again["decision"], again["reason"]) == (200, "deny", "replayed"), again


def staff_login(url: str, username: str, password: str) -> str:
    body = {"username": username, "password": password}
    status, tokens = call(url, "POST", "/api/v1/auth/staff-login", body)
    assert status == 200, tokens
    return tokens["access_token"]


def test_a_session_ended_at_one_instance_is_refused_at_the_other(production):
    first, second = production.instance_urls
    token = staff_login(first, "admin", "demo-admin-pass")
    assert call(second, "GET", "/api/v1/staff/me", token=token)[0] == 200
    assert call(first, "POST", "/api/v1/auth/logout", token=token)[0] in (200, 204)
    status, refused = call(second, "GET", "/api/v1/staff/me", token=token)
    assert (status, refused["code"]) == (401, "token_revoked"), refused


def test_a_donation_retried_at_the_other_instance_is_answered_as_the_first_time(production):
    # 李强 of the demo data has never donated; the retry carries the same Idempotency-Key.
    first, second = production.instance_urls
    token = staff_login(production.url, "wulin", "demo-staff-pass")
    status, me = call(production.url, "GET", "/api/v1/staff/me", token=token)
    site_id = me["sites"][0]["id"]
    body = {
        "site_id": site_id,
        "donor": {"id_number": "360426199101010071"},
        "kind": "whole_blood",
        "volume_ml": 400,
    }
    key = {"Idempotency-Key": "ops-retry-0001"}
    status, recorded = call(first, "POST", "/api/v1/staff/donations", body, token, headers=key)
    assert status == 201, recorded
    again_status, again = call(second, "POST", "/api/v1/staff/donations", body, token, headers=key)
    assert (again_status, again["id"]) == (201, recorded["id"])
    assert again["certificate"]["number"] == recorded["certificate"]["number"]


def test_behind_nginx_each_client_address_has_its_own_login_budget(production):
    # TRUSTED_PROXY_HOPS=1: the address nginx saw (127.0.0.2 or .3), not nginx's own, and not
    # what a client writes in X-Forwarded-For itself.
    wrong = {"username": "wulin", "password": "not-the-password"}
    statuses = [
        call(production.url, "POST", "/api/v1/auth/staff-login", wrong, source="127.0.0.2")[0]
        for _ in range(4)
    ]
    assert statuses[:3] == [401, 401, 401] and statuses[3] == 429, statuses
    other = call(production.url, "POST", "/api/v1/auth/staff-login", wrong, source="127.0.0.3")
    assert other[0] == 401, other


def test_concurrent_scheduler_ticks_on_two_workers_run_each_daily_job_once(production):
    broker = Celery(broker=production.environment()["CELERY_BROKER_URL"])
    for _ in range(8):
        broker.send_task("notifications.tick")
    dsn = production.database_url.replace("postgresql+psycopg://", "postgresql://")
    deadline = time.monotonic() + 60
    with psycopg.connect(dsn, autocommit=True) as connection:
        while True:
            runs = connection.execute(
                "SELECT job, day, count(*) FROM notification_schedule_runs GROUP BY job, day"
            ).fetchall()
            queued = broker.connection_for_write().default_channel.client.llen("celery")
            if runs and queued == 0:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"the ticks did not run: {runs}, {queued} queued")
            time.sleep(0.5)
        time.sleep(3)  # the last ticks taken off the queue finish
        runs = connection.execute(
            "SELECT job, day, count(*) FROM notification_schedule_runs GROUP BY job, day"
        ).fetchall()
    assert runs and all(count == 1 for _, _, count in runs), runs
    log = "".join(worker.log_path.read_text(errors="replace") for worker in production.workers)
    assert log.count("notifications.tick") >= 8  # both workers took ticks
    assert all("notifications.tick" in worker.log_path.read_text() for worker in production.workers)


def test_under_the_load_script_no_log_line_of_any_server_holds_personal_data(production):
    # Issue 17 item 6: the load script's mixed workload (registrations' codes, logins, card and
    # certificate reads, gate checks, bookings, donations, verifications) through nginx, then
    # every line of every server (app instances, Celery, nginx) scanned for ID numbers, mobile
    # numbers, tokens and the codes texted.
    seeded = load.seed_apart(production, donors_per_phase=120, codes_per_phase=120, bookers=8)
    tally, _ = load.Workload(production.url, seeded, 0, clients=4, seconds=6).run()
    assert sum(len(times) for times in tally.latencies.values()) > 50  # the load did run
    lines = load.log_lines(production)
    assert len(lines) > 100
    assert load.find_personal_data(lines, load.sent_codes(production)) == []

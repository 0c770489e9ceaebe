"""Structured logs with a request id, from the app and from the Celery worker (issue 17 item 7).

The JSON lines are read where they are written, the process's stderr (a Celery worker's is its
log file); the lines a request causes are the dispatcher's, which sends its login code inline.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime

import pytest

from app import create_app
from core import logs
from core.config import ConfigError, load_config
from core.extensions import db
from tests.notifications.test_celery import celery_worker, statuses, wait_for


@pytest.fixture
def json_lines(capfd):
    """The process logs JSON lines for the test (as production does); read them as objects."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    logs.configure_logging("json")
    capfd.readouterr()

    def read() -> list[dict]:
        written = capfd.readouterr().err.splitlines()
        return [json.loads(line) for line in written if line.startswith("{")]

    yield read
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def send_code(client, number: str, headers: dict[str, str] | None = None):
    return client.post("/api/v1/auth/otp", json={"mobile": number}, headers=headers or {})


def dispatcher_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "notifications.dispatch"]


def test_each_line_is_one_json_object_with_time_and_zone_level_logger_message_and_request_id(
    json_lines,
):
    logging.getLogger("tests.logs").warning("two\nlines %s", "joined")
    (line,) = [line for line in json_lines() if line["logger"] == "tests.logs"]
    assert set(line) == {"time", "level", "logger", "message", "request_id"}
    assert datetime.fromisoformat(line["time"]).utcoffset() is not None
    assert (line["level"], line["message"]) == ("WARNING", "two\nlines joined")
    assert line["request_id"] is None  # outside any request or task


def test_an_exception_is_logged_as_one_line_with_its_traceback(json_lines):
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("tests.logs").exception("it failed")
    (line,) = [line for line in json_lines() if line["logger"] == "tests.logs"]
    assert "RuntimeError" in line["exception"] and "Traceback" in line["exception"]


def test_a_requests_lines_carry_the_request_id_the_client_sent(client, sms, daytime, json_lines):
    given = "0f9e8d7c-6b5a-4321-9abc-def012345678"
    response = send_code(client, "13700008001", headers={"X-Request-ID": given})
    assert response.status_code == 202
    assert response.headers["X-Request-ID"] == given
    lines = dispatcher_lines(json_lines())
    assert lines and {line["request_id"] for line in lines} == {given}


def test_a_request_without_an_id_gets_one_made_echoed_and_in_its_lines(
    client, sms, daytime, json_lines
):
    first = send_code(client, "13700008002")
    second = send_code(client, "13700008003")
    made = [first.headers["X-Request-ID"], second.headers["X-Request-ID"]]
    assert made[0] != made[1] and all(logs.sane_request_id(id) for id in made)
    lines = dispatcher_lines(json_lines())
    assert [line["request_id"] for line in lines] == made


@pytest.mark.parametrize(
    "bad",
    ["short", "x" * 129, "has spaces in it", "<script>alert(1)</script>", 'quote"d-id-1234', ""],
)
def test_a_bad_request_id_is_replaced_by_one_made_here(client, sms, daytime, json_lines, bad):
    response = send_code(client, "13700008004", headers={"X-Request-ID": bad})
    made = response.headers["X-Request-ID"]
    assert made != bad and logs.sane_request_id(made) == made
    assert {line["request_id"] for line in dispatcher_lines(json_lines())} == {made}


def test_lines_after_a_request_no_longer_carry_its_id(client, json_lines):
    assert client.get("/healthz", headers={"X-Request-ID": "finished-0001"}).status_code == 200
    logging.getLogger("tests.logs").warning("afterwards")
    (line,) = [line for line in json_lines() if line["logger"] == "tests.logs"]
    assert line["request_id"] is None


def test_even_a_refused_request_carries_its_id(client):
    headers = {"X-Request-ID": "r-415-01"}
    response = client.post("/api/v1/auth/otp", data="x", content_type="text/plain", headers=headers)
    assert response.status_code == 415
    assert response.headers["X-Request-ID"] == "r-415-01"


def test_production_logs_json_and_development_and_testing_plain_unless_set(monkeypatch):
    assert load_config("development")["LOG_FORMAT"] == "plain"
    assert load_config("testing")["LOG_FORMAT"] == "plain"
    assert load_config("production", _strong())["LOG_FORMAT"] == "json"
    monkeypatch.setenv("LOG_FORMAT", "json")
    assert load_config("testing")["LOG_FORMAT"] == "json"


def test_an_unknown_log_format_stops_the_start(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        load_config("testing")


def _strong() -> dict:
    from tests.core.test_config import STRONG

    return STRONG


@pytest.mark.committed_db
def test_the_request_id_reaches_the_log_lines_of_the_celery_task_the_request_caused(
    app, database_url, redis_server, tmp_path
):
    producer = create_app(
        {
            "APP_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "NOTIFY_DISPATCH": "celery",
            "CELERY_BROKER_URL": redis_server.url,
            "SMS_BACKEND": "memory",
        }
    )
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": redis_server.url,
        "NOTIFY_DISPATCH": "celery",
        "SMS_BACKEND": "memory",
        "LOG_FORMAT": "json",
    }
    log = tmp_path / "worker.log"
    given = "celery-trace-0001"

    def task_lines() -> list[dict]:
        written = log.read_text(errors="replace").splitlines()
        return [json.loads(line) for line in written if line.startswith("{")]

    try:
        with celery_worker(env, tmp_path, beat=False, loglevel="INFO"):
            with producer.app_context():
                client = producer.test_client()
                response = send_code(client, "13700008005", headers={"X-Request-ID": given})
                assert response.status_code == 202
                wait_for(lambda: statuses().get("sent") == 1, 60, "the code sent", log)
                lines = wait_for(
                    lambda: dispatcher_lines(task_lines()), 30, "the worker's lines", log
                )
    finally:
        with producer.app_context():
            db.engine.dispose()
    assert [line["request_id"] for line in lines] == [given]
    assert lines[0]["message"] == "claimed 1: sent 1"
    # Celery's own lines are the app's JSON too, and those of the task carry its id.
    finished = [line for line in task_lines() if line["logger"] == "celery.app.trace"]
    assert finished and all(line["request_id"] == given for line in finished)

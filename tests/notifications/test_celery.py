"""The production profile end to end: a real Celery worker and beat, a real Redis, the real twilio
client talking to the stub; and a worker killed (SIGKILL) part-way through a batch."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from app import create_app
from core.config import PROJECT_ROOT
from core.extensions import db
from notifications.outbox import Draft, write
from ops.twilio_stand_in import TwilioStub
from tests.timetravel import at_service_time

CELERY = PROJECT_ROOT / ".venv" / "bin" / "celery"


def worker_env(database_url: str, redis_url: str, stub: TwilioStub) -> dict[str, str]:
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": redis_url,
        "NOTIFY_DISPATCH": "celery",
        "NOTIFY_SWEEP_SECONDS": "1",
        "NOTIFY_LEASE_SECONDS": "4",
        "NOTIFY_BATCH_SIZE": "100",
        "TWILIO_TIMEOUT_SECONDS": "1",
        **stub.settings(),
    }
    return env


@contextmanager
def celery_worker(
    env: dict[str, str], workdir: Path, *, beat: bool, loglevel: str = "WARNING"
) -> Iterator[subprocess.Popen]:
    """A worker in its own process group (its beat is a child), stopped whatever happens."""
    arguments = ["-A", "worker", "worker", "--pool=solo"]
    arguments += [f"--loglevel={loglevel}", "--without-gossip", "--without-mingle"]
    arguments += ["-n", f"test-{time.monotonic_ns()}@localhost"]
    if beat:
        arguments += ["-B", "--schedule", str(workdir / f"beat-{time.monotonic_ns()}")]
    command = at_service_time(str(CELERY), *arguments)
    log = open(workdir / "worker.log", "ab")  # noqa: SIM115
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        try:
            os.killpg(process.pid, signal.SIGKILL)  # beat's child, if it outlived the worker
        except ProcessLookupError:
            pass
        log.close()


def wait_for(check, seconds: float, what: str, log: Path):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(
        f"timed out waiting for {what}:\n{log.read_text(errors='replace')[-3000:]}"
    )


def statuses() -> dict[str, int]:
    with db.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT status, count(*) FROM notification_outbox GROUP BY status")
        ).all()
    return dict(rows)


@pytest.mark.committed_db
def test_a_code_goes_through_redis_celery_and_twilio_and_logs_the_donor_in(
    app, database_url, redis_server, twilio_stub, tmp_path
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
    env = worker_env(database_url, redis_server.url, twilio_stub)
    try:
        with celery_worker(env, tmp_path, beat=False):
            with producer.app_context():
                client = producer.test_client()
                sent = client.post("/api/v1/auth/otp", json={"mobile": "13700001234"})
                assert sent.status_code == 202
                (message,) = wait_for(
                    lambda: twilio_stub.sent_to("+8613700001234"),
                    60,
                    "the code",
                    tmp_path / "worker.log",
                )
                code = message["body"].split("验证码是")[1][:6]
                assert message["body"].startswith("【无偿献血】")
                login = client.post(
                    "/api/v1/auth/login", json={"mobile": "13700001234", "code": code}
                )
                # Not registered: the code was right, so the answer says so (not otp_invalid).
                assert login.get_json()["code"] == "not_registered"
                wait_for(lambda: statuses().get("sent") == 1, 30, "sent", tmp_path / "worker.log")
    finally:
        with producer.app_context():
            db.engine.dispose()


@pytest.mark.committed_db
def test_a_worker_killed_mid_batch_leaves_every_recipient_exactly_one_message(
    app, database_url, redis_server, twilio_stub, tmp_path
):
    recipients = [f"+861370000{n:04d}" for n in range(30)]
    write(
        "mobile_changed",
        [Draft(key=f"kill-test:{number}", mobile=number, context={}) for number in recipients],
        dispatch=False,
    )
    db.session.commit()
    env = worker_env(database_url, redis_server.url, twilio_stub)
    log = tmp_path / "worker.log"
    victim: dict[str, int] = {}

    def kill_on_the_tenth(message: dict) -> None:
        # Twilio has taken the tenth message; its sender dies before hearing so.
        if len(twilio_stub.messages) == 10 and "pid" in victim:
            os.killpg(victim.pop("pid"), signal.SIGKILL)

    twilio_stub.on_message = kill_on_the_tenth
    with celery_worker(env, tmp_path, beat=True) as first:
        victim["pid"] = first.pid
        wait_for(lambda: first.poll() is not None, 90, "the kill", log)
    assert first.returncode == -signal.SIGKILL
    taken = len(twilio_stub.messages)
    assert 10 <= taken < len(recipients), "the kill came part-way through the batch"
    assert statuses().get("sent", 0) < len(recipients)

    twilio_stub.on_message = None
    with celery_worker(env, tmp_path, beat=True):
        wait_for(lambda: statuses().get("sent") == len(recipients), 90, "every message sent", log)
    counts = twilio_stub.per_recipient()
    assert sorted(counts) == sorted(recipients)
    assert set(counts.values()) == {1}, "every recipient got exactly one message"
    assert ("GET", f"/2010-04-01/Accounts/{env['TWILIO_ACCOUNT_SID']}/Messages.json") in (
        twilio_stub.requests
    ), "the uncertain send was settled by asking Twilio"

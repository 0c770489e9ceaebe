"""Builds the app on SQLite and on a real PostgreSQL server this suite starts itself.

Every test runs once per database. The schema is built by the Alembic migrations (never
`create_all`), once per database. Each test runs in a transaction that is rolled back after it;
a test whose point is that other connections see its commits (threads, another process) is marked
`committed_db` and commits for real, then every table is emptied (tests/isolation.py).

With pytest-xdist (`-n 2`, as scripts/test runs it) each worker has its own SQLite file, its own
PostgreSQL server and database, its own Redis server and its own ports.

`--local-time 03:00` (or `2026-12-01T03:00`) starts the service's clock at that Beijing time for
the whole run (every xdist worker at the same time), and it ticks on from there: the suite must
pass at any hour (`.ci/run` runs the time-sensitive packages once more at night). A test whose
outcome depends on the hour, the weekday or the date fixes its own time (`daytime`,
tests/timetravel.py).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from app import create_app
from core.extensions import db, limiter
from ops.postgres import PostgresServer
from ops.redis_server import RedisServer
from tests.factories.policies import copy_policies
from tests.isolation import COMMITTED, committed, rolled_back
from tests.timetravel import WORKER_START, run_start, start_run_clock

DATABASES = [name for name in os.environ.get("TEST_DATABASES", "sqlite,postgresql").split(",")]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--local-time",
        metavar="HH:MM",
        help="start the service clock at this Beijing time (HH:MM today, or "
        "YYYY-MM-DDTHH:MM) for the whole run; it ticks on from there",
    )


def pytest_configure(config: pytest.Config) -> None:
    from core import clock

    try:
        start = run_start(
            config.getoption("--local-time"),
            getattr(config, "workerinput", None),
            clock.local_today(),
        )
    except ValueError as error:
        raise pytest.UsageError(f"--local-time {error}") from None
    if start is not None:
        config.stash[_RUN_START] = start
        config.stash[_RUN_CLOCK] = start_run_clock(start)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Each xdist worker starts its run clock at the moment this controller read."""
    start = node.config.stash.get(_RUN_START, None)
    if start is not None:
        node.workerinput[WORKER_START] = start.isoformat()


def pytest_unconfigure(config: pytest.Config) -> None:
    traveller = config.stash.get(_RUN_CLOCK, None)
    if traveller is not None:
        traveller.stop()


def pytest_report_header(config: pytest.Config) -> str:
    from core import clock

    return f"service clock: {clock.local_now():%Y-%m-%d %H:%M %Z} (Beijing)"


_RUN_CLOCK = pytest.StashKey()
_RUN_START = pytest.StashKey[datetime]()


def _worker() -> str:
    """This xdist worker's name (gw0, gw1, ...), or "main" without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """Debian's redis-server on loopback, for this test process (Celery's broker, the limiter)."""
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session", params=DATABASES)
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix=f"donor-sqlite-{_worker()}-"))
        yield f"sqlite:///{directory / 'test.sqlite3'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        yield server.create_database(f"donor_test_{_worker()}")


@pytest.fixture(scope="session")
def built_app(database_url: str) -> Iterator[Flask]:
    app = create_app(
        {"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": database_url, "SMS_BACKEND": "memory"}
    )
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(built_app: Flask, request: pytest.FixtureRequest) -> Iterator[Flask]:
    limiter.reset()
    with built_app.app_context():
        if request.node.get_closest_marker(COMMITTED):
            isolation = committed()
        else:
            isolation = rolled_back()
        with isolation:
            yield built_app
    built_app.extensions.pop("sms_backend", None)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def daytime() -> Iterator[None]:
    """10:00 local (today's or yesterday's): outside the quiet hours, so messages go at once;
    tokens issued now stay valid; days ahead are open for booking."""
    from core import clock
    from tests.factories.notifications import recent_local

    with clock.frozen_at(recent_local(10)):
        yield


@pytest.fixture
def sms(app: Flask):
    """The messages the app sent, as the memory SMS backend received them."""
    from notifications.backends import sms_backend

    return sms_backend().outbox


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    """A private copy of policies/ that a test may break."""
    return copy_policies(tmp_path)

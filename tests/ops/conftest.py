"""The production set (ops/production.py), started once for the run: its own PostgreSQL, Redis,
two gunicorn instances behind nginx, two Celery workers and beat. Every test here runs in one
xdist worker (`xdist_group`; scripts/test runs `--dist loadgroup`), so one set serves them all;
a test that breaks it (tests/ops/test_faults.py) leaves it whole again.

Its sweep looks for waiting messages every 2 s and it keeps no quiet hours, so a text is due at
any hour the suite runs."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from ops.production import ProductionSet

SETTINGS = {"NOTIFY_SWEEP_SECONDS": "2", "NOTIFY_QUIET_HOURS": "00:00,00:00"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/ops/" in item.nodeid:
            item.add_marker(pytest.mark.xdist_group("production-set"))


@pytest.fixture(scope="session")
def production() -> Iterator[ProductionSet]:
    with ProductionSet(celery_workers=2, env=SETTINGS) as running:
        yield running


def login_code(production: ProductionSet, e164: str, seconds: float = 30) -> str:
    """The last code the set texted to `e164` (its Twilio stand-in is the donor's phone),
    waiting for the Celery worker to send it."""
    deadline = time.monotonic() + seconds
    while not production.twilio.sent_to(e164):
        if time.monotonic() > deadline:
            raise AssertionError(f"no text reached {e164[:-4]}****")
        time.sleep(0.1)
    body = production.twilio.sent_to(e164)[-1]["body"]
    found = re.search(r"\d{6}", body)
    assert found is not None, body
    return found.group(0)


@pytest.fixture(autouse=True)
def no_connection_left_open() -> Iterator[None]:
    """bench.load keeps a connection per thread and address: closed after each test, not by
    the garbage collector in the middle of another."""
    yield
    from bench.load import close_connections

    close_connections()

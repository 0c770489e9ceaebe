"""The production set (ops/production.py), started once for the module that asks for it: its own
PostgreSQL, Redis, two gunicorn instances behind nginx, two Celery workers and beat."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from ops.production import ProductionSet


@pytest.fixture(scope="module")
def production() -> Iterator[ProductionSet]:
    with ProductionSet(celery_workers=2) as running:
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

"""Fixtures of the notification tests: a Twilio stub (`daytime` and `redis_server` are shared, in
tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from ops.twilio_stand_in import TwilioStub
from tests.factories.notifications import use_twilio


@pytest.fixture
def twilio_stub() -> Iterator[TwilioStub]:
    stub = TwilioStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def twilio(app: Flask, twilio_stub: TwilioStub, monkeypatch) -> TwilioStub:
    """The app sends through the real twilio client, to the stub."""
    use_twilio(app, twilio_stub, monkeypatch)
    return twilio_stub

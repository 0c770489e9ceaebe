"""The app's wiring is tested through the real appointments API and the real outbox, at a
daytime moment (outside the quiet hours), with tokens that outlive the clock's moves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from core import clock
from tests.factories.notifications import recent_local


@pytest.fixture(autouse=True)
def tokens_outlive_clock_moves(app, monkeypatch):
    monkeypatch.setitem(app.config, "JWT_ACCESS_TOKEN_EXPIRES", timedelta(days=30))


@pytest.fixture
def daytime() -> Iterator[None]:
    """10:00 local (today's or yesterday's): messages go at once, bookings days ahead are open."""
    with clock.frozen_at(recent_local(10)):
        yield

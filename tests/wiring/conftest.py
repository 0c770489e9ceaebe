"""The app's wiring is tested through the real appointments API and the real outbox, mostly at
a `daytime` moment (outside the quiet hours), with tokens that outlive the clock's moves."""

from __future__ import annotations

from datetime import timedelta

import pytest


@pytest.fixture(autouse=True)
def tokens_outlive_clock_moves(app, monkeypatch):
    monkeypatch.setitem(app.config, "JWT_ACCESS_TOKEN_EXPIRES", timedelta(days=30))

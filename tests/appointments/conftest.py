"""Appointments tests move the service's clock by hours and days (cut-offs, offers, no-shows);
the tokens they use must outlive the move, as a real donor's fresh token would."""

from __future__ import annotations

from datetime import timedelta

import pytest


@pytest.fixture(autouse=True)
def tokens_outlive_clock_moves(app, monkeypatch):
    monkeypatch.setitem(app.config, "JWT_ACCESS_TOKEN_EXPIRES", timedelta(days=30))

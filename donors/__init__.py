"""Donor accounts: registration, one-time-code login, profile, face enrolment and matching."""

from flask import Flask

from core.requests import use_donor_lookup
from donors.routes import bp
from donors.services import get_donor

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    """Every package's donor views find the calling donor here (core.requests.current_donor)."""
    use_donor_lookup(app, get_donor)

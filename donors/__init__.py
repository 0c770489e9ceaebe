"""Donor accounts: registration, one-time-code login, profile, face enrolment and matching."""

from flask import Flask

from core import policy
from core.requests import use_donor_lookup
from donors import faces
from donors.routes import bp
from donors.services import get_donor

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    """The policy section donors reads (`face_check`); every package's donor views find the
    calling donor here (core.requests.current_donor)."""
    policy.register_sections(app, faces.POLICY_SECTIONS)
    use_donor_lookup(app, get_donor)

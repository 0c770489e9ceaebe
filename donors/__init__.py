"""Donor accounts: registration, one-time-code login, profile, face enrolment and matching, and
the relatives they declare (family links, `family_bp`)."""

from flask import Flask

from core import policy
from core.messages import register_messages
from core.requests import use_donor_lookup
from donors import faces, messages
from donors.family_routes import family_bp
from donors.routes import bp
from donors.services import get_donor

__all__ = ["bp", "family_bp", "init_app"]


def init_app(app: Flask) -> None:
    """Donors' error texts, the policy section donors reads (`face_check`); every package's
    donor views find the calling donor here (core.requests.current_donor)."""
    register_messages(messages.MESSAGES)
    policy.register_sections(app, faces.POLICY_SECTIONS)
    use_donor_lookup(app, get_donor)

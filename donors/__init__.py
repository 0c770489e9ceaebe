"""Donor accounts: registration, one-time-code login, profile, face enrolment and matching."""

from flask import Flask

from core import policy
from donors import faces
from donors.routes import bp

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    """The policy section donors reads (`face_check`)."""
    policy.register_sections(app, faces.POLICY_SECTIONS)

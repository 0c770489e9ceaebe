"""Donor accounts: registration, one-time-code login, profile, face enrolment and matching."""

from donors.routes import bp

__all__ = ["bp"]

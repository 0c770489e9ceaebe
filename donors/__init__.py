"""Donor accounts: registration, one-time-code login, profile."""

from donors.routes import bp

__all__ = ["bp"]

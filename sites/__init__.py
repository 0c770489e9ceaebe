"""Donation sites and the staff who work there."""

from sites.routes import bp

__all__ = ["bp"]

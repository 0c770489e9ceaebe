"""Donations, eligibility and electronic certificates."""

from certificate.routes import bp, public_bp

__all__ = ["bp", "public_bp"]

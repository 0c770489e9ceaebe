"""Donations, eligibility and electronic certificates.

`init_app` registers certificate's rules (the policy files' `standard` and `awards` sections,
read by certificate.policy). How the other packages react to its donations is connected in
wiring.py.
"""

from flask import Flask

from certificate import policy
from certificate.routes import bp, public_bp

__all__ = ["bp", "init_app", "public_bp"]


def init_app(app: Flask) -> None:
    policy.init_app(app)

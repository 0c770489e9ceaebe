"""Donations, eligibility and electronic certificates.

`init_app` registers certificate's error texts and its rules (the policy files' `standard` and
`awards` sections, read by certificate.policy). How the other packages react to its donations is
connected in wiring.py.
"""

from flask import Flask

from certificate import messages, policy
from certificate.routes import bp, public_bp
from core.messages import register_messages

__all__ = ["bp", "init_app", "public_bp"]


def init_app(app: Flask) -> None:
    register_messages(messages.MESSAGES)
    policy.init_app(app)

"""Emergency donor teams (issue 19): teams and members with consent, call-outs that reach the
eligible members nearest first in waves, answers, stand-down, arrivals as visits, and drills.

`init_app` registers the texts this package owns; its reactions to other packages' events
(a visit opened, a donation recorded, a donor erased) are connected in wiring.py. Call-outs have
their own blueprints (`callouts_bp` at /api/v1, `callout_public_bp` for the SMS's reply link).
"""

from flask import Flask

from core.messages import register_messages
from teams import messages, models
from teams.callout_routes import callout_public_bp, callouts_bp
from teams.routes import bp

__all__ = ["bp", "callout_public_bp", "callouts_bp", "init_app", "models"]


def init_app(app: Flask) -> None:
    register_messages(messages.MESSAGES)

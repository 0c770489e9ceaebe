"""Slots, bookings, waiting lists, the health form with consent, and check-in visits.

`init_app` registers appointments' error texts and the policy sections it reads (`appointments`,
`questionnaire`). What it answers certificate and notifications, and how it reacts to donations
and erasures, is connected in wiring.py.
"""

from flask import Flask

from appointments import messages, rules
from appointments.routes import bp
from core import policy
from core.messages import register_messages

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    register_messages(messages.MESSAGES)
    policy.register_sections(app, rules.POLICY_SECTIONS)

"""Emergency donor teams (issue 19): teams and members with consent, call-outs that reach the
eligible members nearest first in waves, answers, stand-down, arrivals as visits, and drills.

`init_app` registers the texts this package owns; its reactions to other packages' events
(a visit opened, a donation recorded, a donor erased) are connected in wiring.py.
"""

from flask import Flask

from core.messages import register_messages
from teams import messages, models
from teams.routes import bp

__all__ = ["bp", "init_app", "models"]


def init_app(app: Flask) -> None:
    register_messages(messages.MESSAGES)

"""The three frees: awards, benefits held, benefit codes, gates online and offline, settlement.

`init_app` registers rewards' error texts, the policy sections rewards reads (`three_free`,
`honours`) and how the shell makes a gate device (bound to its operator: `flask users
create-device --role gate --operator ID`). Its reactions to donations are connected in wiring.py;
the donor's card (card/) shows its benefits.
"""

from flask import Flask

from core import auth, policy
from core.messages import register_messages
from rewards import gates, messages, rules
from rewards.routes import bp, public_bp

__all__ = ["bp", "init_app", "public_bp"]


def init_app(app: Flask) -> None:
    register_messages(messages.MESSAGES)
    policy.register_sections(app, rules.POLICY_SECTIONS)
    auth.register_device_maker(app, auth.GATE, gates.make_gate_device)

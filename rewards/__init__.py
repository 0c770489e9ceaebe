"""The three frees: awards, benefits held, benefit codes, gates online and offline, settlement;
points (a ledger) and the souvenir store (`store_bp`).

`init_app` registers rewards' error texts, the policy sections rewards reads (`three_free`,
`honours`, `points`), the daily expiry of points, and how the shell makes a gate device (bound
to its operator: `flask users create-device --role gate --operator ID`). Its reactions to
donations are connected in wiring.py; the donor's card (card/) shows its benefits.
"""

from flask import Flask

from core import auth, policy
from core.jobs import Job, add_daily_job
from core.messages import register_messages
from rewards import gates, messages, points, rules
from rewards.routes import bp, public_bp
from rewards.store_routes import store_bp

__all__ = ["bp", "init_app", "public_bp", "store_bp"]


def init_app(app: Flask) -> None:
    register_messages(messages.MESSAGES)
    policy.register_sections(app, rules.POLICY_SECTIONS)
    auth.register_device_maker(app, auth.GATE, gates.make_gate_device)
    add_daily_job(app, Job("points_expiry", points.expire_points))

"""Messages to donors: an outbox, templates, SMS backends, schedules and delivery callbacks."""

from flask import Flask

from core import policy
from core.jobs import add_daily_job
from core.messages import register_messages
from core.metrics import add_scrape_reader
from notifications import messages, rules
from notifications.conditions import register_condition
from notifications.dispatch import use_own_sessions
from notifications.outbox import outbox_depth
from notifications.routes import bp, webhooks_bp
from notifications.schedules import DAILY_JOBS, still_eligible_again
from notifications.services import donations_still_valid
from notifications.tasks import init_app as init_workers

__all__ = ["bp", "init_app", "webhooks_bp"]


def init_app(app: Flask) -> None:
    """Notifications' error texts, the policy sections it reads (`greetings`, `appeals`), the
    conditions of its own messages, its daily jobs (in core.jobs' scheduler, which its tick
    runs), the outbox's depth for /metrics, and the workers (Celery, or inline). Its reactions
    to other packages' events, and the conditions that rest on bookings and offers, are
    connected in wiring.py."""
    register_messages(messages.MESSAGES)
    policy.register_sections(app, rules.POLICY_SECTIONS)
    register_condition(app, "donation_valid", donations_still_valid)
    register_condition(app, "eligible_again", still_eligible_again)
    for job in DAILY_JOBS:
        add_daily_job(app, job)
    use_own_sessions(app)
    add_scrape_reader(app, outbox_depth)
    init_workers(app)

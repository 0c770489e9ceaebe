"""Messages to donors: an outbox, templates, SMS backends, schedules and delivery callbacks."""

from flask import Flask

from notifications import listeners, rules  # noqa: F401  (event receivers, policy sections)
from notifications.conditions import register_condition
from notifications.routes import bp, webhooks_bp
from notifications.schedules import still_eligible_again
from notifications.services import donations_still_valid
from notifications.tasks import init_app as init_workers

__all__ = ["bp", "init_app", "webhooks_bp"]


def init_app(app: Flask) -> None:
    """The workers (Celery, or inline) and the conditions of notifications' own messages; those
    that rest on bookings and offers are registered where appointments is wired in."""
    register_condition(app, "donation_valid", donations_still_valid)
    register_condition(app, "eligible_again", still_eligible_again)
    init_workers(app)

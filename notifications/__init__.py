"""Messages to donors: an outbox, templates, SMS backends, schedules and delivery callbacks."""

from notifications import listeners, rules  # noqa: F401  (event receivers, policy sections)
from notifications.routes import bp, webhooks_bp
from notifications.tasks import init_app

__all__ = ["bp", "init_app", "webhooks_bp"]

"""Notifications' operational settings: dispatch, retries, manners and appeals.

Merged into the configuration at start-up, before the environment is applied (core.config:
load_config, from app.create_app); the environment may set those named in `from_environment`.
"""

from datetime import timedelta

from core.config import PackageSettings

SETTINGS = PackageSettings(
    defaults={
        # inline: each message is sent in-process right after its transaction commits (embedded
        # default; `flask notifications worker` sends what waits: retries, quiet hours, schedules).
        # celery: the commit rings a Celery worker (Redis broker); Celery beat runs the schedules.
        "NOTIFY_DISPATCH": "inline",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "NOTIFY_SWEEP_SECONDS": 30.0,  # how often waiting messages are looked for
        # How often Celery beat ticks the scheduler: daily jobs when due, appeal waves, and the
        # registered housekeeping (appointments' sweep passes on expired offers: every minute).
        "NOTIFY_SCHEDULE_SECONDS": 60.0,
        "NOTIFY_BATCH_SIZE": 100,
        # A worker holds a message this long; it must exceed TWILIO_TIMEOUT_SECONDS by far, so a
        # message is never taken over while its first send may still be on the wire.
        "NOTIFY_LEASE_SECONDS": 120,
        "NOTIFY_MAX_ATTEMPTS": 8,
        "NOTIFY_RETRY_BASE_SECONDS": 30,  # doubled after each failed attempt
        "NOTIFY_RETRY_MAX_SECONDS": 3600,
        # Manners (operational choices, not regulations): no non-urgent message in the night, and
        # at most so many reminders, greetings and appeals per donor in any 7 days.
        "NOTIFY_QUIET_HOURS": ("21:00", "08:00"),
        "NOTIFY_WEEKLY_CAP": 3,
        "NOTIFY_GREETING_TIME": "09:00",
        "NOTIFY_APPOINTMENT_REMINDER_TIME": "10:00",  # on the day before the appointment
        "NOTIFY_APPEAL_MAX_WAVE": 200,
        "NOTIFY_APPEAL_WAVE_INTERVAL": timedelta(hours=4),
        "NOTIFY_ELIGIBLE_LOOKBACK_DAYS": 400,  # remind donors whose last donation is this recent
    },
    from_environment=(
        "NOTIFY_DISPATCH",
        "CELERY_BROKER_URL",
        "NOTIFY_SWEEP_SECONDS",
        "NOTIFY_LEASE_SECONDS",
        "NOTIFY_BATCH_SIZE",
        "NOTIFY_QUIET_HOURS",  # "21:00,08:00"; the same time twice: none
    ),
)

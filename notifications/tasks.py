"""The production profile: Celery workers with Redis as the broker, Celery beat for schedules.

The broker only rings the bell; the outbox is the mailbox. A task lost with a killed worker or a
broker restart loses nothing: beat's sweep finds every due row (and every row whose lease ran
out) within `NOTIFY_SWEEP_SECONDS`.

    celery -A worker worker --loglevel=INFO      # sends messages
    celery -A worker beat --loglevel=INFO        # sweeps and schedules

Beat's tick (every `NOTIFY_SCHEDULE_SECONDS`) also runs the periodic jobs other packages register
on the app (appointments' sweep and slot opening, see wiring.py): the app has one scheduler.

Logs: Celery keeps the app's logging (core.logs, `LOG_FORMAT`) instead of setting up its own, and
only takes its level (`--loglevel`). A task published while a request runs carries the request's
id in its headers; the worker's lines for that task carry it, and a task with none (beat's)
carries its own task id.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, Task, shared_task, signals
from flask import Flask

from core import clock, logs
from core.config import ConfigError

REQUEST_ID_HEADER = "request_id"

DISPATCH_MODES = ("inline", "celery")


def check_settings(config: dict) -> None:
    """Refuse at start what would otherwise fail at the first message."""
    from notifications.backends import BACKENDS, TwilioBackend

    if config["NOTIFY_DISPATCH"] not in DISPATCH_MODES:
        raise ConfigError(f"NOTIFY_DISPATCH must be one of {DISPATCH_MODES}")
    if config["SMS_BACKEND"] not in BACKENDS:
        raise ConfigError(f"SMS_BACKEND must be one of {sorted(BACKENDS)}")
    if config["SMS_BACKEND"] == "memory" and config.get("ENV_NAME") == "production":
        raise ConfigError("SMS_BACKEND=memory keeps messages in a list: not for production")
    if config["SMS_BACKEND"] == "twilio":
        TwilioBackend(config)  # checks the TWILIO_* settings; makes no request
    lease = config["NOTIFY_LEASE_SECONDS"]
    if lease <= 2 * config["TWILIO_TIMEOUT_SECONDS"]:
        raise ConfigError("NOTIFY_LEASE_SECONDS must exceed twice TWILIO_TIMEOUT_SECONDS")


def _carry_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    request_id = logs.current_request_id()
    if request_id and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


def _take_request_id(task: Task | None = None, task_id: str | None = None, **_: Any) -> None:
    carried = task.request.get(REQUEST_ID_HEADER) if task is not None else None
    logs.bind_request_id(logs.sane_request_id(carried) or task_id)


def _drop_request_id(**_: Any) -> None:
    logs.bind_request_id(None)


def _keep_the_apps_logging(loglevel: int | str | None = None, **_: Any) -> None:
    """Connected, this stops Celery from replacing the app's handlers with its own plain ones."""
    if loglevel:
        logging.getLogger().setLevel(loglevel)


def connect_signals() -> None:
    """Celery's signals are process-wide: connected once (by uid), however many apps are built."""
    signals.before_task_publish.connect(
        _carry_request_id, weak=False, dispatch_uid="notifications.request_id.publish"
    )
    signals.task_prerun.connect(
        _take_request_id, weak=False, dispatch_uid="notifications.request_id.prerun"
    )
    signals.task_postrun.connect(
        _drop_request_id, weak=False, dispatch_uid="notifications.request_id.postrun"
    )
    signals.setup_logging.connect(
        _keep_the_apps_logging, weak=False, dispatch_uid="notifications.logging"
    )


def init_app(app: Flask) -> Celery[Any]:
    check_settings(app.config)
    connect_signals()

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=FlaskTask)
    config = app.config
    celery.conf.update(
        broker_url=config["CELERY_BROKER_URL"],
        task_ignore_result=True,
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=2,
        # A commit must not hang on an absent broker: the sweep sends the message anyway.
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.5},
        timezone=str(clock.LOCAL_ZONE),
        beat_schedule={
            "sweep-outbox": {
                "task": "notifications.deliver_due",
                "schedule": config["NOTIFY_SWEEP_SECONDS"],
            },
            "run-schedules": {
                "task": "notifications.tick",
                "schedule": config["NOTIFY_SCHEDULE_SECONDS"],
            },
        },
    )
    app.extensions["celery"] = celery
    return celery


@shared_task(name="notifications.send_messages")
def send_messages(ids: list[int]) -> int:
    """Send these messages now, if they are due and nobody else holds them."""
    from notifications.dispatch import deliver, open_session

    with open_session() as session:
        return deliver(session, ids=[int(i) for i in ids]).sent


@shared_task(name="notifications.deliver_due")
def deliver_due() -> int:
    from notifications.dispatch import deliver_due as sweep

    return sweep().sent


@shared_task(name="notifications.tick")
def tick() -> dict[str, int]:
    from notifications.schedules import tick as run

    return run()

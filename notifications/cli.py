"""`flask notifications ...`: the embedded worker, one-off runs, and a look at the outbox."""

from __future__ import annotations

import logging
import time

import click
from flask import current_app
from sqlalchemy import func, select

from core import clock, logs
from core.extensions import db
from notifications.dispatch import deliver_due
from notifications.models import OutboxMessage
from notifications.schedules import tick

log = logging.getLogger("notifications.worker")

notifications_cli = click.Group("notifications", help="Messages to donors.")


def _run_once() -> str:
    """One round, its log lines under one id of their own (core.logs), as a request's are."""
    with logs.request_id_bound(logs.new_request_id()):
        done = tick()
        report = deliver_due()
    parts = [f"{name} {count}" for name, count in done.items()]
    parts.append(f"sent {report.sent}")
    if report.found_at_provider:
        parts.append(f"already at provider {report.found_at_provider}")
    for name in ("retrying", "failed", "expired", "cancelled", "held_for_quiet_hours"):
        if getattr(report, name):
            parts.append(f"{name.replace('_', ' ')} {getattr(report, name)}")
    return ", ".join(parts)


@notifications_cli.command("tick")
def tick_once() -> None:
    """Run the scheduled jobs that are due and send what is due (for cron: every minute).

    The jobs: housekeeping other packages registered (appointments' sweep), today's daily jobs
    if not yet run, and appeal waves."""
    click.echo(_run_once())


@notifications_cli.command("worker")
@click.option("--interval", type=float, default=None, help="seconds between sweeps")
def worker(interval: float | None) -> None:
    """The embedded scheduler and sender, without Redis or Celery: loops until stopped.

    A round that fails (the database locked or away for a moment) is logged and the loop goes
    on: nothing is lost, since every job and message is picked up again by the next round."""
    pause = interval or current_app.config["NOTIFY_SWEEP_SECONDS"]
    click.echo(f"running scheduled jobs and sending due messages every {pause:g} s; Ctrl-C stops")
    try:
        while True:
            try:
                summary = _run_once()
            except Exception:
                log.exception("this round failed; trying again in %g s", pause)
                db.session.rollback()
                summary = "sent 0"
            if summary != "sent 0":
                click.echo(f"{clock.local_now():%H:%M:%S} {summary}")
            db.session.remove()
            time.sleep(pause)
    except KeyboardInterrupt:
        click.echo("stopped")


@notifications_cli.command("status")
def status() -> None:
    """How many messages are in each state."""
    rows = db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all()
    for name, count in sorted(rows):
        click.echo(f"{name:<12} {count}")

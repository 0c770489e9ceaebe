"""The app's one scheduler: every package registers its periodic work here, in its `init_app` or
where wiring.py connects the packages, and it runs wherever the scheduler ticks (`flask
notifications worker` and `tick`, Celery beat) without the ticker importing those packages.

A daily job may run any number of times on its day (the ticks come about every minute): it is
recorded in `notification_schedule_runs` once done, and must write nothing new when run again.
Recurring jobs run at every tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Flask, current_app
from sqlalchemy.exc import IntegrityError

from core import clock
from core.extensions import db
from core.models import ScheduleRun

log = logging.getLogger("core.jobs")


@dataclass(frozen=True)
class Job:
    """A daily job: runs once a local day (recorded in `notification_schedule_runs`) and
    returns how many things it wrote or opened."""

    name: str
    run: Callable[[date], int]


@dataclass(frozen=True)
class RecurringJob:
    """Housekeeping that runs at every tick (about every minute) and reports its counts; it must
    be safe to run again at once, or by two workers at the same moment."""

    name: str
    run: Callable[[], Mapping[str, int]]


_REGISTERED = "scheduled_jobs"


def _registered(app: Flask) -> dict[str, dict[str, Any]]:
    return app.extensions.setdefault(_REGISTERED, {"daily": {}, "recurring": {}})


def add_daily_job(app: Flask, job: Job) -> None:
    """Run `job` once a local day; a job registered again under its name replaces it."""
    _registered(app)["daily"][job.name] = job


def add_recurring_job(app: Flask, job: RecurringJob) -> None:
    _registered(app)["recurring"][job.name] = job


def daily_jobs() -> tuple[Job, ...]:
    return tuple(_registered(current_app)["daily"].values())


def recurring_jobs() -> tuple[RecurringJob, ...]:
    return tuple(_registered(current_app)["recurring"].values())


def run_daily_jobs(on: date | None = None) -> dict[str, int]:
    """Run each daily job not yet done today; one transaction per job. A job that fails is
    logged, rolled back and tried again at the next tick; the others run meanwhile."""
    on = on or clock.local_today()
    done: dict[str, int] = {}
    for job in daily_jobs():
        if db.session.get(ScheduleRun, (job.name, on)) is not None:
            continue
        try:
            written = job.run(on)
            db.session.add(ScheduleRun(job=job.name, day=on, written=written))
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # another tick finished it first; its rows stand
            continue
        except Exception:
            db.session.rollback()
            log.exception("daily job %s failed; it runs again at the next tick", job.name)
            continue
        done[job.name] = written
    return done


def run_recurring_jobs() -> dict[str, int]:
    """Each registered housekeeping job, in its own transaction; the non-zero counts."""
    done: dict[str, int] = {}
    for job in recurring_jobs():
        try:
            counts = job.run()
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("job %s failed; it runs again at the next tick", job.name)
            continue
        done.update({name: count for name, count in counts.items() if count})
    return done

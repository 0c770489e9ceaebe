"""Starting a whole test run at a chosen Beijing time, with time-machine.

`--local-time 03:00` (tests/conftest.py) moves the whole process's idea of now (`datetime.now`,
`time.time`) with time-machine, and lets it tick on: the service's clock, the tokens it signs, the
rate limiter's windows and every library agree that it is three in the morning. Monotonic clocks
(timeouts, waits) are left alone. Inside a test, `clock.frozen_at` and `clock.travelled` then move
the service's clock from there. `at_service_time` runs a Python program (a Celery worker) in
another process on the same clock.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta

import time_machine

from core import clock

_LOCAL_TIME = re.compile(r"^(?:(\d{4}-\d{2}-\d{2})[T ])?(\d{1,2}):(\d{2})$")


def _destination(moment: datetime) -> datetime:
    """Naive UTC: time-machine then leaves the process's TZ alone and keeps every microsecond."""
    return clock.as_utc(moment).replace(tzinfo=None)


def parse_local_time(text: str, today: date) -> datetime:
    """`HH:MM` (on `today`) or `YYYY-MM-DDTHH:MM`, Beijing time."""
    match = _LOCAL_TIME.match(text.strip())
    if not match:
        raise ValueError(f"{text!r}: give HH:MM or YYYY-MM-DDTHH:MM (Beijing time)")
    hour, minute = int(match[2]), int(match[3])
    if hour > 23 or minute > 59:
        raise ValueError(f"{text!r}: not a time of day")
    day = date.fromisoformat(match[1]) if match[1] else today
    return datetime.combine(day, time(hour, minute), tzinfo=clock.LOCAL_ZONE)


WORKER_START = "donor_run_clock_start"  # the controller's start, handed to each xdist worker


def run_start(local_time: str | None, workerinput: dict | None, today: date) -> datetime | None:
    """Where this process's run clock starts, if `--local-time` was given.

    An xdist worker takes the moment its controller read (`workerinput`), so that every worker
    starts on the same day even when midnight passes while they start."""
    if workerinput and workerinput.get(WORKER_START):
        return datetime.fromisoformat(workerinput[WORKER_START])
    if local_time:
        return parse_local_time(local_time, today)
    return None


def start_run_clock(moment: datetime) -> time_machine.travel:
    """Start the clock of the whole run at `moment`; it ticks on from there."""
    traveller = time_machine.travel(_destination(moment), tick=True)
    traveller.start()
    return traveller


@contextmanager
def later(by: timedelta) -> Iterator[None]:
    """Run the block `by` later for the whole process: the service's clock and the limiter's
    windows (core.limits counts in the store's time, not the service's) move together.

    The service's clock follows the process unless a test froze it (`clock.frozen_at`); a frozen
    one is moved by the same amount.
    """
    before = clock.now()
    with time_machine.travel(_destination(datetime.now(UTC) + by), tick=True):
        if clock.now() - before >= by / 2:
            yield
        else:
            with clock.travelled(by):
                yield


def at_service_time(program: str, *args: str) -> list[str]:
    """The command that runs the Python program `program` at this process's current time.

    Another process does not share time-machine's travel; this one starts it there, ticking
    from the moment the command is built, then runs the program as its own `__main__`.
    """
    now = datetime.now(UTC).isoformat()
    return [sys.executable, "-m", "tests.timetravel", now, program, *args]


def _run_at(moment: str, program: str, *args: str) -> None:
    import runpy

    time_machine.travel(_destination(datetime.fromisoformat(moment)), tick=True).start()
    sys.argv = [program, *args]
    runpy.run_path(program, run_name="__main__")


if __name__ == "__main__":
    _run_at(*sys.argv[1:])

"""The one clock of the service.

Everything that asks "what time is it" asks here. Times are aware: UTC for storage, Beijing
time for rules.

Two ways to move time, for tests and benchmarks. A whole test run starts at a chosen hour by
moving the process's own clock with time-machine (`pytest --local-time`, tests/timetravel.py),
so the service, its tokens and its libraries agree. Inside one test, `frozen_at` and `travelled`
move only the service's rules: tokens issued a moment ago stay valid when a test records a
donation months back or checks what a reminder says a week ahead, as a real staff member's token
does while they enter a past date.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")

_offset = timedelta(0)
_frozen: datetime | None = None


def now() -> datetime:
    """The current instant, in UTC."""
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC) + _offset


def local_now() -> datetime:
    return now().astimezone(LOCAL_ZONE)


def local_today() -> date:
    return local_now().date()


def to_local(moment: datetime) -> datetime:
    return as_utc(moment).astimezone(LOCAL_ZONE)


def as_utc(moment: datetime) -> datetime:
    """Stored times come back naive from SQLite; they were written as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Stop the clock at `moment` for the duration of the block."""
    global _frozen
    previous, _frozen = _frozen, as_utc(moment)
    try:
        yield
    finally:
        _frozen = previous


@contextmanager
def travelled(by: timedelta) -> Iterator[None]:
    """Run the block as if `by` had passed (for expiry and rate-limit windows)."""
    global _offset, _frozen
    previous_offset, previous_frozen = _offset, _frozen
    _offset += by
    if _frozen is not None:
        _frozen = _frozen + by
    try:
        yield
    finally:
        _offset, _frozen = previous_offset, previous_frozen

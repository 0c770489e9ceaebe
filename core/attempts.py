"""Failure budgets: how many wrong guesses a key (a client address, an account, a donor) may make
before it must wait, counted so that parallel requests cannot outrun the count.

A guess is evaluated only once its attempt is taken. Taking locks the key's counter row with an
UPDATE (a row lock on PostgreSQL, the database's write lock on SQLite), reads it, counts the
attempt as a failure and commits at once; forty parallel guesses queue on the row, and only those
within the budget are evaluated. A wrong guess therefore stays counted whatever happens to its
request, and a right one gives its attempt back in the request's own transaction.

Take attempts before changing anything else in the request: the early commit carries the count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Integer, String, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from core import clock
from core.extensions import Model, db
from core.types import UTCDateTime

# Backoff doubles per failure; past this many doublings the wait is the budget's longest anyway.
_MAX_DOUBLINGS = 32


class AttemptCounter(Model):
    """The failures a key has made that are not yet forgotten, and when the last one was."""

    __tablename__ = "attempt_counters"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped by every taking: the UPDATE that locks the row before it is read.
    takings: Mapped[int] = mapped_column(Integer, default=0)


@dataclass(frozen=True)
class Budget:
    """`free` failures cost no wait. After them, each attempt waits `backoff`, doubled for every
    further failure, or, with no `backoff`, until the failures are forgotten. Failures are
    forgotten `forget_after` the last one, which also bounds every wait."""

    free: int
    forget_after: timedelta
    backoff: timedelta | None = None

    def remembered(self, failures: int, last: datetime | None, now: datetime) -> int:
        if last is None or clock.as_utc(last) + self.forget_after <= now:
            return 0
        return failures

    def wait(self, failures: int, last: datetime | None, now: datetime) -> timedelta:
        """How long the next attempt must wait, given the failures still remembered."""
        if last is None or failures < self.free:
            return timedelta(0)
        if self.backoff is None:
            delay = self.forget_after
        else:
            doublings = min(failures - self.free, _MAX_DOUBLINGS)
            delay = min(self.backoff * 2**doublings, self.forget_after)
        return max(clock.as_utc(last) + delay - now, timedelta(0))


class Throttled(Exception):
    """The key must wait before its next attempt; nothing was evaluated."""

    def __init__(self, wait: timedelta) -> None:
        super().__init__(wait)
        self.retry_after = max(1, math.ceil(wait.total_seconds()))

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


@dataclass(frozen=True)
class Attempt:
    """An attempt taken (and counted as a failure until given back)."""

    scope: str
    key: str
    failures_before: int

    def give_back(self) -> None:
        """The guess was right: it does not count, once the request commits."""
        table = AttemptCounter.__table__
        db.session.execute(
            update(table)
            .where(table.c.scope == self.scope, table.c.key == self.key, table.c.failures > 0)
            .values(failures=table.c.failures - 1)
        )


def _lock(scope: str, key: str) -> Any:
    """Lock the key's counter row (creating it first) and read it."""
    table = AttemptCounter.__table__
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(
        insert(table).values(scope=scope, key=key, failures=0, takings=0).on_conflict_do_nothing()
    )
    return db.session.execute(
        update(table)
        .where(table.c.scope == scope, table.c.key == key)
        .values(takings=table.c.takings + 1)
        .returning(table.c.failures, table.c.last_failure_at)
    ).one()


def hold(scope: str, key: str) -> None:
    """Hold the key's row locked until the request's transaction ends, so requests for the same
    key (codes sent to one number, or from one address) check their limits one after another.

    Take holds in one order everywhere (a number before an address), so no two requests wait on
    each other.
    """
    _lock(scope, key)


def take(scope: str, key: str, budget: Budget, *, enforce: bool = True) -> Attempt:
    """Count an attempt of `key`, or raise Throttled if it must wait first (with `enforce`).

    Commits the session: call it before the request changes anything else.
    """
    table = AttemptCounter.__table__
    row = _lock(scope, key)
    now = clock.now()
    failures = budget.remembered(row.failures, row.last_failure_at, now)
    wait = budget.wait(failures, row.last_failure_at, now)
    if enforce and wait > timedelta(0):
        db.session.rollback()
        raise Throttled(wait)
    db.session.execute(
        update(table)
        .where(table.c.scope == scope, table.c.key == key)
        .values(failures=failures + 1, last_failure_at=now)
    )
    db.session.commit()
    return Attempt(scope, key, failures)


def standing(scope: str, key: str, budget: Budget) -> tuple[int, timedelta]:
    """The failures `key` has that are still remembered, and how long its next attempt waits."""
    row = db.session.execute(
        select(AttemptCounter.failures, AttemptCounter.last_failure_at).where(
            AttemptCounter.scope == scope, AttemptCounter.key == key
        )
    ).one_or_none()
    if row is None:
        return 0, timedelta(0)
    now = clock.now()
    failures = budget.remembered(row.failures, row.last_failure_at, now)
    return failures, budget.wait(failures, row.last_failure_at, now)


def forget(scope: str, key: str) -> bool:
    """Forget every failure of `key` (an administrator's unlock); whether there were any."""
    table = AttemptCounter.__table__
    result = db.session.execute(
        delete(table).where(table.c.scope == scope, table.c.key == key, table.c.failures > 0)
    )
    return bool(cast(CursorResult[Any], result).rowcount)

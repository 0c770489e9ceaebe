"""Every limit the service keeps, in one limiter: Flask-Limiter's, whose store is this process's
memory in development and tests and Redis in production (core.config refuses memory:// there, so
every server process counts against the same windows).

Two kinds of limit share that store. Request limits decorate views (`limiter.limit`,
`limit_per_caller`). Guess budgets bound the guesses at a secret (a login code, a password, a
donation number) and the texts sent to one number or from one address: each is a setting such as
`"4 per minute; 8 per 10 minutes; 12 per hour"`, counted per key (a number, a donor, a staff
account, a client address) in fixed windows that open at the key's first count.

A guess is counted before it is checked, by one atomic increment per window (a Lua script on
Redis, a lock in memory), so parallel guesses cannot outrun a budget: only those that found room
in every window are checked, and the others give their counts straight back and wait for the
fullest window to end. A right guess gives its count back once its request commits, so a busy
address (a donation house's Wi-Fi) is slowed by wrong guesses only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from limits import RateLimitItem, parse_many
from limits.storage import Storage

from core import transaction
from core.auth import caller
from core.crypto import cipher
from core.extensions import db, limiter


def address_key(client_ip: str) -> str:
    """A client address as limits count it: a keyed hash, so no address is stored in clear."""
    return cipher().lookup_hash("ip", client_ip or "unknown")


def limit_per_caller(setting: str) -> Callable:
    """A request limit whose value is the setting `setting`, counted per signed-in caller and
    shared by every view it decorates (place it under `roles_required`)."""

    def value() -> str:
        return current_app.config[setting]

    def key() -> str:
        who = caller()
        return f"{who.principal_type}:{who.principal_id}"

    return limiter.shared_limit(value, scope=setting, key_func=key)


class Throttled(Exception):
    """The key must wait before its next guess; nothing was checked."""

    def __init__(self, wait_seconds: float) -> None:
        super().__init__(wait_seconds)
        self.retry_after = max(1, math.ceil(wait_seconds))

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def _store() -> Storage:
    return limiter.storage


def windows(setting: str) -> list[RateLimitItem]:
    """The windows of the budget the setting `setting` names, shortest first."""
    return sorted(parse_many(current_app.config[setting]), key=lambda w: w.get_expiry())


def _window_key(window: RateLimitItem, budget: str, key: str) -> str:
    return window.key_for(budget, key)


def _wait(store: Storage, counter: str) -> float:
    return max(store.get_expiry(counter) - time.time(), 0.0)


@dataclass(frozen=True)
class Attempt:
    """A guess counted in every window of its budget (until given back)."""

    budget: str
    key: str
    windows: tuple[RateLimitItem, ...]
    failures_before: int
    """The most guesses any window held before this one: 0 for a key with none remembered."""
    filled: bool
    """This guess was the last a window had room for: the key must now wait."""

    def give_back(self) -> None:
        """The guess was right: it does not count, once the request commits."""
        transaction.after_commit(db.session(), self._give_back_now)

    def _give_back_now(self) -> None:
        store = _store()
        for window in self.windows:
            counter = _window_key(window, self.budget, self.key)
            if store.get(counter) > 0:
                store.incr(counter, window.get_expiry(), amount=-1)


def take(budget: str, key: str, *, enforce: bool = True) -> Attempt:
    """Count a guess of `key` against the budget the setting `budget` names, or raise Throttled
    when a window is full (with `enforce`; without, the guess counts whatever the windows hold,
    as an account's failures do)."""
    store = _store()
    budget_windows = windows(budget)
    counts = []
    for window in budget_windows:
        counts.append(store.incr(_window_key(window, budget, key), window.get_expiry()))
    full = [w for w, count in zip(budget_windows, counts, strict=True) if count > w.amount]
    if enforce and full:
        for window in budget_windows:
            store.incr(_window_key(window, budget, key), window.get_expiry(), amount=-1)
        raise Throttled(max(_wait(store, _window_key(w, budget, key)) for w in full))
    return Attempt(
        budget,
        key,
        tuple(budget_windows),
        failures_before=max(counts) - 1,
        filled=any(count == w.amount for w, count in zip(budget_windows, counts, strict=True)),
    )


@dataclass(frozen=True)
class Standing:
    """What a key's budget holds now: its most guesses in any window, and how long it waits."""

    failures: int
    wait_seconds: float

    @property
    def waiting(self) -> bool:
        return self.wait_seconds > 0


def standing(budget: str, key: str) -> Standing:
    store = _store()
    failures, wait = 0, 0.0
    for window in windows(budget):
        counter = _window_key(window, budget, key)
        count = store.get(counter)
        failures = max(failures, count)
        if count >= window.amount:
            wait = max(wait, _wait(store, counter))
    return Standing(failures, wait)


def forget(budget: str, key: str) -> bool:
    """Forget every guess of `key` (an administrator's unlock); whether there were any."""
    store = _store()
    had = False
    for window in windows(budget):
        counter = _window_key(window, budget, key)
        had = had or store.get(counter) > 0
        store.clear(counter)
    return had

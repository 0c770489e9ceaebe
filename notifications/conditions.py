"""Messages that rest on a fact, asked again just before they are sent.

A reminder that a donor may give again is written after midnight for nine o'clock; a booking's
reminder days ahead; a waiting-list offer at night for the morning. By the time each goes out the
donor may have given again or been deferred, the booking may be cancelled or moved, the place
taken or passed on. Such a message carries a condition: the name of a registered check and its
arguments (`booking_active` with the booking's id, ...). The dispatcher asks the conditions of a
claimed batch together, one call per check, in a session of their own (a fresh read), just before
the batch is sent. A message whose condition no longer holds is closed as `cancelled` with the
check's reason, and is never sent nor tried again.

Checks are registered on the app by the package that knows the fact: notifications' own (a
donation still valid, a donor who may still give) in `notifications.init_app`, appointments' (a
booking still booked, a place still held) in wiring.py, so notifications need not import
appointments.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import Flask, current_app

log = logging.getLogger("notifications.conditions")

# Given the arguments of several messages, the reason each one's fact no longer holds, or None
# where it still does: one answer per argument, in order.
Check = Callable[[list[dict[str, Any]]], list[str | None]]

# A check that failed (not one that answered "no"): its messages wait and are asked again.
UNCHECKED = "condition_unchecked"

_KEY = "notification_conditions"


@dataclass(frozen=True)
class Condition:
    """What a message rests on: a registered check and its arguments (ids and dates, JSON)."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)


class Conditional(Protocol):
    id: int
    condition: str | None
    condition_args: dict[str, Any] | None


def register_condition(app: Flask, name: str, check: Check) -> None:
    app.extensions.setdefault(_KEY, {})[name] = check


def _checks() -> dict[str, Check]:
    return current_app.extensions.get(_KEY, {})


def require_registered(condition: Condition) -> None:
    """A message is written only with a condition the app can ask when it is sent."""
    if condition.name not in _checks():
        raise KeyError(f"no condition {condition.name!r} is registered")


def stale(rows: Sequence[Conditional]) -> dict[int, str]:
    """Of these messages, those whose condition no longer holds, with the reason (or UNCHECKED
    where the check itself failed)."""
    by_name: dict[str, list[Conditional]] = {}
    for row in rows:
        if row.condition:
            by_name.setdefault(row.condition, []).append(row)
    if not by_name:
        return {}
    found: dict[int, str] = {}
    # A new app context has a session of its own: the checks read what is committed now,
    # whatever the caller's session holds (the dispatcher may run in a request's after-commit).
    with current_app.app_context():
        checks = _checks()
        for name, group in by_name.items():
            check = checks.get(name)
            if check is None:
                log.error("no condition %r is registered; %d messages wait", name, len(group))
                found.update({row.id: UNCHECKED for row in group})
                continue
            try:
                reasons = check([dict(row.condition_args or {}) for row in group])
                if len(reasons) != len(group):
                    raise ValueError(f"{len(reasons)} answers for {len(group)} messages")
            except Exception:
                log.exception("condition %r could not be checked; its messages wait", name)
                found.update({row.id: UNCHECKED for row in group})
                continue
            for row, reason in zip(group, reasons, strict=True):
                if reason:
                    found[row.id] = reason
    return found

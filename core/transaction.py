"""Steps a transaction runs at its end: just before it commits, and once it has committed.

An SMS about a change that was rolled back would tell the donor something untrue, so services
queue such effects with `after_commit` instead of performing them. A step that must see the whole
transaction (a donor's standing, after a correction voided one donation and recorded another) is
queued with `before_commit`, once per key, and runs inside the transaction just before it commits.

The steps are kept on the session that queued them, and the listeners are put on that session
alone when it first queues one: no hook on SQLAlchemy's global `Session` class, so a session no
step was queued on (the dispatcher's own, another app's) runs nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

_BEFORE = "before_commit"
_AFTER = "after_commit"


def before_commit(session: Session, key: Hashable, action: Callable[[], object]) -> None:
    """Run `action` inside the transaction, just before `session` commits; a step queued again
    under the same key runs once. A step that raises rolls the transaction back."""
    _listen(session)
    session.info.setdefault(_BEFORE, {}).setdefault(key, action)


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run `action` once `session` has committed; never if it rolls back."""
    _listen(session)
    session.info.setdefault(_AFTER, []).append(action)


def _listen(session: Session) -> None:
    if not event.contains(session, "before_commit", _run_before):
        event.listen(session, "before_commit", _run_before)
        event.listen(session, "after_commit", _run_after)
        event.listen(session, "after_rollback", _drop_pending)


def _run_before(session: Session) -> None:
    done: set[Hashable] = set()
    while True:  # a step may queue another
        pending = {k: a for k, a in session.info.get(_BEFORE, {}).items() if k not in done}
        if not pending:
            break
        for key, action in pending.items():
            done.add(key)
            action()
    session.info.pop(_BEFORE, None)


def _run_after(session: Session) -> None:
    actions = session.info.pop(_AFTER, [])
    for action in actions:
        try:
            action()
        except Exception:  # an effect failing must not undo what was committed
            log.exception("after-commit action failed")


def _drop_pending(session: Session) -> None:
    session.info.pop(_BEFORE, None)
    session.info.pop(_AFTER, None)

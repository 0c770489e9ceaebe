"""Side effects that must happen only once the transaction that caused them has committed.

An SMS about a change that was rolled back would tell the donor something untrue, so services
queue such effects here instead of performing them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

_KEY = "after_commit"


def after_commit(session: Session, action: Callable[[], None]) -> None:
    session.info.setdefault(_KEY, []).append(action)


@event.listens_for(Session, "after_commit")
def _run_pending(session: Session) -> None:
    actions = session.info.pop(_KEY, [])
    for action in actions:
        try:
            action()
        except Exception:  # an effect failing must not undo what was committed
            log.exception("after-commit action failed")


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_KEY, None)

"""Steps at a transaction's end (core/transaction.py): just before commit, once per key, and
after commit; none of them for a transaction that rolled back."""

from __future__ import annotations

from sqlalchemy import func, select

from core import audit
from core.extensions import db
from core.models import AuditEntry
from core.transaction import after_commit, before_commit


def test_a_step_queued_twice_under_one_key_runs_once_inside_the_transaction(app):
    ran: list[str] = []

    def step() -> None:
        ran.append("step")
        audit.record("test.before_commit", actor=("system", None), target=("donor", 1))

    before_commit(db.session(), ("test", 1), step)
    before_commit(db.session(), ("test", 1), step)
    assert ran == []
    db.session.commit()
    assert ran == ["step"]
    kept = select(func.count()).where(AuditEntry.action == "test.before_commit")
    assert db.session.scalar(kept) == 1


def test_a_step_may_queue_another_before_the_commit(app):
    ran: list[str] = []

    def first() -> None:
        ran.append("first")
        before_commit(db.session(), "second", lambda: ran.append("second"))

    before_commit(db.session(), "first", first)
    db.session.commit()
    assert ran == ["first", "second"]


def test_a_rolled_back_transaction_runs_none_of_its_steps_then_or_later(app):
    ran: list[str] = []
    audit.record("test.rolled_back", actor=("system", None))
    db.session.flush()
    before_commit(db.session(), "before", lambda: ran.append("before"))
    after_commit(db.session(), lambda: ran.append("after"))
    db.session.rollback()
    db.session.commit()
    assert ran == []


def test_after_commit_steps_run_once_the_commit_is_done(app):
    ran: list[str] = []
    after_commit(db.session(), lambda: ran.append("after"))
    before_commit(db.session(), "before", lambda: ran.append("before"))
    db.session.commit()
    db.session.commit()
    assert ran == ["before", "after"]

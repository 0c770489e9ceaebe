"""How one test's rows are kept from the next: rolled back (most tests) or committed and emptied.

Rolled back (the default): the test runs inside one transaction on one connection that is rolled
back afterwards, as pypi/warehouse does. The app's session, and the outbox dispatcher's own
session (which sends right after a request commits), join that transaction: their commits end
a SAVEPOINT, their rollbacks return to it, and every request of the test sees what the earlier
ones wrote. Nothing reaches the disk, so nothing needs emptying.

Committed (`@pytest.mark.committed_db`): for the tests whose point is that other connections see
the commit (threads racing each other, a Celery worker in another process, the gates' own
autocommit connection, a second app on the same database). They commit for real and every table
is emptied afterwards.

A rolled-back test that reaches the database by another way (a connection of its own, a real
COMMIT) would fail for a reason that has nothing to do with what it checks, or leave rows behind
for the next test; the guard below notices it, empties the tables and fails the test with the
advice to mark it.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from flask import current_app
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.orm import Session

from core.extensions import db

COMMITTED = "committed_db"


def empty_all_tables() -> None:
    tables = [table.name for table in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            quoted = ", ".join(f'"{name}"' for name in tables)
            connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                connection.execute(text(f'DELETE FROM "{name}"'))


@contextmanager
def committed() -> Iterator[None]:
    try:
        yield
    finally:
        db.session.remove()
        empty_all_tables()


@contextmanager
def rolled_back() -> Iterator[None]:
    """The test inside one outer transaction, rolled back at the end (needs an app context)."""
    engine = db.engine
    connection = engine.connect()
    driver = connection.connection.driver_connection
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # pysqlite opens a transaction only before a write, so the first SAVEPOINT would become
        # the outermost transaction and its RELEASE a real commit (SQLAlchemy's documentation,
        # "Serializable isolation / Savepoints"): open the transaction by hand instead.
        legacy_level = driver.isolation_level
        driver.isolation_level = None
    outer = connection.begin()
    if sqlite:
        connection.exec_driver_sql("BEGIN")

    strays: list[str] = []
    test_thread = threading.get_ident()

    def joined_session() -> Session:
        if threading.get_ident() != test_thread:  # one connection cannot serve two threads
            strays.append(f"used the database from another thread ({_caller()})")
            raise RuntimeError("a rolled-back test's connection serves its own thread only")
        return _joined_session(connection)

    # Every app context of the test (each request pushes its own) gets a session on the
    # connection, and so does the outbox dispatcher.
    patches = pytest.MonkeyPatch()
    patches.setattr(db.session.registry, "createfunc", joined_session)
    db.session.remove()
    outbox_sessions = current_app.extensions["outbox_sessions"]
    outbox_settings = dict(outbox_sessions.kw)
    outbox_sessions.configure(bind=connection, join_transaction_mode="create_savepoint")

    def note_checkout(*_: Any) -> None:
        strays.append(f"opened a connection of its own ({_caller()})")

    def note_commit(other: Connection) -> None:
        if other is not connection and other.engine.url == engine.url:
            strays.append(f"committed on a connection of its own ({_caller()})")

    event.listen(engine, "checkout", note_checkout)
    event.listen(Engine, "commit", note_commit)
    try:
        yield
    finally:
        event.remove(engine, "checkout", note_checkout)
        event.remove(Engine, "commit", note_commit)
        db.session.remove()
        patches.undo()
        outbox_sessions.kw = outbox_settings
        if outer.is_active:
            outer.rollback()
        if sqlite:
            driver.isolation_level = legacy_level
        connection.close()
    if strays:
        empty_all_tables()
        pytest.fail(
            f"this test {strays[0]}, outside the transaction that is rolled back after it: "
            f"if it must commit for real, mark it @pytest.mark.{COMMITTED}",
            pytrace=False,
        )


def _caller() -> str:
    """Where our code (not a library's) asked for it."""
    ours = [
        f"{Path(frame.filename).relative_to(_ROOT)}:{frame.lineno}"
        for frame in traceback.extract_stack()[:-2]
        if frame.filename.startswith(str(_ROOT)) and "/.venv/" not in frame.filename
    ]
    return ", called from ".join(reversed(ours[-4:])) or "outside our code"


_ROOT = Path(__file__).resolve().parent.parent


def _joined_session(connection: Connection) -> Session:
    """The app's kind of session (with every listener the app put on it), on `connection`."""
    factory = db.session.session_factory
    joined = _joining(factory.class_)
    return joined(**{**factory.kw, "bind": connection, "join_transaction_mode": "create_savepoint"})


@cache
def _joining(session_class: type[Session]) -> type[Session]:
    """Flask-SQLAlchemy's session picks its engine itself and would ignore `bind`."""

    class JoinedSession(session_class):  # type: ignore[valid-type, misc]
        def get_bind(self, *args: Any, **kwargs: Any) -> Any:
            return self.bind

    return JoinedSession

"""The extension objects, created unbound and wired to the app in `create_app`."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, ClassVar

from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Engine, MetaData, Table, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

# The base of every model. A type checker cannot follow `db.Model`, a class Flask-SQLAlchemy makes
# at run time from Base and its mixins (table names, binds, `query`): it is named for it here.
if TYPE_CHECKING:

    class Model(Base):
        __abstract__ = True
        __table__: ClassVar[Table]

else:
    Model = db.Model
migrate = Migrate()
jwt = JWTManager()
limiter = Limiter(key_func=get_remote_address)


def ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled connection before use only when it has sat idle (a server restart or a
    dropped link would have gone unnoticed meanwhile).

    `pool_pre_ping` pays a round trip on every request; a connection in steady use has just
    proved itself. A statement that still meets a dead connection fails with a 503 and the pool
    replaces the connection.
    """

    @event.listens_for(engine, "checkin")
    def note_checkin(dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError() from error


class _WithoutResultRows(logging.Filter):
    """SQLAlchemy logs every fetched row at DEBUG: decrypted ID numbers, names, mobile numbers
    and message texts with one-time codes. Statements stay (their parameters are hidden by
    `hide_parameters`); the rows never reach a log, whatever level an operator sets."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.endswith("Row %r"))


def keep_result_rows_out_of_logs() -> None:
    """Attach the filter to the logger SQLAlchemy's engines write to (once per process)."""
    logger = logging.getLogger("sqlalchemy.engine.Engine")
    if not any(isinstance(item, _WithoutResultRows) for item in logger.filters):
        logger.addFilter(_WithoutResultRows())

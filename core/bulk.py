"""Loading many rows at once (history imports, seeding): COPY on PostgreSQL, executemany elsewhere.

Row-by-row INSERTs cost a round trip each; PostgreSQL's COPY streams a batch in one, which is
what makes a million-row station export load in minutes. Values pass through each column's type
(encryption, UTC times) exactly as an ORM insert would, so both paths store the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table

from core.extensions import db

if TYPE_CHECKING:
    import psycopg


def insert_rows(table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts keyed by column name) in the caller's transaction."""
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(table.insert(), list(rows))
        return
    dialect = connection.dialect
    names = list(rows[0])
    columns = [table.c[name] for name in names]
    processors = [column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
    quoted = ", ".join(f'"{name}"' for name in names)
    driver = cast("psycopg.Connection[Any]", connection.connection.driver_connection)
    cursor = driver.cursor()
    with cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(
                [
                    process(row[name]) if process else row[name]
                    for name, process in zip(names, processors, strict=True)
                ]
            )

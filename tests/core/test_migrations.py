"""The migrations build exactly the schema the models describe (item 4)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from core.extensions import db


def test_models_and_migrations_agree(app):
    context = MigrationContext.configure(db.session.connection(), opts={"compare_type": True})
    differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_every_table_is_built_by_a_migration(app):
    present = set(inspect(db.session.connection()).get_table_names())
    assert set(db.metadata.tables) <= present
    assert "alembic_version" in present

"""A value the database refuses is the caller's 422, never a 500 (issue 18, item 1).

The API's bounds refuse such values first (test_bounded_inputs); this is the net under them: a
DataError (PostgreSQL's "value too long", "out of range") was a 500 that left the error's type
and a traceback as the only trace, and said nothing useful to the caller.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DataError

from app import create_app
from core.extensions import db
from tests.core.test_errors import assert_error_shape


def _app_with_a_route_that_stores(database_url: str) -> Flask:
    app = create_app(
        {"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": database_url, "SMS_BACKEND": "memory"}
    )

    @app.post("/test/store")
    def store():
        db.session.execute(text("SELECT 1"))
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("SELECT CAST(:value AS SMALLINT)"), {"value": 10**6})
        raise DataError("INSERT …", {}, ValueError("value too long for type character varying(5)"))

    return app


def test_a_value_the_database_refuses_is_422_value_not_storable(built_app, database_url):
    app = _app_with_a_route_that_stores(database_url)
    with app.app_context():
        response = app.test_client().post("/test/store", json={})
        assert_error_shape(response, 422, "value_not_storable")
        assert "errors" not in response.get_json()
        db.session.remove()
        db.engine.dispose()

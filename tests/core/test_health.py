"""Liveness and readiness (item 12)."""

from __future__ import annotations

from sqlalchemy import text

from app import create_app
from core.extensions import db
from ops.machine import free_port


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_answers_ready_when_the_database_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready"}


def test_readyz_is_503_when_the_database_is_unreachable():
    port = free_port()  # nothing listens there
    app = create_app(
        {
            "APP_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": f"postgresql://nobody@127.0.0.1:{port}/none",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
        }
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["code"] == "service_unavailable"


def test_a_database_connection_dropped_while_idle_is_replaced_before_use(postgres):
    """A server restart or a dropped link between requests costs no request (PostgreSQL only:
    an embedded SQLite file has no link to drop)."""
    url = postgres.create_database("donor_idle_ping")
    app = create_app(
        {
            "APP_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": url,
            "DATABASE_PING_AFTER_IDLE_SECONDS": 0,
        }
    )
    client = app.test_client()
    try:
        assert client.get("/readyz").status_code == 200
        with app.app_context():
            pooled = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
            db.session.remove()
        postgres.terminate_backend(pooled)
        assert client.get("/readyz").status_code == 200
        with app.app_context():
            assert db.session.execute(text("SELECT pg_backend_pid()")).scalar() != pooled
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()

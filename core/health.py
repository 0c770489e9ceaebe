"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from marshmallow import Schema, fields
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from core.errors import ApiError
from core.extensions import db
from core.http import Blueprint

bp = Blueprint("health", __name__, description="Liveness and readiness")


class HealthSchema(Schema):
    status = fields.String()


@bp.get("/healthz")
@bp.response(200, HealthSchema)
def healthz():
    """The process is up; touches nothing else."""
    return {"status": "ok"}


@bp.get("/readyz")
@bp.response(200, HealthSchema)
def readyz():
    """The database answers; 503 otherwise."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        db.session.rollback()
        raise ApiError("service_unavailable", 503) from exc
    return {"status": "ready"}

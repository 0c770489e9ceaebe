"""Tables that belong to no single domain: login sessions, device credentials, the audit log, the
scheduler's record of daily jobs done."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core import clock
from core.extensions import Model
from core.types import UTCDateTime


class AuthSession(Model):
    """One login: its tokens carry the session id, so logout or a stolen refresh ends them all."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    principal_type: Mapped[str] = mapped_column(String(16))
    principal_id: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(32))
    current_refresh_jti: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (Index("ix_auth_sessions_principal", "principal_type", "principal_id"),)


class Device(Model):
    """A machine principal: a gate, a hospital system or the station's inventory system."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    benefit_kind: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Model):
    """Who did what to which record, and why. Never holds personal data, only references."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # From where: the client's address as the app sees it (ProxyFix corrects it behind the
    # proxy), and the request's X-Request-ID when it had one. None for work outside a request.
    client_address: Mapped[str | None] = mapped_column(String(45))
    request_id: Mapped[str | None] = mapped_column(String(64))

    # Everything done to one record, newest last: a donor's accesses (PIPL), and whether the
    # desk looked a donor up today (certificate/presence.py); everything one person did.
    __table_args__ = (
        Index("ix_audit_log_target", "target_type", "target_id", "at"),
        Index("ix_audit_log_actor", "actor_type", "actor_id", "at"),
    )


class IdempotentRequest(Model):
    """The first answer to a request carrying an Idempotency-Key, replayed to its retries."""

    __tablename__ = "idempotent_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    principal: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128))
    endpoint: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    __table_args__ = (UniqueConstraint("principal", "key", name="uq_idempotent_requests_key"),)


class ScheduleRun(Model):
    """A daily job that finished for a day, so the scheduler's frequent ticks do it once (the
    table keeps the name it had when only notifications ran jobs)."""

    __tablename__ = "notification_schedule_runs"

    job: Mapped[str] = mapped_column(String(48), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    written: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

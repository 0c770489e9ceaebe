"""The audit log: one call records an action in the caller's transaction, with where it came
from; administrators read it back by donor, actor, action and time (GET /admin/audit)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from typing import Any

from flask import has_request_context, request
from sqlalchemy import Select, and_, func, or_, select

from core import clock
from core.errors import ApiError
from core.extensions import db
from core.models import AuditEntry
from core.spreadsheet import spreadsheet_cell

ACTOR_TYPES = ("donor", "staff", "device", "system", "anonymous")
REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_MAX = 64
# What a request id may hold: a client picks it, so anything else (a name, a number) is not kept.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]+")


def record(
    action: str,
    *,
    actor: tuple[str, int | None],
    target: tuple[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit row; it commits or rolls back with the action it describes.

    An entry about a donor's record that is not the donor row itself (a donation, a document)
    names the donor in `details["donor"]` (the id), so the donor's accesses are found by donor.
    """
    entry = AuditEntry(
        actor_type=actor[0],
        actor_id=actor[1],
        action=action,
        target_type=target[0] if target else None,
        target_id=str(target[1]) if target else None,
        details=details,
        client_address=_client_address(),
        request_id=_request_id(),
    )
    db.session.add(entry)
    return entry


def _client_address() -> str | None:
    if not has_request_context():
        return None
    return (request.remote_addr or "")[:45] or None


def _request_id() -> str | None:
    if not has_request_context():
        return None
    value = request.headers.get(REQUEST_ID_HEADER, "")[:REQUEST_ID_MAX]
    return value if _REQUEST_ID.fullmatch(value) else None


def entries_query(
    *,
    donor_id: int | None = None,
    actor_type: str | None = None,
    actor_id: int | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select:
    """Audit entries matching every filter given, newest first.

    A donor's entries are those about the donor row, those whose details name the donor, and
    what the donor did themselves: everything the log holds on one person (PIPL).
    """
    if since is not None and until is not None and until < since:
        raise ApiError("audit_range_invalid", 422, errors={"to": ["audit_range_invalid"]})
    query = select(AuditEntry)
    if donor_id is not None:
        query = query.where(
            or_(
                and_(AuditEntry.target_type == "donor", AuditEntry.target_id == str(donor_id)),
                and_(AuditEntry.actor_type == "donor", AuditEntry.actor_id == donor_id),
                AuditEntry.details["donor"].as_integer() == donor_id,
            )
        )
    if actor_type is not None:
        query = query.where(AuditEntry.actor_type == actor_type)
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at <= until)
    return query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())


CSV_COLUMNS = (
    "at",
    "actor_type",
    "actor_id",
    "action",
    "target_type",
    "target_id",
    "details",
    "client_address",
    "request_id",
)


def entries_csv(query: Select, max_rows: int) -> str:
    """The entries as CSV (UTF-8 with a BOM), times in the service's zone, every cell
    formula-safe. More than `max_rows` is refused: the filter should be narrower."""
    count = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    if count and count > max_rows:
        raise ApiError("audit_export_too_large", 422, errors={"to": ["audit_export_too_large"]})
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in db.session.scalars(query):
        writer.writerow([spreadsheet_cell(value) for value in _csv_row(entry)])
    return buffer.getvalue()


def _csv_row(entry: AuditEntry) -> list[Any]:
    return [
        clock.to_local(entry.at).isoformat(),
        entry.actor_type,
        "" if entry.actor_id is None else entry.actor_id,
        entry.action,
        entry.target_type or "",
        entry.target_id or "",
        "" if entry.details is None else json.dumps(entry.details, ensure_ascii=False),
        entry.client_address or "",
        entry.request_id or "",
    ]

"""The audit log: one call records an action in the caller's transaction."""

from __future__ import annotations

from typing import Any

from core.extensions import db
from core.models import AuditEntry


def record(
    action: str,
    *,
    actor: tuple[str, int | None],
    target: tuple[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit row; it commits or rolls back with the action it describes."""
    entry = AuditEntry(
        actor_type=actor[0],
        actor_id=actor[1],
        action=action,
        target_type=target[0] if target else None,
        target_id=str(target[1]) if target else None,
        details=details,
    )
    db.session.add(entry)
    return entry

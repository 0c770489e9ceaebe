"""Writing messages to the outbox, in the transaction of whatever causes them.

A message is a row with a unique idempotency key (`thanks:<donation>`, `birthday:<donor>:<year>`,
`otp:<code>` ...). Writing the same key again changes nothing, so a retried request or a re-run
job never asks for a second message; a rolled-back cause takes its message with it. The manners
(notifications.rules) are applied here too: opted-out, over-cap and unreachable donors get a
`skipped` row (so a re-run does not reconsider them), and non-urgent messages are dated out of
the quiet hours.

What a message says must still be true when it arrives. A dated text keeps its variables and is
rendered again for the day it goes out; a message that rests on a fact carries a condition the
dispatcher asks just before sending (notifications.conditions); and an event that makes a waiting
message untrue cancels it (`cancel_unsent`) in its own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import ColumnElement, CursorResult, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import clock
from core.extensions import db
from core.transaction import after_commit
from donors.models import DONOR_ACTIVE, Donor
from notifications.conditions import Condition, require_registered
from notifications.dispatch import dispatch_soon
from notifications.models import (
    CANCELLED,
    PENDING,
    SENDING,
    SKIPPED,
    STATUSES,
    NotificationPreference,
    OutboxMessage,
)
from notifications.rules import local_moment, opted_out, polite_time
from notifications.templates import (
    CAPPED,
    GREETING,
    OPT_OUTS,
    SECURITY,
    kept_context,
    render,
    segments,
    template,
)

WEEK = timedelta(days=7)
# How long a message is worth sending when its cause does not say (codes expire with the code).
DEFAULT_LIFETIME = {
    SECURITY: timedelta(minutes=15),
    "urgent_call_out": timedelta(hours=12),
    "transactional": timedelta(days=3),
    "care": timedelta(days=3),
    "reminder": timedelta(days=7),
    "appeal": timedelta(days=3),
}


@dataclass(frozen=True)
class Addressee:
    """Enough of a donor to decide whether to write: no number, only whether there is one."""

    id: int
    status: str
    mobile_hash: str | None

    @classmethod
    def of(cls, donor: Donor) -> Addressee:
        return cls(donor.id, donor.status, donor.mobile_hash)


@dataclass(frozen=True)
class Draft:
    """One message to write: for a donor (their number is looked up when it is sent) or a number."""

    key: str
    context: dict[str, Any]
    donor: Donor | Addressee | None = None
    mobile: str | None = None
    condition: Condition | None = None  # what must still hold when it is sent


def default_expiry(category: str, meant_for: datetime, not_before: datetime) -> datetime:
    """When a message stops being worth sending: `meant_for` is when it was meant to go,
    `not_before` when it may (after the quiet hours)."""
    if category == GREETING:
        # A greeting belongs to the day it was meant for: one that cannot go before that day's
        # quiet hours is dropped, never sent the next morning.
        start = current_app.config["NOTIFY_QUIET_HOURS"][0]
        return local_moment(clock.to_local(meant_for).date(), start)
    return not_before + DEFAULT_LIFETIME[category]


def preferences_for(
    session: Session, donor_ids: Iterable[int]
) -> dict[int, NotificationPreference]:
    ids = list(donor_ids)
    if not ids:
        return {}
    rows = session.scalars(
        select(NotificationPreference).where(NotificationPreference.donor_id.in_(ids))
    )
    return {row.donor_id: row for row in rows}


def recent_capped_counts(session: Session, donor_ids: Iterable[int]) -> dict[int, int]:
    """Reminders, greetings and appeals written for each donor in the last 7 days."""
    ids = list(donor_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(OutboxMessage.donor_id, func.count())
        .where(
            OutboxMessage.donor_id.in_(ids),
            OutboxMessage.category.in_(CAPPED),
            OutboxMessage.status.notin_((SKIPPED, CANCELLED)),
            OutboxMessage.created_at >= clock.now() - WEEK,
        )
        .group_by(OutboxMessage.donor_id)
    )
    return {donor_id: count for donor_id, count in rows if donor_id is not None}


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = OutboxMessage.__table__
    for start in range(0, len(rows), 1000):
        statement = insert(table).values(rows[start : start + 1000])
        session.execute(statement.on_conflict_do_nothing(index_elements=["key"]))


def write(
    code: str,
    drafts: list[Draft],
    *,
    not_before: datetime | None = None,
    expires_at: datetime | None = None,
    session: Session | None = None,
    dispatch: bool = True,
) -> list[OutboxMessage]:
    """Write one message per draft (once per key) and return the rows, old or new.

    With `dispatch`, messages due now go out as soon as the transaction commits.
    """
    session = session or db.session()
    spec = template(code)
    now = clock.now()
    wanted = [draft.key for draft in drafts]
    existing = _existing(session, wanted)
    fresh = [draft for draft in drafts if draft.key not in existing]
    donor_ids = {draft.donor.id for draft in fresh if draft.donor is not None}
    preferences = preferences_for(session, donor_ids) if spec.category in OPT_OUTS else {}
    counts = recent_capped_counts(session, donor_ids) if spec.category in CAPPED else {}
    cap = current_app.config["NOTIFY_WEEKLY_CAP"]
    meant_for = max(not_before or now, now)
    start = polite_time(spec.category, meant_for)
    expiry = expires_at or default_expiry(spec.category, meant_for, start)
    send_day = clock.to_local(start).date()
    rows = []
    for draft in fresh:
        if draft.condition is not None:
            require_registered(draft.condition)
        status, reason = PENDING, None
        donor = draft.donor
        if start >= expiry:
            status, reason = SKIPPED, "too_late"
        elif donor is not None and (donor.status != DONOR_ACTIVE or not donor.mobile_hash):
            status, reason = SKIPPED, "no_mobile"
        elif donor is not None and opted_out(preferences.get(donor.id), spec.category):
            status, reason = SKIPPED, "opted_out"
        elif donor is not None and spec.category in CAPPED:
            if counts.get(donor.id, 0) >= cap:
                status, reason = SKIPPED, "weekly_cap"
            else:
                counts[donor.id] = counts.get(donor.id, 0) + 1
        body = render(code, draft.context, on=send_day)
        waiting = status == PENDING
        rows.append(
            {
                "key": draft.key,
                "template": code,
                "category": spec.category,
                "donor_id": donor.id if donor is not None else None,
                "to_mobile": draft.mobile if donor is None else None,
                "body": body if waiting else None,
                "context": kept_context(draft.context) if waiting and spec.dated else None,
                "condition": draft.condition.name if draft.condition else None,
                "condition_args": draft.condition.args if draft.condition else None,
                "sensitive": spec.sensitive,
                "segments": segments(body),
                "status": status,
                "status_reason": reason,
                "not_before": start,
                "expires_at": expiry,
                "attempts": 0,
                "created_at": now,
            }
        )
    if rows:
        _insert_ignoring_duplicates(session, rows)
    found = _existing(session, wanted)
    written = [found[key] for key in wanted if key in found]
    if dispatch:
        due = [row.id for row in written if row.status == PENDING and row.not_before <= now]
        if due:
            dispatch_after_commit(session, due)
    return written


def write_one(code: str, draft: Draft, **options: Any) -> OutboxMessage:
    return write(code, [draft], **options)[0]


def cancel_unsent(where: ColumnElement[bool], reason: str, session: Session | None = None) -> int:
    """Cancel, in the caller's transaction, the messages matching `where` that have not reached
    the provider: those waiting, and those a worker has claimed but not yet handed over. The
    worker's next write names its claim on a `sending` row, so it finds the row cancelled and
    sends nothing; a row already handed over (`in_flight_since`) is left to go, or to the
    dispatcher's condition, which is asked once the provider has been asked about it."""
    session = session or db.session()
    return cast(
        CursorResult[Any],
        session.execute(
            update(OutboxMessage)
            .where(
                where,
                OutboxMessage.status.in_((PENDING, SENDING)),
                OutboxMessage.in_flight_since.is_(None),
            )
            .values(status=CANCELLED, status_reason=reason, claim_token=None, locked_until=None)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount


def _existing(session: Session, keys: list[str]) -> dict[str, OutboxMessage]:
    found: dict[str, OutboxMessage] = {}
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        for row in session.scalars(select(OutboxMessage).where(OutboxMessage.key.in_(chunk))):
            found[row.key] = row
    return found


def dispatch_after_commit(session: Session, ids: list[int]) -> None:
    """Once the cause has committed, send now (inline) or ring the Celery worker."""

    def go() -> None:
        dispatch_soon(ids)

    after_commit(session, go)


def outbox_depth() -> Iterator[GaugeMetricFamily]:
    """The outbox by state, counted when Prometheus scrapes (core.metrics): every state, so a
    state that empties shows 0 rather than vanishing."""
    counts = dict(
        db.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    )
    depth = GaugeMetricFamily(
        "outbox_messages", "Messages in the outbox, by state.", labels=["state"]
    )
    for state in STATUSES:
        depth.add_metric([state], counts.get(state, 0))
    yield depth

"""Sending what the outbox holds: each message once, none lost.

Workers claim due rows under a lease (`sending`, a claim token and `locked_until`), with
`FOR UPDATE SKIP LOCKED` on PostgreSQL so workers never wait on each other; SQLite serialises
writers, and the claim is one UPDATE either way. Every later write names the claim token, so a
worker whose lease ran out can no longer touch the row.

The trade-off. Between handing a message to the provider and recording its answer a worker can
die, and nothing local can then tell "sent" from "not sent". Resending blindly would be
at-least-once (doubles); giving up would be at-most-once (losses). Instead the row records
`in_flight_since`, committed *before* the provider is called, and any later attempt on such a row
first asks the provider whether it holds a message with this recipient and text since then
(`find_sent`); only a clear "no" leads to a new send. The lease is far longer than the HTTP
timeout, so by the time another worker may ask, the first request has landed or died. Where the
provider cannot be asked (the console log in development), an unknown outcome is retried: at
least once. Where the provider cannot be asked *yet* (it is down), the row waits and asks again;
if it expires still unknown, it is marked `expired` with reason `outcome_unknown` and listed for
administrators instead of being sent a second time.

Just before a batch goes, the conditions its messages rest on are asked together
(notifications.conditions): a message whose fact no longer holds is cancelled, never sent. A
dated text is rendered again for the day it is sent, and that text is recorded with
`in_flight_since`, so the provider is asked about the very words it may hold.
"""

from __future__ import annotations

import logging
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from flask import Flask, current_app
from sqlalchemy import CursorResult, and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from core import clock, metrics
from core.extensions import db
from core.masking import mask_mobile
from donors.models import DONOR_ACTIVE, Donor
from notifications.backends import (
    SendOutcomeUnknown,
    SendRefused,
    SmsBackend,
    SmsMessage,
    sms_backend,
)
from notifications.conditions import UNCHECKED, stale
from notifications.models import (
    CANCELLED,
    EXPIRED,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    NotificationPreference,
    OutboxMessage,
)
from notifications.rules import opted_out, quiet_until
from notifications.templates import URGENT, render_for_sending, segments

log = logging.getLogger("notifications.dispatch")

SMS_OUTCOMES = metrics.counter(
    "sms_send_outcomes_total",
    "What became of each message a worker claimed: sent, found_at_provider (an earlier attempt"
    " had reached the provider), retrying, failed, expired, cancelled, held_for_quiet_hours,"
    " lost_lease.",
    ("outcome",),
)


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    found_at_provider: int = 0
    retrying: int = 0
    failed: int = 0
    expired: int = 0
    cancelled: int = 0
    held_for_quiet_hours: int = 0
    lost_lease: int = 0
    ids: list[int] = field(default_factory=list)

    def outcomes(self) -> dict[str, int]:
        return {
            name: getattr(self, name)
            for name in self.__dataclass_fields__
            if name not in ("claimed", "ids")
        }

    def add(self, other: DeliveryReport) -> None:
        for name in self.__dataclass_fields__:
            if name != "ids":
                setattr(self, name, getattr(self, name) + getattr(other, name))
        self.ids.extend(other.ids)


def use_own_sessions(app: Flask) -> None:
    """The dispatcher's sessions, made once per app on its engine; the test suite binds the same
    factory to the connection of a test's transaction, as it does the app's own session."""
    with app.app_context():
        app.extensions["outbox_sessions"] = sessionmaker(db.engine, expire_on_commit=False)


def open_session() -> Session:
    """The dispatcher's own session: it commits often, apart from any request's transaction."""
    sessions: sessionmaker[Session] = current_app.extensions["outbox_sessions"]
    return sessions()


def dispatch_soon(ids: list[int]) -> None:
    """Called after a cause commits: send now in-process, or ring the Celery worker."""
    if current_app.config["NOTIFY_DISPATCH"] == "celery":
        current_app.extensions["celery"].send_task("notifications.send_messages", args=[ids])
        return
    with open_session() as session:
        deliver(session, ids=ids)


def _due(now: datetime):
    return or_(
        and_(OutboxMessage.status == PENDING, OutboxMessage.not_before <= now),
        and_(OutboxMessage.status == SENDING, OutboxMessage.locked_until < now),
    )


def claim(session: Session, ids: list[int] | None, limit: int) -> tuple[str, list[OutboxMessage]]:
    """Take up to `limit` due rows (of `ids`, if given) under a fresh lease; commits."""
    now = clock.now()
    token = secrets.token_hex(16)
    candidates = select(OutboxMessage.id).where(_due(now))
    if ids is not None:
        candidates = candidates.where(OutboxMessage.id.in_(ids))
    candidates = candidates.order_by(OutboxMessage.not_before, OutboxMessage.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        # Lock the rows first (other workers skip them), then take them: one statement with
        # the locking subquery inside may be re-evaluated by the planner and take too many.
        chosen = list(session.scalars(candidates.with_for_update(skip_locked=True)))
        target = OutboxMessage.id.in_(chosen)
    else:
        target = OutboxMessage.id.in_(candidates.scalar_subquery())  # SQLite: one atomic UPDATE
    session.execute(
        update(OutboxMessage)
        .where(target, _due(now))
        .values(
            status=SENDING,
            claim_token=token,
            locked_until=now + timedelta(seconds=current_app.config["NOTIFY_LEASE_SECONDS"]),
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.claim_token == token).order_by(OutboxMessage.id)
    ).all()
    return token, list(rows)


def deliver(
    session: Session, *, ids: list[int] | None = None, limit: int | None = None
) -> DeliveryReport:
    """Claim one batch of due messages and send each."""
    token, rows = claim(session, ids, limit or current_app.config["NOTIFY_BATCH_SIZE"])
    return send_claimed(session, token, rows)


def send_claimed(session: Session, token: str, rows: list[OutboxMessage]) -> DeliveryReport:
    """Send the rows of one claim, once their conditions have been asked, as a batch."""
    report = DeliveryReport()
    report.claimed = len(rows)
    if not rows:
        return report
    backend = sms_backend()
    untrue = stale(rows)
    for row in rows:
        try:
            _deliver_one(session, backend, row, token, report, untrue.get(row.id))
        except Exception:
            session.rollback()
            # The lease runs out and another attempt picks the row up; never the text or number.
            log.exception("delivering outbox message %s failed", row.id)
    counted = {outcome: count for outcome, count in report.outcomes().items() if count}
    for outcome, count in counted.items():
        SMS_OUTCOMES.labels(outcome).inc(count)
    log.info(
        "claimed %d: %s",
        report.claimed,
        ", ".join(f"{outcome} {count}" for outcome, count in counted.items()) or "nothing done",
    )
    return report


def deliver_due(max_batches: int = 50) -> DeliveryReport:
    """Send everything due, batch after batch (a sweep: Celery beat or the embedded worker)."""
    total = DeliveryReport()
    with open_session() as session:
        for _ in range(max_batches):
            report = deliver(session)
            total.add(report)
            if report.claimed == 0:
                break
    return total


def _write(session: Session, row: OutboxMessage, token: str, **values) -> bool:
    """Change a claimed row, only while this claim still holds it; commits."""
    result = cast(
        CursorResult[Any],
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == row.id,
                OutboxMessage.claim_token == token,
                OutboxMessage.status == SENDING,
            )
            .values(updated_at=clock.now(), **values)
            .execution_options(synchronize_session=False)
        ),
    )
    session.commit()
    return result.rowcount == 1


def _close(session: Session, row: OutboxMessage, token: str, status: str, **values) -> bool:
    if row.sensitive:
        values["body"] = None
    if row.to_mobile is not None and (row.sensitive or status == SENT):
        values["to_mobile"] = None  # a number kept only until its message is out
    return _write(session, row, token, status=status, claim_token=None, locked_until=None, **values)


def _recipient(session: Session, row: OutboxMessage) -> str | None:
    if row.donor_id is None:
        return row.to_mobile
    donor = session.get(Donor, row.donor_id)
    if donor is None or donor.status != DONOR_ACTIVE:
        return None
    return donor.mobile


def status_callback_url(backend: SmsBackend) -> str | None:
    if backend.name != "twilio":
        return None
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/webhooks/twilio/status"


def _deliver_one(
    session: Session,
    backend: SmsBackend,
    row: OutboxMessage,
    token: str,
    report: DeliveryReport,
    untrue: str | None = None,
) -> None:
    """`untrue`: why the fact the message rests on no longer holds, if it does not."""
    now = clock.now()
    report.ids.append(row.id)
    expired = row.expires_at is not None and row.expires_at <= now
    if expired and row.in_flight_since is None:
        if _close(session, row, token, EXPIRED, status_reason="expired"):
            report.expired += 1
        return
    mobile = _recipient(session, row)
    if not mobile or not row.body:
        if _close(session, row, token, CANCELLED, status_reason="no_mobile"):
            report.cancelled += 1
        return
    message = SmsMessage(
        to=mobile, body=row.body, key=row.key, status_callback=status_callback_url(backend)
    )
    if row.in_flight_since is not None:
        # An earlier attempt may have reached the provider: ask before anything else.
        try:
            candidates = backend.find_sent(message, row.in_flight_since)
        except SendOutcomeUnknown as outcome:
            _retry(session, row, token, outcome.code, report, in_flight=True)
            return
        known = set(
            session.scalars(
                select(OutboxMessage.provider_sid).where(
                    OutboxMessage.provider_sid.in_(candidates or [""])
                )
            )
        )
        fresh = [sid for sid in candidates if sid not in known]
        if fresh:
            if _sent(session, row, token, backend, fresh[0]):
                report.found_at_provider += 1
            return
    if expired:
        if _close(session, row, token, EXPIRED, status_reason="expired", in_flight_since=None):
            report.expired += 1
        return
    if row.donor_id is not None:
        if opted_out(session.get(NotificationPreference, row.donor_id), row.category):
            if _close(
                session, row, token, CANCELLED, status_reason="opted_out", in_flight_since=None
            ):
                report.cancelled += 1
            return
    if untrue == UNCHECKED:
        _retry(session, row, token, UNCHECKED, report, in_flight=False)
        return
    if untrue is not None:
        if _close(session, row, token, CANCELLED, status_reason=untrue, in_flight_since=None):
            report.cancelled += 1
        return
    if row.category not in URGENT:
        wait = quiet_until(now)
        if wait is not None:
            if _write(
                session,
                row,
                token,
                status=PENDING,
                claim_token=None,
                locked_until=None,
                not_before=wait,
                in_flight_since=None,
            ):
                report.held_for_quiet_hours += 1
            return
    body = render_for_sending(row, clock.to_local(now).date())
    message = SmsMessage(
        to=mobile, body=body, key=row.key, status_callback=status_callback_url(backend)
    )
    lease = timedelta(seconds=current_app.config["NOTIFY_LEASE_SECONDS"])
    attempts = row.attempts + 1
    if not _write(
        session,
        row,
        token,
        in_flight_since=now,
        attempts=attempts,
        locked_until=now + lease,
        body=body,
        segments=segments(body),
    ):
        report.lost_lease += 1  # or cancelled meanwhile (a voided donation, a cancelled booking)
        return
    row.attempts, row.in_flight_since, row.body = attempts, now, body
    try:
        sid = backend.send(message)
    except SendRefused as refused:
        if refused.permanent:
            if _close(
                session,
                row,
                token,
                FAILED,
                status_reason="refused",
                error_code=refused.code,
                in_flight_since=None,
            ):
                report.failed += 1
                log.warning(
                    "message %s to %s refused: %s", row.id, mask_mobile(mobile), refused.code
                )
            return
        _retry(session, row, token, refused.code, report, in_flight=False)
        return
    except SendOutcomeUnknown as outcome:
        _retry(session, row, token, outcome.code, report, in_flight=True)
        return
    except Exception as error:  # a bug or an unexpected library error: treat as unknown
        _retry(session, row, token, type(error).__name__, report, in_flight=True)
        return
    if _sent(session, row, token, backend, sid):
        report.sent += 1
    else:
        report.lost_lease += 1
        log.warning("message %s was sent but its lease had passed to another worker", row.id)


def _sent(session: Session, row: OutboxMessage, token: str, backend: SmsBackend, sid: str) -> bool:
    return _close(
        session,
        row,
        token,
        SENT,
        provider=backend.name,
        provider_sid=sid,
        provider_status="accepted",
        sent_at=clock.now(),
        in_flight_since=None,
        status_reason=None,
        error_code=None,
    )


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with a little jitter, so retries of a busy minute spread out."""
    base = current_app.config["NOTIFY_RETRY_BASE_SECONDS"]
    ceiling = current_app.config["NOTIFY_RETRY_MAX_SECONDS"]
    seconds = min(ceiling, base * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=seconds * random.uniform(0.9, 1.1))


def _retry(
    session: Session,
    row: OutboxMessage,
    token: str,
    code: str,
    report: DeliveryReport,
    *,
    in_flight: bool,
) -> None:
    now = clock.now()
    kept: dict[str, datetime | None] = (
        {"in_flight_since": row.in_flight_since or now} if in_flight else {}
    )
    if not in_flight:
        kept["in_flight_since"] = None
    next_try = now + retry_delay(row.attempts)
    if row.attempts >= current_app.config["NOTIFY_MAX_ATTEMPTS"]:
        reason = "outcome_unknown" if in_flight else "gave_up"
        if _close(session, row, token, FAILED, status_reason=reason, error_code=code, **kept):
            report.failed += 1
        return
    if row.expires_at is not None and next_try >= row.expires_at:
        reason = "outcome_unknown" if in_flight else "expired"
        if _close(session, row, token, EXPIRED, status_reason=reason, error_code=code, **kept):
            report.expired += 1
        return
    if _write(
        session,
        row,
        token,
        status=PENDING,
        claim_token=None,
        locked_until=None,
        not_before=next_try,
        error_code=code,
        **kept,
    ):
        report.retrying += 1

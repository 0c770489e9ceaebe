"""The outbox of messages to donors, their preferences, stock appeals and issued units."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core import clock
from core.extensions import Model
from core.types import EncryptedText, UTCDateTime
from donors.models import Donor

# Life of an outbox row. `pending` waits for `not_before`; a worker holds a `sending` row for a
# lease; the provider's answer makes it `sent`, and delivery callbacks `delivered` or
# `undelivered`. `failed` and `expired` are final without delivery and are listed for admins;
# `skipped` (decided when written) and `cancelled` (decided when due, or by an event such as a
# voided donation or a cancelled booking, or by a condition that no longer held when it was to be
# sent) were never meant to go; `status_reason` says why.
PENDING = "pending"
SENDING = "sending"
SENT = "sent"
DELIVERED = "delivered"
UNDELIVERED = "undelivered"
FAILED = "failed"
EXPIRED = "expired"
SKIPPED = "skipped"
CANCELLED = "cancelled"
STATUSES = (PENDING, SENDING, SENT, DELIVERED, UNDELIVERED, FAILED, EXPIRED, SKIPPED, CANCELLED)
NOT_DELIVERED = (FAILED, UNDELIVERED, EXPIRED)


class OutboxMessage(Model):
    """One SMS, written in the transaction of its cause and sent once.

    The row names the donor, not the number: the number is decrypted only when the message is
    handed to the provider. `to_mobile` is set only where there is no donor to name (a code for a
    number not yet registered, a notice to a number just replaced).
    """

    __tablename__ = "notification_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    template: Mapped[str] = mapped_column(String(48))
    category: Mapped[str] = mapped_column(String(16))
    donor_id: Mapped[int | None] = mapped_column(ForeignKey("donors.id"))
    to_mobile: Mapped[str | None] = mapped_column(EncryptedText)
    body: Mapped[str | None] = mapped_column(EncryptedText)
    # A dated template's variables (JSON): its text is rendered again for the day it is sent.
    context: Mapped[str | None] = mapped_column(EncryptedText)
    # What the message rests on, asked again just before it is sent (notifications.conditions).
    condition: Mapped[str | None] = mapped_column(String(48))
    condition_args: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    # A one-time code: the text is wiped once it is sent or can no longer be.
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    segments: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    status_reason: Mapped[str | None] = mapped_column(String(64))
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set just before the provider is called and cleared by its definite answer: while set, the
    # provider may hold the message, so a retry first asks the provider instead of resending.
    in_flight_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider: Mapped[str | None] = mapped_column(String(16))
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    provider_status: Mapped[str | None] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, onupdate=clock.now)

    __table_args__ = (
        Index("ix_notification_outbox_due", "status", "not_before"),
        Index("ix_notification_outbox_donor_category", "donor_id", "category", "created_at"),
    )


class NotificationPreference(Model):
    """What a donor opted out of; no row means the defaults (everything on)."""

    __tablename__ = "notification_preferences"

    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"), primary_key=True)
    greetings: Mapped[bool] = mapped_column(Boolean, default=True)
    appeals: Mapped[bool] = mapped_column(Boolean, default=True)
    reminders: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


OPEN = "open"
CLOSED = "closed"


class StockAppeal(Model):
    """An administrator's call: blood group X is low in city Y, until a date."""

    __tablename__ = "stock_appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    abo: Mapped[str] = mapped_column(String(2))
    rhd: Mapped[str] = mapped_column(String(8))
    city: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(32))
    ends_on: Mapped[date] = mapped_column(Date)
    max_wave: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=OPEN)
    waves: Mapped[int] = mapped_column(Integer, default=0)
    notified: Mapped[int] = mapped_column(Integer, default=0)
    next_wave_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declared_by: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_stock_appeals_status_next", "status", "next_wave_at"),)


class UnitIssue(Model):
    """The station's inventory system reported a unit (by DIN) issued to a hospital."""

    __tablename__ = "unit_issues"

    id: Mapped[int] = mapped_column(primary_key=True)
    din: Mapped[str] = mapped_column(String(13))
    issue_ref: Mapped[str] = mapped_column(String(64))
    hospital: Mapped[str] = mapped_column(String(200))
    component: Mapped[str | None] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    donation_id: Mapped[int] = mapped_column(ForeignKey("donations.id"))
    reported_by: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    __table_args__ = (UniqueConstraint("din", "issue_ref", name="uq_unit_issues_din_issue"),)


# Finding today's birthdays among millions of donors: an equality look-up per birth year on a
# plain index (see schedules.birthday_donors), which both databases serve well.
Index("ix_donors_birth_date", Donor.birth_date)

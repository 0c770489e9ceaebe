"""Opening schedules, slots, bookings, waiting lists, signed health forms and check-in visits.

Places are counted on the slot (`booked`, `held`) and only ever changed by conditional UPDATEs
(`... WHERE booked + held < capacity`), which are atomic on PostgreSQL and on SQLite alike; a
CHECK constraint refuses any write that would overfill a slot, whatever code path makes it.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import clock
from core.extensions import Model
from core.types import EncryptedText, UTCDateTime
from donors.models import Donor
from sites.models import Site

# Site rules for the national calendar.
HOLIDAYS_CLOSED = "closed"
HOLIDAYS_OPEN = "open"

SLOT_OPEN = "open"
SLOT_CLOSED = "closed"  # the site closed the day or changed its hours after the slot was opened

# Bookings
BOOKED = "booked"
CHECKED_IN = "checked_in"  # the donor arrived: a visit is open
FULFILLED = "fulfilled"  # a donation was recorded
CANCELLED = "cancelled"  # by the donor, or by the site closing the slot (`cancelled_by`)
RESCHEDULED = "rescheduled"  # replaced by another booking (`rescheduled_to_id`)
NO_SHOW = "no_show"  # marked by staff, or by the nightly sweep once the day is over
NOT_DONATED = "not_donated"  # checked in, and the visit closed without a donation
ACTIVE_BOOKING = (BOOKED, CHECKED_IN)

# Waiting-list entries
WAITING = "waiting"
OFFERED = "offered"  # a place is held for the donor until `offer_expires_at`
ACCEPTED = "accepted"
EXPIRED = "expired"  # the offer ran out: the place passed on, the donor left the list
LEFT = "left"  # the donor left the list, or declined an offer
LAPSED = "lapsed"  # the day passed while waiting
ACTIVE_WAITLIST = (WAITING, OFFERED)

# Visits
VISIT_OPEN = "open"
VISIT_DONATED = "donated"
VISIT_CLOSED = "closed"

_ACTIVE_BOOKING_SQL = text("status IN ('booked', 'checked_in')")
_ACTIVE_WAITLIST_SQL = text("status IN ('waiting', 'offered')")
_OPEN_VISIT_SQL = text("status = 'open'")


class SiteSchedule(Model):
    """A site's booking rules for days the national calendar makes special."""

    __tablename__ = "site_schedules"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    public_holidays: Mapped[str] = mapped_column(String(16), default=HOLIDAYS_CLOSED)
    # An adjusted working day (调休上班日, a weekend day worked instead of a holiday) opens with
    # the sessions of this ISO weekday; None: with its own weekday's sessions.
    adjusted_workdays_as: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class OpeningSession(Model):
    """One weekly opening (a morning, an afternoon), cut into slots with places per kind."""

    __tablename__ = "opening_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)  # ISO: 1 = Monday … 7 = Sunday
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)
    slot_minutes: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[dict[str, int]] = mapped_column(JSON)  # kind -> places per slot


class ScheduleException(Model):
    """One dated change: the site is closed that day, or opens with other sessions."""

    __tablename__ = "schedule_exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    day: Mapped[date] = mapped_column(Date)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    sessions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    __table_args__ = (UniqueConstraint("site_id", "day", name="uq_schedule_exceptions_site_day"),)


class Slot(Model):
    """Places for one kind of donation at one site from `starts_at` to `ends_at`."""

    __tablename__ = "slots"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    day: Mapped[date] = mapped_column(Date)  # local (Asia/Shanghai) date
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    capacity: Mapped[int] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer, default=0)
    held: Mapped[int] = mapped_column(Integer, default=0)  # offered to a waiting donor
    status: Mapped[str] = mapped_column(String(16), default=SLOT_OPEN)

    site: Mapped[Site] = relationship()

    __table_args__ = (
        UniqueConstraint("site_id", "starts_at", "kind", name="uq_slots_site_start_kind"),
        Index("ix_slots_day_site", "day", "site_id"),
        CheckConstraint("booked >= 0 AND held >= 0", name="places_not_negative"),
        CheckConstraint("booked + held <= capacity", name="never_overbooked"),
    )

    @property
    def free(self) -> int:
        return max(self.capacity - self.booked - self.held, 0) if self.status == SLOT_OPEN else 0


class Booking(Model):
    __tablename__ = "bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"))
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=BOOKED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # donor; site (the slot closed); system (a donation elsewhere made the day impossible)
    cancelled_by: Mapped[str | None] = mapped_column(String(16))
    rescheduled_to_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    no_show_marked_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    donation_id: Mapped[int | None] = mapped_column(ForeignKey("donations.id"), unique=True)

    slot: Mapped[Slot] = relationship()
    site: Mapped[Site] = relationship()
    donor: Mapped[Donor] = relationship()

    __table_args__ = (
        Index("ix_bookings_site_day", "site_id", "day"),
        Index("ix_bookings_day_status", "day", "status"),
        # One active booking per donor: a second one, however concurrent, is refused here.
        Index(
            "uq_bookings_donor_active",
            "donor_id",
            unique=True,
            postgresql_where=_ACTIVE_BOOKING_SQL,
            sqlite_where=_ACTIVE_BOOKING_SQL,
        ),
        Index("ix_bookings_donor_created", "donor_id", "created_at"),
    )


class WaitlistEntry(Model):
    """A donor waiting for a place of one kind at one site on one day, first come first served."""

    __tablename__ = "waitlist_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=WAITING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    offered_slot_id: Mapped[int | None] = mapped_column(ForeignKey("slots.id"))
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))

    site: Mapped[Site] = relationship()
    offered_slot: Mapped[Slot | None] = relationship()

    __table_args__ = (
        Index("ix_waitlist_entries_line", "site_id", "day", "kind", "status", "created_at"),
        Index(
            "uq_waitlist_entries_donor_active",
            "donor_id",
            "site_id",
            "day",
            "kind",
            unique=True,
            postgresql_where=_ACTIVE_WAITLIST_SQL,
            sqlite_where=_ACTIVE_WAITLIST_SQL,
        ),
    )


class QuestionnaireResponse(Model):
    """A donor's signed health form: never changed once written (also refused by the database).

    `answers` is encrypted JSON holding the answers, their evaluation and a random nonce;
    `answers_sha256` is the hash of the canonical document, nonce included, so it binds the
    signature to exactly these answers without letting anyone test guesses against it.
    """

    __tablename__ = "questionnaire_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"))
    region: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(32))
    answers: Mapped[str] = mapped_column(EncryptedText)
    answers_sha256: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ip: Mapped[str] = mapped_column(String(45))
    user_agent: Mapped[str] = mapped_column(String(300))

    __table_args__ = (Index("ix_questionnaire_responses_donor_signed", "donor_id", "signed_at"),)


@event.listens_for(QuestionnaireResponse, "before_update")
def _refuse_changes(mapper: Any, connection: Any, target: QuestionnaireResponse) -> None:
    raise ValueError("a signed questionnaire response cannot be changed")


class CheckinCodeUse(Model):
    """The id of every check-in code that opened a visit: a code works once."""

    __tablename__ = "checkin_code_uses"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Visit(Model):
    """A donor at a site today, from check-in to the donation (or to leaving without one)."""

    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    day: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(16))  # qr | id_number
    status: Mapped[str] = mapped_column(String(16), default=VISIT_OPEN)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    opened_by: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    questionnaire_response_id: Mapped[int | None] = mapped_column(
        ForeignKey("questionnaire_responses.id")
    )
    donation_id: Mapped[int | None] = mapped_column(ForeignKey("donations.id"), unique=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    outcome: Mapped[str | None] = mapped_column(String(32))
    # When a face check showed this donor's enrolled face, live, at this visit: the people who
    # take the blood see the identity was checked. Every check, passed or not, is in the audit log.
    face_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    donor: Mapped[Donor] = relationship()
    site: Mapped[Site] = relationship()
    booking: Mapped[Booking | None] = relationship()
    questionnaire_response: Mapped[QuestionnaireResponse | None] = relationship()

    __table_args__ = (
        Index("ix_visits_site_day", "site_id", "day"),
        Index(
            "uq_visits_donor_open",
            "donor_id",
            unique=True,
            postgresql_where=_OPEN_VISIT_SQL,
            sqlite_where=_OPEN_VISIT_SQL,
        ),
    )

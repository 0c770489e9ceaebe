"""Donations, their certificates, each donor's running totals, and idempotent request records."""

from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certificate.counts import from_halves
from core import clock
from core.extensions import Model
from core.types import EncryptedText, UTCDateTime
from donors.models import Donor
from sites.models import Site

VALID = "valid"
VOIDED = "voided"

RECORDED = "recorded"  # by staff at a site, through this service
IMPORTED = "imported"  # from a station's legacy export

# Donation reactions (献血反应) staff record; any but "none" ends the age extension past 55
# (GB 18467-2011 §7.1; POLICY.md "Decisions (2026-11-30)").
REACTION_NONE = "none"
REACTION_SEVERITIES = (REACTION_NONE, "mild", "moderate", "severe")


class Donation(Model):
    """A collection, as a raw fact. Never edited: a correction voids it and records another."""

    __tablename__ = "donations"

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    facility_code: Mapped[str] = mapped_column(String(5))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    volume_ml: Mapped[int | None] = mapped_column(Integer)
    units: Mapped[int | None] = mapped_column(Integer)
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    donation_date: Mapped[date] = mapped_column(Date)  # local (Asia/Shanghai) date of collection
    din: Mapped[str] = mapped_column(String(13))
    din_flags: Mapped[str] = mapped_column(String(2), default="00")
    din_check: Mapped[str] = mapped_column(String(1))
    status: Mapped[str] = mapped_column(String(16), default=VALID)
    source: Mapped[str] = mapped_column(String(16), default=RECORDED)
    region: Mapped[str] = mapped_column(String(32))
    override_reason: Mapped[str | None] = mapped_column(Text)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("donations.id"))
    # The check-in visit the donation came from. No foreign key: visits belong to appointments/,
    # which certificate/ does not know (see certificate/visits.py).
    visit_id: Mapped[int | None] = mapped_column(Integer, index=True)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    void_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    donor: Mapped[Donor] = relationship()
    site: Mapped[Site | None] = relationship()
    certificate: Mapped[Certificate | None] = relationship(back_populates="donation")
    reactions: Mapped[list[DonationReaction]] = relationship(order_by="DonationReaction.id")

    @property
    def amount(self) -> tuple[int | None, str]:
        """What the donation is counted and certified in, with its unit ("ml" or "unit").

        Therapeutic units where it has them: an apheresis platelet donation records its
        collected volume beside its units, and the units are what the award rules count.
        """
        if self.units is not None:
            return self.units, "unit"
        return self.volume_ml, "ml"

    @property
    def reaction(self) -> DonationReaction | None:
        """The donation's reaction: the latest entry staff made (None: none recorded)."""
        return self.reactions[-1] if self.reactions else None

    __table_args__ = (
        Index("ix_donations_donor_date", "donor_id", "donation_date"),
        Index("ix_donations_site_date", "site_id", "donation_date"),
        Index("ix_donations_din", "din"),
        # One valid record per bag; a correction voids the old record and reuses the DIN.
        Index(
            "uq_donations_din_valid",
            "din",
            unique=True,
            postgresql_where=text("status = 'valid'"),
            sqlite_where=text("status = 'valid'"),
        ),
    )


class DonationReaction(Model):
    """A reaction staff recorded on a donation, at collection or afterwards.

    Entries are never edited: a later one on the same donation becomes its reaction, and the
    earlier stays. The note is health data: encrypted at rest, never logged, shown only to staff.
    """

    __tablename__ = "donation_reactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    donation_id: Mapped[int] = mapped_column(ForeignKey("donations.id"), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(EncryptedText)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    @property
    def has_note(self) -> bool:
        return bool(self.note)


class Certificate(Model):
    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    donation_id: Mapped[int] = mapped_column(ForeignKey("donations.id"), unique=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    kid: Mapped[str] = mapped_column(String(64))
    signed_token: Mapped[str] = mapped_column(Text)

    donation: Mapped[Donation] = relationship(back_populates="certificate")


class DonorTotals(Model):
    """A donor's running totals, recomputed from valid donations in the recording transaction."""

    __tablename__ = "donor_totals"

    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"), primary_key=True)
    donations: Mapped[int] = mapped_column(Integer, default=0)
    # Counts by the national award rules, in halves (a 300 ml whole-blood donation is 3).
    award_half_counts: Mapped[int] = mapped_column(Integer, default=0)
    by_kind: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_donation_date: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    @property
    def award_counts(self) -> Fraction:
        return from_halves(self.award_half_counts or 0)


class DinSequence(Model):
    """The last sequence number used for DINs this service generated, per facility and year."""

    __tablename__ = "din_sequences"

    facility_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)

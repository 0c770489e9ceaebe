"""Hospitals and their cashiers' devices; the free blood-use ledger; every reduced bill, whether
settled at a hospital, claimed by the donor afterwards or imported; the months hospitals
confirmed; the admissions hospitals reported."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core import clock
from core.extensions import Model
from core.types import EncryptedText, UTCDateTime

# How a bill came to be reduced.
AT_HOSPITAL = "hospital"  # settled at the hospital's cashier
BY_CLAIM = "claim"  # claimed by the donor afterwards, reviewed by the station
FROM_IMPORT = "import"  # reduced in the station's old system, imported

# A reduction's status.
SETTLED = "settled"
REVERSED = "reversed"
SUBMITTED = "submitted"
APPROVED = "approved"
REJECTED = "rejected"
PAID = "paid"
IMPORTED = "imported"

# Whose entitlement a use draws on.
DONOR_POOL = "donor"
RELATIVES_POOL = "relatives"


class Hospital(Model):
    """A hospital whose cashier settles blood-fee reductions; its region decides which rules it
    may apply directly (the donation region's, or one with a reciprocal agreement)."""

    __tablename__ = "hospitals"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class HospitalDevice(Model):
    """Binds a device credential with role `hospital` to the hospital it acts for."""

    __tablename__ = "hospital_devices"

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)


class BloodFeeReduction(Model):
    """One bill whose blood fee was reduced, once, by whichever channel came first.

    `bill_key` (the hospital's code, or the claimed hospital's normalised name, and the bill
    number) is unique across channels: a bill settled at the cashier cannot be claimed again, nor
    a claimed one settled. `rule` says what was applied under which rule, as the receipt shows.
    """

    __tablename__ = "blood_fee_reductions"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    bill_key: Mapped[str] = mapped_column(String(300), unique=True)
    bill_number: Mapped[str] = mapped_column(String(64))
    hospital_id: Mapped[int | None] = mapped_column(ForeignKey("hospitals.id"), index=True)
    hospital_name: Mapped[str] = mapped_column(String(200))
    # Whose entitlement it drew on, and the relative treated (None: the donor themself).
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"), index=True)
    family_link_id: Mapped[int | None] = mapped_column(ForeignKey("family_links.id"))
    region: Mapped[str] = mapped_column(String(32))  # whose rules applied
    transfused_on: Mapped[date] = mapped_column(Date)
    discharged_on: Mapped[date | None] = mapped_column(Date)
    components: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    volume_ml: Mapped[int] = mapped_column(Integer)
    fee_cents: Mapped[int] = mapped_column(Integer)
    covered_ml: Mapped[int] = mapped_column(Integer, default=0)
    reduction_cents: Mapped[int] = mapped_column(Integer, default=0)
    rule: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    settled_on: Mapped[date | None] = mapped_column(Date)  # local date: the month it is repaid in
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_type: Mapped[str] = mapped_column(String(16))  # device | donor | staff
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reversed_by_type: Mapped[str | None] = mapped_column(String(16))
    reversed_by_id: Mapped[int | None] = mapped_column(Integer)
    reverse_reason: Mapped[str | None] = mapped_column(Text)
    # A claim: reviewed by station staff, then paid out.
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    payout_cents: Mapped[int | None] = mapped_column(Integer)
    payout_method: Mapped[str | None] = mapped_column(String(32))
    payout_reference: Mapped[str | None] = mapped_column(EncryptedText)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    __table_args__ = (
        Index("ix_blood_fee_reductions_hospital_settled", "hospital_id", "settled_on"),
        Index("ix_blood_fee_reductions_channel_status", "channel", "status"),
    )


class BloodFeeDocument(Model):
    """A document attached to a claim (the bill, the discharge summary)."""

    __tablename__ = "blood_fee_documents"

    reduction_id: Mapped[int] = mapped_column(
        ForeignKey("blood_fee_reductions.id"), primary_key=True
    )
    document_id: Mapped[int] = mapped_column(ForeignKey("donor_documents.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # bill | discharge_summary


class BloodUseEntry(Model):
    """The entitlement ledger: each row a use (negative ml) or a restoration (positive) drawn
    from one window of one pool; what remains is the windows' allowances plus these rows.

    `donation_id` names the donation whose window it drew from (None: the lifetime, unlimited
    entitlement); `phase` which part of that window (0: the first years at the higher multiple).
    """

    __tablename__ = "blood_use_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"))
    pool: Mapped[str] = mapped_column(String(16))
    family_link_id: Mapped[int | None] = mapped_column(ForeignKey("family_links.id"))
    donation_id: Mapped[int | None] = mapped_column(ForeignKey("donations.id"))
    phase: Mapped[int] = mapped_column(Integer, default=0)
    amount_ml: Mapped[int] = mapped_column(Integer)
    reduction_id: Mapped[int] = mapped_column(ForeignKey("blood_fee_reductions.id"), index=True)
    cause: Mapped[str] = mapped_column(String(16))  # use | restore
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    __table_args__ = (Index("ix_blood_use_entries_donor_pool", "donor_id", "pool"),)


class HospitalMonth(Model):
    """A month of a hospital's reductions it confirmed for repayment: its bills are then
    reversed only by an administrator."""

    __tablename__ = "hospital_months"

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM, Beijing time
    bills: Mapped[int] = mapped_column(Integer)
    reduction_cents: Mapped[int] = mapped_column(Integer)
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    confirmed_by: Mapped[int] = mapped_column(ForeignKey("devices.id"))

    __table_args__ = (UniqueConstraint("hospital_id", "month", name="uq_hospital_months"),)


class Admission(Model):
    """A patient a hospital admitted, reported so that a donor (or a donor's verified relative)
    hears of their right once per admission."""

    __tablename__ = "hospital_admissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"))
    patient_id_hash: Mapped[str] = mapped_column(String(64))
    ward: Mapped[str] = mapped_column(EncryptedText)
    admitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    donor_id: Mapped[int | None] = mapped_column(ForeignKey("donors.id"), index=True)
    family_link_id: Mapped[int | None] = mapped_column(ForeignKey("family_links.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    __table_args__ = (
        UniqueConstraint(
            "hospital_id", "patient_id_hash", "admitted_at", name="uq_hospital_admissions"
        ),
    )

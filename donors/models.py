"""Donors and their one-time login codes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core import clock
from core.extensions import Model
from core.types import EncryptedBytes, EncryptedText, UTCDateTime

DONOR_ACTIVE = "active"
DONOR_PENDING = "pending"  # known from a station's records, not yet registered in the app
DONOR_ERASED = "erased"


class Donor(Model):
    __tablename__ = "donors"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=DONOR_ACTIVE)
    name: Mapped[str | None] = mapped_column(String(100))
    id_number: Mapped[str | None] = mapped_column(EncryptedText)
    id_number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    mobile: Mapped[str | None] = mapped_column(EncryptedText)
    mobile_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(8))
    abo: Mapped[str | None] = mapped_column(String(2))
    rhd: Mapped[str | None] = mapped_column(String(8))
    blood_group_source: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(32), default="zhejiang")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, onupdate=clock.now)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Imported history shows only once the donor proves a donation number from it: an ID number
    # is not a secret, a bag label is.
    history_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def surname(self) -> str | None:
        return self.name[0] if self.name else None


class OneTimeCode(Model):
    """A login code: only its keyed hash is stored, with the attempts made against it."""

    __tablename__ = "one_time_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    mobile_hash: Mapped[str] = mapped_column(String(64))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_one_time_codes_mobile_created", "mobile_hash", "created_at"),)


class Deferral(Model):
    """A staff decision that a donor may not give (some kinds) until a date, or ever.

    Only the reason code is kept, never a diagnosis; the donor sees a neutral message.
    """

    __tablename__ = "deferrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"), index=True)
    reason_code: Mapped[str] = mapped_column(String(64))
    starts_on: Mapped[date] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)  # None: permanent
    applies_to: Mapped[list[str] | None] = mapped_column(JSON)  # None: every kind
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class FaceConsent(Model):
    """A donor's separate consent to face checks (PIPL Art. 29): which text, when, from where.

    Kept after withdrawal or erasure as the proof that processing had a basis; erasure clears
    the address and device it was given from.
    """

    __tablename__ = "face_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"), index=True)
    version: Mapped[str] = mapped_column(String(32))
    text_sha256: Mapped[str] = mapped_column(String(64))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    client_ip: Mapped[str | None] = mapped_column(EncryptedText)
    device: Mapped[str | None] = mapped_column(String(200))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawal_reason: Mapped[str | None] = mapped_column(String(32))


class FaceEnrolment(Model):
    """The one face a donor enrolled: its encoding only, unless the donor chose to keep the photo.

    Both are encrypted; erasing the enrolment deletes the row.
    """

    __tablename__ = "face_enrolments"

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"), unique=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("face_consents.id"))
    encoding: Mapped[str] = mapped_column(EncryptedText)
    photo_jpeg: Mapped[str | None] = mapped_column(EncryptedText)  # base64, only if opted in
    model: Mapped[str] = mapped_column(String(64))
    face_pixels: Mapped[int] = mapped_column(Integer)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class DonorDocument(Model):
    """A document a donor uploaded (a photographed bill, a household register page): the bytes
    encrypted at rest, with what it is for, read back only by its owner and the staff who review
    what it supports."""

    __tablename__ = "donor_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(EncryptedBytes, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


LINK_DECLARED = "declared"
LINK_VERIFIED = "verified"
LINK_REJECTED = "rejected"
LINK_REMOVED = "removed"
LINK_STATUSES = (LINK_DECLARED, LINK_VERIFIED, LINK_REJECTED, LINK_REMOVED)


class FamilyLink(Model):
    """A relative the donor declared, whose blood fee the donor's donations may reduce.

    Declared until a hospital (from documents it has seen) or an administrator (from an upload)
    verifies it; only a verified link is used. An administrator may reject an upload with a
    reason the donor reads (a new upload declares the link again). Removing it ends future use
    and keeps the row, so what was settled under it stays explained; the donor's erasure removes
    it and erases the relative's name and ID number from it (donors/family.py).
    """

    __tablename__ = "family_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"), index=True)
    relation: Mapped[str] = mapped_column(String(32))
    # None once the donor is erased.
    name: Mapped[str | None] = mapped_column(EncryptedText)
    id_number: Mapped[str | None] = mapped_column(EncryptedText)
    id_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default=LINK_DECLARED)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("donor_documents.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by_type: Mapped[str | None] = mapped_column(String(16))  # hospital | staff
    verified_by_id: Mapped[int | None] = mapped_column(Integer)
    # The hospital's name on the day (None for the station's staff: no person is named).
    verified_by_name: Mapped[str | None] = mapped_column(String(200))
    verified_document_type: Mapped[str | None] = mapped_column(String(32))
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

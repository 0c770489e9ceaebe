"""Imported history: donations a station's export attached to a donor, shown once claimed.

An import matches donors by ID number alone, and an account's ID number is only what its holder
typed at registration. So imported donations stay off everything the donor sees until the holder
proves they are theirs by naming one of their donation numbers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from certificate import services
from certificate.models import IMPORTED, VALID, Donation
from core import audit, clock
from core.errors import ApiError
from core.extensions import db
from core.ids import DinError, parse_din
from core.models import AuditEntry
from donors.models import Donor


def _failed_claims_since(donor: Donor, since: datetime) -> list[datetime]:
    return list(
        db.session.scalars(
            select(AuditEntry.at).where(
                AuditEntry.action == "donor.history_claim_failed",
                AuditEntry.actor_type == "donor",
                AuditEntry.actor_id == donor.id,
                AuditEntry.at >= since,
            )
        )
    )


def claim_history(donor: Donor, raw_din: str) -> int:
    """Show imported history once the donor proves a donation number from it.

    A bag number is the proof, so guessing one is bounded: a few failures a day per donor.
    """
    window = timedelta(days=1)
    failures = _failed_claims_since(donor, clock.now() - window)
    if len(failures) >= current_app.config["HISTORY_CLAIM_MAX_FAILURES_PER_DAY"]:
        wait = min(clock.as_utc(at) for at in failures) + window - clock.now()
        raise ApiError(
            "history_claim_too_many",
            429,
            headers={"Retry-After": str(int(wait.total_seconds()) + 1)},
        )
    try:
        din = parse_din(raw_din)
    except DinError as error:
        raise ApiError(error.code, 422, errors={"din": [error.code]}) from error
    match = db.session.scalar(
        select(Donation.id).where(
            Donation.donor_id == donor.id, Donation.din == din.body, Donation.source == IMPORTED
        )
    )
    if match is None:
        audit.record("donor.history_claim_failed", actor=("donor", donor.id))
        db.session.commit()  # failed proofs are counted even though the request fails
        raise ApiError("history_claim_failed", 422, errors={"din": ["history_claim_failed"]})
    donor.history_claimed_at = clock.now()
    imported = db.session.scalars(
        select(Donation).where(Donation.donor_id == donor.id, Donation.source == IMPORTED)
    ).all()
    for donation in imported:
        if donation.certificate is None and donation.status == VALID:
            services.issue_certificate(donation, donor)
    services.refresh_totals(donor)
    audit.record(
        "donor.history_claimed", actor=("donor", donor.id), details={"count": len(imported)}
    )
    return len(imported)

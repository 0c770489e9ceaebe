"""Granted awards the record no longer supports, flagged for review, never withdrawn.

An award is a government decision: voiding a donation it rests on does not take it back. Just
before the transaction that voided it commits (so a correction, which voids and records anew in
one transaction, is judged by the record it leaves), each unrevoked grant of the donor dated on
or after a voided donation is read against the record again (rewards.support); one the record no
longer supports is flagged with what changed. It stands, and so do the benefits resting on it,
until an administrator reviews it: clears the flag with a note, or revokes it (rewards.awards).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, select

from certificate.models import VOIDED, Donation
from certificate.services import count_donation, counted_donations
from core import audit, clock
from core.auth import Caller
from core.errors import ApiError
from core.extensions import db
from core.transaction import before_commit
from donors.models import Donor
from rewards.models import AwardCycle, AwardGrant
from rewards.support import supports

_VOIDS = "rewards_voided_donations"


def review_before_commit(_sender: Any, donation: Donation, **_: Any) -> None:
    """A donation voided: the donor's grants are read against the record just before commit."""
    session = db.session()
    voids: dict[int, list[int]] = session.info.setdefault(_VOIDS, {})
    voids.setdefault(donation.donor_id, []).append(donation.id)
    donor_id = donation.donor_id
    before_commit(
        session,
        ("rewards_review", donor_id),
        lambda: flag_unsupported_grants(donor_id, voids.pop(donor_id, [])),
    )


def grant_date(grant: AwardGrant) -> date:
    """The day the record is read at: the cycle's cut-off, or the award date of a single grant."""
    if grant.cycle_id is not None:
        return db.session.get_one(AwardCycle, grant.cycle_id).cut_off
    return grant.awarded_on


def flag_unsupported_grants(donor_id: int, voided_ids: list[int]) -> list[AwardGrant]:
    """Flag each unrevoked grant the voided donations leave the record short of: supported with
    them, not without. A grant made against the record (with a reason) was never supported."""
    voided = [
        donation
        for donation in (db.session.get(Donation, item) for item in dict.fromkeys(voided_ids))
        if donation is not None and donation.status == VOIDED
    ]
    if not voided:
        return []
    donor = db.session.get_one(Donor, donor_id)
    grants = db.session.scalars(
        select(AwardGrant)
        .where(
            AwardGrant.donor_id == donor_id,
            AwardGrant.revoked_at.is_(None),
            AwardGrant.unsupported_reason.is_(None),
        )
        .order_by(AwardGrant.awarded_on, AwardGrant.id)
    ).all()
    now = counted_donations(donor)
    flagged = []
    for grant in grants:
        on = grant_date(grant)
        relevant = [donation for donation in voided if donation.donation_date <= on]
        if not relevant or _flag_open(grant):
            continue
        before = sorted(
            now + [count_donation(donation) for donation in relevant],
            key=lambda item: (item.donation.donation_date, item.donation.id),
        )
        kept = supports(donor, grant.award, grant.region, on, grant=grant, counted=now)
        was = supports(donor, grant.award, grant.region, on, grant=grant, counted=before)
        if kept.supported or not was.supported:
            continue
        ids = ", ".join(str(donation.id) for donation in relevant)
        grant.review_flagged_at = clock.now()
        grant.review_reason = f"donation {ids} voided: {kept.shows}"
        grant.review_cleared_at = grant.review_cleared_by = grant.review_note = None
        audit.record(
            "award.flagged_for_review",
            actor=("system", None),
            target=("award_grant", grant.id),
            details={"voided_donations": [donation.id for donation in relevant]},
        )
        flagged.append(grant)
    db.session.flush()
    return flagged


def _flag_open(grant: AwardGrant) -> bool:
    return grant.review_flagged_at is not None and grant.review_cleared_at is None


def flagged_query() -> Select[AwardGrant]:
    """Grants flagged for review and not yet cleared, oldest flag first."""
    return (
        select(AwardGrant)
        .where(
            AwardGrant.review_flagged_at.is_not(None),
            AwardGrant.review_cleared_at.is_(None),
            AwardGrant.revoked_at.is_(None),
        )
        .order_by(AwardGrant.review_flagged_at, AwardGrant.id)
    )


def clear_flag(grant: AwardGrant, note: str, admin: Caller) -> AwardGrant:
    """The award was reviewed and stands: the flag is cleared with the administrator's note."""
    if not _flag_open(grant):
        raise ApiError("award_not_flagged", 409)
    grant.review_cleared_at = clock.now()
    grant.review_cleared_by = admin.principal_id
    grant.review_note = note
    audit.record(
        "award.review_cleared",
        actor=("staff", admin.principal_id),
        target=("award_grant", grant.id),
        details={"note": note, "flagged": grant.review_reason},
    )
    db.session.flush()
    return grant

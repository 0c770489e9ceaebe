"""Award records: the honours a donor won (by region and period), recorded and revoked by
administrators; the standing they grant is recomputed with each change."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, select

from core import audit, clock
from core.auth import Caller
from core.errors import ApiError
from core.extensions import db
from core.lookups import get_or_404
from core.policy import RegionPolicy, policy_for, regions
from donors.models import Donor
from rewards.models import (
    ADMIN_SOURCE,
    AwardGrant,
)
from rewards.rules import (
    award_names,
)
from rewards.standing import refresh_standing
from rewards.support import supports

_PERIOD = re.compile(r"^(\d{4})(?:-(\d{4}))?$")


@dataclass(frozen=True)
class AwardRecord:
    award: str
    region: str
    period: str
    decision: str
    awarded_on: date
    reason: str | None = None  # why, where the record at `awarded_on` does not support it


def check_region(region: str) -> RegionPolicy:
    if region not in regions():
        raise ApiError("region_unknown", 422, errors={"region": ["region_unknown"]})
    return policy_for(region)


def check_period(period: str, awarded_on: date) -> None:
    match = _PERIOD.match(period)
    first = int(match.group(1)) if match else 0
    last = int(match.group(2) or first) if match else 0
    if not match or last < first or last - first > 3 or last > awarded_on.year:
        raise ApiError("award_period_invalid", 422, errors={"period": ["award_period_invalid"]})


def record_award(
    donor: Donor, record: AwardRecord, *, actor: Caller | None, source: str = ADMIN_SOURCE
) -> AwardGrant:
    """Record an award conferred by a decision; benefits resting on it begin at once.

    The record at the award date must support it (rewards.support: the national tiers and the
    region awards with criteria; named awards are not checked), or the grant carries a reason,
    kept and audited (422 award_not_supported_by_record without one).
    """
    policy = check_region(record.region)
    if record.award not in award_names(policy):
        raise ApiError("award_unknown", 422, errors={"award": ["award_unknown"]})
    if record.awarded_on > clock.local_today():
        raise ApiError("awarded_in_future", 422, errors={"awarded_on": ["awarded_in_future"]})
    check_period(record.period, record.awarded_on)
    exists = db.session.scalar(
        select(AwardGrant.id).where(
            AwardGrant.donor_id == donor.id,
            AwardGrant.award == record.award,
            AwardGrant.period == record.period,
        )
    )
    if exists is not None:
        raise ApiError("award_already_recorded", 409)
    check = supports(donor, record.award, record.region, record.awarded_on)
    if not check.supported and not record.reason:
        raise ApiError(
            "award_not_supported_by_record",
            422,
            errors={"reason": ["award_not_supported_by_record"]},
        )
    grant = AwardGrant(
        donor_id=donor.id,
        award=record.award,
        region=record.region,
        period=record.period,
        decision=record.decision,
        awarded_on=record.awarded_on,
        source=source,
        recorded_by=actor.principal_id if actor else None,
        unsupported_reason=None if check.supported else record.reason,
    )
    db.session.add(grant)
    db.session.flush()
    audit.record(
        "award.recorded",
        actor=("staff", actor.principal_id) if actor else ("system", None),
        target=("award_grant", grant.id),
        details={
            "donor": grant.donor_id,
            "award": grant.award,
            "period": grant.period,
            "source": source,
            **({} if check.supported else {"unsupported": check.shows, "reason": record.reason}),
        },
    )
    refresh_standing(donor)
    return grant


def record_awards_seen_by_staff(admin: Caller, donor: Donor) -> None:
    audit.record(
        "donor.awards_viewed_by_staff",
        actor=("staff", admin.principal_id),
        target=("donor", donor.id),
    )


def get_award(grant_id: int) -> AwardGrant:
    return get_or_404(AwardGrant, grant_id)


def revoke_award(grant: AwardGrant, reason: str, admin: Caller) -> AwardGrant:
    """Revoke a mistaken award record; what rested on it is withdrawn in this transaction."""
    if grant.revoked_at is not None:
        raise ApiError("award_already_revoked", 409)
    grant.revoked_at = clock.now()
    grant.revoked_by = admin.principal_id
    grant.revoke_reason = reason
    audit.record(
        "award.revoked",
        actor=("staff", admin.principal_id),
        target=("award_grant", grant.id),
        details={"donor": grant.donor_id, "reason": reason},
    )
    db.session.flush()
    refresh_standing(db.session.get_one(Donor, grant.donor_id))
    return grant


def donor_awards_query(donor: Donor) -> Select[AwardGrant]:
    return (
        select(AwardGrant)
        .where(AwardGrant.donor_id == donor.id)
        .order_by(AwardGrant.awarded_on.desc(), AwardGrant.id.desc())
    )

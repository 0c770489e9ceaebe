"""Deferrals by the rules: staff defer a donor for the period the health standard gives a reason
(or until a date they give, or for ever), and see which reasons the standard in force lists.

The deferral itself is the donor's (donors.models.Deferral, lifted in donors); the reasons and
their periods are certificate's rules (certificate.policy), so recording one lives here.
"""

from __future__ import annotations

from datetime import date

from certificate.policy import DeferralRule, HealthStandard, donation_rules
from core import audit, clock
from core.errors import ApiError
from core.extensions import db
from core.policy import PolicyUndecided, RegionPolicy, policy_for, regions
from donors.models import Deferral, Donor


def record_deferral(
    *,
    donor: Donor,
    reason_code: str,
    staff_id: int,
    site_id: int,
    anchor_date: date | None,
    until: date | None,
    permanent: bool,
    policy: RegionPolicy,
) -> Deferral:
    """Staff record that a donor may not give until a date (from the policy's period) or ever."""
    try:
        rule = donation_rules(policy).deferral(reason_code)
    except KeyError:
        raise ApiError(
            "deferral_reason_unknown", 422, errors={"reason_code": ["deferral_reason_unknown"]}
        ) from None
    today = clock.local_today()
    starts_on = anchor_date or today
    if permanent:
        until = None
    elif until is None:
        if rule.period is None or anchor_date is None:
            raise ApiError("deferral_needs_date", 422, errors={"until": ["deferral_needs_date"]})
        until = rule.period.add_to(anchor_date)
    deferral = Deferral(
        donor_id=donor.id,
        reason_code=reason_code,
        starts_on=min(starts_on, today),
        until=until,
        applies_to=list(rule.applies_to) if rule.applies_to else None,
        site_id=site_id,
        recorded_by=staff_id,
    )
    db.session.add(deferral)
    db.session.flush()
    audit.record(
        "donor.deferred",
        actor=("staff", staff_id),
        target=("donor", donor.id),
        details={"deferral": deferral.id, "reason_code": reason_code},
    )
    return deferral


def deferral_reasons(region: str, on: date) -> tuple[HealthStandard, list[DeferralRule]]:
    """The reason codes staff may enter (`record_deferral`) in a region on a date: the deferral
    rules of the health standard then in force, in the policy's order."""
    if region not in regions():
        raise ApiError("region_unknown", 422, errors={"region": ["region_unknown"]})
    try:
        standard = donation_rules(policy_for(region)).standard(on)
    except PolicyUndecided:
        raise ApiError(
            "standard_not_in_force", 422, errors={"on": ["standard_not_in_force"]}
        ) from None
    return standard, list(standard.deferrals.values())

"""Applications for the three frees where the region's rules ask the donor to apply: refused,
held for review, or granted (the standing recomputed)."""

from __future__ import annotations

from certificate.counts import as_number, to_halves
from core import audit, clock
from core.errors import ApiError
from core.extensions import db
from core.policy import PolicyUndecided
from donors.models import Donor
from rewards.awards import check_region
from rewards.benefits import RegionBenefits, region_benefits
from rewards.models import (
    GRANTED,
    REFUSED,
    BenefitApplication,
)
from rewards.rules import (
    COUNT_ROUTE,
    Edition,
    ThreeFree,
    three_free,
)
from rewards.standing import active_holdings, refresh_standing, region_counts


def section_in_force(region: str) -> tuple[ThreeFree, Edition]:
    policy = check_region(region)
    section = three_free(policy)
    edition = section.edition(clock.local_today()) if section else None
    if section is None or edition is None:
        raise ApiError("benefit_route_unavailable", 422, errors={"region": ["no_three_free"]})
    return section, edition


def apply(donor: Donor, region: str) -> tuple[str, RegionBenefits]:
    """The donor's application on the counted-donations route: granted at once when the records
    prove the threshold, refused with the progress otherwise. Returns (outcome, the region's
    benefits)."""
    _, edition = section_in_force(region)
    route = edition.count_route
    if route is None or not route.on_application:
        raise ApiError("benefit_route_unavailable", 422, errors={"region": ["no_application"]})
    try:
        threshold = route.threshold
    except PolicyUndecided:
        raise ApiError("policy_undecided", 409) from None
    held = any(
        row.region == region and row.route == COUNT_ROUTE for row in active_holdings(donor.id)
    )
    if held:
        return "already_held", region_benefits(donor, region)
    counted, _ = region_counts(donor, region)
    outcome = GRANTED if counted >= threshold else REFUSED
    application = BenefitApplication(
        donor_id=donor.id,
        region=region,
        outcome=outcome,
        counted_half_counts=to_halves(counted),
        required=threshold,
    )
    db.session.add(application)
    db.session.flush()
    audit.record(
        f"benefit.application_{outcome}",
        actor=("donor", donor.id),
        target=("benefit_application", application.id),
        details={"region": region, "counted": as_number(counted), "required": threshold},
    )
    if outcome == GRANTED:
        refresh_standing(donor)
    return outcome, region_benefits(donor, region)

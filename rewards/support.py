"""Whether a donor's record supports an award, read by rewards/honours.py one donor at a time.

An award is a government decision (AwardGrant), the record is the counted donations: a grant the
record at its date does not support is refused unless it carries a reason (rewards/awards.py), a
cycle's list is the donors the record supports and who hold no award for it (rewards/cycles.py,
in SQL, held to these answers by the tests), and a void that leaves a grant unsupported flags
it for review (rewards/reviews.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, or_, select

from certificate.counts import as_text
from certificate.policy import donation_rules
from certificate.services import CountedDonation, counted_donations
from core.extensions import db
from core.policy import RegionPolicy, policy_for
from donors.models import Donor
from rewards.honours import steps_of, tiers_reached
from rewards.models import AwardGrant
from rewards.rules import LIFETIME_HONOR, RegionAward, dedication_record, region_awards


def region_award(policy: RegionPolicy, code: str) -> RegionAward | None:
    section = region_awards(policy)
    return next((a for a in section.awards if a.code == code), None) if section else None


@dataclass(frozen=True)
class RecordCheck:
    """Whether the record at `on` supports an award, and what it shows."""

    supported: bool
    checked: bool  # False: an award without criteria (a name an administrator grants)
    shows: str  # e.g. "counts 19.5, bronze needs 20"


def on_record(counted: list[CountedDonation], on: date) -> list[CountedDonation]:
    return [item for item in counted if item.donation.donation_date <= on]


def earlier_grants(donor: Donor, award: str, grant: AwardGrant | None) -> int:
    """Unrevoked grants of `award` before `grant` (all of them for a grant not yet recorded)."""
    query = select(func.count()).where(
        AwardGrant.donor_id == donor.id,
        AwardGrant.award == award,
        AwardGrant.revoked_at.is_(None),
    )
    if grant is not None and grant.id is not None:
        query = query.where(
            or_(
                AwardGrant.awarded_on < grant.awarded_on,
                and_(AwardGrant.awarded_on == grant.awarded_on, AwardGrant.id < grant.id),
            )
        )
    return db.session.scalar(query) or 0


def supports(
    donor: Donor,
    award: str,
    region: str,
    on: date,
    *,
    grant: AwardGrant | None = None,
    counted: list[CountedDonation] | None = None,
) -> RecordCheck:
    """Whether the record on `on` supports `award` (POLICY.md §2 and §3.3), read by honours.py.

    A tier not repeating: reached on the record. The k-th gold: k golds reached (k counting the
    unrevoked golds granted before it). The lifetime honour: three golds reached, or granted. A
    region award with criteria: its volume reached. An award without criteria is not checked.
    `counted` stands for the donor's counted donations (the record as it was, for a void).
    """
    policy = policy_for(region)
    rules = donation_rules(policy).awards
    record = dedication_record(policy)
    repeating = record.repeating_tier if record else None
    counted = counted_donations(donor) if counted is None else counted
    if award in {tier.code for tier in rules.tiers} or award == LIFETIME_HONOR:
        total, reached = tiers_reached(steps_of(on_record(counted, on)), policy_for(donor.region))
        golds = sum(1 for tier in reached if tier.tier == repeating)
        shows = f"counts {as_text(total)} on {on.isoformat()}"
        if award == repeating:
            needed = earlier_grants(donor, award, grant) + 1
            return RecordCheck(golds >= needed, True, f"{shows}, {award} {needed} needs more")
        if award == LIFETIME_HONOR:
            granted_golds = earlier_grants(donor, repeating, None) if repeating else 0
            held = any(tier.tier == LIFETIME_HONOR for tier in reached)
            enough = granted_golds >= rules.lifetime_honor_gold_awards
            return RecordCheck(held or enough, True, f"{shows}, golds {golds}")
        return RecordCheck(any(tier.tier == award for tier in reached), True, shows)
    named = region_award(policy, award)
    if named is None or named.criteria is None:
        return RecordCheck(True, False, "")
    criteria = named.criteria
    section = region_awards(policy)
    rare = section.rare_blood if section else None
    required = criteria.min_ml
    if rare and criteria.rare_blood_min_ml and rare.covers(donor.rhd, donor.blood_group_source):
        required = criteria.rare_blood_min_ml
    given = sum(
        item.donation.volume_ml or 0
        for item in on_record(counted, on)
        if item.donation.region == region and item.donation.kind in criteria.counted_kinds
    )
    return RecordCheck(given >= required, True, f"{given} ml on {on.isoformat()}, {required} ml")

"""What a donor is shown of the three frees: per region, the benefits held, since when and by
which route, and the progress to the rest (the donations counted and what would reach it)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

from sqlalchemy import select

from certificate.counts import as_text
from certificate.policy import donation_rules
from certificate.services import CountedDonation, counted_donations
from core import audit, clock
from core.auth import Caller
from core.extensions import db
from core.i18n import _l
from core.policy import PolicyUndecided, RegionPolicy, policy_for
from donors.models import Donor
from rewards.models import (
    AwardGrant,
    BenefitHolding,
)
from rewards.rules import (
    AWARD_ROUTE,
    COUNT_ROUTE,
    AwardRoute,
    CountRoute,
    Edition,
    ThreeFree,
    award_names,
    three_free,
)
from rewards.standing import active_holdings, region_counts, regions_with_three_free

UNIT_NAMES = {"ml": _l("ml"), "unit": _l("therapeutic unit(s)")}
PROGRESS_REACHED = _l(
    "{counted} counted by the national award rules: the {required} required are reached."
)
PROGRESS_SHORT = _l(
    "{counted} counted by the national award rules, {required} required, {remaining} to go"
)
PROGRESS_NO_STEP = _l("{progress}.")
PROGRESS_STEPS = _l("{progress}: {options} more would reach it.")
DONATIONS_OF = _l("{donations} × {amount} {unit}")
KIND_SUFFIX = _l(" of {kind}")
AND = _l(" and ")
OR = _l(", or ")


def next_steps(policy: RegionPolicy, remaining: Fraction, on: date) -> list[dict[str, Any]]:
    """The fewest donations of each kind that close the gap, by today's rules.

    All but the last are of the amount that counts most; the last is the smallest allowed
    amount that still closes the gap: one count missing is one 200 ml donation or one unit,
    1.5 missing is one 300 ml donation.
    """
    steps = []
    for kind in donation_rules(policy).kind_codes(on):
        rule = donation_rules(policy).kind(kind, on)
        if not rule.offered:
            continue
        try:
            options = [
                (donation_rules(policy).counts_for(kind, a, on), a) for a in rule.allowed_amounts
            ]
        except PolicyUndecided:
            continue
        options = [(counts, amount) for counts, amount in options if counts > 0]
        if not options:
            continue
        most = max(counts for counts, _ in options)
        usual = min(amount for counts, amount in options if counts == most)
        donations = math.ceil(remaining / most)
        rest = remaining - (donations - 1) * most
        last = min(amount for counts, amount in options if counts >= rest)
        plan = [{"donations": donations - 1, "amount": usual}] if donations > 1 else []
        if plan and last == usual:
            plan[0]["donations"] += 1
        else:
            plan.append({"donations": 1, "amount": last})
        steps.append(
            {
                "kind": kind,
                "kind_name": donation_rules(policy).kind_name(kind),
                "amount": plan[0]["amount"],
                "unit": rule.unit,
                "donations": donations,
                "plan": plan,
            }
        )
    return sorted(steps, key=lambda step: step["donations"])


def _progress_message(counted: Fraction, required: int, steps: list[dict[str, Any]]) -> str:
    remaining = required - counted
    if remaining <= 0:
        return PROGRESS_REACHED.format(counted=as_text(counted), required=required).translated()
    progress = PROGRESS_SHORT.format(
        counted=as_text(counted), required=required, remaining=as_text(remaining)
    )
    if not steps:
        return PROGRESS_NO_STEP.format(progress=progress).translated()
    options = OR.translated().join(
        AND.translated().join(
            DONATIONS_OF.format(
                donations=part["donations"], amount=part["amount"], unit=UNIT_NAMES[step["unit"]]
            ).translated()
            for part in step["plan"]
        )
        + KIND_SUFFIX.format(kind=step["kind_name"]).translated()
        for step in steps
    )
    return PROGRESS_STEPS.format(progress=progress, options=options).translated()


@dataclass(frozen=True)
class AwardRouteProgress:
    """The national-award route in a region: which awards it accepts, and those the donor holds."""

    rule: AwardRoute
    award_names: dict[str, str]
    met: bool
    awards_held: list[AwardGrant]
    route: str = AWARD_ROUTE

    @property
    def awards_accepted(self) -> list[dict[str, str]]:
        return [
            {"award": code, "name": self.award_names.get(code, code)} for code in self.rule.awards
        ]

    @property
    def question(self) -> str | None:
        return self.rule.won_in_region_question


@dataclass(frozen=True)
class CountRouteProgress:
    """The counted-donations route in a region: how far the donor is, and what would reach it."""

    rule: CountRoute
    met: bool
    counted: Fraction
    not_yet_counted: list[CountedDonation]
    remaining: Fraction | int | None = None
    can_apply: bool = False
    next_steps: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None
    route: str = COUNT_ROUTE

    @property
    def on_application(self) -> bool:
        return self.rule.on_application

    @property
    def required(self) -> int | None:
        return self.rule.min_counts

    @property
    def question(self) -> str | None:
        return self.rule.open_question


@dataclass(frozen=True)
class RegionBenefits:
    """One region's three frees for the donor: what is held, since when, and what is missing."""

    region: str
    policy: RegionPolicy
    section: ThreeFree | None
    edition: Edition | None
    holdings: list[BenefitHolding]
    routes: list[AwardRouteProgress | CountRouteProgress]

    @property
    def held(self) -> bool:
        return bool(self.holdings) and self.edition is not None


@dataclass(frozen=True)
class DonorBenefits:
    """Every region whose three frees concern the donor."""

    regions: list[RegionBenefits]


def region_benefits(donor: Donor, region: str) -> RegionBenefits:
    """One region's three frees for the donor: what is held, since when, and what is missing."""
    policy = policy_for(region)
    section = three_free(policy)
    today = clock.local_today()
    edition = section.edition(today) if section else None
    holdings = [row for row in active_holdings(donor.id) if row.region == region]
    routes: list[AwardRouteProgress | CountRouteProgress] = []
    if edition is not None and edition.award_route is not None:
        routes.append(_award_route(donor, region, edition.award_route, holdings))
    if edition is not None and edition.count_route is not None:
        routes.append(_count_route(donor, region, policy, edition.count_route, holdings, today))
    return RegionBenefits(region, policy, section, edition, holdings, routes)


def _award_route(
    donor: Donor, region: str, route: AwardRoute, holdings: list[BenefitHolding]
) -> AwardRouteProgress:
    return AwardRouteProgress(
        rule=route,
        award_names=award_names(policy_for(region)),
        met=any(row.route == AWARD_ROUTE for row in holdings),
        awards_held=list(
            db.session.scalars(
                select(AwardGrant).where(
                    AwardGrant.donor_id == donor.id,
                    AwardGrant.revoked_at.is_(None),
                    AwardGrant.award.in_(route.awards),
                )
            )
        ),
    )


def _count_route(
    donor: Donor,
    region: str,
    policy: RegionPolicy,
    route: CountRoute,
    holdings: list[BenefitHolding],
    today: date,
) -> CountRouteProgress:
    counted, uncounted = region_counts(donor, region)
    met = any(row.route == COUNT_ROUTE for row in holdings)
    if route.min_counts is None:
        return CountRouteProgress(route, met, counted, uncounted)
    remaining = route.min_counts - counted if counted <= route.min_counts else 0
    steps = next_steps(policy, Fraction(remaining), today) if remaining else []
    return CountRouteProgress(
        route,
        met,
        counted,
        uncounted,
        remaining=remaining,
        can_apply=route.on_application and not met and remaining == 0,
        next_steps=steps,
        message=_progress_message(counted, route.min_counts, steps),
    )


def benefits_of(donor: Donor) -> DonorBenefits:
    """Every region whose three frees concern the donor: their own, and where they gave or won."""
    concerned = {donor.region}
    concerned |= {item.donation.region for item in counted_donations(donor)}
    concerned |= {row.region for row in active_holdings(donor.id)}
    concerned |= set(
        db.session.scalars(select(AwardGrant.region).where(AwardGrant.donor_id == donor.id))
    )
    shown = [code for code, _ in regions_with_three_free() if code in concerned]
    return DonorBenefits([region_benefits(donor, region) for region in shown])


def record_benefits_seen_by_staff(admin: Caller, donor: Donor) -> None:
    audit.record(
        "donor.benefits_viewed_by_staff",
        actor=("staff", admin.principal_id),
        target=("donor", donor.id),
    )

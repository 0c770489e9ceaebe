"""What a donor is shown of the three frees: per region, the benefits held, since when and by
which route, and the progress to the rest (the donations counted and what would reach it)."""

from __future__ import annotations

import math
from datetime import date
from fractions import Fraction
from typing import Any

from sqlalchemy import select

from certificate.counts import as_text
from certificate.services import counted_donations
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
    for kind in policy.kind_codes(on):
        rule = policy.kind(kind, on)
        if not rule.offered:
            continue
        try:
            options = [(policy.counts_for(kind, a, on), a) for a in rule.allowed_amounts]
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
                "kind_name": policy.kind_name(kind),
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


def region_view(donor: Donor, region: str) -> dict[str, Any]:
    """One region's three frees for the donor: what is held, since when, and what is missing."""
    policy = policy_for(region)
    section = three_free(policy)
    today = clock.local_today()
    edition = section.edition(today) if section else None
    holdings = [row for row in active_holdings(donor.id) if row.region == region]
    held = bool(holdings) and edition is not None
    view: dict[str, Any] = {
        "region": region,
        "region_name": policy.name_zh,
        "name": section.name_zh if section else None,
        "legal_basis": section.legal_basis if section else None,
        "credential": section.credential if section else None,
        "held": held,
        "holdings": holdings,
        "benefits": [
            {"kind": b.kind, "name": b.name_zh, "held": held}
            for b in (edition.benefits if edition else ())
        ],
        "routes": [],
    }
    if edition is None:
        return view
    if edition.award_route is not None:
        view["routes"].append(_award_route_view(donor, region, edition.award_route, holdings))
    if edition.count_route is not None:
        view["routes"].append(
            _count_route_view(donor, region, policy, edition.count_route, holdings, today)
        )
    return view


def _award_route_view(
    donor: Donor, region: str, route: AwardRoute, holdings: list[BenefitHolding]
) -> dict[str, Any]:
    names = award_names(policy_for(region))
    return {
        "route": AWARD_ROUTE,
        "met": any(row.route == AWARD_ROUTE for row in holdings),
        "awards_accepted": [
            {"award": code, "name": names.get(code, code)} for code in route.awards
        ],
        "won_in_region": route.won_in_region,
        "question": route.won_in_region_question,
        "awards_held": db.session.scalars(
            select(AwardGrant).where(
                AwardGrant.donor_id == donor.id,
                AwardGrant.revoked_at.is_(None),
                AwardGrant.award.in_(route.awards),
            )
        ).all(),
    }


def _count_route_view(
    donor: Donor,
    region: str,
    policy: RegionPolicy,
    route: CountRoute,
    holdings: list[BenefitHolding],
    today: date,
) -> dict[str, Any]:
    counted, uncounted = region_counts(donor, region)
    met = any(row.route == COUNT_ROUTE for row in holdings)
    view: dict[str, Any] = {
        "route": COUNT_ROUTE,
        "met": met,
        "on_application": route.on_application,
        "counted": counted,
        "required": route.min_counts,
        "remaining": None,
        "can_apply": False,
        "next_steps": [],
        "not_yet_counted": uncounted,
        "question": route.open_question,
        "message": None,
    }
    if route.min_counts is None:
        return view
    remaining = route.min_counts - counted if counted <= route.min_counts else 0
    steps = next_steps(policy, Fraction(remaining), today) if remaining else []
    view.update(
        remaining=remaining,
        can_apply=route.on_application and not met and remaining == 0,
        next_steps=steps,
        message=_progress_message(counted, route.min_counts, steps),
    )
    return view


def benefits_view(donor: Donor) -> dict[str, Any]:
    """Every region whose three frees concern the donor: their own, and where they gave or won."""
    concerned = {donor.region}
    concerned |= {item.donation.region for item in counted_donations(donor)}
    concerned |= {row.region for row in active_holdings(donor.id)}
    concerned |= set(
        db.session.scalars(select(AwardGrant.region).where(AwardGrant.donor_id == donor.id))
    )
    shown = [code for code, _ in regions_with_three_free() if code in concerned]
    return {"regions": [region_view(donor, region) for region in shown]}


def record_benefits_seen_by_staff(admin: Caller, donor: Donor) -> None:
    audit.record(
        "donor.benefits_viewed_by_staff",
        actor=("staff", admin.principal_id),
        target=("donor", donor.id),
    )

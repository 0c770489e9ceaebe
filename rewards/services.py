"""Who holds the three frees, since when and by which route; awards; applications; codes.

Standing is derived from the records (awards won, counted donations, granted applications) and
kept as holding periods. Every change to those records recomputes it in the same transaction:
a voided donation that the count rested on withdraws the benefits when the void commits.
"""

from __future__ import annotations

import base64
import math
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from typing import Any

from flask import current_app
from sqlalchemy import Select, select

from certificate.counts import as_number, as_text, to_halves
from certificate.services import CountedDonation, counted_donations
from core import audit, clock
from core.auth import Caller
from core.crypto import cipher
from core.errors import ApiError
from core.extensions import db
from core.i18n import _l
from core.policy import PolicyUndecided, RegionPolicy, policy_for, regions
from core.signing import keyring
from core.transaction import before_commit
from donors.models import Donor
from rewards.codes import TOKEN_TYPE
from rewards.models import (
    ADMIN_SOURCE,
    GRANTED,
    REFUSED,
    AwardGrant,
    BenefitApplication,
    BenefitHolder,
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

_PERIOD = re.compile(r"^(\d{4})(?:-(\d{4}))?$")
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


# ---------------------------------------------------------------- standing


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clock.LOCAL_ZONE)


def _regions_with_three_free() -> list[tuple[str, ThreeFree]]:
    found = []
    for code in regions():
        section = three_free(policy_for(code))
        if section is not None:
            found.append((code, section))
    return found


@dataclass(frozen=True)
class Basis:
    """What a holding rests on, and the moment it began."""

    since: datetime
    award_grant_id: int | None = None
    application_id: int | None = None


def _qualifying_awards(donor: Donor, region: str, route: AwardRoute) -> list[AwardGrant]:
    grants = db.session.scalars(
        select(AwardGrant)
        .where(
            AwardGrant.donor_id == donor.id,
            AwardGrant.revoked_at.is_(None),
            AwardGrant.award.in_(route.awards),
        )
        .order_by(AwardGrant.awarded_on, AwardGrant.id)
    ).all()
    if route.won_in_region is False:
        return list(grants)
    # Won in the region always qualifies; won elsewhere qualifies only where the policy says so
    # (an open question there is not a yes).
    return [grant for grant in grants if grant.region == region]


def _award_basis(donor: Donor, region: str, edition: Edition) -> Basis | None:
    route = edition.award_route
    if route is None:
        return None
    grants = _qualifying_awards(donor, region, route)
    if not grants:
        return None
    first = grants[0]
    start = max(first.awarded_on, edition.effective_from)
    return Basis(since=clock.as_utc(_local_midnight(start)), award_grant_id=first.id)


def region_counts(donor: Donor, region: str) -> tuple[Fraction, list[CountedDonation]]:
    """Counted donations in the region by the national rules, and those not yet counted."""
    counted = counted_donations(donor, region)
    total = sum((item.counts or Fraction(0) for item in counted), Fraction(0))
    return total, [item for item in counted if item.counts is None]


def _count_basis(donor: Donor, region: str, edition: Edition) -> Basis | None:
    route = edition.count_route
    if route is None:
        return None
    try:
        threshold = route.threshold
    except PolicyUndecided:
        return None
    counted = counted_donations(donor, region)
    if sum((item.counts or Fraction(0) for item in counted), Fraction(0)) < threshold:
        return None
    if not route.on_application:
        running = Fraction(0)
        for item in counted:
            running += item.counts or 0
            if running >= threshold:
                return Basis(since=clock.as_utc(_local_midnight(item.donation.donation_date)))
    application = _granted_application(donor, region)
    if application is None:
        return None
    return Basis(since=application.applied_at, application_id=application.id)


def _granted_application(donor: Donor, region: str) -> BenefitApplication | None:
    return db.session.scalar(
        select(BenefitApplication)
        .where(
            BenefitApplication.donor_id == donor.id,
            BenefitApplication.region == region,
            BenefitApplication.outcome == GRANTED,
        )
        .order_by(BenefitApplication.applied_at.desc(), BenefitApplication.id.desc())
        .limit(1)
    )


def active_holdings(donor_id: int) -> list[BenefitHolding]:
    return list(
        db.session.scalars(
            select(BenefitHolding)
            .where(BenefitHolding.donor_id == donor_id, BenefitHolding.withdrawn_at.is_(None))
            .order_by(BenefitHolding.since, BenefitHolding.id)
        )
    )


WITHDRAWN_REASONS = {
    AWARD_ROUTE: "award_no_longer_held",
    COUNT_ROUTE: "counts_below_threshold",
}


def refresh_standing(donor: Donor) -> list[BenefitHolding]:
    """Open the holdings whose condition is met and close those whose condition is not.

    Runs in the caller's transaction; the holdings it leaves open are what gates check.
    """
    now = clock.now()
    today = clock.local_today()
    open_rows = {(row.region, row.route): row for row in active_holdings(donor.id)}
    for region, section in _regions_with_three_free():
        edition = section.edition(today)
        for route, basis_for in ((AWARD_ROUTE, _award_basis), (COUNT_ROUTE, _count_basis)):
            basis = basis_for(donor, region, edition) if edition else None
            current = open_rows.pop((region, route), None)
            if basis is not None and current is None:
                _ensure_holder(donor)
                db.session.add(
                    BenefitHolding(
                        donor_id=donor.id,
                        region=region,
                        route=route,
                        since=basis.since,
                        award_grant_id=basis.award_grant_id,
                        application_id=basis.application_id,
                    )
                )
            elif basis is None and current is not None:
                current.withdrawn_at = now
                current.withdrawn_reason = (
                    WITHDRAWN_REASONS[route] if edition else "policy_not_in_force"
                )
    for leftover in open_rows.values():
        leftover.withdrawn_at = now
        leftover.withdrawn_reason = "policy_not_in_force"
    db.session.flush()
    return active_holdings(donor.id)


def holder_ref(donor_id: int) -> str:
    """The donor's pseudonym on benefit codes: 96 bits of a keyed hash, short for the QR code."""
    digest = bytes.fromhex(cipher().lookup_hash("benefit", str(donor_id)))
    return base64.urlsafe_b64encode(digest[:12]).decode("ascii")


def _ensure_holder(donor: Donor) -> None:
    if db.session.get(BenefitHolder, donor.id) is None:
        db.session.add(BenefitHolder(donor_id=donor.id, ref=holder_ref(donor.id)))


def restand_before_commit(_sender: Any, donation: Any, **_: Any) -> None:
    """A donation recorded or voided: the donor's standing is recomputed once, just before the
    transaction commits, so a correction (void, then record anew) never withdraws and re-grants
    in between."""
    donor_id = donation.donor_id
    before_commit(
        db.session(),
        ("rewards_standing", donor_id),
        lambda: refresh_standing(db.session.get_one(Donor, donor_id)),
    )


# ---------------------------------------------------------------- awards


@dataclass(frozen=True)
class AwardRecord:
    award: str
    region: str
    period: str
    decision: str
    awarded_on: date


def _check_region(region: str) -> RegionPolicy:
    if region not in regions():
        raise ApiError("region_unknown", 422, errors={"region": ["region_unknown"]})
    return policy_for(region)


def _check_period(period: str, awarded_on: date) -> None:
    match = _PERIOD.match(period)
    first = int(match.group(1)) if match else 0
    last = int(match.group(2) or first) if match else 0
    if not match or last < first or last - first > 3 or last > awarded_on.year:
        raise ApiError("award_period_invalid", 422, errors={"period": ["award_period_invalid"]})


def record_award(
    donor: Donor, record: AwardRecord, *, actor: Caller | None, source: str = ADMIN_SOURCE
) -> AwardGrant:
    """Record an award conferred by a decision; benefits resting on it begin at once."""
    policy = _check_region(record.region)
    if record.award not in award_names(policy):
        raise ApiError("award_unknown", 422, errors={"award": ["award_unknown"]})
    if record.awarded_on > clock.local_today():
        raise ApiError("awarded_in_future", 422, errors={"awarded_on": ["awarded_in_future"]})
    _check_period(record.period, record.awarded_on)
    exists = db.session.scalar(
        select(AwardGrant.id).where(
            AwardGrant.donor_id == donor.id,
            AwardGrant.award == record.award,
            AwardGrant.period == record.period,
        )
    )
    if exists is not None:
        raise ApiError("award_already_recorded", 409)
    grant = AwardGrant(
        donor_id=donor.id,
        award=record.award,
        region=record.region,
        period=record.period,
        decision=record.decision,
        awarded_on=record.awarded_on,
        source=source,
        recorded_by=actor.principal_id if actor else None,
    )
    db.session.add(grant)
    db.session.flush()
    audit.record(
        "award.recorded",
        actor=("staff", actor.principal_id) if actor else ("system", None),
        target=("award_grant", grant.id),
        details={"award": grant.award, "period": grant.period, "source": source},
    )
    refresh_standing(donor)
    return grant


def get_award(grant_id: int) -> AwardGrant:
    grant = db.session.get(AwardGrant, grant_id)
    if grant is None:
        raise ApiError("not_found", 404)
    return grant


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
        details={"reason": reason},
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


def award_view(grant: AwardGrant) -> dict[str, Any]:
    return {
        "id": grant.id,
        "award": grant.award,
        "award_name": award_names(policy_for(grant.region)).get(grant.award, grant.award),
        "region": grant.region,
        "period": grant.period,
        "decision": grant.decision,
        "awarded_on": grant.awarded_on,
        "source": grant.source,
        "recorded_at": grant.recorded_at,
        "revoked_at": grant.revoked_at,
        "revoke_reason": grant.revoke_reason,
    }


# ---------------------------------------------------------------- applications


def _section_in_force(region: str) -> tuple[ThreeFree, Edition]:
    policy = _check_region(region)
    section = three_free(policy)
    edition = section.edition(clock.local_today()) if section else None
    if section is None or edition is None:
        raise ApiError("benefit_route_unavailable", 422, errors={"region": ["no_three_free"]})
    return section, edition


def apply(donor: Donor, region: str) -> tuple[str, dict[str, Any]]:
    """The donor's application on the counted-donations route: granted at once when the records
    prove the threshold, refused with the progress otherwise. Returns (outcome, region view)."""
    _, edition = _section_in_force(region)
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
        return "already_held", region_view(donor, region)
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
    return outcome, region_view(donor, region)


# ---------------------------------------------------------------- the donor's view


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


def _uncounted_view(item: CountedDonation) -> dict[str, Any]:
    donation = item.donation
    amount, unit = donation.amount
    return {
        "donation_date": donation.donation_date,
        "kind": donation.kind,
        "amount": amount,
        "unit": unit,
        "question": item.open_question,
    }


def _holding_view(row: BenefitHolding) -> dict[str, Any]:
    grant = db.session.get(AwardGrant, row.award_grant_id) if row.award_grant_id else None
    return {
        "route": row.route,
        "since": row.since,
        "award": award_view(grant) if grant else None,
    }


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
        "holdings": [_holding_view(row) for row in holdings],
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
        "awards_held": [
            award_view(grant)
            for grant in db.session.scalars(
                select(AwardGrant).where(
                    AwardGrant.donor_id == donor.id,
                    AwardGrant.revoked_at.is_(None),
                    AwardGrant.award.in_(route.awards),
                )
            )
        ],
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
        "not_yet_counted": [_uncounted_view(item) for item in uncounted],
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
    shown = [code for code, _ in _regions_with_three_free() if code in concerned]
    return {"regions": [region_view(donor, region) for region in shown]}


def audit_admin_view(admin: Caller, donor: Donor) -> None:
    audit.record(
        "donor.benefits_viewed_by_staff",
        actor=("staff", admin.principal_id),
        target=("donor", donor.id),
    )


def card_sections(_sender: Any, donor: Donor, **_: Any) -> dict[str, Any]:
    from rewards.schemas import BenefitsSchema

    return {"benefits": BenefitsSchema().dump(benefits_view(donor))}


# ---------------------------------------------------------------- benefit codes


def benefit_code(donor: Donor, region: str | None = None) -> dict[str, Any]:
    """A fresh signed code naming the donor's pseudonym and the benefits held in one region."""
    held_regions = sorted({row.region for row in active_holdings(donor.id)})
    if region is None:
        region = donor.region if donor.region in held_regions else next(iter(held_regions), None)
    if region is None or region not in held_regions:
        raise ApiError("no_benefit_held", 409)
    _, edition = _section_in_force(region)
    holder = db.session.get_one(BenefitHolder, donor.id)
    ttl = current_app.config["BENEFIT_CODE_TTL"]
    token_codes = "".join(benefit.token_code for benefit in edition.benefits)
    code, expires = mint_code(holder.ref, region, token_codes, ttl)
    return {
        "code": code,
        "region": region,
        "kinds": list(edition.kinds),
        "expires_at": datetime.fromtimestamp(expires, tz=clock.LOCAL_ZONE),
        "expires_in": int(ttl.total_seconds()),
    }


def mint_code(ref: str, region: str, token_codes: str, ttl: timedelta) -> tuple[str, int]:
    """Sign a benefit code; returns the code and its expiry (seconds since the epoch)."""
    expires = int(clock.now().timestamp() + ttl.total_seconds())
    claims = {
        "sub": ref,
        "rg": region,
        "bk": token_codes,
        "jti": secrets.token_urlsafe(8),
        "exp": expires,
    }
    return keyring().sign(claims, TOKEN_TYPE), expires

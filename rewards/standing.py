"""Who holds the three frees, since when and by which route.

Standing is derived from the records (awards won, counted donations, granted applications) and
kept as holding periods. Every change to those records recomputes it in the same transaction:
a voided donation that the count rested on withdraws the benefits when the void commits.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime, time
from fractions import Fraction
from typing import Any

from sqlalchemy import ColumnElement, Select, case, exists, func, insert, literal, select

from certificate.services import CountedDonation, counted_donations
from core import clock
from core.crypto import cipher
from core.extensions import db
from core.policy import PolicyUndecided, policy_for, regions
from core.transaction import before_commit
from core.types import UTCDateTime
from donors.models import Donor
from rewards.models import (
    GRANTED,
    AwardGrant,
    BenefitApplication,
    BenefitHolder,
    BenefitHolding,
)
from rewards.rules import (
    AWARD_ROUTE,
    COUNT_ROUTE,
    AwardRoute,
    Edition,
    ThreeFree,
    three_free,
)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clock.LOCAL_ZONE)


def regions_with_three_free() -> list[tuple[str, ThreeFree]]:
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
    for region, section in regions_with_three_free():
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


def open_award_holdings(new_grants: ColumnElement[bool]) -> int:
    """The award route for every donor of a list of new grants at once, in a few statements.

    Confirming a cycle grants awards to hundreds of thousands of donors, and refreshing each
    one's standing takes minutes. A grant added can only open an award-route holding (counts,
    applications and the other awards are untouched), so this opens what `refresh_standing`
    would: for each region whose edition in force has an award route, the donors with a new
    qualifying grant and no such holding open, since their first qualifying award. The tests hold
    the two to the same holdings. Returns how many it opened.
    """
    today = clock.local_today()
    opened = 0
    for region, section in regions_with_three_free():
        edition = section.edition(today)
        route = edition.award_route if edition else None
        if edition is None or route is None:
            continue
        qualifying: list[ColumnElement[bool]] = [
            AwardGrant.revoked_at.is_(None),
            AwardGrant.award.in_(route.awards),
        ]
        if route.won_in_region is not False:
            qualifying.append(AwardGrant.region == region)
        newly = select(AwardGrant.donor_id).where(new_grants, *qualifying)
        holding_open = exists().where(
            BenefitHolding.donor_id == AwardGrant.donor_id,
            BenefitHolding.region == region,
            BenefitHolding.route == AWARD_ROUTE,
            BenefitHolding.withdrawn_at.is_(None),
        )
        ranked = (
            select(
                AwardGrant.donor_id,
                AwardGrant.id,
                AwardGrant.awarded_on,
                func.row_number()
                .over(
                    partition_by=AwardGrant.donor_id,
                    order_by=(AwardGrant.awarded_on, AwardGrant.id),
                )
                .label("rank"),
            )
            .where(*qualifying, AwardGrant.donor_id.in_(newly), ~holding_open)
            .subquery("first_awards")
        )
        days = db.session.scalars(select(ranked.c.awarded_on).where(ranked.c.rank == 1).distinct())
        since = {
            day: clock.as_utc(_local_midnight(max(day, edition.effective_from))) for day in days
        }
        if not since:
            continue
        _ensure_holders(select(ranked.c.donor_id).where(ranked.c.rank == 1))
        since_of = case(
            *((ranked.c.awarded_on == day, literal(at, UTCDateTime)) for day, at in since.items())
        )
        before = _open_award_holdings_in(region)
        db.session.execute(
            insert(BenefitHolding).from_select(
                ["donor_id", "region", "route", "since", "award_grant_id"],
                select(
                    ranked.c.donor_id,
                    literal(region),
                    literal(AWARD_ROUTE),
                    since_of,
                    ranked.c.id,
                ).where(ranked.c.rank == 1),
            )
        )
        opened += _open_award_holdings_in(region) - before
    return opened


def _open_award_holdings_in(region: str) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(BenefitHolding)
            .where(
                BenefitHolding.region == region,
                BenefitHolding.route == AWARD_ROUTE,
                BenefitHolding.withdrawn_at.is_(None),
            )
        )
        or 0
    )


def _ensure_holders(donor_ids: Select) -> None:
    """The pseudonyms of donors who have none yet (computed here: the key never reaches SQL)."""
    ids = donor_ids.subquery()
    missing = db.session.scalars(
        select(ids.c.donor_id).where(~exists().where(BenefitHolder.donor_id == ids.c.donor_id))
    ).all()
    if missing:
        db.session.execute(
            insert(BenefitHolder),
            [{"donor_id": donor_id, "ref": holder_ref(donor_id)} for donor_id in missing],
        )


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

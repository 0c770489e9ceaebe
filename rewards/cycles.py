"""Award cycles: the donors newly qualified at a cut-off date, nominated from the record and
granted by the decision an administrator confirms (issue 14 item 2).

A cycle is one round of an award scheme in a region: the national dedication tiers (`dedication`:
bronze, silver, gold and the lifetime honour, POLICY.md §2; the national round every two years),
or a region award whose criteria the policy gives (`zhejiang_dedication`, POLICY.md §3.3; every
three years). An administrator opens it with the period and the cut-off date; the nominations
are the donors whose record at the cut-off reaches a tier they hold no award for; confirming
the list with the decision's document grants each one (AwardGrant with the cycle).

The list is computed in the database, for a million donors at once: each donation's counts in
halves from the policy's counting rules (a CASE over region, kind and date built from the policy
data: the 2010 platelet change, 300 ml = 1.5), summed per donor up to the cut-off and compared
with the tiers and the awards granted. `rewards/honours.py` reads the same record one donor at a
time; `supports` below asks it whether a single grant rests on the record (a grant the record
does not support needs a reason), and the tests hold the two to the same answers.

Which donations count is honours' choice (`certificate.services.counted_donations`): valid ones,
imported history only once the donor has claimed it, every region's donations for the national
tiers (counted by the rules of the region and date they were given), the region's own donations
for its award.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Subquery,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    true,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError

from certificate.counts import as_text, from_halves
from certificate.models import IMPORTED, VALID, Donation
from certificate.policy import CountingRule, CountingRules, donation_rules
from certificate.services import counted_donations
from core import audit, clock
from core.auth import Caller
from core.errors import ApiError
from core.extensions import db
from core.lookups import get_or_404
from core.masking import mask_id_number, mask_name
from core.pagination import paginate
from core.policy import RegionPolicy, policy_for, regions
from core.spreadsheet import spreadsheet_cell
from core.types import EncryptedText, UTCDateTime
from donors.models import DONOR_ERASED, Donor
from rewards.awards import check_period, check_region
from rewards.honours import steps_of, tiers_reached
from rewards.models import (
    ADMIN_SOURCE,
    CYCLE_CONFIRMED,
    CYCLE_OPEN,
    DEDICATION_SCHEME,
    AwardCycle,
    AwardCycleExclusion,
    AwardGrant,
)
from rewards.rules import LIFETIME_HONOR, award_names, dedication_record, region_awards
from rewards.standing import open_award_holdings
from rewards.support import earlier_grants, on_record, region_award, supports


@dataclass(frozen=True)
class CycleOpening:
    scheme: str
    region: str
    period: str
    cut_off: date


@dataclass(frozen=True)
class Exclusion:
    donor_id: int
    reason: str


@dataclass(frozen=True)
class Confirmation:
    decision: str
    awarded_on: date
    exclusions: list[Exclusion] = field(default_factory=list)


@dataclass(frozen=True)
class Nomination:
    """One donor newly qualified for one award (the `occurrence`-th gold), with the record."""

    donor_id: int
    award: str
    occurrence: int
    half_counts: int | None  # the national tiers: counts at the cut-off, in halves
    volume_ml: int | None  # a region award by volume: ml of the counted kinds at the cut-off


# ---------------------------------------------------------------- opening a cycle


def check_scheme(policy: RegionPolicy, scheme: str) -> None:
    """The national tiers, or a region award whose criteria the record can be read against."""
    if scheme == DEDICATION_SCHEME:
        return
    award = region_award(policy, scheme)
    if award is None or award.criteria is None:
        raise ApiError("award_scheme_unknown", 422, errors={"scheme": ["award_scheme_unknown"]})


def open_cycle(opening: CycleOpening, admin: Caller) -> AwardCycle:
    """Open a cycle: one open cycle per region, scheme and period (409 otherwise)."""
    policy = check_region(opening.region)
    check_scheme(policy, opening.scheme)
    if opening.cut_off > clock.local_today():
        raise ApiError("cut_off_in_future", 422, errors={"cut_off": ["cut_off_in_future"]})
    check_period(opening.period, opening.cut_off)
    cycle = AwardCycle(
        scheme=opening.scheme,
        region=opening.region,
        period=opening.period,
        cut_off=opening.cut_off,
        status=CYCLE_OPEN,
        opened_by=admin.principal_id,
    )
    if db.session.scalar(_open_cycles(opening)) is not None:
        raise ApiError("award_cycle_open", 409)
    try:
        with db.session.begin_nested():
            db.session.add(cycle)
    except IntegrityError:  # opened meanwhile by another administrator
        raise ApiError("award_cycle_open", 409) from None
    audit.record(
        "award_cycle.opened",
        actor=("staff", admin.principal_id),
        target=("award_cycle", cycle.id),
        details={
            "scheme": cycle.scheme,
            "region": cycle.region,
            "period": cycle.period,
            "cut_off": cycle.cut_off.isoformat(),
        },
    )
    return cycle


def _open_cycles(opening: CycleOpening) -> Select:
    return select(AwardCycle.id).where(
        AwardCycle.region == opening.region,
        AwardCycle.scheme == opening.scheme,
        AwardCycle.period == opening.period,
        AwardCycle.status == CYCLE_OPEN,
    )


def get_cycle(cycle_id: int) -> AwardCycle:
    return get_or_404(AwardCycle, cycle_id)


def cycles_query(region: str | None = None, status: str | None = None) -> Select[AwardCycle]:
    """Cycles, newest first."""
    query = select(AwardCycle).order_by(AwardCycle.opened_at.desc(), AwardCycle.id.desc())
    if region is not None:
        query = query.where(AwardCycle.region == region)
    if status is not None:
        query = query.where(AwardCycle.status == status)
    return query


# ---------------------------------------------------------------- counts in SQL


def _halves_of(rule: CountingRule, amount: ColumnElement[int]) -> ColumnElement[int] | None:
    """One counting rule as SQL: the donation's counts in halves, or None where the policy gives
    no count (an open question: not counted, as `DonationRules.counts_for` refuses it)."""
    if rule.open_question:
        return None
    if rule.counts_per_unit is not None:
        return amount * (2 * rule.counts_per_unit)
    if rule.ml_per_count is None:
        return None
    if rule.count_step is not None:
        # counts = amount // (ml x step) x step, rounded down to the step: in halves,
        # floor(amount x den / (ml x num)) x 2 x step, every figure a whole number
        step = rule.count_step
        return (amount * step.denominator) // (rule.ml_per_count * step.numerator) * int(2 * step)
    return case((amount % rule.ml_per_count == 0, amount // rule.ml_per_count * 2), else_=null())


def _counting_by_region() -> list[tuple[tuple[CountingRules, ...], list[str]]]:
    """The regions grouped by their counting rules (the same national rules, as a rule)."""
    groups: list[tuple[tuple[CountingRules, ...], list[str]]] = []
    for code in regions():
        counting = donation_rules(policy_for(code)).counting
        for known, members in groups:
            if known == counting:
                members.append(code)
                break
        else:
            groups.append((counting, [code]))
    return groups


def half_counts() -> ColumnElement[int]:
    """Each donation's counts in halves by the national award rules of its region in force on
    its date, built from the policy data; NULL where the rules give it no settled count."""
    amount = func.coalesce(Donation.units, Donation.volume_ml, 0)
    groups = _counting_by_region()
    whens = []
    for counting, members in groups:
        in_region = true() if len(groups) == 1 else Donation.region.in_(members)
        for rules in counting:
            dated: list[ColumnElement[bool]] = [in_region]
            if rules.effective_from is not None:
                dated.append(Donation.donation_date >= rules.effective_from)
            if rules.effective_to is not None:
                dated.append(Donation.donation_date <= rules.effective_to)
            for kind, rule in rules.per_kind.items():
                halves = _halves_of(rule, amount)
                if halves is not None:
                    whens.append((and_(*dated, Donation.kind == kind), halves))
    return case(*whens, else_=null())


def _countedon_record(cut_off: date) -> list[ColumnElement[bool]]:
    """The donations honours counts (valid; imported history once claimed), up to the cut-off."""
    return [
        Donation.status == VALID,
        Donation.donation_date <= cut_off,
        or_(Donation.source != IMPORTED, Donor.history_claimed_at.is_not(None)),
        Donor.status != DONOR_ERASED,
    ]


def _held(codes: Iterable[str], period: str):
    """Per donor: the unrevoked awards of each code, and whether a record of it (revoked or
    not) exists for the period (one per award, period and donor)."""
    columns = []
    for code in codes:
        unrevoked = and_(AwardGrant.award == code, AwardGrant.revoked_at.is_(None))
        in_period = and_(AwardGrant.award == code, AwardGrant.period == period)
        columns.append(func.sum(case((unrevoked, 1), else_=0)).label(f"held_{code}"))
        columns.append(func.sum(case((in_period, 1), else_=0)).label(f"period_{code}"))
    return (
        select(AwardGrant.donor_id, *columns)
        .where(AwardGrant.award.in_(list(codes)))
        .group_by(AwardGrant.donor_id)
        .cte("held")
    )


def _nominated(
    standing, code: str, occurrence: ColumnElement[int], rank: int, condition, measure: str
) -> Select:
    empty = cast(null(), Integer)
    return select(
        standing.c.donor_id,
        cast(literal(code), String).label("award"),
        occurrence.label("occurrence"),
        (standing.c.measure if measure == "half_counts" else empty).label("half_counts"),
        (standing.c.measure if measure == "volume_ml" else empty).label("volume_ml"),
        literal(rank).label("rank"),
    ).where(condition)


def _dedication_nominations(cycle: AwardCycle) -> Subquery:
    policy = policy_for(cycle.region)
    rules = donation_rules(policy).awards
    record = dedication_record(policy)
    repeating = record.repeating_tier if record else None
    codes = [tier.code for tier in rules.tiers] + ([LIFETIME_HONOR] if repeating else [])
    halves = func.sum(half_counts())
    lowest = min(tier.min_counts for tier in rules.tiers)
    counted = (
        select(Donation.donor_id.label("donor_id"), halves.label("measure"))
        .join(Donor, Donor.id == Donation.donor_id)
        .where(Donor.region == cycle.region, *_countedon_record(cycle.cut_off))
        .group_by(Donation.donor_id)
        .having(halves >= 2 * lowest)
        .cte("counted")
    )
    held = _held(codes, cycle.period)

    def had(column: str) -> ColumnElement[int]:
        return func.coalesce(held.c[column], 0)

    standing = (
        select(
            counted.c.donor_id,
            counted.c.measure,
            *[had(f"held_{code}").label(f"held_{code}") for code in codes],
            *[had(f"period_{code}").label(f"period_{code}") for code in codes],
        )
        .select_from(counted.outerjoin(held, held.c.donor_id == counted.c.donor_id))
        .cte("standing")
    )
    parts = []
    for rank, tier in enumerate(rules.tiers):
        threshold = 2 * tier.min_counts
        held_it, in_period = standing.c[f"held_{tier.code}"], standing.c[f"period_{tier.code}"]
        if tier.code == repeating:
            # the k-th gold is reached at k x 40 counts: one more reached than granted
            condition = and_(standing.c.measure >= (held_it + 1) * threshold, in_period == 0)
            occurrence: ColumnElement[int] = held_it + 1
        else:
            condition = and_(standing.c.measure >= threshold, held_it == 0, in_period == 0)
            occurrence = literal(1)
        parts.append(_nominated(standing, tier.code, occurrence, rank, condition, "half_counts"))
    if repeating is not None:
        gold = next(t for t in rules.tiers if t.code == repeating)
        golds = rules.lifetime_honor_gold_awards
        condition = and_(
            or_(
                standing.c.measure >= 2 * gold.min_counts * golds,
                standing.c[f"held_{repeating}"] >= golds,
            ),
            standing.c[f"held_{LIFETIME_HONOR}"] == 0,
            standing.c[f"period_{LIFETIME_HONOR}"] == 0,
        )
        parts.append(
            _nominated(standing, LIFETIME_HONOR, literal(1), len(parts), condition, "half_counts")
        )
    return union_all(*parts).subquery("nominated")


def _region_award_nominations(cycle: AwardCycle) -> Subquery:
    policy = policy_for(cycle.region)
    award = region_award(policy, cycle.scheme)
    assert award is not None and award.criteria is not None  # checked when the cycle opened
    criteria = award.criteria
    section = region_awards(policy)
    rare = section.rare_blood if section else None
    required: ColumnElement[int] = literal(criteria.min_ml)
    if rare is not None and criteria.rare_blood_min_ml:
        is_rare = and_(
            Donor.rhd.in_(rare.rhd), Donor.blood_group_source.in_(rare.blood_group_sources)
        )
        required = case((is_rare, criteria.rare_blood_min_ml), else_=criteria.min_ml)
    volume = func.sum(Donation.volume_ml)
    counted = (
        select(Donation.donor_id.label("donor_id"), volume.label("measure"))
        .join(Donor, Donor.id == Donation.donor_id)
        .where(
            Donation.region == cycle.region,
            Donation.kind.in_(criteria.counted_kinds),
            *_countedon_record(cycle.cut_off),
        )
        .group_by(Donation.donor_id, Donor.rhd, Donor.blood_group_source)
        .having(volume >= required)
        .cte("counted")
    )
    held = _held([award.code], cycle.period)
    standing = (
        select(
            counted.c.donor_id,
            counted.c.measure,
            func.coalesce(held.c[f"held_{award.code}"], 0).label("held"),
            func.coalesce(held.c[f"period_{award.code}"], 0).label("in_period"),
        )
        .select_from(counted.outerjoin(held, held.c.donor_id == counted.c.donor_id))
        .cte("standing")
    )
    condition = and_(standing.c.held == 0, standing.c.in_period == 0)
    return _nominated(standing, award.code, literal(1), 0, condition, "volume_ml").subquery(
        "nominated"
    )


def _nominated_of(cycle: AwardCycle) -> Subquery:
    if cycle.scheme == DEDICATION_SCHEME:
        return _dedication_nominations(cycle)
    return _region_award_nominations(cycle)


def _roomy_grouping() -> None:
    """On PostgreSQL, group the donors' counts in memory for the rest of this transaction
    (`AWARD_NOMINATIONS_WORK_MEM`): a million donors' sums spill to disk with the default."""
    if db.session.get_bind().dialect.name == "postgresql":
        setting = current_app.config["AWARD_NOMINATIONS_WORK_MEM"]
        db.session.execute(select(func.set_config("work_mem", setting, True)))


def nominations_query(cycle: AwardCycle) -> Select:
    """The cycle's list, by donor and tier: each row the donor's id, name and ID number (the
    schema and the CSV mask them), the award, which time (golds), and the record at the cut-off.

    The name and ID number are read for the rows returned only (scalar subqueries), so counting
    the list and reading one page group the counts and read no donor row more.
    """
    nominated = _nominated_of(cycle)

    def of_donor(column: Any) -> Any:
        return select(column).where(Donor.id == nominated.c.donor_id).scalar_subquery()

    return select(
        nominated.c.donor_id,
        cast(literal(cycle.region), String).label("region"),
        of_donor(Donor.name).label("name"),
        type_coerce(of_donor(Donor.id_number), EncryptedText).label("id_number"),
        nominated.c.award,
        nominated.c.occurrence,
        nominated.c.half_counts,
        nominated.c.volume_ml,
    ).order_by(nominated.c.donor_id, nominated.c.rank)


def nominations_page(cycle: AwardCycle, page: int, per_page: int) -> dict[str, Any]:
    """One page of the list, with the whole list's count (core.pagination)."""
    _roomy_grouping()
    return paginate(nominations_query(cycle), page, per_page)


def nominations(cycle: AwardCycle) -> list[Nomination]:
    """The whole list, without identities: what confirming grants."""
    _roomy_grouping()
    nominated = _nominated_of(cycle)
    rows = db.session.execute(
        select(
            nominated.c.donor_id,
            nominated.c.award,
            nominated.c.occurrence,
            nominated.c.half_counts,
            nominated.c.volume_ml,
        ).order_by(nominated.c.donor_id, nominated.c.rank)
    )
    return [Nomination(*row) for row in rows]


NOMINATION_COLUMNS = (
    "donor_id",
    "name",
    "id_number",
    "award",
    "award_name",
    "occurrence",
    "counts",
    "volume_ml",
)


def nominations_csv(cycle: AwardCycle) -> str:
    """The list for the nomination forms, as CSV (UTF-8 with a BOM; names and ID numbers masked
    as everywhere staff see donors; every cell formula-safe)."""
    names = award_names(policy_for(cycle.region))
    _roomy_grouping()
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(NOMINATION_COLUMNS)
    for row in db.session.execute(nominations_query(cycle)):
        cells = (
            row.donor_id,
            mask_name(row.name) or "",
            mask_id_number(row.id_number) or "",
            row.award,
            names.get(row.award, row.award),
            row.occurrence,
            "" if row.half_counts is None else as_text(from_halves(row.half_counts)),
            "" if row.volume_ml is None else row.volume_ml,
        )
        writer.writerow([spreadsheet_cell(cell) for cell in cells])
    return buffer.getvalue()


# ---------------------------------------------------------------- confirming


def confirm_cycle(cycle: AwardCycle, confirmation: Confirmation, admin: Caller) -> AwardCycle:
    """Grant the award to every nominated donor not excluded, with the cycle, the decision and
    the period; benefits resting on awards follow at once. A cycle is confirmed once (409).

    A national list runs to hundreds of thousands of donors, so the grants are written from the
    list in one INSERT ... SELECT and the benefits opened for all of them at once
    (`open_award_holdings`), in the request's one transaction. The audit entry of the
    confirmation stands for its grants: each names the cycle, the decision and who confirmed it.
    """
    if cycle.status != CYCLE_OPEN:
        raise ApiError("award_cycle_confirmed", 409)
    awarded_on = confirmation.awarded_on
    if awarded_on > clock.local_today():
        raise ApiError("awarded_in_future", 422, errors={"awarded_on": ["awarded_in_future"]})
    if awarded_on < cycle.cut_off:
        raise ApiError(
            "awarded_before_cut_off", 422, errors={"awarded_on": ["awarded_before_cut_off"]}
        )
    check_period(cycle.period, awarded_on)
    excluded = {item.donor_id: item.reason for item in confirmation.exclusions}
    if len(excluded) != len(confirmation.exclusions):
        raise ApiError("exclusion_repeated", 422, errors={"exclusions": ["exclusion_repeated"]})
    _roomy_grouping()
    if excluded:
        nominated = _nominated_of(cycle)
        listed = set(
            db.session.scalars(
                select(nominated.c.donor_id).where(nominated.c.donor_id.in_(excluded)).distinct()
            )
        )
        if set(excluded) - listed:
            raise ApiError("nomination_unknown", 422, errors={"exclusions": ["nomination_unknown"]})
    # Confirmed once, even by two administrators at the same moment: the row changes once.
    claimed = db.session.execute(
        update(AwardCycle)
        .where(AwardCycle.id == cycle.id, AwardCycle.status == CYCLE_OPEN)
        .values(status=CYCLE_CONFIRMED)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise ApiError("award_cycle_confirmed", 409)
    db.session.refresh(cycle)
    granted = _grant_nominations(cycle, confirmation, admin, set(excluded))
    db.session.add_all(
        AwardCycleExclusion(cycle_id=cycle.id, donor_id=donor_id, reason=reason)
        for donor_id, reason in excluded.items()
    )
    cycle.decision = confirmation.decision
    cycle.awarded_on = awarded_on
    cycle.granted = granted
    cycle.confirmed_by = admin.principal_id
    cycle.confirmed_at = clock.now()
    db.session.flush()
    opened = open_award_holdings(AwardGrant.cycle_id == cycle.id)
    audit.record(
        "award_cycle.confirmed",
        actor=("staff", admin.principal_id),
        target=("award_cycle", cycle.id),
        details={
            "decision": confirmation.decision,
            "awarded_on": awarded_on.isoformat(),
            "granted": granted,
            "benefits_opened": opened,
            "excluded": [{"donor_id": d, "reason": r} for d, r in excluded.items()],
        },
    )
    return cycle


def _grant_nominations(
    cycle: AwardCycle, confirmation: Confirmation, admin: Caller, excluded: set[int]
) -> int:
    """Write the confirmed list's grants straight from the list: how many were granted."""
    nominated = _nominated_of(cycle)
    values = select(
        nominated.c.donor_id,
        nominated.c.award,
        literal(cycle.region),
        literal(cycle.period),
        literal(confirmation.decision),
        literal(confirmation.awarded_on),
        literal(ADMIN_SOURCE),
        literal(admin.principal_id, Integer),
        literal(clock.now(), UTCDateTime),
        literal(cycle.id),
    )
    if excluded:
        values = values.where(nominated.c.donor_id.not_in(excluded))
    db.session.execute(
        insert(AwardGrant).from_select(
            [
                "donor_id",
                "award",
                "region",
                "period",
                "decision",
                "awarded_on",
                "source",
                "recorded_by",
                "recorded_at",
                "cycle_id",
            ],
            values,
        )
    )
    # An INSERT ... SELECT's row count is not reported on every driver: read it back.
    return (
        db.session.scalar(
            select(func.count()).select_from(AwardGrant).where(AwardGrant.cycle_id == cycle.id)
        )
        or 0
    )


def exclusions_of(cycle: AwardCycle) -> list[AwardCycleExclusion]:
    return list(
        db.session.scalars(
            select(AwardCycleExclusion)
            .where(AwardCycleExclusion.cycle_id == cycle.id)
            .order_by(AwardCycleExclusion.donor_id)
        )
    )


# ---------------------------------------------------------------- the list, one donor at a time


def nominated_from_record(donor: Donor, cycle: AwardCycle) -> list[tuple[str, int]]:
    """The cycle's nominations for one donor, read by honours.py one donor at a time (what the
    SQL list must agree with): (award, occurrence)."""
    policy = policy_for(cycle.region)
    held = {
        (grant.award, grant.revoked_at is None, grant.period)
        for grant in db.session.scalars(select(AwardGrant).where(AwardGrant.donor_id == donor.id))
    }

    def holds(code: str) -> bool:
        return any(a == code and unrevoked for a, unrevoked, _ in held)

    def in_period(code: str) -> bool:
        return any(a == code and period == cycle.period for a, _, period in held)

    if donor.status == DONOR_ERASED:
        return []
    if cycle.scheme != DEDICATION_SCHEME:  # the region's own donations decide, wherever home is
        check = supports(donor, cycle.scheme, cycle.region, cycle.cut_off)
        ok = check.supported and not holds(cycle.scheme) and not in_period(cycle.scheme)
        return [(cycle.scheme, 1)] if ok else []
    if donor.region != cycle.region:
        return []
    rules = donation_rules(policy).awards
    record = dedication_record(policy)
    repeating = record.repeating_tier if record else None
    counted = on_record(counted_donations(donor), cycle.cut_off)
    _, reached = tiers_reached(steps_of(counted), policy_for(donor.region))
    found = []
    for tier in rules.tiers:
        if in_period(tier.code):
            continue
        if tier.code == repeating:
            granted = earlier_grants(donor, tier.code, None)
            golds = sum(1 for t in reached if t.tier == repeating)
            if golds > granted:
                found.append((tier.code, granted + 1))
        elif any(t.tier == tier.code for t in reached) and not holds(tier.code):
            found.append((tier.code, 1))
    if repeating is not None and not holds(LIFETIME_HONOR) and not in_period(LIFETIME_HONOR):
        granted_golds = earlier_grants(donor, repeating, None)
        if (
            any(t.tier == LIFETIME_HONOR for t in reached)
            or granted_golds >= rules.lifetime_honor_gold_awards
        ):
            found.append((LIFETIME_HONOR, 1))
    return found

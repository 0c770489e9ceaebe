"""Honours read off the record: the national dedication tiers a donor's counted donations reach,
and when; the region's own awards whose criteria the policy gives; what the next tier needs.

Counting is certificate's (`certificate.services.counted_donations`, the same counts as the card's
totals and as `rewards.standing.region_counts`): the national award rules in force on each
donation's date (the 2010 platelet change), whole blood in halves (300 ml = 1.5). A donation the
rules give no settled count yet is left out and shown as not yet counted; a voided one is gone.

The national tiers (POLICY.md §2, `[awards]`): each non-repeating tier (bronze, silver) is reached
once, the day the donation that crosses its threshold was given. The repeating tier
(`[dedication_record] repeating_tier`, gold) restarts: after a gold, counting for the next starts
after the 40th counted donation of that gold ("the 40th itself excluded", POLICY.md §2 and
Decisions 2026-11-30), so the k-th gold is reached at k x 40 counts. A count is a 200 ml "donation"
of the regulation, so a 400 ml donation that takes the record from 39 to 41 reached a gold with
its first count and carries its second into the next. The lifetime honour is reached with the
third gold (`[awards.lifetime_honor] gold_awards`), once.

"A gold" for the restart is a gold reached on the record (this module), not a gold an
administrator recorded: a granted award says the state conferred it, and its date is the decision's,
not the record's. Until cycles and nominations (issue 14 item 2) tie each granted award to the
record that supports it, the record alone decides when counting restarts; a donor with a granted
gold but fewer counts on the record (history not imported) shows the golds the record supports.

Tiers reached on the record are not awards: the state confers those by a decision every two years
(AwardGrant, recorded by administrators). The donor sees both, each for what it is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

from sqlalchemy import select

from certificate.counts import as_text
from certificate.policy import AwardRules, donation_rules
from certificate.services import CountedDonation, counted_donations
from core import clock
from core.extensions import db
from core.i18n import Message, _l, prefers_english
from core.policy import PolicyUndecided, RegionPolicy, policy_for, regions
from donors.models import Donor
from rewards.benefits import (
    AND,
    DONATIONS_OF,
    KIND_SUFFIX,
    OR,
    PROGRESS_NO_STEP,
    PROGRESS_STEPS,
    UNIT_NAMES,
)
from rewards.benefits import next_steps as steps_to
from rewards.models import AwardGrant
from rewards.rules import (
    LIFETIME_HONOR,
    DedicationRecord,
    RegionAward,
    dedication_record,
    region_awards,
)

TIER_PROGRESS = _l("{name}: {counted} counted, {required} required, {missing} to go")
NTH_TIME = _l("{name} (time {occurrence})")
WITH_HONOUR = _l("{name}, with the {honour}")
VOLUME_REACHED = _l("{name}: the {required} ml required are reached.")
VOLUME_PROGRESS = _l(
    "{name}: {counted} ml of {kinds} given in the region, {required} ml required,"
    " {missing} ml to go"
)
GRANTED_BY_ADMINISTRATOR = _l("{name}: conferred by decision; the record alone does not decide it.")


@dataclass(frozen=True)
class Step:
    """One donation on the record, as the tiers see it."""

    donation_id: int
    on: date
    counts: Fraction


@dataclass(frozen=True)
class TierReached:
    """A national tier reached on the record: the `occurrence`-th time (golds repeat), on the
    date of the donation that crossed `at_counts` (cumulative counts)."""

    tier: str
    occurrence: int
    reached_on: date
    at_counts: Fraction
    donation_id: int
    name: str


@dataclass(frozen=True)
class NextTier:
    """The next tier on the record and exactly what is missing."""

    tier: str
    occurrence: int
    name: str
    with_lifetime_honor: bool
    required: Fraction  # counts towards this tier (20, 30, or 40 for each gold)
    counted: Fraction  # counts towards it so far
    missing: Fraction
    next_steps: list[dict[str, Any]]
    message: str


@dataclass(frozen=True)
class RegionAwardProgress:
    """A region's own award: reached on the record (with criteria), or granted by decision."""

    region: str
    region_name: str
    award: RegionAward
    name: str
    has_criteria: bool
    rare_blood: bool = False
    counted_ml: int = 0
    required_ml: int | None = None
    missing_ml: int | None = None
    reached_on: date | None = None
    next_steps: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""

    @property
    def reached(self) -> bool:
        return self.reached_on is not None


@dataclass(frozen=True)
class DonorHonours:
    """What GET /me/honours shows: the record's tiers, the region awards, the granted awards."""

    counted: Fraction
    tiers: list[TierReached]
    next: NextTier | None
    region_awards: list[RegionAwardProgress]
    awards_granted: list[AwardGrant]
    not_yet_counted: list[CountedDonation]

    @property
    def highest(self) -> TierReached | None:
        """The highest tier reached (the lifetime honour above every gold)."""
        if not self.tiers:
            return None
        honour = [t for t in self.tiers if t.tier == LIFETIME_HONOR]
        return honour[0] if honour else max(self.tiers, key=lambda t: (t.at_counts, t.occurrence))


# ---------------------------------------------------------------- the national tiers


def tier_name(policy: RegionPolicy, code: str) -> str:
    """The tier's name in the reader's language (English where the policy gives one)."""
    rules = donation_rules(policy).awards
    record = dedication_record(policy)
    if prefers_english() and record is not None and code in record.names_en:
        return record.names_en[code]
    if code == LIFETIME_HONOR:
        return rules.lifetime_honor_name_zh
    return next((t.name_zh for t in rules.tiers if t.code == code), code)


def _repeating(rules: AwardRules, record: DedicationRecord | None) -> tuple[str, int] | None:
    if record is None:
        return None
    tier = next((t for t in rules.tiers if t.code == record.repeating_tier), None)
    if tier is None:
        raise PolicyUndecided("dedication_record.repeating_tier", "not a dedication tier")
    return tier.code, tier.min_counts


def _thresholds(
    rules: AwardRules, record: DedicationRecord | None, up_to: Fraction
) -> list[tuple[Fraction, str, int]]:
    """(cumulative counts, tier, occurrence) for every threshold up to `up_to` and the first
    beyond it, in order: once for the tiers that do not repeat, k x min_counts for gold."""
    repeating = _repeating(rules, record)
    found = [
        (Fraction(t.min_counts), t.code, 1)
        for t in rules.tiers
        if repeating is None or t.code != repeating[0]
    ]
    if repeating is not None:
        code, step = repeating
        for k in range(1, int(up_to // step) + 2):
            found.append((Fraction(k * step), code, k))
    return sorted(found)


def tiers_reached(
    steps: Iterable[Step], policy: RegionPolicy
) -> tuple[Fraction, list[TierReached]]:
    """The record's running total and every tier it reached, in order, each with the date of the
    donation that crossed its threshold; the lifetime honour with the gold that completes it."""
    steps = list(steps)
    rules = donation_rules(policy).awards
    record = dedication_record(policy)
    total = sum((step.counts for step in steps), Fraction(0))
    pending = _thresholds(rules, record, total)
    reached: list[TierReached] = []
    running = Fraction(0)
    golds = 0
    for step in steps:
        running += step.counts
        while pending and pending[0][0] <= running:
            at, code, occurrence = pending.pop(0)
            name = tier_name(policy, code)
            reached.append(TierReached(code, occurrence, step.on, at, step.donation_id, name))
            if record is not None and code == record.repeating_tier:
                golds = occurrence
                if golds == rules.lifetime_honor_gold_awards:
                    reached.append(
                        TierReached(
                            LIFETIME_HONOR,
                            1,
                            step.on,
                            at,
                            step.donation_id,
                            tier_name(policy, LIFETIME_HONOR),
                        )
                    )
    return total, reached


def next_tier(
    total: Fraction, reached: list[TierReached], policy: RegionPolicy, on: date
) -> NextTier | None:
    """The first threshold the record has not crossed, what counts towards it and what is
    missing: in counts, and as the fewest donations of each kind that close the gap."""
    rules = donation_rules(policy).awards
    record = dedication_record(policy)
    done = {(t.tier, t.occurrence) for t in reached}
    upcoming = [
        item for item in _thresholds(rules, record, total) if (item[1], item[2]) not in done
    ]
    if not upcoming:
        return None
    at, code, occurrence = upcoming[0]
    step_counts = next(Fraction(t.min_counts) for t in rules.tiers if t.code == code)
    repeats = record is not None and code == record.repeating_tier
    start = at - step_counts if repeats else Fraction(0)
    with_honour = (
        repeats
        and occurrence == rules.lifetime_honor_gold_awards
        and all(t.tier != LIFETIME_HONOR for t in reached)
    )
    name: str | Message = tier_name(policy, code)
    if repeats and occurrence > 1:
        name = NTH_TIME.format(name=name, occurrence=occurrence)
    if with_honour:
        name = WITH_HONOUR.format(name=name, honour=tier_name(policy, LIFETIME_HONOR))
    shown = name.translated() if isinstance(name, Message) else name
    missing = at - total
    steps = steps_to(policy, missing, on)
    return NextTier(
        tier=code,
        occurrence=occurrence,
        name=shown,
        with_lifetime_honor=with_honour,
        required=step_counts,
        counted=total - start,
        missing=missing,
        next_steps=steps,
        message=_tier_message(shown, total - start, step_counts, missing, steps),
    )


def _options(steps: list[dict[str, Any]]) -> str:
    """ "2 × 400 ml of whole blood, or 2 × 2 therapeutic units of apheresis platelets"."""
    return OR.translated().join(
        AND.translated().join(
            DONATIONS_OF.format(
                donations=part["donations"], amount=part["amount"], unit=UNIT_NAMES[step["unit"]]
            ).translated()
            for part in step["plan"]
        )
        + KIND_SUFFIX.format(kind=step["kind_name"]).translated()
        for step in steps
    )


def _tier_message(
    name: str, counted: Fraction, required: Fraction, missing: Fraction, steps: list[dict[str, Any]]
) -> str:
    progress = TIER_PROGRESS.format(
        name=name, counted=as_text(counted), required=as_text(required), missing=as_text(missing)
    )
    if not steps:
        return PROGRESS_NO_STEP.format(progress=progress).translated()
    return PROGRESS_STEPS.format(progress=progress, options=_options(steps)).translated()


def steps_of(counted: list[CountedDonation]) -> list[Step]:
    return [
        Step(item.donation.id, item.donation.donation_date, item.counts)
        for item in counted
        if item.counts is not None
    ]


# ---------------------------------------------------------------- the region's own awards


def volume_steps(
    policy: RegionPolicy, kinds: tuple[str, ...], missing: int, on: date
) -> list[dict[str, Any]]:
    """The fewest donations of each counted kind (measured in ml) that close `missing` ml: all
    but the last of the largest allowed volume, the last the smallest that still closes it."""
    rules = donation_rules(policy)
    found = []
    for kind in kinds:
        try:
            rule = rules.kind(kind, on)
        except (KeyError, PolicyUndecided):
            continue
        if not rule.offered or rule.unit != "ml" or not rule.allowed_amounts:
            continue
        largest = max(rule.allowed_amounts)
        donations = math.ceil(missing / largest)
        rest = missing - (donations - 1) * largest
        last = min(amount for amount in rule.allowed_amounts if amount >= rest)
        plan = [{"donations": donations - 1, "amount": largest}] if donations > 1 else []
        if plan and last == largest:
            plan[0]["donations"] += 1
        else:
            plan.append({"donations": 1, "amount": last})
        found.append(
            {
                "kind": kind,
                "kind_name": rules.kind_name(kind),
                "amount": plan[0]["amount"],
                "unit": rule.unit,
                "donations": donations,
                "plan": plan,
            }
        )
    return found


def _award_name(award: RegionAward) -> str:
    return award.name_en if prefers_english() and award.name_en else award.name_zh


def region_award_progress(
    donor: Donor, region: str, award: RegionAward, on: date
) -> RegionAwardProgress:
    """The award's criteria read off the donations given in `region`: the cumulative volume of
    the counted kinds, the threshold for the donor's blood type, the date it was crossed."""
    policy = policy_for(region)
    name = _award_name(award)
    criteria = award.criteria
    if criteria is None:
        return RegionAwardProgress(
            region,
            policy.name_zh,
            award,
            name,
            has_criteria=False,
            message=GRANTED_BY_ADMINISTRATOR.format(name=name).translated(),
        )
    section = region_awards(policy)
    rare_rule = section.rare_blood if section else None
    rare = rare_rule is not None and rare_rule.covers(donor.rhd, donor.blood_group_source)
    required = (
        criteria.rare_blood_min_ml if rare and criteria.rare_blood_min_ml else criteria.min_ml
    )
    counted, reached_on = 0, None
    for item in counted_donations(donor, region):
        donation = item.donation
        if donation.kind not in criteria.counted_kinds:
            continue
        counted += donation.volume_ml or 0
        if reached_on is None and counted >= required:
            reached_on = donation.donation_date
    missing = max(required - counted, 0)
    steps = volume_steps(policy, criteria.counted_kinds, missing, on) if missing else []
    if missing == 0:
        message = VOLUME_REACHED.format(name=name, required=required).translated()
    else:
        kinds = AND.translated().join(
            donation_rules(policy).kind_name(kind) for kind in criteria.counted_kinds
        )
        progress = VOLUME_PROGRESS.format(
            name=name, counted=counted, kinds=kinds, required=required, missing=missing
        )
        message = PROGRESS_STEPS.format(progress=progress, options=_options(steps)).translated()
    return RegionAwardProgress(
        region,
        policy.name_zh,
        award,
        name,
        has_criteria=True,
        rare_blood=rare,
        counted_ml=counted,
        required_ml=required,
        missing_ml=missing,
        reached_on=reached_on,
        next_steps=steps,
        message=message,
    )


def _regions_concerned(donor: Donor, counted: list[CountedDonation]) -> list[str]:
    """The donor's region and every region they gave in, in the order the policies load."""
    concerned = {donor.region} | {item.donation.region for item in counted}
    return [code for code in regions() if code in concerned]


# ---------------------------------------------------------------- the donor's honours


def granted_awards(donor: Donor) -> list[AwardGrant]:
    """The awards conferred on the donor (revoked records left out), newest first."""
    return list(
        db.session.scalars(
            select(AwardGrant)
            .where(AwardGrant.donor_id == donor.id, AwardGrant.revoked_at.is_(None))
            .order_by(AwardGrant.awarded_on.desc(), AwardGrant.id.desc())
        )
    )


def record_tiers(donor: Donor) -> tuple[Fraction, list[TierReached], list[CountedDonation]]:
    """The donor's counted donations (every region, the national rules), the tiers they reach,
    and the donations not yet counted."""
    counted = counted_donations(donor)
    total, reached = tiers_reached(steps_of(counted), policy_for(donor.region))
    return total, reached, [item for item in counted if item.counts is None]


def honours_of(donor: Donor) -> DonorHonours:
    """Everything GET /me/honours shows, computed once from the record."""
    today = clock.local_today()
    policy = policy_for(donor.region)
    counted = counted_donations(donor)
    total, reached = tiers_reached(steps_of(counted), policy)
    progress = []
    for region in _regions_concerned(donor, counted):
        section = region_awards(policy_for(region))
        for award in section.awards if section else ():
            progress.append(region_award_progress(donor, region, award, today))
    return DonorHonours(
        counted=total,
        tiers=reached,
        next=next_tier(total, reached, policy, today),
        region_awards=progress,
        awards_granted=granted_awards(donor),
        not_yet_counted=[item for item in counted if item.counts is None],
    )


@dataclass(frozen=True)
class HonoursSummary:
    """What the donor's card shows of the honours: the highest tier and the next one's distance."""

    counted: Fraction
    highest: TierReached | None
    next: NextTier | None


def honours_summary(donor: Donor) -> HonoursSummary:
    policy = policy_for(donor.region)
    total, reached, _ = record_tiers(donor)
    summary = DonorHonours(total, reached, None, [], [], [])
    return HonoursSummary(
        total, summary.highest, next_tier(total, reached, policy, clock.local_today())
    )

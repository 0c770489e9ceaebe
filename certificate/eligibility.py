"""May this donor give this kind of donation on this date, and if not, from when?

Everything comes from the region policy in force on the date asked about. Where the policy
leaves a figure open (POLICY.md marks it unverified), the answer is "not decided" with the open
question, never a guess: staff may then record with an override reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from certificate.models import REACTION_NONE, VALID, Donation, DonationReaction
from certificate.policy import donation_rules
from core.errors import Detail
from core.extensions import db
from core.policy import PolicyUndecided, RegionPolicy
from donors.models import Deferral, Donor


@dataclass(frozen=True)
class Reason:
    code: str
    until: date | None = None  # None with a blocking reason: no date can be given
    detail: dict = field(default_factory=dict)


def distinct(reasons: tuple[Reason, ...] | list[Reason]) -> list[Reason]:
    """Two rules may give the donor the same answer (two open questions): say it once."""
    seen: dict[tuple[str, date | None], Reason] = {}
    for reason in reasons:
        seen.setdefault((reason.code, reason.until), reason)
    return list(seen.values())


def reason_details(reasons: tuple[Reason, ...] | list[Reason]) -> list[Detail]:
    """Reasons as a refusal carries them: `{code, until, message}`, as GET /me/eligibility shows
    them, so a client branches on the code and shows the date."""
    return [
        Detail(code=reason.code, until=reason.until.isoformat() if reason.until else None)
        for reason in distinct(reasons)
    ]


@dataclass(frozen=True)
class Eligibility:
    kind: str
    on: date
    allowed: bool
    earliest_date: date | None
    reasons: tuple[Reason, ...]
    region: str  # whose rules answered (they name the kind)


def age_on(birth: date, on: date) -> int:
    """Age in completed years (周岁); a 29 February birthday completes on 1 March."""
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


def _birthday(birth: date, years: int) -> date:
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:  # 29 February in a common year
        return date(birth.year + years, 3, 1)


# The rules that relate a donation to the others on record, which a correction is checked by.
BETWEEN_DONATIONS = ("interval", "interval_later_donation", "yearly_cap", "yearly_volume_cap")


def past_donations(donor_id: int, before: date | None = None) -> list[Donation]:
    query = select(Donation).where(Donation.donor_id == donor_id, Donation.status == VALID)
    if before is not None:
        query = query.where(Donation.donation_date <= before)
    return list(db.session.scalars(query.order_by(Donation.donation_date)))


def reaction_on_record(donor_id: int, on: date | None = None) -> bool:
    """Whether a valid donation of the donor (up to `on`) has a reaction other than "none".

    Each donation's reaction is its latest entry, so staff correct a mistaken entry by making
    another; a voided donation's reactions do not count (the record was wrong, or moved to its
    correction).
    """
    query = (
        select(DonationReaction.donation_id, DonationReaction.severity)
        .join(Donation, Donation.id == DonationReaction.donation_id)
        .where(Donation.donor_id == donor_id, Donation.status == VALID)
        .order_by(DonationReaction.id)
    )
    if on is not None:
        query = query.where(Donation.donation_date <= on)
    latest = dict(db.session.execute(query).all())
    return any(severity != REACTION_NONE for severity in latest.values())


def active_deferrals(donor_id: int, on: date) -> list[Deferral]:
    rows = db.session.scalars(
        select(Deferral).where(
            Deferral.donor_id == donor_id,
            Deferral.lifted_at.is_(None),
            Deferral.starts_on <= on,
        )
    )
    return [row for row in rows if in_force(row, on)]


def in_force(deferral: Deferral, on: date) -> bool:
    """A deferral holds from its first day up to the day before `until` (open: until lifted)."""
    return deferral.starts_on <= on and (deferral.until is None or deferral.until > on)


def check_eligibility(
    donor: Donor,
    kind: str,
    on: date,
    policy: RegionPolicy,
    *,
    history: list[Donation] | None = None,
    deferrals: list[Deferral] | None = None,
    volume_ml: int | None = None,
) -> Eligibility:
    """The answer for one kind on one date; pass history and deferrals to answer many kinds.

    `history` is the donor's valid donations, all of them by default: a date before others on
    record is checked against the donations on both sides, and the yearly caps count the whole
    calendar year. `volume_ml` is the volume about to be recorded, for the yearly volume cap;
    without it the smallest donation the policy allows is assumed.
    """
    # unknown kinds fail here, before any rule is applied
    rule = donation_rules(policy).kind(kind, on)
    if not rule.offered:
        return Eligibility(kind, on, False, None, (Reason("kind_not_offered"),), policy.code)
    history = past_donations(donor.id) if history is None else history
    deferrals = active_deferrals(donor.id, on) if deferrals is None else deferrals
    before = [donation for donation in history if donation.donation_date <= on]
    later = [donation for donation in history if donation.donation_date > on]
    reasons: list[Reason] = []

    reasons.extend(_age_reasons(donor, on, policy, has_history=bool(before)))
    reasons.extend(_interval_reasons(before, kind, on, policy))
    reasons.extend(_later_interval_reasons(later, kind, on, policy))
    reasons.extend(_yearly_cap_reasons(history, kind, on, policy))
    reasons.extend(_volume_cap_reasons(history, kind, on, policy, volume_ml))
    for deferral in deferrals:
        if deferral.applies_to is None or kind in deferral.applies_to:
            reasons.append(Reason("deferred", deferral.until))

    allowed = not reasons
    ends = [reason.until for reason in reasons if reason.until is not None]
    earliest = max([on, *ends]) if len(ends) == len(reasons) else None
    if earliest is not None and not allowed and earliest <= on:
        earliest = None
    return Eligibility(kind, on, allowed, earliest, tuple(reasons), policy.code)


def _age_reasons(donor: Donor, on: date, policy: RegionPolicy, *, has_history: bool):
    try:
        limits = donation_rules(policy).age_limits(on)
    except PolicyUndecided as undecided:
        return [Reason("policy_undecided", None, {"rule": "age", "question": str(undecided)})]
    age = age_on(donor.birth_date, on)
    if age < limits.min_years:
        return [Reason("too_young", _birthday(donor.birth_date, limits.min_years))]
    if not limits.above(age, limits.max_first_time):
        return []
    # Past the first-time limit only a repeat donor may give (GB 18467-2011 §7.1).
    if "earlier_donation" in limits.repeat_requires and not has_history:
        return [Reason("too_old_first_time", None)]
    if limits.above(age, limits.max_repeat):
        return [Reason("too_old_repeat", None)]
    if "no_reaction" in limits.repeat_requires and reaction_on_record(donor.id, on):
        return [Reason("too_old_after_reaction", None)]
    return []


def _interval_reasons(history: list[Donation], kind: str, on: date, policy: RegionPolicy):
    reasons = []
    latest_by_kind: dict[str, date] = {}
    for donation in history:
        latest_by_kind[donation.kind] = max(
            latest_by_kind.get(donation.kind, donation.donation_date), donation.donation_date
        )
    for previous_kind, previous_date in latest_by_kind.items():
        try:
            period = donation_rules(policy).min_interval(previous_kind, kind, on)
        except PolicyUndecided as undecided:
            reasons.append(
                Reason(
                    "policy_undecided",
                    None,
                    {"rule": f"interval:{previous_kind}->{kind}", "question": str(undecided)},
                )
            )
            continue
        if period is None:
            continue
        allowed_from = period.add_to(previous_date)
        if allowed_from > on:
            reasons.append(Reason("interval", allowed_from, {"after": previous_kind}))
    return reasons


def _later_interval_reasons(later: list[Donation], kind: str, on: date, policy: RegionPolicy):
    """A donation dated before others must leave the interval to the next one of each kind.

    No date on this side lifts it, so the reason has none (POLICY.md "Decisions (2026-11-30)":
    an interval is between two donations, whichever was entered first).
    """
    reasons = []
    earliest_by_kind: dict[str, date] = {}
    for donation in later:
        earliest_by_kind[donation.kind] = min(
            earliest_by_kind.get(donation.kind, donation.donation_date), donation.donation_date
        )
    for following_kind, following_date in earliest_by_kind.items():
        try:
            period = donation_rules(policy).min_interval(kind, following_kind, following_date)
        except PolicyUndecided as undecided:
            rule = f"interval:{kind}->{following_kind}"
            reasons.append(
                Reason("policy_undecided", None, {"rule": rule, "question": str(undecided)})
            )
            continue
        if period is not None and period.add_to(on) > following_date:
            detail = {"before": following_kind, "on": following_date.isoformat()}
            reasons.append(Reason("interval_later_donation", None, detail))
    return reasons


def _yearly_cap_reasons(history: list[Donation], kind: str, on: date, policy: RegionPolicy):
    cap = donation_rules(policy).kind(kind, on).max_per_year
    if cap is None:
        return []
    this_year = [d for d in history if d.kind == kind and d.donation_date.year == on.year]
    if len(this_year) >= cap:
        return [Reason("yearly_cap", date(on.year + 1, 1, 1), {"cap": cap})]
    return []


def collected_volume(donation: Donation, policy: RegionPolicy) -> int:
    """The ml a donation took: as recorded, or the policy's per-unit default where a record
    has none (imported apheresis history)."""
    if donation.volume_ml is not None:
        return donation.volume_ml
    try:
        per_unit = (
            donation_rules(policy).kind(donation.kind, donation.donation_date).default_ml_per_unit
        )
    except (KeyError, PolicyUndecided):
        per_unit = None
    if per_unit is None:  # before the standard in force: the unit as the first edition had it
        per_unit = next(
            (
                standard.kinds[donation.kind].default_ml_per_unit
                for standard in donation_rules(policy).standards
                if donation.kind in standard.kinds
            ),
            None,
        )
    return (donation.units or 0) * (per_unit or 0)


def _smallest_volume(policy: RegionPolicy, kind: str, on: date) -> int:
    rule = donation_rules(policy).kind(kind, on)
    try:
        smallest = min(rule.allowed_amounts)
    except PolicyUndecided:
        return 0
    return smallest * (rule.default_ml_per_unit or 0) if rule.unit == "unit" else smallest


def _volume_cap_reasons(
    history: list[Donation], kind: str, on: date, policy: RegionPolicy, volume_ml: int | None
):
    """GB 18467-2011: platelets + plasma at most 10 L a calendar year (POLICY.md §1.4)."""
    cap = donation_rules(policy).volume_cap(kind, on)
    if cap is None:
        return []
    used = sum(
        collected_volume(d, policy)
        for d in history
        if d.kind in cap.kinds and d.donation_date.year == on.year
    )
    planned = volume_ml if volume_ml is not None else _smallest_volume(policy, kind, on)
    if used >= cap.max_ml or used + planned > cap.max_ml:
        detail = {"cap_ml": cap.max_ml, "used_ml": used}
        return [Reason("yearly_volume_cap", date(on.year + 1, 1, 1), detail)]
    return []


def eligibility_for_all_kinds(donor: Donor, on: date, policy: RegionPolicy) -> list[Eligibility]:
    history = past_donations(donor.id)
    deferrals = active_deferrals(donor.id, on)
    return [
        check_eligibility(donor, kind, on, policy, history=history, deferrals=deferrals)
        for kind in donation_rules(policy).kind_codes(on)
    ]

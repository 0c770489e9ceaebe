"""What a donor, or a donor's verified relative, may use free: windows from each donation under
the rules of the region where it was given, less what the ledger has drawn from them.

The rules are POLICY.md's, read from `[blood_use]` (blooduse/rules.py); the edition applied is
the one in force on the day of the transfusion. Readings this module makes, each from the
Decisions (2026-11-30) or stated where the text is silent:

- **A window per donation** (Decisions): each donation gives `multiple x ml` for each phase of
  its window ("5x for 5 years from the donation date, then 1x"). Each phase is its own allowance:
  what was used in the first years does not eat into "after that, equal to the volume".
- **The soonest-ending window first** (Decisions): a use draws from the windows in force on its
  day, the one that ends first before the others (a window for life last).
- **Lifetime, unlimited** where the region's threshold is reached by the donations given there
  (Zhejiang: 400 ml of whole blood, or any platelet donation, or a rare blood type).
- **Pools**: the donor's own, and the relatives' (shared by all relatives, or one per relative,
  as the region says); neither draws on the other.
- **A donation follows its own region's rules** (Decisions): windows of donations given elsewhere
  are computed with that region's rules.
- A kind whose ml factor is an open question (Zhejiang's platelets) gives no volume: it is shown
  with its question, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from sqlalchemy import func, select

from blooduse.models import DONOR_POOL, RELATIVES_POOL, BloodUseEntry
from blooduse.rules import POOL_PER_RELATIVE, BloodUse, Edition, MlEquivalent, Phase, blood_use
from certificate.models import Donation
from certificate.services import CountedDonation, counted_donations
from core.extensions import db
from core.policy import policy_for, regions
from donors.models import LINK_VERIFIED, Donor, FamilyLink
from rewards.rules import region_awards

LIFETIME = "lifetime"  # a window that is the lifetime, unlimited right


@dataclass(frozen=True)
class Window:
    """One phase of one donation's window (or the lifetime right, `donation_id` None)."""

    region: str
    donation_id: int | None
    donation_date: date | None
    kind: str | None
    ml: int | None
    phase: int
    multiple: int | None
    starts_on: date | None
    ends_on: date | None  # the last day; None: for life
    allowance_ml: int | None  # None: unlimited
    used_ml: int
    rule: str  # the source of the figure applied

    @classmethod
    def for_life(cls, region: str, rule: str) -> Window:
        """The lifetime, unlimited right: of no one donation, with nothing to run out."""
        return cls(region, None, None, None, None, 0, None, None, None, None, 0, rule)

    @property
    def unlimited(self) -> bool:
        return self.allowance_ml is None

    @property
    def remaining_ml(self) -> int | None:
        return None if self.allowance_ml is None else max(self.allowance_ml - self.used_ml, 0)


@dataclass(frozen=True)
class NoVolume:
    """A donation that gives no volume under its region's rule, and why."""

    region: str
    donation_id: int
    donation_date: date
    kind: str
    reason: str  # ml_factor_unknown | no_rule_in_force | kind_not_covered | before_counting
    question: str | None = None


@dataclass
class Entitlement:
    """What one pool offers on a day: the windows in force, in the order uses draw on them."""

    pool: str
    on: date
    windows: list[Window] = field(default_factory=list)
    no_volume: list[NoVolume] = field(default_factory=list)
    # Why a relative may not use the pool at all (None: they may).
    refused: str | None = None

    @property
    def unlimited(self) -> bool:
        return any(window.unlimited for window in self.windows)

    @property
    def remaining_ml(self) -> int | None:
        if self.refused:
            return 0
        if self.unlimited:
            return None
        return sum(window.remaining_ml or 0 for window in self.windows)


# ---------------------------------------------------------------- figures from the policy


def ml_of(donation: Donation, equivalents: dict[str, MlEquivalent]) -> int | None:
    """The donation's ml for relief by its region's factors; None where there is none."""
    equivalent = equivalents.get(donation.kind)
    if equivalent is None or equivalent.open_question:
        return None
    if equivalent.per_ml is not None:
        return (donation.volume_ml or 0) * equivalent.per_ml
    return (donation.units or 0) * (equivalent.per_unit or 0)


def phase_dates(start: date, phases: tuple[Phase, ...], index: int) -> tuple[date, date | None]:
    """The first and last day of a donation's `index`-th phase (last None: for life)."""
    begins = start
    for phase in phases[:index]:
        assert phase.within is not None  # only the last phase runs for life (rules.py)
        begins = phase.within.add_to(begins)
    within = phases[index].within
    if within is None:
        return begins, None
    return begins, date.fromordinal(within.add_to(begins).toordinal() - 1)


def rules_of(region: str) -> BloodUse | None:
    if region not in regions():
        return None
    return blood_use(policy_for(region))


def _is_rare(donor: Donor, region: str) -> bool:
    awards = region_awards(policy_for(region))
    rare = awards.rare_blood if awards else None
    return rare is not None and rare.covers(donor.rhd, donor.blood_group_source)


def national_counts(counted: Iterable[CountedDonation]) -> Fraction:
    return sum((item.counts or Fraction(0) for item in counted), Fraction(0))


def lifetime_reached(donor: Donor, edition: Edition, region: str, given: list[Donation]) -> bool:
    """Whether the donations given in `region` make the donor's own use unlimited for life."""
    lifetime = edition.donor.lifetime
    if lifetime is None:
        return False
    ml = sum(
        ml_of(donation, edition.ml_equivalent) or 0
        for donation in given
        if donation.kind in lifetime.counted_kinds
    )
    if (lifetime.ml_at_least or lifetime.ml_above) and lifetime.reached_by(ml):
        return True
    if any(donation.kind in lifetime.any_donation_of for donation in given):
        return True
    return lifetime.rare_blood and bool(given) and _is_rare(donor, region)


# ---------------------------------------------------------------- the ledger


def _used(donor_id: int, pool: str, link_id: int | None) -> dict[tuple[int | None, int], int]:
    """ml drawn (positive) per (donation, phase) of a pool, from the ledger."""
    query = (
        select(BloodUseEntry.donation_id, BloodUseEntry.phase, func.sum(BloodUseEntry.amount_ml))
        .where(BloodUseEntry.donor_id == donor_id, BloodUseEntry.pool == pool)
        .group_by(BloodUseEntry.donation_id, BloodUseEntry.phase)
    )
    if link_id is not None:
        query = query.where(BloodUseEntry.family_link_id == link_id)
    return {(donation, phase): -int(total) for donation, phase, total in db.session.execute(query)}


# ---------------------------------------------------------------- one pool on one day


def _counted(
    given: list[Donation], edition: Edition, counted_until: date, found: Entitlement
) -> list[Donation]:
    """The donations the edition counts by their dates: given before its counting began they are
    listed with the reason; given after the transfusion (or after the discharge's allowance)
    they do not concern this use yet."""
    usable = []
    for donation in given:
        if edition.donations_from and donation.donation_date < edition.donations_from:
            found.no_volume.append(
                NoVolume(
                    donation.region,
                    donation.id,
                    donation.donation_date,
                    donation.kind,
                    "before_counting",
                )
            )
        elif donation.donation_date <= counted_until:
            usable.append(donation)
    return usable


def entitlement(
    donor: Donor,
    on: date,
    link: FamilyLink | None = None,
    *,
    discharged_on: date | None = None,
    only_regions: Iterable[str] | None = None,
    unclaimed_history: bool = False,
) -> Entitlement:
    """The pool the donor (link None) or the linked relative draws on for a transfusion on `on`.

    `discharged_on` lets a later donation count where the region says so (Shandong: up to six
    months after the discharge); `only_regions` keeps the windows of donations given in those
    regions (the ones a hospital may settle directly). `unclaimed_history` counts imported
    history the donor has not claimed in the app (certificate.services.counted_donations): the
    station's record, which hospitals and the station go by; what the donor is shown counts only
    what the donor has proven.
    """
    pool = DONOR_POOL if link is None else RELATIVES_POOL
    found = Entitlement(pool=pool, on=on)
    counted = counted_donations(donor, unclaimed_history=unclaimed_history)
    if link is not None and link.status != LINK_VERIFIED:
        found.refused = "link_not_verified"
        return found
    by_region: dict[str, list[Donation]] = {}
    for item in counted:
        by_region.setdefault(item.donation.region, []).append(item.donation)
    wanted = None if only_regions is None else set(only_regions)
    per_relative: int | None = None
    refusals: list[str] = []
    for region, given in sorted(by_region.items()):
        if wanted is not None and region not in wanted:
            continue
        rules = rules_of(region)
        edition = rules.edition(on) if rules else None
        if edition is None:
            found.no_volume.extend(
                NoVolume(region, d.id, d.donation_date, d.kind, "no_rule_in_force") for d in given
            )
            continue
        counted_until = on
        if edition.donations_until_after_discharge and discharged_on:
            counted_until = max(on, edition.donations_until_after_discharge.add_to(discharged_on))
        usable = _counted(given, edition, counted_until, found)
        if link is None:
            if lifetime_reached(donor, edition, region, usable):
                lifetime = edition.donor.lifetime
                found.windows.append(
                    Window.for_life(region, lifetime.source if lifetime else edition.donor.source)
                )
                continue
            phases = edition.donor.phases
        else:
            relatives = edition.relatives
            if link.relation not in relatives.relations:
                if link.relation not in relatives.extended_relations:
                    refusals.append("relation_not_covered")
                    continue
                threshold = relatives.extended_when_counts_at_least or 0
                if national_counts(counted) < threshold:
                    refusals.append("extended_relative_needs_gold")
                    continue
            phases = relatives.phases
            if relatives.pool == POOL_PER_RELATIVE:
                per_relative = link.id
        used = _used(donor.id, pool, per_relative)
        for donation in usable:
            ml = ml_of(donation, edition.ml_equivalent)
            if ml is None:
                equivalent = edition.ml_equivalent.get(donation.kind)
                reason = "ml_factor_unknown" if equivalent else "kind_not_covered"
                found.no_volume.append(
                    NoVolume(
                        region,
                        donation.id,
                        donation.donation_date,
                        donation.kind,
                        reason,
                        equivalent.open_question if equivalent else None,
                    )
                )
                continue
            # A donation given after the transfusion (where the region counts those) covers
            # it as its first years would.
            at = max(on, donation.donation_date)
            for index, phase in enumerate(phases):
                starts, ends = phase_dates(donation.donation_date, phases, index)
                if at < starts or (ends is not None and at > ends):
                    continue
                found.windows.append(
                    Window(
                        region=region,
                        donation_id=donation.id,
                        donation_date=donation.donation_date,
                        kind=donation.kind,
                        ml=ml,
                        phase=index,
                        multiple=phase.multiple,
                        starts_on=starts,
                        ends_on=ends,
                        allowance_ml=phase.multiple * ml,
                        used_ml=used.get((donation.id, index), 0),
                        rule=phase.source,
                    )
                )
    if link is not None and not found.windows and refusals:
        found.refused = refusals[0]
    found.windows.sort(key=_drawing_order)
    return found


def _drawing_order(window: Window) -> tuple[int, date, date, int]:
    """Soonest-ending first; windows for life after them; the lifetime right last of all."""
    return (
        2 if window.unlimited else (1 if window.ends_on is None else 0),
        window.ends_on or date.max,
        window.donation_date or date.max,
        window.donation_id or 0,
    )


@dataclass(frozen=True)
class Draw:
    window: Window
    ml: int


def plan_draws(found: Entitlement, volume_ml: int) -> list[Draw]:
    """How a use of `volume_ml` draws on the pool: from the soonest-ending window on, as far as
    the pool goes (an unlimited right covers the rest)."""
    draws: list[Draw] = []
    left = volume_ml
    if found.refused:
        return draws
    for window in found.windows:
        if left <= 0:
            break
        if window.unlimited:
            draws.append(Draw(window, left))
            left = 0
            break
        take = min(left, window.remaining_ml or 0)
        if take > 0:
            draws.append(Draw(window, take))
            left -= take
    return draws

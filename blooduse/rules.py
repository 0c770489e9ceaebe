"""The region's free blood-use rules (`[blood_use]` in policies/<region>.toml), read and checked.

POLICY.md §3.2 (Zhejiang), §3.4 (Shandong, Beijing), §4 (how a donation converts to ml) and its
Decisions (2026-11-30: a window per donation; Shandong's one shared pool; a donation follows its
own region's rules). Each edition is the rule in force for transfusions in its dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from core.policy import (
    Period,
    PolicyError,
    PolicyReader,
    RegionPolicy,
    Sections,
    policy_for,
    regions,
)
from rewards.rules import region_awards

BLOOD_USE = "blood_use"
SHARED_POOL = "shared"
POOL_PER_RELATIVE = "each"
POOLS = (SHARED_POOL, POOL_PER_RELATIVE)


@dataclass(frozen=True)
class MlEquivalent:
    """How one kind of donation converts to ml for relief: whole blood by its volume
    (`per_ml`), apheresis by the unit or dose (`per_unit`); an `open_question` where the region's
    factor is not known, so that kind gives no volume rather than a guessed one."""

    per_ml: int | None
    per_unit: int | None
    open_question: str | None
    source: str


@dataclass(frozen=True)
class Phase:
    """Part of a donation's window: `multiple` x its ml for `within` from the donation's date,
    or for life after the phases before it (`within` None)."""

    within: Period | None
    multiple: int
    source: str


@dataclass(frozen=True)
class Lifetime:
    """When the donor's own use is unlimited for life: ml of the `counted_kinds` at least (or
    strictly above) a threshold; any donation of `any_donation_of`; a rare blood type."""

    ml_at_least: int | None
    ml_above: int | None
    counted_kinds: tuple[str, ...]
    any_donation_of: tuple[str, ...]
    rare_blood: bool
    source: str

    def reached_by(self, ml: int) -> bool:
        if self.ml_at_least is not None:
            return ml >= self.ml_at_least
        return self.ml_above is not None and ml > self.ml_above


@dataclass(frozen=True)
class DonorRule:
    lifetime: Lifetime | None
    phases: tuple[Phase, ...]
    source: str


@dataclass(frozen=True)
class RelativesRule:
    """Who among the donor's relatives may use the donor's donations, and how much; the
    extended relations only once the donor's counts reach `extended_when_counts_at_least`."""

    relations: tuple[str, ...]
    extended_relations: tuple[str, ...]
    extended_when_counts_at_least: int | None
    pool: str
    phases: tuple[Phase, ...]
    source: str

    def covers(self, relation: str) -> bool:
        return relation in self.relations or relation in self.extended_relations


@dataclass(frozen=True)
class Edition:
    effective_from: date | None
    effective_from_question: str | None
    effective_to: date | None
    donations_from: date | None
    donations_until_after_discharge: Period | None
    ml_equivalent: dict[str, MlEquivalent]
    donor: DonorRule
    relatives: RelativesRule
    source: str

    def covers(self, on: date) -> bool:
        started = self.effective_from is None or self.effective_from <= on
        return started and (self.effective_to is None or on <= self.effective_to)


@dataclass(frozen=True)
class BloodUse:
    name_zh: str
    law: str
    relations: dict[str, str]
    direct_settlement_regions: tuple[str, ...]
    direct_settlement_source: str
    editions: tuple[Edition, ...]
    source: str

    def edition(self, on: date) -> Edition | None:
        """The rule in force for a transfusion on `on` (None: none was)."""
        return next((edition for edition in self.editions if edition.covers(on)), None)


def _codes(reader: PolicyReader, name: str, *, required: bool = True) -> tuple[str, ...]:
    values = reader.get(name, list, required=required)
    if values is None:
        return ()
    if not all(isinstance(value, str) and value for value in values):
        raise reader.fail(name, "must be a list of codes")
    return tuple(values)


def _read_ml_equivalent(reader: PolicyReader) -> MlEquivalent:
    per_ml = reader.positive("per_ml", required=False)
    per_unit = reader.positive("per_unit", required=False)
    question = reader.text("open_question", required=False)
    if sum(value is not None for value in (per_ml, per_unit, question)) != 1:
        raise reader.fail("per_ml", "give one of per_ml, per_unit or an open_question")
    equivalent = MlEquivalent(per_ml, per_unit, question, reader.source())
    reader.finish()
    return equivalent


def _read_phases(reader: PolicyReader) -> tuple[Phase, ...]:
    phases = []
    for item in reader.tables("phases"):
        phases.append(
            Phase(item.period("within", required=False), item.positive("multiple"), item.source())
        )
        item.finish()
    if not phases:
        raise reader.fail("phases", "must list at least one phase")
    if any(phase.within is None for phase in phases[:-1]):
        raise reader.fail("phases", "only the last phase may run for life (no `within`)")
    return tuple(phases)


def _read_lifetime(reader: PolicyReader) -> Lifetime:
    at_least = reader.positive("ml_at_least", required=False)
    above = reader.positive("ml_above", required=False)
    if at_least is not None and above is not None:
        raise reader.fail("ml_above", "give ml_at_least or ml_above, not both")
    lifetime = Lifetime(
        ml_at_least=at_least,
        ml_above=above,
        counted_kinds=_codes(
            reader, "counted_kinds", required=at_least is not None or above is not None
        ),
        any_donation_of=_codes(reader, "any_donation_of", required=False),
        rare_blood=bool(reader.get("rare_blood", bool, required=False)),
        source=reader.source(),
    )
    reader.finish()
    return lifetime


def _read_donor(reader: PolicyReader) -> DonorRule:
    lifetime = _read_lifetime(reader.table("lifetime")) if reader.has("lifetime") else None
    rule = DonorRule(lifetime, _read_phases(reader), reader.source())
    reader.finish()
    return rule


def _read_relatives(reader: PolicyReader) -> RelativesRule:
    pool = reader.text("pool")
    if pool not in POOLS:
        raise reader.fail("pool", f"must be one of {POOLS}, got {pool!r}")
    extended = _codes(reader, "extended_relations", required=False)
    threshold = reader.positive("extended_when_counts_at_least", required=False)
    if bool(extended) != (threshold is not None):
        raise reader.fail(
            "extended_when_counts_at_least",
            "extended relations need their threshold, and only they",
        )
    rule = RelativesRule(
        relations=_codes(reader, "relations"),
        extended_relations=extended,
        extended_when_counts_at_least=threshold,
        pool=pool,
        phases=_read_phases(reader),
        source=reader.source(),
    )
    reader.finish()
    return rule


def _read_edition(reader: PolicyReader) -> Edition:
    start = reader.day("effective_from", required=False)
    question = reader.text("effective_from_question", required=False)
    if (start is None) == (question is None):
        raise reader.fail("effective_from", "give effective_from or effective_from_question")
    equivalents = reader.table("ml_equivalent")
    edition = Edition(
        effective_from=start,
        effective_from_question=question,
        effective_to=reader.day("effective_to", required=False),
        donations_from=reader.day("donations_from", required=False),
        donations_until_after_discharge=reader.period(
            "donations_until_after_discharge", required=False
        ),
        ml_equivalent={
            kind: _read_ml_equivalent(equivalents.table(kind)) for kind in equivalents.data
        },
        donor=_read_donor(reader.table("donor")),
        relatives=_read_relatives(reader.table("relatives")),
        source=reader.source(),
    )
    reader.finish()
    return edition


def read_blood_use(reader: PolicyReader) -> BloodUse:
    relations = reader.get("relations", dict)
    if not relations or not all(isinstance(name, str) and name for name in relations.values()):
        raise reader.fail("relations", "must map relation codes to their names")
    editions = tuple(_read_edition(item) for item in reader.tables("editions"))
    if not editions:
        raise reader.fail("editions", "must list at least one edition")
    for index, edition in enumerate(editions):
        unknown = set(edition.relatives.relations + edition.relatives.extended_relations) - set(
            relations
        )
        if unknown:
            raise reader.fail(
                f"editions[{index}].relatives.relations",
                f"names unknown relations {sorted(unknown)}",
            )
    section = BloodUse(
        name_zh=reader.text("name_zh"),
        law=reader.text("law"),
        relations=dict(relations),
        direct_settlement_regions=_codes(reader, "direct_settlement_regions"),
        direct_settlement_source=reader.text("direct_settlement_source"),
        editions=editions,
        source=reader.source(),
    )
    reader.finish()
    return section


def _check_blood_use(policy: RegionPolicy, section: BloodUse) -> None:
    """A rule that names rare blood needs the region to say what counts as rare."""
    awards = region_awards(policy)
    for index, edition in enumerate(section.editions):
        lifetime = edition.donor.lifetime
        if lifetime and lifetime.rare_blood and (awards is None or awards.rare_blood is None):
            raise PolicyError(
                policy.path,
                f"{BLOOD_USE}.editions[{index}].donor.lifetime.rare_blood",
                "names rare blood, but region_awards.rare_blood does not say what counts as rare",
            )


POLICY_SECTIONS: Sections = {BLOOD_USE: (read_blood_use, _check_blood_use)}


def blood_use(policy: RegionPolicy) -> BloodUse | None:
    """The region's free blood-use rules, or None where its policy sets none."""
    return policy.sections.get(BLOOD_USE)


def relation_name(relation: str, *regions_to_ask: str) -> str:
    """The relation's Chinese name from the first of the regions' policies that names it (the
    code itself where none does)."""
    for region in regions_to_ask:
        names = relations_in(region)
        if names and relation in names:
            return names[relation]
    return relation


def relations_in(region: str) -> dict[str, str] | None:
    """The relations a donor of `region` may declare (code -> Chinese name), or None where the
    region sets no free blood-use rules (donors.family asks, through blooduse's init_app)."""
    if region not in regions():
        return None
    section = blood_use(policy_for(region))
    return section.relations if section else None

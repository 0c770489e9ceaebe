"""The policy sections this package reads: `three_free` (per region), `honours` (national) and
`points` (national, overridable per region; an operational setting, not a regulation).

A region's three frees are dated editions, each listing the benefits and the routes to them
(an award won, or counted donations on application). Every figure comes from the policy file with
its source; a figure the sources leave open is an open question and the route refuses to decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from certificate.policy import donation_rules
from core.policy import (
    Period,
    PolicyError,
    PolicyReader,
    PolicyUndecided,
    RegionPolicy,
    Sections,
)

THREE_FREE = "three_free"
HONOURS = "honours"
POINTS = "points"
AWARD_ROUTE = "national_award"
COUNT_ROUTE = "region_donation_count"
ROUTES = (AWARD_ROUTE, COUNT_ROUTE)
SCOPES = ("province", "city")
LIFETIME_HONOR = "lifetime_honor"


@dataclass(frozen=True)
class Benefit:
    kind: str
    name_zh: str
    token_code: str  # one character: benefit codes must stay small enough for a fast QR read


@dataclass(frozen=True)
class AwardRoute:
    """Holding one of `awards` earns the benefits; `won_in_region` None means undecided."""

    awards: tuple[str, ...]
    won_in_region: bool | None
    won_in_region_question: str | None
    source: str


@dataclass(frozen=True)
class CountRoute:
    """Counted donations in the region (national rules), granted on the donor's application."""

    min_counts: int | None
    on_application: bool
    source: str
    open_question: str | None = None

    @property
    def threshold(self) -> int:
        if self.min_counts is None:
            raise PolicyUndecided(f"{THREE_FREE}.{COUNT_ROUTE}", self.open_question or "not set")
        return self.min_counts


@dataclass(frozen=True)
class Edition:
    effective_from: date
    effective_to: date | None
    benefits: tuple[Benefit, ...]
    award_route: AwardRoute | None
    count_route: CountRoute | None
    source: str

    def covers(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def benefit(self, kind: str) -> Benefit | None:
        return next((b for b in self.benefits if b.kind == kind), None)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(b.kind for b in self.benefits)


@dataclass(frozen=True)
class ThreeFree:
    name_zh: str
    legal_basis: str
    credential: str
    scope: str
    source: str
    editions: tuple[Edition, ...]

    def edition(self, on: date) -> Edition | None:
        """The edition in force on `on`, or None before the first (no benefits then)."""
        return next((e for e in self.editions if e.covers(on)), None)

    def all_kinds(self) -> set[str]:
        return {kind for edition in self.editions for kind in edition.kinds}


@dataclass(frozen=True)
class Honour:
    code: str
    name_zh: str
    source: str


def _read_benefit(reader: PolicyReader) -> Benefit:
    code = reader.text("token_code")
    if len(code) != 1 or not code.isascii() or not code.isalnum():
        raise reader.fail("token_code", "must be one ASCII letter or digit")
    benefit = Benefit(reader.text("kind"), reader.text("name_zh"), code)
    reader.finish()
    return benefit


def _read_award_route(reader: PolicyReader) -> AwardRoute:
    awards = reader.get("awards", list)
    if not awards or not all(isinstance(code, str) and code for code in awards):
        raise reader.fail("awards", "must be a non-empty list of award codes")
    won = reader.get("won_in_region", bool, required=False)
    question = reader.text("won_in_region_question", required=False)
    if (won is None) == (question is None):
        raise reader.fail("won_in_region", "give won_in_region or won_in_region_question")
    return AwardRoute(tuple(awards), won, question, reader.source())


def _read_count_route(reader: PolicyReader) -> CountRoute:
    minimum, question = reader.value_or_question("min_counts", reader.positive)
    on_application = reader.get("on_application", bool)
    return CountRoute(minimum, on_application, reader.source(), question)


def _read_edition(reader: PolicyReader) -> Edition:
    start = reader.day("effective_from")
    end = reader.day("effective_to", required=False)
    if end is not None and end < start:
        raise reader.fail("effective_to", f"{end} is before effective_from {start}")
    benefits = tuple(_read_benefit(item) for item in reader.tables("benefits"))
    if not benefits:
        raise reader.fail("benefits", "lists no benefits")
    for field in ("kind", "token_code"):
        values = [getattr(b, field) for b in benefits]
        if len(values) != len(set(values)):
            raise reader.fail("benefits", f"a {field} appears twice")
    award_route = count_route = None
    for item in reader.tables("routes"):
        code = item.text("code")
        if code == AWARD_ROUTE and award_route is None:
            award_route = _read_award_route(item)
        elif code == COUNT_ROUTE and count_route is None:
            count_route = _read_count_route(item)
        else:
            raise item.fail("code", f"must be one of {ROUTES}, each at most once; got {code!r}")
        item.finish()
    if award_route is None and count_route is None:
        raise reader.fail("routes", "lists no route to the benefits")
    edition = Edition(start, end, benefits, award_route, count_route, reader.source())
    reader.finish()
    return edition


def read_three_free(reader: PolicyReader) -> ThreeFree:
    scope = reader.text("scope")
    if scope not in SCOPES:
        raise reader.fail("scope", f"must be one of {SCOPES}, got {scope!r}")
    editions = tuple(
        sorted(
            (_read_edition(item) for item in reader.tables("editions")),
            key=lambda e: e.effective_from,
        )
    )
    if not editions:
        raise reader.fail("editions", "lists no edition")
    for earlier, later in zip(editions, editions[1:], strict=False):
        if earlier.effective_to is None or later.effective_from <= earlier.effective_to:
            raise reader.fail("editions", "date ranges overlap: one edition at a time")
    return ThreeFree(
        name_zh=reader.text("name_zh"),
        legal_basis=reader.text("legal_basis"),
        credential=reader.text("credential"),
        scope=scope,
        source=reader.source(),
        editions=editions,
    )


def read_honours(reader: PolicyReader) -> dict[str, Honour]:
    reader.source()
    honours: dict[str, Honour] = {}
    for item in reader.tables("awards"):
        honour = Honour(item.text("code"), item.text("name_zh"), item.source())
        if honour.code in honours:
            raise item.fail("code", f"{honour.code!r} appears twice")
        honours[honour.code] = honour
        item.finish()
    return honours


@dataclass(frozen=True)
class DonationPoints:
    """`points` for every full `per_ml` millilitres, or for every `per_unit` units, of a kind."""

    kind: str
    points: int
    per_ml: int | None
    per_unit: int | None

    def earned(self, volume_ml: int | None, units: int | None) -> int:
        if self.per_unit is not None:
            return self.points * ((units or 0) // self.per_unit)
        return self.points * ((volume_ml or 0) // (self.per_ml or 1))


@dataclass(frozen=True)
class PointsRules:
    """What earns points and when they expire (the region's `[points]`; not a regulation)."""

    donations: dict[str, DonationPoints]
    per_volunteer_hour: int
    per_health_form: int
    health_form_once_per: Period
    expire_after: Period
    warn_before: Period
    note: str
    source: str

    def expires_on(self, earned_on: date) -> date:
        return self.expire_after.add_to(earned_on)

    def for_donation(self, kind: str, volume_ml: int | None, units: int | None) -> int:
        rule = self.donations.get(kind)
        return rule.earned(volume_ml, units) if rule else 0


def _read_donation_points(kind: str, reader: PolicyReader) -> DonationPoints:
    points = reader.positive("points")
    per_ml = reader.positive("per_ml", required=False)
    per_unit = reader.positive("per_unit", required=False)
    if (per_ml is None) == (per_unit is None):
        raise reader.fail("per_ml", "give per_ml or per_unit, not both")
    reader.finish()
    return DonationPoints(kind, points, per_ml, per_unit)


def read_points(reader: PolicyReader) -> PointsRules:
    if reader.get("operational", bool) is not True:
        raise reader.fail("operational", "must be true: points are not a regulator's figure")
    table = reader.table("donations")
    donations = {
        kind: _read_donation_points(kind, table.table(kind)) for kind in sorted(table.data)
    }
    table.finish()
    return PointsRules(
        donations=donations,
        per_volunteer_hour=reader.positive("per_volunteer_hour"),
        per_health_form=reader.positive("per_health_form"),
        health_form_once_per=reader.period("health_form_once_per"),
        expire_after=reader.period("expire_after"),
        warn_before=reader.period("warn_before"),
        note=reader.text("note"),
        source=reader.source(),
    )


POLICY_SECTIONS: Sections = {
    THREE_FREE: (read_three_free, None),
    HONOURS: (read_honours, None),
    POINTS: (read_points, None),
}


def points_rules(policy: RegionPolicy) -> PointsRules:
    """The region's points rules; a region without them earns no points (PolicyUndecided)."""
    try:
        return policy.section(POINTS)
    except KeyError:
        raise PolicyUndecided(POINTS, f"{policy.code} sets no points") from None


def three_free(policy: RegionPolicy) -> ThreeFree | None:
    """The region's three frees, or None where its policy grants none."""
    return policy.sections.get(THREE_FREE)


def award_names(policy: RegionPolicy) -> dict[str, str]:
    """Every award an administrator may record, by code, with its Chinese name."""
    names = {tier.code: tier.name_zh for tier in donation_rules(policy).awards.tiers}
    names[LIFETIME_HONOR] = donation_rules(policy).awards.lifetime_honor_name_zh
    for honour in policy.sections.get(HONOURS, {}).values():
        names[honour.code] = honour.name_zh
    for award in getattr(region_awards(policy), "awards", ()):
        names[award.code] = award.name_zh
    return names


# ---------------------------------------------------------------- the dedication record and
# the region's own awards (rewards/honours.py reads them)

DEDICATION_RECORD = "dedication_record"
REGION_AWARDS = "region_awards"


@dataclass(frozen=True)
class DedicationRecord:
    """Which national tier repeats (gold), its count restarting after its threshold."""

    repeating_tier: str
    names_en: dict[str, str]
    source: str


@dataclass(frozen=True)
class VolumeCriteria:
    """Reached at `min_ml` of the `counted_kinds` given in the region, or `rare_blood_min_ml`
    for a donor of a rare blood type."""

    counted_kinds: tuple[str, ...]
    min_ml: int
    rare_blood_min_ml: int | None
    source: str


@dataclass(frozen=True)
class RegionAward:
    """A region's own award: with criteria the record shows when it is reached; without, a name
    an administrator grants (its `open_question` says why)."""

    code: str
    name_zh: str
    name_en: str | None
    criteria: VolumeCriteria | None
    open_question: str | None
    source: str


@dataclass(frozen=True)
class RareBlood:
    """What counts as a rare blood type for the region's awards (an operational decision)."""

    rhd: tuple[str, ...]
    blood_group_sources: tuple[str, ...]
    operational: bool
    source: str

    def covers(self, rhd: str | None, blood_group_source: str | None) -> bool:
        return rhd in self.rhd and blood_group_source in self.blood_group_sources


@dataclass(frozen=True)
class RegionAwards:
    awards: tuple[RegionAward, ...]
    rare_blood: RareBlood | None
    source: str


def read_dedication_record(reader: PolicyReader) -> DedicationRecord:
    names = reader.get("names_en", dict, required=False) or {}
    if not all(isinstance(name, str) and name for name in names.values()):
        raise reader.fail("names_en", "must map tier codes to names")
    record = DedicationRecord(reader.text("repeating_tier"), names, reader.source())
    reader.finish()
    return record


def _texts(reader: PolicyReader, name: str) -> tuple[str, ...]:
    values = reader.get(name, list)
    if not values or not all(isinstance(value, str) and value for value in values):
        raise reader.fail(name, "must be a non-empty list of codes")
    return tuple(values)


def _read_volume_criteria(reader: PolicyReader) -> VolumeCriteria:
    criteria = VolumeCriteria(
        counted_kinds=_texts(reader, "counted_kinds"),
        min_ml=reader.positive("min_ml"),
        rare_blood_min_ml=reader.positive("rare_blood_min_ml", required=False),
        source=reader.source(),
    )
    reader.finish()
    return criteria


def _read_region_award(reader: PolicyReader) -> RegionAward:
    criteria = _read_volume_criteria(reader.table("criteria")) if reader.has("criteria") else None
    question = reader.text("open_question", required=False)
    if (criteria is None) == (question is None):
        raise reader.fail("criteria", "give criteria, or an open_question saying why none")
    award = RegionAward(
        code=reader.text("code"),
        name_zh=reader.text("name_zh"),
        name_en=reader.text("name_en", required=False),
        criteria=criteria,
        open_question=question,
        source=reader.source(),
    )
    reader.finish()
    return award


def _read_rare_blood(reader: PolicyReader) -> RareBlood:
    rare = RareBlood(
        rhd=_texts(reader, "rhd"),
        blood_group_sources=_texts(reader, "blood_group_sources"),
        operational=reader.get("operational", bool),
        source=reader.source(),
    )
    reader.finish()
    return rare


def read_region_awards(reader: PolicyReader) -> RegionAwards:
    awards = tuple(_read_region_award(item) for item in reader.tables("awards"))
    codes = [award.code for award in awards]
    if len(codes) != len(set(codes)):
        raise reader.fail("awards", "an award code appears twice")
    rare = _read_rare_blood(reader.table("rare_blood")) if reader.has("rare_blood") else None
    if rare is None and any(a.criteria and a.criteria.rare_blood_min_ml for a in awards):
        raise reader.fail("rare_blood", "a criterion names rare blood: say what counts as rare")
    section = RegionAwards(awards, rare, reader.source())
    reader.finish()
    return section


def _check_dedication_record(policy: RegionPolicy, record: DedicationRecord) -> None:
    """The repeating tier is one of the dedication tiers of the `awards` section."""
    if record.repeating_tier not in {t.code for t in donation_rules(policy).awards.tiers}:
        raise PolicyError(
            policy.path,
            f"{DEDICATION_RECORD}.repeating_tier",
            f"{record.repeating_tier!r} is not a tier of awards.dedication_tiers",
        )


POLICY_SECTIONS[DEDICATION_RECORD] = (read_dedication_record, _check_dedication_record)
POLICY_SECTIONS[REGION_AWARDS] = (read_region_awards, None)


def dedication_record(policy: RegionPolicy) -> DedicationRecord | None:
    return policy.sections.get(DEDICATION_RECORD)


def region_awards(policy: RegionPolicy) -> RegionAwards | None:
    """The region's own awards, or None where its policy names none."""
    return policy.sections.get(REGION_AWARDS)

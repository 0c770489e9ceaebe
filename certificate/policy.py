"""Certificate's rules as the regulators wrote them: the donor health standard's editions (ages,
kinds, intervals, deferrals, yearly volume caps) and the national award's counting and tiers.

They are the `standard` and `awards` sections of every policy file, read by the one loader
(core.policy) through the readers below, which `certificate.init_app` registers like every other
package's sections. Callers ask `donation_rules(policy)`, which serves them typed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any, cast

from flask import Flask

from core import policy as loader
from core.policy import Period, PolicyReader, PolicyUndecided, RegionPolicy, Sections

STANDARD, AWARDS = "standard", "awards"
AMOUNT_UNITS = ("ml", "unit")
ANY_KIND = "*"
# What makes a donor a repeat donor, whom the age extension covers (GB 18467-2011 §7.1): an
# earlier recorded donation, and no recorded donation reaction other than "none".
REPEAT_CONDITIONS = ("earlier_donation", "no_reaction")


@dataclass(frozen=True)
class AgeLimits:
    """Ages in completed years (周岁). An inclusive upper age is open until the day before the
    next birthday: "to 60" accepts a donor aged 60 years and 364 days."""

    min_years: int
    max_first_time: int
    max_repeat: int
    max_inclusive: bool
    repeat_requires: tuple[str, ...]
    source: str

    def above(self, age: int, limit: int) -> bool:
        return age > limit if self.max_inclusive else age >= limit


@dataclass(frozen=True)
class KindRule:
    code: str
    name_zh: str
    unit: str  # "ml" or "unit" (therapeutic units)
    amounts: tuple[int, ...] | None
    max_per_year: int | None
    source: str
    open_question: str | None = None
    # A kind the region's stations do not collect: listed so that a client hears so, never
    # recorded, booked or imported.
    offered: bool = True
    # A kind measured in units whose collected volume (ml, from the apheresis device) staff
    # record beside them; a record without one (an import) counts `default_ml_per_unit` a unit.
    volume_required: bool = False
    default_ml_per_unit: int | None = None
    name_en: str | None = None

    @property
    def allowed_amounts(self) -> tuple[int, ...]:
        if self.amounts is None:
            raise PolicyUndecided(f"kinds.{self.code}.allowed", self.open_question or "not set")
        return self.amounts


@dataclass(frozen=True)
class VolumeCap:
    """At most `max_ml` collected in a calendar year over `kinds` together."""

    kinds: tuple[str, ...]
    max_ml: int
    source: str


@dataclass(frozen=True)
class IntervalRule:
    previous: str
    following: str
    minimum: Period | None
    source: str
    open_question: str | None = None
    with_physician_approval: Period | None = None


@dataclass(frozen=True)
class DeferralRule:
    code: str
    name_zh: str
    period: Period | None  # None: staff give the end date (pregnancy, an incubation period)
    anchor: str
    applies_to: tuple[str, ...] | None  # None: every kind
    source: str
    also_before: Period | None = None


@dataclass(frozen=True)
class HealthStandard:
    """One edition of the donor health standard, in force over a date range."""

    id: str
    effective_from: date
    effective_to: date | None
    age: AgeLimits
    kinds: dict[str, KindRule]
    intervals: tuple[IntervalRule, ...]
    deferrals: dict[str, DeferralRule]
    source: str
    volume_caps: tuple[VolumeCap, ...] = ()

    def covers(self, on: date) -> bool:
        return _in_force(self.effective_from, self.effective_to, on)


@dataclass(frozen=True)
class CountingRule:
    """How one kind converts to award counts: per `ml_per_count` ml, or per therapeutic unit.

    With `count_step` (a half), a volume counts in steps of that size, rounded down to the step
    below: 300 ml at 200 ml a count is 1.5, and 250 ml is 1 (no count for blood not given).
    Without it, only whole counts exist and a volume between them is the `partial_question`.
    """

    ml_per_count: int | None = None
    counts_per_unit: int | None = None
    partial_question: str | None = None
    open_question: str | None = None
    count_step: Fraction | None = None
    source: str | None = None


@dataclass(frozen=True)
class CountingRules:
    effective_from: date | None
    effective_to: date | None
    per_kind: dict[str, CountingRule]
    source: str

    def covers(self, on: date) -> bool:
        return _in_force(self.effective_from, self.effective_to, on)


def _in_force(start: date | None, end: date | None, on: date) -> bool:
    return (start is None or start <= on) and (end is None or on <= end)


@dataclass(frozen=True)
class Awards:
    """The `awards` section: how donations count, by date, and the dedication award's tiers."""

    counting: tuple[CountingRules, ...]
    rules: AwardRules


@dataclass(frozen=True)
class DonationRules:
    """A region's certificate rules, asked by date: the standard in force, its kinds, ages,
    intervals and deferrals, and how a donation counts towards the award."""

    standards: tuple[HealthStandard, ...]
    counting: tuple[CountingRules, ...]
    awards: AwardRules

    def standard(self, on: date | None = None) -> HealthStandard:
        on = on or _today()
        for standard in self.standards:
            if standard.covers(on):
                return standard
        raise PolicyUndecided("standard", f"no donor health standard is in force on {on}")

    def kind(self, code: str, on: date | None = None) -> KindRule:
        """The kind's rules on a date; KeyError for a kind the policy does not list."""
        return self.standard(on).kinds[code]

    def kind_name(self, code: str) -> str:
        """The kind's name in the reader's language (Chinese unless the policy gives an English
        one and the reader prefers English), from any edition that lists it: history outlives
        editions."""
        from core.i18n import prefers_english

        for standard in self.standards:
            if code in standard.kinds:
                rule = standard.kinds[code]
                return rule.name_en if rule.name_en and prefers_english() else rule.name_zh
        return code

    def kind_codes(self, on: date | None = None) -> list[str]:
        return list(self.standard(on).kinds)

    def age_limits(self, on: date) -> AgeLimits:
        return self.standard(on).age

    def volume_cap(self, kind: str, on: date) -> VolumeCap | None:
        """The yearly volume cap that counts `kind`, as of `on` (None: no cap on it)."""
        return next((cap for cap in self.standard(on).volume_caps if kind in cap.kinds), None)

    def min_interval(self, previous: str, following: str, on: date) -> Period | None:
        """The shortest gap from a `previous` donation to a `following` one, as of `on`."""
        rule = _interval_rule(self.standard(on).intervals, previous, following)
        if rule is None:
            return None
        if rule.minimum is None:
            raise PolicyUndecided(
                f"intervals.{previous}->{following}", rule.open_question or "not set"
            )
        return rule.minimum

    def deferral(self, code: str, on: date | None = None) -> DeferralRule:
        """KeyError for a reason code the policy does not list."""
        return self.standard(on).deferrals[code]

    def counts_for(self, kind: str, amount: int, on: date) -> Fraction:
        """Counts by the national award rules in force on the donation's date, exactly."""
        for rules in self.counting:
            if rules.covers(on):
                break
        else:
            raise PolicyUndecided("awards.counting", f"no counting rule is in force on {on}")
        rule = rules.per_kind.get(kind)
        if rule is None or rule.open_question:
            question = rule.open_question if rule else f"no counting rule for {kind}"
            raise PolicyUndecided(f"awards.counting.{kind}", question or "not set")
        if rule.counts_per_unit is not None:
            return Fraction(amount * rule.counts_per_unit)
        assert rule.ml_per_count is not None
        if rule.count_step is not None:
            return amount // (rule.ml_per_count * rule.count_step) * rule.count_step
        counts, rest = divmod(amount, rule.ml_per_count)
        if rest:
            raise PolicyUndecided(
                f"awards.counting.{kind}.partial", rule.partial_question or "not set"
            )
        return Fraction(counts)


def donation_rules(policy: RegionPolicy) -> DonationRules:
    """The region's certificate rules (its `standard` and `awards` sections)."""
    awards = cast(Awards, policy.section(AWARDS))
    return DonationRules(
        cast(tuple[HealthStandard, ...], policy.section(STANDARD)), awards.counting, awards.rules
    )


def _interval_rule(
    rules: Iterable[IntervalRule], previous: str, following: str
) -> IntervalRule | None:
    best: IntervalRule | None = None
    best_rank = 3
    for rule in rules:
        if rule.previous not in (previous, ANY_KIND) or rule.following not in (following, ANY_KIND):
            continue
        rank = (rule.previous == ANY_KIND) + (rule.following == ANY_KIND)
        if rank < best_rank:
            best, best_rank = rule, rank
    return best


def _today() -> date:
    from core import clock

    return clock.local_today()


# ---------------------------------------------------------------- reading and validation


def _strict(read: Any) -> Any:
    """Run a reader function, then refuse any key it did not read."""

    def wrapper(reader: PolicyReader, *args: Any) -> Any:
        result = read(reader, *args)
        reader.finish()
        return result

    return wrapper


def _dates(reader: PolicyReader) -> tuple[date | None, date | None]:
    start = reader.day("effective_from", required=False)
    end = reader.day("effective_to", required=False)
    if start and end and end < start:
        raise reader.fail("effective_to", f"{end} is before effective_from {start}")
    return start, end


@_strict
def _read_age(reader: PolicyReader) -> AgeLimits:
    minimum = reader.positive("min_years")
    first = reader.positive("max_years_first_time")
    repeat = reader.positive("max_years_repeat")
    if not minimum < first <= repeat:
        raise reader.fail("max_years_repeat", "need min_years < max_years_first_time <= repeat")
    inclusive = reader.get("max_years_inclusive", bool)
    requires = reader.get("repeat_requires", list)
    unknown = [item for item in requires if item not in REPEAT_CONDITIONS]
    if unknown or len(set(requires)) != len(requires):
        raise reader.fail("repeat_requires", f"name each of {REPEAT_CONDITIONS} at most once")
    return AgeLimits(minimum, first, repeat, inclusive, tuple(requires), reader.source())


@_strict
def _read_kind(reader: PolicyReader, code: str) -> KindRule:
    unit = reader.text("unit")
    if unit not in AMOUNT_UNITS:
        raise reader.fail("unit", f"must be one of {AMOUNT_UNITS}, got {unit!r}")

    def amounts(name: str) -> tuple[int, ...]:
        values = reader.get(name, list)
        if not values or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values
        ):
            raise reader.fail(name, "must be a non-empty list of positive whole numbers")
        return tuple(values)

    offered = reader.get("offered", bool, required=False) is not False
    if offered:
        allowed, question = reader.value_or_question("allowed", amounts)
    else:
        allowed = amounts("allowed") if reader.has("allowed") else None
        question = reader.text("open_question", required=False)
    volume_required = reader.get("volume_required", bool, required=False) or False
    default_ml = reader.positive("default_ml_per_unit", required=False)
    if unit != "unit" and (volume_required or default_ml is not None):
        name = "volume_required" if volume_required else "default_ml_per_unit"
        raise reader.fail(name, "only a kind measured in units records a volume beside them")
    return KindRule(
        code=code,
        name_zh=reader.text("name_zh"),
        name_en=reader.text("name_en", required=False),
        unit=unit,
        amounts=allowed,
        max_per_year=reader.positive("max_per_year", required=False),
        source=reader.source(),
        open_question=question,
        offered=offered,
        volume_required=volume_required,
        default_ml_per_unit=default_ml,
    )


@_strict
def _read_volume_cap(reader: PolicyReader, kinds: dict[str, KindRule]) -> VolumeCap:
    listed = reader.get("kinds", list)
    unknown = [kind for kind in listed if kind not in kinds]
    if not listed or unknown:
        raise reader.fail("kinds", f"unknown kinds {unknown}" if unknown else "is empty")
    for kind in listed:
        if kinds[kind].unit == "unit" and kinds[kind].default_ml_per_unit is None:
            raise reader.fail("kinds", f"{kind} is measured in units: give default_ml_per_unit")
    return VolumeCap(tuple(listed), reader.positive("max_ml"), reader.source())


@_strict
def _read_interval(reader: PolicyReader, kinds: dict[str, KindRule]) -> IntervalRule:
    previous, following = reader.text("from"), reader.text("to")
    for name, value in (("from", previous), ("to", following)):
        if value != ANY_KIND and value not in kinds:
            raise reader.fail(name, f"{value!r} is not a kind of this standard")
    minimum, question = reader.value_or_question("min", lambda name: reader.period(name))
    return IntervalRule(
        previous=previous,
        following=following,
        minimum=minimum,
        source=reader.source(),
        open_question=question,
        with_physician_approval=reader.period("min_with_physician_approval", required=False),
    )


@_strict
def _read_deferral(
    reader: PolicyReader, kinds: dict[str, KindRule], default_source: str
) -> DeferralRule:
    applies = reader.get("applies_to", list, required=False)
    if applies is not None:
        unknown = [kind for kind in applies if kind not in kinds]
        if unknown or not applies:
            raise reader.fail("applies_to", f"unknown kinds {unknown}" if unknown else "is empty")
    return DeferralRule(
        code=reader.text("code"),
        name_zh=reader.text("name_zh"),
        period=reader.period("period", required=False),
        anchor=reader.text("anchor"),
        applies_to=tuple(applies) if applies else None,
        source=reader.text("source", required=False) or default_source,
        also_before=reader.period("also_before", required=False),
    )


@_strict
def _read_standard(reader: PolicyReader) -> HealthStandard:
    start, end = _dates(reader)
    if start is None:
        raise reader.fail("effective_from", "is required")
    reader.text("month_arithmetic_question", required=False)
    if reader.text("month_arithmetic") != "calendar":
        raise reader.fail("month_arithmetic", "only 'calendar' is implemented")
    kinds_table = reader.table("kinds")
    kinds = {code: _read_kind(kinds_table.table(code), code) for code in kinds_table.data}
    if not kinds:
        raise kinds_table.fail("", "lists no donation kinds")
    intervals = tuple(_read_interval(item, kinds) for item in reader.tables("intervals"))
    offered = [code for code, rule in kinds.items() if rule.offered]
    for previous in offered:
        for following in offered:
            if _interval_rule(intervals, previous, following) is None:
                raise reader.fail(
                    "intervals",
                    f"no rule from {previous} to {following} (give min or open_question)",
                )
    deferral_table = reader.table("deferrals")
    deferrals: dict[str, DeferralRule] = {}
    for item in deferral_table.tables("rules"):
        rule = _read_deferral(item, kinds, deferral_table.source())
        if rule.code in deferrals:
            raise item.fail("code", f"{rule.code!r} appears twice")
        deferrals[rule.code] = rule
    deferral_table.finish()
    caps = (
        tuple(_read_volume_cap(item, kinds) for item in reader.tables("yearly_volume_caps"))
        if reader.has("yearly_volume_caps")
        else ()
    )
    capped = [kind for cap in caps for kind in cap.kinds]
    if len(capped) != len(set(capped)):
        raise reader.fail("yearly_volume_caps", "a kind is in two caps")
    return HealthStandard(
        id=reader.text("id"),
        effective_from=start,
        effective_to=end,
        age=_read_age(reader.table("age")),
        kinds=kinds,
        intervals=intervals,
        deferrals=deferrals,
        source=reader.source(),
        volume_caps=caps,
    )


@_strict
def _read_counting(reader: PolicyReader) -> CountingRules:
    start, end = _dates(reader)
    per_kind_table = reader.table("per_kind")
    per_kind = {}
    for code in per_kind_table.data:
        item = per_kind_table.table(code)
        rule = CountingRule(
            ml_per_count=item.positive("ml_per_count", required=False),
            counts_per_unit=item.positive("counts_per_unit", required=False),
            partial_question=item.text("partial_question", required=False),
            open_question=item.text("open_question", required=False),
            count_step=_count_step(item),
            source=item.text("source", required=False),
        )
        given = [rule.ml_per_count, rule.counts_per_unit, rule.open_question]
        if sum(value is not None for value in given) != 1:
            raise item.fail(code, "give one of ml_per_count, counts_per_unit or open_question")
        if rule.count_step is not None and (rule.ml_per_count is None or rule.partial_question):
            raise item.fail("count_step", "goes with ml_per_count, instead of partial_question")
        item.finish()
        per_kind[code] = rule
    return CountingRules(start, end, per_kind, reader.source())


def _count_step(item: PolicyReader) -> Fraction | None:
    """A half or a whole: counts are kept exactly, in halves (certificate/counts.py)."""
    value = item.get("count_step", (int, float), required=False)
    rounding = item.text("rounding", required=False)
    if value is None:
        if rounding is not None:
            raise item.fail("rounding", "goes with count_step")
        return None
    step = Fraction(value)
    if isinstance(value, bool) or not 0 < step <= 1 or (2 * step).denominator != 1:
        raise item.fail("count_step", f"must be 0.5 or 1, got {value!r}")
    if rounding != "down":
        raise item.fail("rounding", "only 'down' is implemented (no count for blood not given)")
    return step


@dataclass(frozen=True)
class AwardTier:
    code: str
    name_zh: str
    min_counts: int


@dataclass(frozen=True)
class AwardRules:
    """The national dedication award: tiers by counts, and the lifetime honour after golds."""

    edition: str
    tiers: tuple[AwardTier, ...]
    lifetime_honor_name_zh: str
    lifetime_honor_gold_awards: int
    source: str


def _read_award_tiers(awards: PolicyReader) -> AwardRules:
    tiers = []
    for item in awards.tables("dedication_tiers"):
        tiers.append(
            AwardTier(item.text("code"), item.text("name_zh"), item.positive("min_counts"))
        )
        item.finish()
    counts = [tier.min_counts for tier in tiers]
    if not tiers or counts != sorted(set(counts)):
        raise awards.fail("dedication_tiers", "must list tiers with rising min_counts")
    honor = awards.table("lifetime_honor")
    rules = AwardRules(
        edition=awards.text("edition"),
        tiers=tuple(tiers),
        lifetime_honor_name_zh=honor.text("name_zh"),
        lifetime_honor_gold_awards=honor.positive("gold_awards"),
        source=awards.source(),
    )
    honor.text("source", required=False)
    honor.finish()
    awards.finish()
    return rules


def _check_no_overlap(
    reader: PolicyReader, name: str, spans: list[tuple[date | None, date | None]]
) -> None:
    ordered = sorted(spans, key=lambda span: span[0] or date.min)
    for (_, end), (start, _) in zip(ordered, ordered[1:], strict=False):
        if end is None or start is None or start <= end:
            raise reader.fail(name, "date ranges overlap: at most one may be in force on a day")


def _read_standards(reader: PolicyReader) -> tuple[HealthStandard, ...]:
    standards = tuple(_read_standard(item) for item in reader.tables(STANDARD))
    _check_no_overlap(reader, STANDARD, [(s.effective_from, s.effective_to) for s in standards])
    return standards


def _read_awards(awards: PolicyReader) -> Awards:
    counting = tuple(_read_counting(item) for item in awards.tables("counting"))
    _check_no_overlap(awards, "counting", [(c.effective_from, c.effective_to) for c in counting])
    return Awards(counting, _read_award_tiers(awards))


POLICY_SECTIONS: Sections = {STANDARD: (_read_standards, None), AWARDS: (_read_awards, None)}
# Every region has a health standard and counts for the national award: a file without is wrong.
REQUIRED_SECTIONS = (STANDARD, AWARDS)


def init_app(app: Flask) -> None:
    loader.register_sections(app, POLICY_SECTIONS, required=REQUIRED_SECTIONS)

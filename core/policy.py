"""The one policy loader: what regulators wrote, per region, as data with sources and dates.

`policies/<region>.toml` files are read and validated once, when the app is built; a mistake stops
the start with the file, the key and the problem. A region file inherits `national.toml` and
replaces whole sections of it. Every dated rule set carries `effective_from`/`effective_to`, so a
donation is judged by the rules in force on its day. A figure the sources leave open is written as
an `open_question` instead of a value; asking for it raises `PolicyUndecided`, and callers refuse
to decide rather than guess.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, overload

from flask import Flask, current_app

from core.config import PROJECT_ROOT

BASE_NAME = "national"
AMOUNT_UNITS = ("ml", "unit")
ANY_KIND = "*"
# What makes a donor a repeat donor, whom the age extension covers (GB 18467-2011 §7.1): an
# earlier recorded donation, and no recorded donation reaction other than "none".
REPEAT_CONDITIONS = ("earlier_donation", "no_reaction")


class PolicyError(ValueError):
    """A policy file cannot be used; the message names the file, the key and the problem."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        super().__init__(f"{path}: {key}: {problem}")
        self.path, self.key, self.problem = str(path), key, problem


class PolicyUndecided(LookupError):
    """The rule exists but its figure is not settled; the message is the open question."""

    def __init__(self, rule: str, question: str) -> None:
        super().__init__(f"{rule}: {question}")
        self.rule, self.question = rule, question


_PERIOD = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")


@dataclass(frozen=True)
class Period:
    """An ISO 8601 date period (`P6M`, `P14D`, `P1Y`). Months are calendar months.

    "6 months" is not defined further by any source (POLICY.md §1.5); calendar months are our
    documented choice, and a month end that does not exist falls back to the last day of the
    month (31 August + 6 months = 28 February).
    """

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD.match(text or "")
        if not match or text == "P":
            raise ValueError(f"{text!r} is not an ISO 8601 period such as P6M or P14D")
        years, months, weeks, days = (int(part or 0) for part in match.groups())
        return cls(years, months, weeks, days)

    def add_to(self, day: date) -> date:
        month_index = day.month - 1 + self.months + 12 * self.years
        year, month = day.year + month_index // 12, month_index % 12 + 1
        last = _days_in_month(year, month)
        moved = date(year, month, min(day.day, last))
        return date.fromordinal(moved.toordinal() + 7 * self.weeks + self.days)

    def __str__(self) -> str:
        parts = [(self.years, "Y"), (self.months, "M"), (self.weeks, "W"), (self.days, "D")]
        return (
            "P" + "".join(f"{n}{unit}" for n, unit in parts if n)
            if any(self.__dict__.values())
            else "P0D"
        )


def _days_in_month(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following.toordinal() - date(year, month, 1).toordinal()


@dataclass(frozen=True)
class Source:
    """Where a figure comes from, carried next to it so answers can cite it."""

    text: str


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


@dataclass
class RegionPolicy:
    """The rules of one region, national rules included, as validated from its file."""

    code: str
    name_zh: str
    path: Path
    standards: tuple[HealthStandard, ...]
    counting: tuple[CountingRules, ...]
    awards: AwardRules
    sections: dict[str, Any] = field(default_factory=dict)

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

    def section(self, name: str) -> Any:
        """What a domain package's registered reader made of its section; KeyError if absent."""
        return self.sections[name]


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


SectionReader = Callable[["PolicyReader"], Any]
SectionCheck = Callable[["RegionPolicy", Any], None]
# The sections a package owns: its name -> how to read it, and what it checks across the file.
Sections = dict[str, tuple[SectionReader, "SectionCheck | None"]]
_SECTIONS = "policy_sections"


def register_sections(app: Flask, sections: Sections) -> None:
    """Teach this app's loader the sections a domain package owns (benefits, booking rules).

    The package calls this from its `init_app`, before the app loads the policies; each reader
    validates its table through a PolicyReader and returns what `RegionPolicy.section` serves.
    A check, if given, runs once the whole region is read, for what a section says about the
    rest of the file (a question naming a deferral rule); it raises PolicyError. Registering a
    name again replaces it, so building an app twice registers nothing twice.
    """
    app.extensions.setdefault(_SECTIONS, {}).update(sections)


def sections_of(app: Flask) -> Sections:
    return dict(app.extensions.get(_SECTIONS, {}))


def _today() -> date:
    from core import clock

    return clock.local_today()


# ---------------------------------------------------------------- reading and validation


class PolicyReader:
    """Typed access to a parsed TOML table that reports the full key path on every problem.

    Domain packages read their own sections with it (see `register_sections`).
    """

    def __init__(self, path: Path, data: dict[str, Any], prefix: str = "") -> None:
        self.path, self.data, self.prefix = path, data, prefix
        self.seen: set[str] = set()

    def finish(self, *ignored: str) -> None:
        """Refuse keys nobody read: a misspelt key must not silently drop a rule."""
        unknown = sorted(set(self.data) - self.seen - set(ignored))
        if unknown:
            raise self.fail(unknown[0], "is not a known key here (misspelt?)")

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str, problem: str) -> PolicyError:
        return PolicyError(self.path, self.key(name), problem)

    def has(self, name: str) -> bool:
        return name in self.data

    def get(self, name: str, kind: type | tuple[type, ...], *, required: bool = True) -> Any:
        self.seen.add(name)
        if name not in self.data:
            if required:
                raise self.fail(name, "is required")
            return None
        value = self.data[name]
        if isinstance(value, bool) and kind is int:
            raise self.fail(name, "must be a number, not true/false")
        if not isinstance(value, kind):
            names = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            raise self.fail(name, f"must be {names}, got {type(value).__name__}")
        return value

    @overload
    def text(self, name: str, *, required: Literal[True] = ...) -> str: ...
    @overload
    def text(self, name: str, *, required: bool) -> str | None: ...
    def text(self, name: str, *, required: bool = True) -> str | None:
        value = self.get(name, str, required=required)
        if value is not None and not value.strip():
            raise self.fail(name, "must not be empty")
        return value

    @overload
    def positive(self, name: str, *, required: Literal[True] = ...) -> int: ...
    @overload
    def positive(self, name: str, *, required: bool) -> int | None: ...
    def positive(self, name: str, *, required: bool = True) -> int | None:
        value = self.get(name, int, required=required)
        if value is not None and value <= 0:
            raise self.fail(name, f"must be positive, got {value}")
        return value

    @overload
    def day(self, name: str, *, required: Literal[True] = ...) -> date: ...
    @overload
    def day(self, name: str, *, required: bool) -> date | None: ...
    def day(self, name: str, *, required: bool = True) -> date | None:
        value = self.get(name, date, required=required)
        if value is not None and not isinstance(value, date):
            raise self.fail(name, "must be a date such as 2012-07-01")
        return value

    @overload
    def period(self, name: str, *, required: Literal[True] = ...) -> Period: ...
    @overload
    def period(self, name: str, *, required: bool) -> Period | None: ...
    def period(self, name: str, *, required: bool = True) -> Period | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            return Period.parse(value)
        except ValueError as exc:
            raise self.fail(name, str(exc)) from None

    def table(self, name: str) -> PolicyReader:
        return PolicyReader(self.path, self.get(name, dict), self.key(name))

    def tables(self, name: str) -> list[PolicyReader]:
        items = self.get(name, list)
        readers = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise self.fail(f"{name}[{index}]", "must be a table")
            readers.append(PolicyReader(self.path, item, self.key(f"{name}[{index}]")))
        return readers

    def source(self) -> str:
        return self.text("source")

    def value_or_question(self, name: str, read: Any) -> tuple[Any, str | None]:
        """A figure, or an `open_question` in its place; never both, never neither."""
        question = self.text("open_question", required=False)
        if self.has(name) and question:
            raise self.fail(name, "give a value or an open_question, not both")
        if not self.has(name) and not question:
            raise self.fail(name, "is required (or an open_question saying why it is not known)")
        return (read(name) if self.has(name) else None), question


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


def _merge(base: dict[str, Any], region: dict[str, Any]) -> dict[str, Any]:
    """Region tables extend the national ones key by key; any other value replaces."""
    merged = dict(base)
    for key, value in region.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _parse_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(path, "(file)", f"not valid TOML: {exc}") from None


def load_region(path: Path, sections: Sections, base: dict[str, Any] | None = None) -> RegionPolicy:
    """Read and validate one region file (merged over `base`, the national file)."""
    own = _parse_file(path)
    data = _merge(base, own) if base is not None else own
    reader = PolicyReader(path, data)
    meta = reader.table("policy")
    code = meta.text("code")
    if code != path.stem:
        raise meta.fail("code", f"must match the file name {path.stem!r}, got {code!r}")
    name_zh = meta.text("name_zh")
    meta.text("law", required=False)
    meta.text("source", required=False)
    meta.finish()
    standards_reader = reader.tables("standard")
    standards = tuple(_read_standard(item) for item in standards_reader)
    _check_no_overlap(reader, "standard", [(s.effective_from, s.effective_to) for s in standards])
    awards = reader.table("awards")
    counting = tuple(_read_counting(item) for item in awards.tables("counting"))
    _check_no_overlap(awards, "counting", [(c.effective_from, c.effective_to) for c in counting])
    read_sections: dict[str, Any] = {}
    for name in data:
        if name in ("policy", "standard", "awards"):
            continue
        read, _ = sections.get(name, (None, None))
        if read is None:
            raise PolicyError(path, name, "is not a section any package reads (misspelt?)")
        section = PolicyReader(path, data[name], name)
        read_sections[name] = read(section)
        section.finish()
    policy = RegionPolicy(
        code=code,
        name_zh=name_zh,
        path=path,
        standards=standards,
        counting=counting,
        awards=_read_award_tiers(awards),
        sections=read_sections,
    )
    for name, value in read_sections.items():
        _, check = sections[name]
        if check is not None:
            check(policy, value)
    return policy


def load_policies(directory: Path, sections: Sections) -> dict[str, RegionPolicy]:
    """Every region in `directory`, read with the packages' `sections`; the national file is
    the base each region inherits."""
    base_path = directory / f"{BASE_NAME}.toml"
    if not base_path.exists():
        raise PolicyError(base_path, "(file)", "the national base policy is missing")
    base = _parse_file(base_path)
    load_region(base_path, sections)  # a mistake in the base is reported against the base file
    policies = {}
    for path in sorted(directory.glob("*.toml")):
        if path.stem == BASE_NAME:
            continue
        policies[path.stem] = load_region(path, sections, base)
    if not policies:
        raise PolicyError(directory, "(directory)", "holds no region policy")
    return policies


def init_app(app: Flask) -> None:
    directory = Path(app.config.get("POLICY_DIR") or PROJECT_ROOT / "policies")
    policies = load_policies(directory, sections_of(app))
    default = app.config["DEFAULT_REGION"]
    if default not in policies:
        raise PolicyError(directory, "DEFAULT_REGION", f"no policy file for {default!r}")
    app.extensions["policies"] = policies


def policy_for(region: str | None = None) -> RegionPolicy:
    """The policy of a region (the default region when none is named)."""
    policies = current_app.extensions["policies"]
    return policies[region or current_app.config["DEFAULT_REGION"]]


def regions() -> list[str]:
    return sorted(current_app.extensions["policies"])

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
from pathlib import Path
from typing import Any, Literal, overload

from flask import Flask, current_app

from core.config import PROJECT_ROOT

BASE_NAME = "national"


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


@dataclass
class RegionPolicy:
    """The rules of one region, national rules included, as validated from its file.

    Core knows only the file's `policy` table; every other section belongs to the package that
    registered its reader (certificate's `standard` and `awards` among them), which serves it
    typed (`certificate.policy.donation_rules`).
    """

    code: str
    name_zh: str
    path: Path
    sections: dict[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> Any:
        """What a domain package's registered reader made of its section; KeyError if absent."""
        return self.sections[name]


SectionReader = Callable[["PolicyReader"], Any]
SectionCheck = Callable[["RegionPolicy", Any], None]
# The sections a package owns: its name -> how to read it, and what it checks across the file.
Sections = dict[str, tuple[SectionReader, "SectionCheck | None"]]
_SECTIONS = "policy_sections"
_REQUIRED = "policy_required_sections"


def register_sections(app: Flask, sections: Sections, *, required: Iterable[str] = ()) -> None:
    """Teach this app's loader the sections a domain package owns (benefits, booking rules).

    The package calls this from its `init_app`, before the app loads the policies; each reader
    validates its table through a PolicyReader and returns what `RegionPolicy.section` serves.
    A check, if given, runs once the whole region is read, for what a section says about the
    rest of the file (a question naming a deferral rule); it raises PolicyError. Registering a
    name again replaces it, so building an app twice registers nothing twice. A `required`
    section missing from a file stops the start, as a missing key would.
    """
    app.extensions.setdefault(_SECTIONS, {}).update(sections)
    app.extensions.setdefault(_REQUIRED, set()).update(required)


def sections_of(app: Flask) -> Sections:
    return dict(app.extensions.get(_SECTIONS, {}))


def required_sections_of(app: Flask) -> tuple[str, ...]:
    return tuple(sorted(app.extensions.get(_REQUIRED, ())))


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


def load_region(
    path: Path,
    sections: Sections,
    base: dict[str, Any] | None = None,
    required: Iterable[str] = (),
) -> RegionPolicy:
    """Read and validate one region file (merged over `base`, the national file).

    A section that is an array of tables (`[[standard]]`) is handed to its reader as a table
    holding that one key, so the reader names its keys as the file does (`standard[0].id`).
    """
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
    for name in required:
        if name not in data:
            raise reader.fail(name, "is required")
    read_sections: dict[str, Any] = {}
    for name in data:
        if name == "policy":
            continue
        read, _ = sections.get(name, (None, None))
        if read is None:
            raise PolicyError(path, name, "is not a section any package reads (misspelt?)")
        if isinstance(data[name], list):
            section = PolicyReader(path, {name: data[name]})
        else:
            section = reader.table(name)
        read_sections[name] = read(section)
        section.finish()
    policy = RegionPolicy(code=code, name_zh=name_zh, path=path, sections=read_sections)
    for name, value in read_sections.items():
        _, check = sections[name]
        if check is not None:
            check(policy, value)
    return policy


def load_policies(
    directory: Path, sections: Sections, required: Iterable[str] = ()
) -> dict[str, RegionPolicy]:
    """Every region in `directory`, read with the packages' `sections` (the `required` ones
    in every file); the national file is the base each region inherits."""
    base_path = directory / f"{BASE_NAME}.toml"
    if not base_path.exists():
        raise PolicyError(base_path, "(file)", "the national base policy is missing")
    base = _parse_file(base_path)
    # a mistake in the base is reported against the base file
    load_region(base_path, sections, required=required)
    policies = {}
    for path in sorted(directory.glob("*.toml")):
        if path.stem == BASE_NAME:
            continue
        policies[path.stem] = load_region(path, sections, base, required)
    if not policies:
        raise PolicyError(directory, "(directory)", "holds no region policy")
    return policies


def init_app(app: Flask) -> None:
    directory = Path(app.config.get("POLICY_DIR") or PROJECT_ROOT / "policies")
    policies = load_policies(directory, sections_of(app), required_sections_of(app))
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

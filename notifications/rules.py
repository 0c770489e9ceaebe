"""The rules of messages to donors: the policy sections notifications read (greeting days and the
low-stock appeal period), and the manners of every message (the quiet hours, the opt-outs), which
the outbox applies when it writes a message and the dispatcher again when it sends it.

Registered with the one policy loader when this package is imported; a day without a template,
an impossible date or a misspelt key stops the app at start with the file and the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app

from core import clock
from core.policy import Period, PolicyReader, PolicyUndecided, RegionPolicy, Sections
from notifications.models import NotificationPreference
from notifications.templates import OPT_OUTS, TEMPLATES, URGENT

AUDIENCES = ("donors", "volunteers")


@dataclass(frozen=True)
class GreetingDay:
    code: str
    name_zh: str
    month: int
    day: int
    audience: str
    source: str
    open_question: str | None = None

    @property
    def template(self) -> str:
        return f"greeting_{self.code}"

    def falls_on(self, on: date) -> bool:
        return (on.month, on.day) == (self.month, self.day)


@dataclass(frozen=True)
class Greetings:
    days: tuple[GreetingDay, ...]
    leap_day_in_common_years: tuple[int, int]
    source: str

    def birthdays_greeted_on(self, on: date) -> list[tuple[int, int]]:
        """The (month, day) birthdays greeted on `on`: 29 February moves in common years."""
        found = [(on.month, on.day)]
        if not _is_leap(on.year) and (on.month, on.day) == self.leap_day_in_common_years:
            found.append((2, 29))
        return found


@dataclass(frozen=True)
class AppealRules:
    once_per: Period
    source: str


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _read_day(reader: PolicyReader) -> GreetingDay:
    code = reader.text("code")
    month, day = reader.positive("month"), reader.positive("day")
    try:
        date(2000, month, day)  # a leap year: 29 February is a real day
    except ValueError:
        raise reader.fail("day", f"{month}-{day} is not a date") from None
    audience = reader.text("audience")
    if audience not in AUDIENCES:
        raise reader.fail("audience", f"must be one of {AUDIENCES}")
    question = reader.text("open_question", required=False)
    if question is None and f"greeting_{code}" not in TEMPLATES:
        raise reader.fail("code", f"no message template greeting_{code} for this day")
    greeting = GreetingDay(
        code=code,
        name_zh=reader.text("name_zh"),
        month=month,
        day=day,
        audience=audience,
        source=reader.source(),
        open_question=question,
    )
    reader.finish()
    return greeting


def read_greetings(reader: PolicyReader) -> Greetings:
    days = tuple(_read_day(item) for item in reader.tables("days"))
    codes = [day.code for day in days]
    if len(codes) != len(set(codes)):
        raise reader.fail("days", "a code appears twice")
    birthday = reader.table("birthday")
    moved = birthday.text("leap_day_in_common_years")
    if moved not in ("02-28", "03-01"):
        raise birthday.fail("leap_day_in_common_years", "must be 02-28 or 03-01")
    birthday.source()
    birthday.finish()
    month, day = (int(part) for part in moved.split("-"))
    return Greetings(days=days, leap_day_in_common_years=(month, day), source=reader.source())


def read_appeals(reader: PolicyReader) -> AppealRules:
    return AppealRules(once_per=reader.period("once_per"), source=reader.source())


def greetings_of(policy: RegionPolicy) -> Greetings:
    try:
        return policy.section("greetings")
    except KeyError:
        raise PolicyUndecided("greetings", f"{policy.code} names no greeting days") from None


def appeal_rules_of(policy: RegionPolicy) -> AppealRules:
    try:
        return policy.section("appeals")
    except KeyError:
        raise PolicyUndecided("appeals", f"{policy.code} sets no appeal period") from None


POLICY_SECTIONS: Sections = {"greetings": (read_greetings, None), "appeals": (read_appeals, None)}


# ------------------------------------------------------------------ manners


def _clock_time(text: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    return time(hours, minutes)


def quiet_until(moment: datetime) -> datetime | None:
    """When the quiet hours around `moment` end, or None if `moment` is not in them."""
    start_text, end_text = current_app.config["NOTIFY_QUIET_HOURS"]
    start, end = _clock_time(start_text), _clock_time(end_text)
    local = clock.to_local(moment)
    now = local.time()
    quiet = (now >= start or now < end) if start > end else (start <= now < end)
    if not quiet:
        return None
    end_day = local.date() if now < end else local.date() + timedelta(days=1)
    return clock.as_utc(datetime.combine(end_day, end, tzinfo=clock.LOCAL_ZONE))


def polite_time(category: str, moment: datetime) -> datetime:
    """`moment`, or the end of the quiet hours for a non-urgent message written in them."""
    if category in URGENT:
        return moment
    return quiet_until(moment) or moment


def local_moment(day: date, at: str) -> datetime:
    """A local wall-clock time on a local date, in UTC."""
    return clock.as_utc(datetime.combine(day, _clock_time(at), tzinfo=clock.LOCAL_ZONE))


def opted_out(preference: NotificationPreference | None, category: str) -> bool:
    field = OPT_OUTS.get(category)
    return bool(field and preference is not None and not getattr(preference, field))

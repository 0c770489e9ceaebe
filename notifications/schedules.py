"""Messages that come from the calendar: birthdays, greeting days, reminders, appeal waves.

Each daily job may run any number of times on its day (Celery beat or the embedded worker ticks
about every minute): it records its run in `notification_schedule_runs`, and every message it
writes has an idempotency key, so a second run writes nothing new. The jobs write rows dated for
the hour they should go (09:00 for greetings); the dispatcher sends them then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Row, Select, or_, select
from sqlalchemy.exc import IntegrityError

from certificate.eligibility import check_eligibility, past_donations
from certificate.models import VALID, Donation, DonorTotals
from core import clock
from core.extensions import db
from core.policy import Period, PolicyUndecided, policy_for, regions
from donors.models import DONOR_ACTIVE, Donor
from notifications.bookings import booking_directory
from notifications.conditions import Condition
from notifications.models import (
    CANCELLED,
    CLOSED,
    OPEN,
    PENDING,
    SKIPPED,
    NotificationPreference,
    OutboxMessage,
    ScheduleRun,
    StockAppeal,
)
from notifications.outbox import Addressee, Draft, local_moment, write
from notifications.rules import appeal_rules_of, greetings_of
from notifications.services import remind_of_booking
from notifications.templates import APPEAL

log = logging.getLogger("notifications.schedules")

OLDEST_DONOR_YEARS = 120  # birth years looked at for birthdays; donors are adults
CHUNK = 1000


def _greeting_expiry(on: date) -> datetime:
    return local_moment(on, current_app.config["NOTIFY_QUIET_HOURS"][0])


def _reachable_donors(region: str):
    return select(Donor.id, Donor.status, Donor.mobile_hash, Donor.name).where(
        Donor.region == region,
        Donor.status == DONOR_ACTIVE,
        Donor.mobile_hash.is_not(None),
    )


def _chunks(query: Select[Any]) -> Iterator[Sequence[Row[Any]]]:
    """Rows of `query` (ordered by donor id) a thousand at a time, by key, not by offset."""
    last = 0
    while True:
        rows = db.session.execute(query.where(Donor.id > last).limit(CHUNK)).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def birthday_dates(month_days: list[tuple[int, int]], on: date) -> list[date]:
    """Every birth date with these month-days in the last 120 years: equality look-ups on the
    birth-date index, quicker than any expression over it."""
    dates = []
    for year in range(on.year - OLDEST_DONOR_YEARS, on.year + 1):
        for month, day in month_days:
            try:
                dates.append(date(year, month, day))
            except ValueError:  # 29 February of a common year
                continue
    return dates


def greet_birthdays(on: date) -> int:
    """Birthday greetings for today, at the greeting hour, to donors who have given blood."""
    written = 0
    for region in regions():
        greetings = greetings_of(policy_for(region))
        dates = birthday_dates(greetings.birthdays_greeted_on(on), on)
        query = (
            _reachable_donors(region)
            .join(DonorTotals, DonorTotals.donor_id == Donor.id)
            .where(Donor.birth_date.in_(dates), DonorTotals.donations > 0)
            .order_by(Donor.id)
        )
        for rows in _chunks(query):
            drafts = [
                Draft(
                    key=f"birthday:{row.id}:{on.year}",
                    donor=Addressee(row.id, row.status, row.mobile_hash),
                    context={"name": row.name or ""},
                )
                for row in rows
            ]
            written += len(
                write(
                    "birthday",
                    drafts,
                    not_before=local_moment(on, current_app.config["NOTIFY_GREETING_TIME"]),
                    expires_at=_greeting_expiry(on),
                    dispatch=False,
                )
            )
    return written


def greet_the_day(on: date) -> int:
    """Greetings on the policy's days (World Blood Donor Day ...); open questions are not sent."""
    written = 0
    for region in regions():
        for day in greetings_of(policy_for(region)).days:
            if not day.falls_on(on):
                continue
            if day.open_question:
                log.info("greeting %s not sent: %s", day.code, day.open_question)
                continue
            if day.audience != "donors":
                # No register of volunteer-award holders exists yet: refuse rather than guess.
                log.info("greeting %s not sent: no register of %s", day.code, day.audience)
                continue
            query = (
                _reachable_donors(region)
                .join(DonorTotals, DonorTotals.donor_id == Donor.id)
                .where(DonorTotals.donations > 0)
                .order_by(Donor.id)
            )
            for rows in _chunks(query):
                drafts = [
                    Draft(
                        key=f"greeting:{day.code}:{row.id}:{on.year}",
                        donor=Addressee(row.id, row.status, row.mobile_hash),
                        context={"name": row.name or ""},
                    )
                    for row in rows
                ]
                written += len(
                    write(
                        day.template,
                        drafts,
                        not_before=local_moment(on, current_app.config["NOTIFY_GREETING_TIME"]),
                        expires_at=_greeting_expiry(on),
                        dispatch=False,
                    )
                )
    return written


def _latest(history: list[Donation]) -> Donation:
    return max(history, key=lambda donation: (donation.donation_date, donation.id))


def _histories(donor_ids: set[int], on: date) -> dict[int, list[Donation]]:
    """Each donor's valid donations up to `on`, oldest first, in one read."""
    histories: dict[int, list[Donation]] = {donor_id: [] for donor_id in donor_ids}
    query = (
        select(Donation)
        .where(
            Donation.donor_id.in_(donor_ids),
            Donation.status == VALID,
            Donation.donation_date <= on,
        )
        .order_by(Donation.donor_id, Donation.donation_date, Donation.id)
    )
    for donation in db.session.scalars(query):
        histories[donation.donor_id].append(donation)
    return histories


def _eligible_key(donor_id: int, donation_id: int) -> str:
    return f"eligible:{donor_id}:{donation_id}"


def _eligible_attempts(drafts: list[Draft], on: date) -> list[Draft]:
    """One reminder per donation: a draft takes the key of the reminder already written for its
    donation, unless every one written was cancelled when due (the donor was deferred or booked
    that morning): then the donor, who may give again today, is told under a key of the day."""
    if not drafts:
        return drafts
    rows = db.session.execute(
        select(OutboxMessage.key, OutboxMessage.status).where(
            OutboxMessage.donor_id.in_({draft.donor.id for draft in drafts if draft.donor}),
            OutboxMessage.template == "eligible_again",
        )
    ).all()
    chosen = []
    for draft in drafts:
        attempts = [
            row for row in rows if row.key == draft.key or row.key.startswith(draft.key + ":")
        ]
        live = [row.key for row in attempts if row.status != CANCELLED]
        if live:
            key = live[0]
        elif attempts:
            key = f"{draft.key}:{on.isoformat()}"
        else:
            key = draft.key
        chosen.append(replace(draft, key=key))
    return chosen


def remind_eligible_again(on: date) -> int:
    """Donors who may give again and have no booking hear so once per donation; the reminder
    goes only if that still holds when it is sent (`still_eligible_again`)."""
    directory = booking_directory()
    lookback = on - timedelta(days=current_app.config["NOTIFY_ELIGIBLE_LOOKBACK_DAYS"])
    written = 0
    for region in regions():
        policy = policy_for(region)
        query = (
            select(Donor)
            .join(DonorTotals, DonorTotals.donor_id == Donor.id)
            .where(
                Donor.region == region,
                Donor.status == DONOR_ACTIVE,
                Donor.mobile_hash.is_not(None),
                DonorTotals.last_donation_date >= lookback,
                DonorTotals.last_donation_date < on,
            )
            .order_by(Donor.id)
        )
        drafts = []
        for donor in db.session.scalars(query):
            history = past_donations(donor.id, on)
            if not history:
                continue
            last = _latest(history)
            try:
                result = check_eligibility(donor, last.kind, on, policy, history=history)
            except (KeyError, PolicyUndecided):
                continue
            if not result.allowed or directory.active_booking(donor.id) is not None:
                continue
            drafts.append(
                Draft(
                    key=_eligible_key(donor.id, last.id),
                    donor=Addressee.of(donor),
                    context={
                        "name": donor.name or "",
                        "kind_name": "捐献" + policy.kind_name(last.kind),
                    },
                    condition=Condition("eligible_again", {"donor": donor.id, "donation": last.id}),
                )
            )
        if drafts:
            written += len(
                write(
                    "eligible_again",
                    _eligible_attempts(drafts, on),
                    not_before=local_moment(on, current_app.config["NOTIFY_GREETING_TIME"]),
                    dispatch=False,
                )
            )
    return written


def still_eligible_again(args: list[dict[str, Any]]) -> list[str | None]:
    """The `eligible_again` condition, asked when the reminder is due: the donation it counts
    from is still the donor's latest valid one (not voided, not followed by another given this
    morning), the donor may give that kind today (no deferral since), and has not booked."""
    on = clock.local_today()
    donor_ids = {item["donor"] for item in args}
    found = db.session.scalars(select(Donor).where(Donor.id.in_(donor_ids)))
    donors = {donor.id: donor for donor in found}
    histories = _histories(donor_ids, on)
    directory = booking_directory()
    answers: list[str | None] = []
    for item in args:
        donor, history = donors.get(item["donor"]), histories.get(item["donor"], [])
        if donor is None or donor.status != DONOR_ACTIVE:
            answers.append("donor_inactive")
        elif item["donation"] not in {donation.id for donation in history}:
            answers.append("donation_voided")
        elif _latest(history).id != item["donation"]:
            answers.append("donated_again")
        elif not _may_give(donor, _latest(history).kind, on, history):
            answers.append("not_eligible")
        elif directory.active_booking(donor.id) is not None:
            answers.append("booked")
        else:
            answers.append(None)
    return answers


def _may_give(donor: Donor, kind: str, on: date, history: list[Donation]) -> bool:
    try:
        result = check_eligibility(donor, kind, on, policy_for(donor.region), history=history)
    except (KeyError, PolicyUndecided):
        return False
    return result.allowed


def remind_appointments(on: date) -> int:
    """The day before each appointment, a reminder (from the booking directory).

    The app's wiring writes each booking's reminder when the booking is made; this daily pass
    finds any booking that was not (made before the wiring, or by a tool that sent no event)
    and writes nothing twice.
    """
    bookings = booking_directory().bookings_on(on + timedelta(days=1))
    if not bookings:
        return 0
    donors = {
        donor.id: donor
        for donor in db.session.scalars(
            select(Donor).where(Donor.id.in_({booking.donor_id for booking in bookings}))
        )
    }
    written = 0
    for booking in bookings:
        donor = donors.get(booking.donor_id)
        if donor is not None and remind_of_booking(booking, donor, dispatch=False) is not None:
            written += 1
    return written


# ------------------------------------------------------------------ appeal waves


def period_start(period: Period, today: date) -> date:
    """The first day from which `period` has not yet passed by `today`."""
    day = today - timedelta(
        days=period.years * 366 + period.months * 31 + period.weeks * 7 + period.days
    )
    while period.add_to(day) <= today:
        day += timedelta(days=1)
    return day


def _group_name(appeal: StockAppeal) -> str:
    return f"{appeal.abo}型RhD{'阳性' if appeal.rhd == 'positive' else '阴性'}"


def appeal_candidates(appeal: StockAppeal, wanted: int, on: date) -> list[Donor]:
    """Eligible donors of the group near the city, most likely first (regular and recent),
    leaving out anyone who heard an appeal within the policy's period or opted out."""
    policy = policy_for(appeal.region)
    rules = appeal_rules_of(policy)
    since = local_moment(period_start(rules.once_per, on), "00:00")
    recently_appealed = select(OutboxMessage.donor_id).where(
        OutboxMessage.category == APPEAL,
        OutboxMessage.status.notin_((SKIPPED, CANCELLED)),
        OutboxMessage.created_at >= since,
        OutboxMessage.donor_id.is_not(None),
    )
    this_appeal = select(OutboxMessage.donor_id).where(
        OutboxMessage.key.like(f"appeal:{appeal.id}:%"), OutboxMessage.donor_id.is_not(None)
    )
    opted_out = select(NotificationPreference.donor_id).where(
        NotificationPreference.appeals.is_(False)
    )
    from sites.models import Site

    gave_in_city = (
        select(Donation.donor_id)
        .join(Site, Site.id == Donation.site_id)
        .where(Site.city == appeal.city, Donation.status == VALID)
    )
    query = (
        select(Donor)
        .outerjoin(DonorTotals, DonorTotals.donor_id == Donor.id)
        .where(
            Donor.abo == appeal.abo,
            Donor.rhd == appeal.rhd,
            Donor.region == appeal.region,
            Donor.status == DONOR_ACTIVE,
            Donor.mobile_hash.is_not(None),
            or_(Donor.city == appeal.city, Donor.id.in_(gave_in_city)),
            Donor.id.notin_(recently_appealed),
            Donor.id.notin_(this_appeal),
            Donor.id.notin_(opted_out),
        )
        .order_by(
            DonorTotals.donations.desc().nulls_last(),
            DonorTotals.last_donation_date.desc().nulls_last(),
            Donor.id,
        )
    )
    chosen: list[Donor] = []
    for donor in db.session.scalars(query.limit(wanted * 20)):
        try:
            result = check_eligibility(donor, appeal.kind, on, policy)
        except (KeyError, PolicyUndecided):
            continue
        if result.allowed:
            chosen.append(donor)
            if len(chosen) >= wanted:
                break
    return chosen


def advance_appeal(appeal: StockAppeal) -> int:
    """Write the appeal's next wave if its time has come; the wave never exceeds the free
    places near the city (when the booking directory knows them) nor the administrator's cap."""
    now = clock.now()
    if (
        appeal.status != OPEN
        or appeal.next_wave_at is None
        or clock.as_utc(appeal.next_wave_at) > now
    ):
        return 0
    today = clock.local_today()
    interval = current_app.config["NOTIFY_APPEAL_WAVE_INTERVAL"]
    if today > appeal.ends_on:
        appeal.status, appeal.next_wave_at, appeal.closed_at = CLOSED, None, now
        return 0
    free = booking_directory().free_places_near(appeal.city, today, appeal.ends_on, appeal.kind)
    size = appeal.max_wave if free is None else min(appeal.max_wave, free)
    appeal.next_wave_at = now + interval
    if size <= 0:
        return 0
    donors = appeal_candidates(appeal, size, today)
    if not donors:
        return 0
    rows = write(
        "appeal",
        [
            Draft(
                key=f"appeal:{appeal.id}:{donor.id}",
                donor=Addressee.of(donor),
                context={
                    "name": donor.name or "",
                    "city": appeal.city,
                    "group": _group_name(appeal),
                },
            )
            for donor in donors
        ],
        expires_at=local_moment(appeal.ends_on, current_app.config["NOTIFY_QUIET_HOURS"][0]),
    )
    told = sum(1 for row in rows if row.status == PENDING)
    appeal.waves += 1
    appeal.notified += told
    return told


def advance_appeals() -> int:
    due = db.session.scalars(
        select(StockAppeal).where(
            StockAppeal.status == OPEN, StockAppeal.next_wave_at <= clock.now()
        )
    ).all()
    return sum(advance_appeal(appeal) for appeal in due)


# ------------------------------------------------------------------ running the jobs


@dataclass(frozen=True)
class Job:
    """A daily job: runs once a local day (recorded in `notification_schedule_runs`) and
    returns how many things it wrote or opened."""

    name: str
    run: Callable[[date], int]


@dataclass(frozen=True)
class RecurringJob:
    """Housekeeping that runs at every tick (about every minute) and reports its counts; it must
    be safe to run again at once, or by two workers at the same moment."""

    name: str
    run: Callable[[], Mapping[str, int]]


DAILY_JOBS = (
    Job("birthdays", greet_birthdays),
    Job("greeting_days", greet_the_day),
    Job("eligible_again", remind_eligible_again),
    Job("appointment_reminders", remind_appointments),
)

# This is the app's one scheduler: other packages' periodic work (appointments' sweep and
# opening of slots) is registered by the app where it wires the packages together, so it runs
# wherever the messages' jobs run (`flask notifications worker` and `tick`, Celery beat)
# without notifications importing those packages.
_REGISTERED = "scheduled_jobs"


def _registered(app: Flask) -> dict[str, dict[str, Any]]:
    return app.extensions.setdefault(_REGISTERED, {"daily": {}, "recurring": {}})


def add_daily_job(app: Flask, job: Job) -> None:
    """Run `job` once a local day; a job registered again under its name replaces it."""
    _registered(app)["daily"][job.name] = job


def add_recurring_job(app: Flask, job: RecurringJob) -> None:
    _registered(app)["recurring"][job.name] = job


def daily_jobs() -> tuple[Job, ...]:
    return DAILY_JOBS + tuple(_registered(current_app)["daily"].values())


def recurring_jobs() -> tuple[RecurringJob, ...]:
    return tuple(_registered(current_app)["recurring"].values())


def run_daily_jobs(on: date | None = None) -> dict[str, int]:
    """Run each daily job not yet done today; one transaction per job. A job that fails is
    logged, rolled back and tried again at the next tick; the others run meanwhile."""
    on = on or clock.local_today()
    done: dict[str, int] = {}
    for job in daily_jobs():
        if db.session.get(ScheduleRun, (job.name, on)) is not None:
            continue
        try:
            written = job.run(on)
            db.session.add(ScheduleRun(job=job.name, day=on, written=written))
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # another tick finished it first; its rows stand
            continue
        except Exception:
            db.session.rollback()
            log.exception("daily job %s failed; it runs again at the next tick", job.name)
            continue
        done[job.name] = written
    return done


def run_recurring_jobs() -> dict[str, int]:
    """Each registered housekeeping job, in its own transaction; the non-zero counts."""
    done: dict[str, int] = {}
    for job in recurring_jobs():
        try:
            counts = job.run()
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("job %s failed; it runs again at the next tick", job.name)
            continue
        done.update({name: count for name, count in counts.items() if count})
    return done


def tick() -> dict[str, int]:
    """What the scheduler does every minute or so: registered housekeeping, daily jobs when
    due, appeal waves."""
    done = run_recurring_jobs()
    done.update(run_daily_jobs())
    waves = advance_appeals()
    db.session.commit()
    if waves:
        done["appeal_messages"] = waves
    return done

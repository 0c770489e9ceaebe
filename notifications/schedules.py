"""Messages that come from the calendar: birthdays, greeting days, reminders; and the tick that
runs them with every package's jobs (core.jobs) and the appeal waves (notifications.appeals).

Each daily job may run any number of times on its day (Celery beat or the embedded worker ticks
about every minute): the scheduler records its run, and every message it writes has an
idempotency key, so a second run writes nothing new. The jobs write rows dated for
the hour they should go (09:00 for greetings); the dispatcher sends them then.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Row, Select, select

from certificate.eligibility import check_eligibility, past_donations
from certificate.models import VALID, Donation, DonorTotals
from certificate.policy import donation_rules
from core import clock
from core.extensions import db
from core.jobs import Job, run_daily_jobs, run_recurring_jobs
from core.policy import PolicyUndecided, policy_for, regions
from donors.models import DONOR_ACTIVE, Donor
from notifications.appeals import advance_appeals
from notifications.bookings import booking_directory
from notifications.conditions import Condition
from notifications.models import (
    CANCELLED,
    OutboxMessage,
)
from notifications.outbox import Addressee, Draft, write
from notifications.rules import greetings_of, local_moment
from notifications.services import remind_of_booking

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
                        "kind_name": "捐献" + donation_rules(policy).kind_name(last.kind),
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


# ------------------------------------------------------------------ the daily jobs

DAILY_JOBS = (
    Job("birthdays", greet_birthdays),
    Job("greeting_days", greet_the_day),
    Job("eligible_again", remind_eligible_again),
    Job("appointment_reminders", remind_appointments),
)


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

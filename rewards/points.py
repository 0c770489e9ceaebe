"""Points as a ledger: what earns them, what spends them, when they expire.

Every change is a row of `points_ledger` with its cause (a donation, its voiding, a signed health
form, volunteer hours, a redemption or its refund, an administrator's adjustment, an expiry); the
balance is their sum, never a stored figure. The figures come from the region's `[points]`
section (policies/national.toml: an operational setting, not a regulation).

Points earned form lots, each expiring `expire_after` from the local day it was earned. Spending
and negative adjustments consume the lots that expire first (with one period for every lot: the
earliest earned); an expiry takes what is left of its own lot, and so does the voiding of a
donation: points of that donation already spent or expired stay spent (the donor redeemed them in
good faith). Every change for one donor first locks the donor's `points_accounts` row (an UPDATE:
a row lock on PostgreSQL, the write lock on SQLite), so balance checks hold under concurrency.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from core import audit, clock
from core.auth import Caller
from core.errors import ApiError
from core.extensions import db
from core.policy import PolicyUndecided, policy_for, regions
from donors.models import Donor
from rewards.models import (
    ADJUSTMENT,
    DONATION_POINTS,
    DONATION_VOIDED,
    EXPIRY,
    HEALTH_FORM_POINTS,
    VOLUNTEER_POINTS,
    PointsAccount,
    PointsEntry,
    VolunteerService,
)
from rewards.rules import PointsRules, points_rules


@dataclass(frozen=True)
class Lot:
    """Points earned together, and how many of them are left."""

    entry: PointsEntry
    remaining: int


@dataclass(frozen=True)
class Balance:
    """A donor's points now, and the next lot to expire (none: nothing expires)."""

    points: int
    next_expiry_points: int | None
    next_expiry_on: date | None  # the first day those points are gone


@dataclass(frozen=True)
class ExpiringLot:
    donor_id: int
    lot_id: int
    points: int
    expires_on: date


def rules_for(region: str) -> PointsRules | None:
    """The region's points rules, or None where its policy sets none (nothing is earned)."""
    try:
        return points_rules(policy_for(region))
    except (KeyError, PolicyUndecided):
        return None


# ---------------------------------------------------------------- the ledger


def lock_account(donor_id: int) -> None:
    """Take the donor's points lock until the transaction ends (the row is made if missing)."""
    insert = (
        postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )
    db.session.execute(
        insert(PointsAccount.__table__)
        .values(donor_id=donor_id, changes=0)
        .on_conflict_do_nothing(index_elements=["donor_id"])
    )
    db.session.execute(
        update(PointsAccount)
        .where(PointsAccount.donor_id == donor_id)
        .values(changes=PointsAccount.changes + 1)
        .execution_options(synchronize_session=False)
    )


def balance_of(donor_id: int) -> int:
    total = db.session.scalar(
        select(func.coalesce(func.sum(PointsEntry.amount), 0)).where(
            PointsEntry.donor_id == donor_id
        )
    )
    return int(total or 0)


def lots_of(donor_id: int) -> list[Lot]:
    """The donor's lots, those expiring first first, with what is left of each."""
    rows = db.session.scalars(select(PointsEntry).where(PointsEntry.donor_id == donor_id)).all()
    aimed: dict[int, int] = defaultdict(int)
    untargeted = 0
    for row in rows:
        if row.amount < 0 and row.lot_id is not None:
            aimed[row.lot_id] -= row.amount
        elif row.amount < 0:
            untargeted -= row.amount
    lots = sorted(
        (row for row in rows if row.amount > 0 and row.expires_on is not None),
        key=lambda row: (row.expires_on, row.id),
    )
    found = []
    for lot in lots:
        left = lot.amount - aimed[lot.id]
        taken = min(left, untargeted)
        untargeted -= taken
        found.append(Lot(lot, left - taken))
    return found


def _write(
    donor_id: int,
    amount: int,
    cause: str,
    cause_id: int | None,
    region: str,
    *,
    lot: PointsEntry | None = None,
    staff_id: int | None = None,
    note: str | None = None,
) -> PointsEntry:
    entry = PointsEntry(
        donor_id=donor_id,
        amount=amount,
        cause=cause,
        cause_id=cause_id,
        region=region,
        lot_id=lot.id if lot is not None else None,
        staff_id=staff_id,
        note=note,
    )
    if amount > 0:
        rules = rules_for(region)
        if rules is None:
            raise PolicyUndecided("points", f"{region} sets no points")
        entry.earned_on = clock.local_today()
        entry.expires_on = rules.expires_on(entry.earned_on)
    db.session.add(entry)
    db.session.flush()
    return entry


def _already(cause: str, cause_id: int) -> PointsEntry | None:
    return db.session.scalar(
        select(PointsEntry).where(PointsEntry.cause == cause, PointsEntry.cause_id == cause_id)
    )


def credit(
    donor_id: int,
    amount: int,
    cause: str,
    cause_id: int | None,
    region: str,
    *,
    staff_id: int | None = None,
    note: str | None = None,
) -> PointsEntry | None:
    """A lot of `amount` points (once per cause), or None when there is nothing to earn."""
    if amount <= 0:
        return None
    lock_account(donor_id)
    if cause_id is not None and _already(cause, cause_id) is not None:
        return None
    return _write(donor_id, amount, cause, cause_id, region, staff_id=staff_id, note=note)


def debit(
    donor_id: int,
    amount: int,
    cause: str,
    cause_id: int | None,
    region: str,
    *,
    staff_id: int | None = None,
    note: str | None = None,
) -> PointsEntry:
    """Take `amount` points, from the lots that expire first; 409 points_insufficient if the
    balance (after today's expiries) does not cover them. The caller holds the lock."""
    expire_due(donor_id, clock.local_today())
    have = balance_of(donor_id)
    if have < amount:
        raise ApiError(
            "points_insufficient", 409, errors={"points": {"balance": have, "needed": amount}}
        )
    return _write(donor_id, -amount, cause, cause_id, region, staff_id=staff_id, note=note)


def expire_due(donor_id: int, on: date) -> int:
    """Write an expiry row for each of the donor's lots gone by `on` (what is left of it, 0
    included, so the lot is closed); the caller holds the lock. The points expired."""
    expired = 0
    closed = set(
        db.session.scalars(
            select(PointsEntry.lot_id).where(
                PointsEntry.donor_id == donor_id, PointsEntry.cause == EXPIRY
            )
        )
    )
    for lot in lots_of(donor_id):
        entry = lot.entry
        if entry.expires_on is None or entry.expires_on > on or entry.id in closed:
            continue
        _write(donor_id, -lot.remaining, EXPIRY, entry.id, entry.region, lot=entry)
        expired += lot.remaining
    return expired


def _open_lot() -> Any:
    """Lots not yet closed by an expiry row."""
    closing = aliased(PointsEntry)
    return ~exists().where(and_(closing.cause == EXPIRY, closing.cause_id == PointsEntry.id))


def expire_points(on: date) -> int:
    """The daily job: every lot gone by `on` gets its expiry row. Returns the rows written."""
    donors = db.session.scalars(
        select(PointsEntry.donor_id)
        .where(PointsEntry.amount > 0, PointsEntry.expires_on <= on, _open_lot())
        .distinct()
        .order_by(PointsEntry.donor_id)
    ).all()
    written = 0
    for donor_id in donors:
        lock_account(donor_id)
        before = db.session.scalar(
            select(func.count()).where(
                PointsEntry.donor_id == donor_id, PointsEntry.cause == EXPIRY
            )
        )
        expire_due(donor_id, on)
        after = db.session.scalar(
            select(func.count()).where(
                PointsEntry.donor_id == donor_id, PointsEntry.cause == EXPIRY
            )
        )
        written += (after or 0) - (before or 0)
    return written


def lots_to_warn(on: date) -> list[ExpiringLot]:
    """Lots with points left that expire within their region's warning lead after `on`."""
    leads = {region: rules.warn_before for region in regions() if (rules := rules_for(region))}
    if not leads:
        return []
    horizon = max(lead.add_to(on) for lead in leads.values())
    donors = db.session.scalars(
        select(PointsEntry.donor_id)
        .where(
            PointsEntry.amount > 0,
            PointsEntry.expires_on > on,
            PointsEntry.expires_on <= horizon,
            _open_lot(),
        )
        .distinct()
        .order_by(PointsEntry.donor_id)
    ).all()
    found = []
    for donor_id in donors:
        for lot in lots_of(donor_id):
            entry = lot.entry
            lead = leads.get(entry.region)
            if lot.remaining <= 0 or lead is None or entry.expires_on is None:
                continue
            if on < entry.expires_on <= lead.add_to(on):
                found.append(ExpiringLot(donor_id, entry.id, lot.remaining, entry.expires_on))
    return found


def points_left(lot_ids: set[int]) -> dict[int, int]:
    """What is left of each lot now (0 for a lot closed or unknown)."""
    donors = db.session.scalars(
        select(PointsEntry.donor_id).where(PointsEntry.id.in_(lot_ids)).distinct()
    ).all()
    today = clock.local_today()
    left = {}
    for donor_id in donors:
        for lot in lots_of(donor_id):
            if lot.entry.id in lot_ids:
                gone = lot.entry.expires_on is not None and lot.entry.expires_on <= today
                left[lot.entry.id] = 0 if gone else lot.remaining
    return left


# ---------------------------------------------------------------- what the donor sees


def balance(donor: Donor) -> Balance:
    """The balance (lots gone by today count as expired even before the job writes them)."""
    today = clock.local_today()
    live = [
        lot
        for lot in lots_of(donor.id)
        if lot.remaining > 0 and lot.entry.expires_on is not None and lot.entry.expires_on > today
    ]
    points = sum(lot.remaining for lot in live)
    if not live:
        return Balance(points, None, None)
    first = min(lot.entry.expires_on for lot in live if lot.entry.expires_on is not None)
    due = sum(lot.remaining for lot in live if lot.entry.expires_on == first)
    return Balance(points, due, first)


def ledger_query(donor: Donor) -> Select:
    """The donor's ledger, newest first (an empty expiry, of a lot already used, is left out)."""
    return (
        select(PointsEntry)
        .where(PointsEntry.donor_id == donor.id, PointsEntry.amount != 0)
        .order_by(PointsEntry.id.desc())
    )


# ---------------------------------------------------------------- what earns points


def earn_for_donation(donation: Any) -> PointsEntry | None:
    """A recorded donation earns its points in the same transaction, once."""
    rules = rules_for(donation.region)
    if rules is None:
        return None
    amount = rules.for_donation(donation.kind, donation.volume_ml, donation.units)
    return credit(donation.donor_id, amount, DONATION_POINTS, donation.id, donation.region)


def reverse_donation(donation: Any) -> PointsEntry | None:
    """A voided donation takes back what is left of the points it earned, in a row of its own."""
    earned = _already(DONATION_POINTS, donation.id)
    if earned is None:
        return None
    lock_account(donation.donor_id)
    if _already(DONATION_VOIDED, donation.id) is not None:
        return None
    left = next(
        (lot.remaining for lot in lots_of(donation.donor_id) if lot.entry.id == earned.id), 0
    )
    return _write(donation.donor_id, -left, DONATION_VOIDED, donation.id, earned.region, lot=earned)


def earn_for_health_form(response: Any) -> PointsEntry | None:
    """A signed health form earns its points, at most once in `health_form_once_per`."""
    rules = rules_for(response.region)
    if rules is None:
        return None
    lock_account(response.donor_id)
    latest = db.session.scalar(
        select(func.max(PointsEntry.earned_on)).where(
            PointsEntry.donor_id == response.donor_id, PointsEntry.cause == HEALTH_FORM_POINTS
        )
    )
    if latest is not None and rules.health_form_once_per.add_to(latest) > clock.local_today():
        return None
    return credit(
        response.donor_id, rules.per_health_form, HEALTH_FORM_POINTS, response.id, response.region
    )


# Reactions to other packages' events (connected, in order, in wiring.py).


def earn_for_the_donation(_sender: Any, donation: Any, **_: Any) -> None:
    earn_for_donation(donation)


def reverse_the_donation(_sender: Any, donation: Any, **_: Any) -> None:
    reverse_donation(donation)


def earn_for_the_health_form(_sender: Any, response: Any, **_: Any) -> None:
    earn_for_health_form(response)


def record_volunteer_hours(
    donor: Donor, served_on: date, minutes: int, reason: str, actor: Caller
) -> tuple[VolunteerService, PointsEntry | None]:
    """Hours a donor served, with their points (`per_volunteer_hour`, whole points), audited."""
    if served_on > clock.local_today():
        raise ApiError("served_in_future", 422, errors={"served_on": ["served_in_future"]})
    service = VolunteerService(
        donor_id=donor.id,
        served_on=served_on,
        minutes=minutes,
        reason=reason,
        recorded_by=actor.principal_id,
    )
    db.session.add(service)
    db.session.flush()
    rules = rules_for(donor.region)
    amount = rules.per_volunteer_hour * minutes // 60 if rules else 0
    entry = credit(
        donor.id, amount, VOLUNTEER_POINTS, service.id, donor.region, staff_id=actor.principal_id
    )
    audit.record(
        "points.volunteer_hours",
        actor=("staff", actor.principal_id),
        target=("donor", donor.id),
        details={"service": service.id, "minutes": minutes, "points": amount, "reason": reason},
    )
    return service, entry


def adjust(donor: Donor, points: int, reason: str, actor: Caller) -> PointsEntry:
    """An administrator's adjustment, with its reason, audited; never below a zero balance."""
    lock_account(donor.id)
    if points > 0:
        if rules_for(donor.region) is None:
            raise ApiError("points_not_offered", 409)
        entry = _write(
            donor.id,
            points,
            ADJUSTMENT,
            None,
            donor.region,
            staff_id=actor.principal_id,
            note=reason,
        )
    else:
        entry = debit(
            donor.id,
            -points,
            ADJUSTMENT,
            None,
            donor.region,
            staff_id=actor.principal_id,
            note=reason,
        )
    audit.record(
        "points.adjusted",
        actor=("staff", actor.principal_id),
        target=("donor", donor.id),
        details={"entry": entry.id, "points": points, "reason": reason},
    )
    return entry

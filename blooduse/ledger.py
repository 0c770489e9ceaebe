"""Drawing on a pool and giving back: the only writes to the blood-use ledger.

A draw locks the donor's row first, so two hospitals settling on the same pool at once are
served one after the other, each seeing what the other took (PostgreSQL: a row lock; SQLite,
which has none and lets two transactions read the same pool before either writes: a write to
the donor's row, which takes the database's one write lock at once).
"""

from __future__ import annotations

from sqlalchemy import select, text

from blooduse.entitlement import Draw
from blooduse.models import BloodFeeReduction, BloodUseEntry
from core.extensions import db
from donors.models import Donor

USE = "use"
RESTORE = "restore"


def lock_pools(donor_id: int) -> None:
    """Hold the donor's row until commit: the pools are read and drawn on under it."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("UPDATE donors SET id = id WHERE id = :id"), {"id": donor_id})
        return
    db.session.execute(select(Donor.id).where(Donor.id == donor_id).with_for_update())


def record_draws(reduction: BloodFeeReduction, pool: str, draws: list[Draw]) -> None:
    """One ledger row per window drawn on (negative ml), naming the reduction it paid for."""
    for draw in draws:
        db.session.add(
            BloodUseEntry(
                donor_id=reduction.donor_id,
                pool=pool,
                family_link_id=reduction.family_link_id,
                donation_id=draw.window.donation_id,
                phase=draw.window.phase,
                amount_ml=-draw.ml,
                reduction_id=reduction.id,
                cause=USE,
            )
        )
    db.session.flush()


def restore_draws(reduction: BloodFeeReduction) -> int:
    """Give back what a reduction drew (a reversal): the opposite rows, so the history stays.
    Returns the ml restored."""
    entries = db.session.scalars(
        select(BloodUseEntry).where(
            BloodUseEntry.reduction_id == reduction.id, BloodUseEntry.cause == USE
        )
    ).all()
    for entry in entries:
        db.session.add(
            BloodUseEntry(
                donor_id=entry.donor_id,
                pool=entry.pool,
                family_link_id=entry.family_link_id,
                donation_id=entry.donation_id,
                phase=entry.phase,
                amount_ml=-entry.amount_ml,
                reduction_id=reduction.id,
                cause=RESTORE,
            )
        )
    db.session.flush()
    return sum(-entry.amount_ml for entry in entries)

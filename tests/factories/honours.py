"""Builders for honours: a record of counted donations, and a laboratory blood group."""

from __future__ import annotations

from datetime import date, timedelta

from certificate.policy import donation_rules
from core.extensions import db
from core.policy import RegionPolicy
from rewards.honours import Step

WHOLE_BLOOD = "whole_blood"
PLATELETS = "apheresis_platelets"


def record_of(
    policy: RegionPolicy, *donations: tuple[str, int], start: date = date(2012, 1, 2)
) -> list[Step]:
    """Steps for donations (kind, amount) given a fortnight apart from `start`, each counted by
    the policy's own award rules in force on its date (nothing counted here by hand)."""
    steps = []
    for index, (kind, amount) in enumerate(donations):
        on = start + timedelta(days=14 * index)
        counts = donation_rules(policy).counts_for(kind, amount, on)
        steps.append(Step(donation_id=index + 1, on=on, counts=counts))
    return steps


def whole_blood(*volumes: int) -> list[tuple[str, int]]:
    return [(WHOLE_BLOOD, volume) for volume in volumes]


def laboratory_blood_group(donor: object, abo: str, rhd: str) -> None:
    """The blood group as the station's laboratory found it (what the rare-blood rule trusts)."""
    donor.abo, donor.rhd, donor.blood_group_source = abo, rhd, "laboratory"  # type: ignore[attr-defined]
    db.session.commit()

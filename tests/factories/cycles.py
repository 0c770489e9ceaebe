"""Builders for award cycles: donors with long records written as rows (decades of donations,
platelets before 2010), as a station's history would be once imported and claimed, and the
cycles an administrator opens and confirms through the API."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from typing import Any

from flask.testing import FlaskClient

from certificate.models import RECORDED, VALID, Donation
from core import clock
from core.extensions import db
from donors.models import Donor
from tests.factories import resident_id

WHOLE_BLOOD = "whole_blood"
PLATELETS = "apheresis_platelets"

_sequence = itertools.count(1)


def donor_row(region: str = "zhejiang", name: str = "王小明", **fields: Any) -> Donor:
    """A registered donor whose imported history is claimed (so all of it is on the record)."""
    number = next(_sequence)
    donor = Donor(
        name=name,
        id_number=resident_id(),
        id_number_hash=f"cycles-{number:057d}",
        birth_date=date(1970, 1, 1),
        sex="male",
        region=region,
        **{"history_claimed_at": clock.now(), **fields},
    )
    db.session.add(donor)
    db.session.commit()  # (the test's own transaction): a refused request rolls back to here
    return donor


def donations(
    donor: Donor,
    *given: tuple[str, int],
    start: date = date(2012, 1, 2),
    every: timedelta = timedelta(days=14),
    region: str | None = None,
    status: str = VALID,
    source: str = RECORDED,
) -> list[Donation]:
    """Donations (kind, amount: ml of whole blood, units of platelets) `every` apart."""
    rows = []
    for index, (kind, amount) in enumerate(given):
        day = start + every * index
        number = next(_sequence)
        row = Donation(
            donor_id=donor.id,
            facility_code="W3301",
            kind=kind,
            volume_ml=amount if kind == WHOLE_BLOOD else 250,
            units=None if kind == WHOLE_BLOOD else amount,
            collected_at=clock.as_utc(datetime.combine(day, time(10), clock.LOCAL_ZONE)),
            donation_date=day,
            din=f"W3301{day.year % 100:02d}{number:06d}",
            din_check="X",
            status=status,
            source=source,
            region=region or donor.region,
        )
        db.session.add(row)
        rows.append(row)
    db.session.commit()
    return rows


def whole_blood(*volumes: int) -> list[tuple[str, int]]:
    return [(WHOLE_BLOOD, volume) for volume in volumes]


def open_cycle(client: FlaskClient, admin: dict[str, str], **overrides: Any) -> Any:
    body = {
        "scheme": "dedication",
        "region": "zhejiang",
        "period": "2024-2025",
        "cut_off": "2025-12-31",
        **overrides,
    }
    return client.post("/api/v1/admin/award-cycles", json=body, headers=admin)

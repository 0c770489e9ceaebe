"""Builders for settlement at the hospital: donors whose ID numbers a cashier can look up (their
real keyed hash, a mobile number for the SMS), their verified or declared relatives, the
cashier's calls, and a bill."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time
from typing import Any

from flask.testing import FlaskClient

from core import clock
from core.extensions import db
from donors.models import LINK_DECLARED, LINK_VERIFIED, Donor, FamilyLink
from donors.services import id_number_hash, mobile_hash
from tests.factories import mobile, resident_id

_bills = itertools.count(1)


def local(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=clock.LOCAL_ZONE)


def patient_donor(region: str = "zhejiang", name: str = "陈建国") -> Donor:
    """A registered donor, found by the ID number the cashier types (`donor.id_number`)."""
    number = resident_id()
    e164 = "+86" + mobile()
    donor = Donor(
        name=name,
        id_number=number,
        id_number_hash=id_number_hash(number),
        mobile=e164,
        mobile_hash=mobile_hash(e164),
        birth_date=date(1990, 1, 1),
        sex="male",
        region=region,
        history_claimed_at=clock.now(),
    )
    db.session.add(donor)
    db.session.commit()
    return donor


def relative_of(
    donor: Donor,
    relation: str = "spouse",
    *,
    verified: bool = True,
    id_number: str | None = None,
    name: str = "林美华",
) -> FamilyLink:
    """A relative the donor declared (verified from documents unless `verified` is False)."""
    number = id_number or resident_id(male=False)
    link = FamilyLink(
        donor_id=donor.id,
        relation=relation,
        name=name,
        id_number=number,
        id_number_hash=id_number_hash(number),
        status=LINK_VERIFIED if verified else LINK_DECLARED,
        verified_at=clock.now() if verified else None,
        verified_by_type="staff" if verified else None,
        verified_document_type="household_register" if verified else None,
    )
    db.session.add(link)
    db.session.commit()
    return link


def bill(id_number: str, *volumes: int, fee_cents: int = 60_000, **fields: Any) -> dict[str, Any]:
    """A transfusion bill: suspended red cells of `volumes` ml (400 ml by default)."""
    return {
        "bill_number": f"ZY{next(_bills):08d}",
        "id_number": id_number,
        "transfused_on": clock.local_today().isoformat(),
        "components": [
            {"component": "悬浮红细胞", "volume_ml": volume} for volume in (volumes or (400,))
        ],
        "fee_cents": fee_cents,
        **fields,
    }


def look_up(client: FlaskClient, cashier: dict[str, str], id_number: str) -> Any:
    return client.post(
        "/api/v1/hospital/entitlements/lookup", json={"id_number": id_number}, headers=cashier
    )


def settle(client: FlaskClient, cashier: dict[str, str], body: dict[str, Any]) -> Any:
    return client.post("/api/v1/hospital/settlements", json=body, headers=cashier)


def reverse(
    client: FlaskClient, cashier: dict[str, str], bill_number: str, reason: str = "收费员录错"
) -> Any:
    return client.post(
        f"/api/v1/hospital/settlements/{bill_number}/reverse",
        json={"reason": reason},
        headers=cashier,
    )

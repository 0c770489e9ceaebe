"""Builders for claims after the fact and the import of earlier use: a donor with a donation
on record (registered through the API, so the decisions' texts reach a phone), a verified
relative's link (a row, until the family links' own factory is on main), a bill settled at a
cashier (a row, as settlement leaves it), the claim's multipart form, and an import's CSV."""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import date, timedelta
from typing import Any

from flask.testing import FlaskClient

from blooduse import bills
from blooduse.models import AT_HOSPITAL, SETTLED, BloodFeeReduction, Hospital
from core import clock
from core.extensions import db
from donors.models import LINK_DECLARED, LINK_VERIFIED, Donor, FamilyLink
from donors.services import id_number_hash
from tests.factories import bearer, donor_record, resident_id
from tests.factories.cycles import donations, whole_blood

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200  # what a phone camera's file starts with
PDF = b"%PDF-1.4\n" + b"%" * 200

_sequence = itertools.count(1)


def days_ago(days: int) -> date:
    return clock.local_today() - timedelta(days=days)


def claimant(
    client: FlaskClient, sms: list, *volumes: int, given_days_ago: int = 365
) -> tuple[Donor, dict[str, Any], dict[str, str]]:
    """A registered Zhejiang donor whose whole-blood donations (200 ml unless given: below the
    400 ml that makes the right unlimited) were given `given_days_ago` days ago, a fortnight
    apart: (donor, registration, auth headers)."""
    donor, data = donor_record(client, sms)
    donations(donor, *whole_blood(*(volumes or (200,))), start=days_ago(given_days_ago))
    return donor, data, bearer(data["tokens"]["access_token"])


def relative(
    donor: Donor, relation: str = "spouse", *, verified: bool = True, id_number: str | None = None
) -> FamilyLink:
    number = id_number or resident_id(birth="19920202", male=False)
    link = FamilyLink(
        donor_id=donor.id,
        relation=relation,
        name="李娜",
        id_number=number,
        id_number_hash=id_number_hash(number),
        status=LINK_VERIFIED if verified else LINK_DECLARED,
        verified_at=clock.now() if verified else None,
        verified_by_type="staff" if verified else None,
        verified_document_type="marriage_certificate" if verified else None,
    )
    db.session.add(link)
    db.session.commit()
    return link


def settled_at_cashier(hospital: Hospital, donor: Donor, bill_number: str) -> BloodFeeReduction:
    """A bill the hospital's cashier reduced, keyed by its code as settlement keys it."""
    row = BloodFeeReduction(
        channel=AT_HOSPITAL,
        status=SETTLED,
        bill_key=bills.bill_key(bill_number, hospital.code, hospital.name),
        bill_number=bill_number,
        hospital_id=hospital.id,
        hospital_name=hospital.name,
        donor_id=donor.id,
        region=hospital.region,
        transfused_on=days_ago(3),
        components=[{"component": "red_cells", "volume_ml": 400}],
        volume_ml=400,
        fee_cents=80_000,
        covered_ml=400,
        reduction_cents=80_000,
        settled_on=clock.local_today(),
        created_by_type="device",
    )
    db.session.add(row)
    db.session.commit()
    return row


def bill_number() -> str:
    return f"ZY{next(_sequence):08d}"


def claim_form(**overrides: Any) -> dict[str, Any]:
    """The multipart form of a claim: 400 ml of red cells, 800.00 yuan, ten days ago."""
    form: dict[str, Any] = {
        "bill_number": bill_number(),
        "hospital_name": "上海市第六人民医院",
        "transfused_on": days_ago(10).isoformat(),
        "discharged_on": days_ago(5).isoformat(),
        "components": json.dumps([{"component": "red_cells", "volume_ml": 400}]),
        "fee_cents": "80000",
        "bill_photo": JPEG,
        "discharge_summary": PDF,
    }
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def submit(client: FlaskClient, headers: dict[str, str], **overrides: Any) -> Any:
    form = claim_form(**overrides)
    for name in ("bill_photo", "discharge_summary"):
        if isinstance(form.get(name), bytes):
            form[name] = (io.BytesIO(form[name]), f"{name}.bin")
    return client.post(
        "/api/v1/me/blood-fee-claims",
        data=form,
        headers=headers,
        content_type="multipart/form-data",
    )


# ---------------------------------------------------------------- the import


def legacy_row(donor_id_number: str, **fields: Any) -> dict[str, Any]:
    """One bill of an old system's export: 200 ml used of a 400 ml transfusion, 30 days ago."""
    row = {
        "donor_id_number": donor_id_number,
        "patient_id_number": "",
        "relation": "",
        "hospital_code": "",
        "hospital_name": "杭州市第一人民医院",
        "bill_number": bill_number(),
        "transfused_on": days_ago(30).isoformat(),
        "volume_ml": "400",
        "fee_cents": "80000",
        "reduction_cents": "40000",
        "used_ml": "200",
    }
    row.update({key: str(value) for key, value in fields.items()})
    return row


def export(*rows: dict[str, Any], bom: bool = False, encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    fieldnames = list(rows[0]) if rows else list(legacy_row("x"))
    writer = csv.DictWriter(out, fieldnames=fieldnames)
    writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode(encoding) + out.getvalue().encode(encoding)


def upload(client: FlaskClient, headers: dict[str, str], data: bytes) -> Any:
    return client.post(
        "/api/v1/admin/blood-use-imports",
        data={"file": (io.BytesIO(data), "reductions.csv")},
        headers=headers,
        content_type="multipart/form-data",
    )

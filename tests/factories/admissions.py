"""Admissions a hospital reports, and the relatives whose admission concerns a donor.

Until the family links' own factory exists (issue 15 item 1), a link is built here as a row: a
relative the donor declared, verified (or not) as a hospital verifies one from documents seen.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask.testing import FlaskClient

from core import clock
from core.extensions import db
from donors.models import LINK_DECLARED, LINK_VERIFIED, Donor, FamilyLink
from donors.services import id_number_hash
from tests.factories import resident_id


def family_link(
    donor: Donor,
    *,
    relation: str = "spouse",
    name: str = "王芳",
    id_number: str | None = None,
    verified: bool = True,
) -> tuple[FamilyLink, str]:
    """A relative of `donor`: the link and the relative's plain ID number."""
    number = id_number or resident_id(birth="19920202", male=False)
    link = FamilyLink(
        donor_id=donor.id,
        relation=relation,
        name=name,
        id_number=number,
        id_number_hash=id_number_hash(number),
        status=LINK_VERIFIED if verified else LINK_DECLARED,
    )
    if verified:
        link.verified_at = clock.now()
        link.verified_by_type = "hospital"
        link.verified_document_type = "marriage_certificate"
    db.session.add(link)
    db.session.commit()
    return link, number


def admit(
    client: FlaskClient,
    headers: dict[str, str],
    id_number: str,
    *,
    ward: str = "心血管内科三病区",
    admitted_at: datetime | str | None = None,
    **fields: Any,
) -> Any:
    """POST /hospital/admissions as the cashier's device (admitted an hour ago by default)."""
    moment = admitted_at or clock.now() - timedelta(hours=1)
    body = {
        "id_number": id_number,
        "ward": ward,
        "admitted_at": moment if isinstance(moment, str) else moment.isoformat(),
        **fields,
    }
    return client.post("/api/v1/hospital/admissions", json=body, headers=headers)

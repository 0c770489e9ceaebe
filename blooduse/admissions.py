"""Care for admitted donors (issue 15 item 6): a hospital reports an admission; a donor admitted,
or a donor whose verified relative is admitted, hears of the free blood use they may draw on
there, once per admission.

POLICY.md §3.2 is the right told of; Decisions (2026-11-30) decide which of it this hospital's
cashier settles directly (donations given in its region, or in one its policy has an agreement
with: `direct_settlement_regions`), and only that is told, since the message says the cashier
settles it. A patient whose right here offers nothing (no donation, a pool used up, a relation
the rule does not cover) hears nothing: there is no right to tell of.

The hospital never learns from this report whether the patient is a donor: its answer is the
same either way. It learns that only from the entitlement look-up, where it is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from blooduse.entitlement import entitlement
from blooduse.hospitals import Cashier
from blooduse.models import Admission
from blooduse.rules import relation_name
from blooduse.settlement import settleable_regions
from core import audit, clock
from core.errors import ApiError
from core.extensions import db
from donors import family
from donors.models import DONOR_ERASED, LINK_VERIFIED, Donor, FamilyLink
from donors.services import id_number_hash
from notifications.outbox import Draft, write
from notifications.services import salutation_name


@dataclass(frozen=True)
class AdmissionReport:
    """What the hospital's cashier sends: the patient's ID number (already validated), the ward
    and when the patient was admitted (aware, in UTC)."""

    id_number: str
    ward: str
    admitted_at: datetime


def report_admission(cashier: Cashier, report: AdmissionReport) -> Admission:
    """Record the admission once per (hospital, patient, admitted_at) and write the messages of
    care it calls for; the same report again answers with the same admission and writes none."""
    ahead = current_app.config["HOSPITAL_ADMISSION_CLOCK_SKEW"]
    if report.admitted_at > clock.now() + ahead:
        raise ApiError("admitted_in_future", 422, errors={"admitted_at": ["admitted_in_future"]})
    patient = id_number_hash(report.id_number)
    existing = _reported(cashier.hospital_id, patient, report.admitted_at)
    if existing is not None:
        return existing
    donor = db.session.scalar(
        select(Donor).where(Donor.id_number_hash == patient, Donor.status != DONOR_ERASED)
    )
    links = [link for link in family.links_naming(patient) if link.status == LINK_VERIFIED]
    admission = Admission(
        hospital_id=cashier.hospital_id,
        patient_id_hash=patient,
        ward=report.ward,
        admitted_at=report.admitted_at,
        donor_id=donor.id if donor is not None else None,
        family_link_id=links[0].id if links else None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(admission)
    except IntegrityError:
        # The same report raced itself: answer as the first did, which wrote the messages.
        first = _reported(cashier.hospital_id, patient, report.admitted_at)
        if first is None:
            raise ApiError("conflict", 409) from None
        return first
    _write_care(cashier, admission, donor, links)
    audit.record(
        "admission.reported",
        actor=("device", cashier.device_id),
        target=("admission", admission.id),
        details={"hospital": cashier.hospital_id},
    )
    return admission


def _reported(hospital_id: int, patient: str, admitted_at: datetime) -> Admission | None:
    return db.session.scalar(
        select(Admission).where(
            Admission.hospital_id == hospital_id,
            Admission.patient_id_hash == patient,
            Admission.admitted_at == admitted_at,
        )
    )


def _right(donor: Donor, link: FamilyLink | None, cashier: Cashier) -> dict[str, object] | None:
    """What the donor's pool (or the relatives' pool, for `link`) offers at this hospital today,
    as the message states it; None when it offers nothing."""
    found = entitlement(
        donor,
        clock.local_today(),
        link,
        only_regions=settleable_regions(cashier.region),
        unclaimed_history=True,
    )
    if found.refused:
        return None
    if found.unlimited:
        return {"unlimited": True, "remaining_ml": 0}
    remaining = found.remaining_ml or 0
    return {"unlimited": False, "remaining_ml": remaining} if remaining > 0 else None


def _key(admission: Admission, donor: Donor) -> str:
    return f"admission_care:{admission.id}:{donor.id}"


def _write_care(
    cashier: Cashier, admission: Admission, patient: Donor | None, links: list[FamilyLink]
) -> None:
    """One message to the patient if a donor, and one to each donor the patient is a verified
    relative of; a donor told as the patient is not told again as a relative's donor."""
    told: set[int] = set()
    if patient is not None:
        right = _right(patient, None, cashier)
        if right is not None:
            context = {"name": salutation_name(patient), "hospital": cashier.name, **right}
            write(
                "admission_care",
                [Draft(key=_key(admission, patient), donor=patient, context=context)],
            )
            told.add(patient.id)
    for link in links:
        donor = db.session.get(Donor, link.donor_id)
        if donor is None or donor.id in told or donor.status == DONOR_ERASED:
            continue
        right = _right(donor, link, cashier)
        if right is None:
            continue
        context = {
            "name": salutation_name(donor),
            "relation": relation_name(link.relation, donor.region, cashier.region),
            "hospital": cashier.name,
            **right,
        }
        write(
            "admission_care_relative",
            [Draft(key=_key(admission, donor), donor=donor, context=context)],
        )
        told.add(donor.id)


def forget_donor(sender: Any, donor: Donor, **extra: Any) -> None:
    """The donor is erased (`donor_erased`, in the erasure's transaction): the admissions
    reported keep the hospital's record, but no longer name the donor or their relatives' links."""
    links = select(FamilyLink.id).where(FamilyLink.donor_id == donor.id)
    db.session.execute(
        update(Admission).where(Admission.donor_id == donor.id).values(donor_id=None)
    )
    db.session.execute(
        update(Admission).where(Admission.family_link_id.in_(links)).values(family_link_id=None)
    )

"""Family links: the relatives a donor declares, whose blood fee the donor's donations may reduce
(POLICY.md §3.2 and §3.4: spouse, parents, children, and in some regions more).

A donor declares a relative (a relation from the region's `[blood_use].relations`, the name, the
ID number); the link is `declared` until it is verified from documents, by a hospital that saw
them (and can name the relative: the patient's ID number must be the link's) or by a station
administrator from the donor's upload. An administrator may reject an upload with a reason the
donor reads; a new upload declares the link again. Only a verified link is used
(blooduse.entitlement); removing it ends future use and keeps the row, so what was settled under
it stays explained. Every verification is audited with who (the hospital, or the staff member)
and the type of document seen.

Scoped to the caller (DESIGN.md): a donor reads only their own links, the relative only masked; a
relative, donor or not, is never shown a link that names them. The donor's erasure removes their
links and erases the relatives' names and ID numbers and the uploaded documents.

donors/ sits below blooduse/ and never imports it: the region's relation list and the hospital
behind a cashier's token are answers blooduse registers here from its `init_app`
(`use_blood_use_answers`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Select, delete, func, select

from core import audit, clock
from core.auth import Caller
from core.errors import ApiError
from core.extensions import db
from core.lookups import get_or_404
from donors.documents import store_document
from donors.identity import ResidentId
from donors.models import (
    LINK_DECLARED,
    LINK_REJECTED,
    LINK_REMOVED,
    LINK_VERIFIED,
    Donor,
    DonorDocument,
    FamilyLink,
)
from donors.services import id_number_hash

# What an upload for a family link is (DonorDocument.purpose).
FAMILY_LINK_DOCUMENT = "family_link"

# The documents that prove a relation, as the verifier names the one seen.
DOCUMENT_TYPES: dict[str, str] = {
    "household_register": "户口簿",
    "marriage_certificate": "结婚证",
    "birth_certificate": "出生医学证明",
    "relationship_certificate": "亲属关系证明",
}

# Who verified a link (FamilyLink.verified_by_type).
BY_HOSPITAL = "hospital"
BY_STAFF = "staff"

_ANSWERS = "family_blood_use_answers"


@dataclass(frozen=True)
class VerifyingHospital:
    """The hospital behind a cashier's device token, as a verification records it."""

    hospital_id: int
    device_id: int
    name: str


@dataclass(frozen=True)
class BloodUseAnswers:
    """What blooduse tells donors about family links.

    `relations(region)`: the region's relation codes and their Chinese names
    (`[blood_use].relations`), or None where the region sets no free blood-use rules.
    `hospital_of(caller)`: the hospital behind a `hospital` token (blooduse.hospitals.cashier_of:
    registered, active, the session live; 403 otherwise).
    """

    relations: Callable[[str], Mapping[str, str] | None]
    hospital_of: Callable[[Caller], VerifyingHospital]


def use_blood_use_answers(app: Flask, answers: BloodUseAnswers) -> None:
    app.extensions[_ANSWERS] = answers


def _answers() -> BloodUseAnswers:
    answers = current_app.extensions.get(_ANSWERS)
    if answers is None:  # blooduse.init_app registers them; an app without it has no links
        raise ApiError("blood_use_not_offered", 409)
    return answers


def relations_of(region: str) -> Mapping[str, str]:
    """The region's relations (code -> Chinese name); 409 `blood_use_not_offered` where the
    region sets no free blood-use rules."""
    relations = _answers().relations(region)
    if not relations:
        raise ApiError("blood_use_not_offered", 409)
    return relations


def relation_name(link: FamilyLink) -> str | None:
    """The relation's Chinese name in the donor's region (None where it names it no more)."""
    donor = db.session.get(Donor, link.donor_id)
    answers = current_app.extensions.get(_ANSWERS)
    relations = answers.relations(donor.region) if answers and donor else None
    return (relations or {}).get(link.relation)


def hospital_of(caller: Caller) -> VerifyingHospital:
    return _answers().hospital_of(caller)


# ---------------------------------------------------------------- the donor's own links


def links_query(donor: Donor) -> Select:
    """The donor's links, removed ones too (shown as removed), newest first."""
    return (
        select(FamilyLink)
        .where(FamilyLink.donor_id == donor.id)
        .order_by(FamilyLink.declared_at.desc(), FamilyLink.id.desc())
    )


def donor_link(donor: Donor, link_id: int) -> FamilyLink:
    """One of the donor's links; another donor's is unknown (404), as a missing one is."""
    return get_or_404(
        FamilyLink, link_id, "family_link_unknown", visible=lambda link: link.donor_id == donor.id
    )


def _lock_links_of(donor: Donor) -> None:
    """One declaration per donor at a time, so the duplicate and limit checks hold (PostgreSQL
    locks the donor's row; SQLite writes one transaction at a time)."""
    db.session.execute(select(Donor.id).where(Donor.id == donor.id).with_for_update())


def declare_link(donor: Donor, relation: str, name: str, relative: ResidentId) -> FamilyLink:
    """Declare a relative: 409 `blood_use_not_offered` where the donor's region has no rules,
    422 `relation_unknown` for a relation its list lacks and `family_link_self` for the donor's
    own ID number, 409 `family_link_duplicate` for a relative already linked (not removed) and
    `family_link_limit` past FAMILY_LINKS_MAX links not removed."""
    if relation not in relations_of(donor.region):
        raise ApiError("relation_unknown", 422, errors={"relation": ["relation_unknown"]})
    relative_hash = id_number_hash(relative.number)
    if relative_hash == donor.id_number_hash:
        raise ApiError("family_link_self", 422, errors={"id_number": ["family_link_self"]})
    _lock_links_of(donor)
    standing = (FamilyLink.donor_id == donor.id, FamilyLink.status != LINK_REMOVED)
    if db.session.scalar(
        select(FamilyLink.id).where(*standing, FamilyLink.id_number_hash == relative_hash)
    ):
        raise ApiError(
            "family_link_duplicate", 409, errors={"id_number": ["family_link_duplicate"]}
        )
    linked = db.session.scalar(select(func.count()).select_from(FamilyLink).where(*standing))
    if linked >= current_app.config["FAMILY_LINKS_MAX"]:
        raise ApiError("family_link_limit", 409)
    link = FamilyLink(
        donor_id=donor.id,
        relation=relation,
        name=name,
        id_number=relative.number,
        id_number_hash=relative_hash,
        status=LINK_DECLARED,
        declared_at=clock.now(),
    )
    db.session.add(link)
    db.session.flush()
    audit.record(
        "family_link.declared",
        actor=("donor", donor.id),
        target=("family_link", link.id),
        details={"relation": relation},
    )
    return link


def remove_link(donor: Donor, link: FamilyLink) -> FamilyLink:
    """End the link's future use; what was settled under it stays. Removing again changes
    nothing."""
    if link.status == LINK_REMOVED:
        return link
    link.status = LINK_REMOVED
    link.removed_at = clock.now()
    audit.record("family_link.removed", actor=("donor", donor.id), target=("family_link", link.id))
    return link


def _refuse_if_closed(link: FamilyLink) -> None:
    if link.status == LINK_REMOVED:
        raise ApiError("family_link_removed", 409)
    if link.status == LINK_VERIFIED:
        raise ApiError("family_link_already_verified", 409)


def _drop_document(document_id: int | None) -> None:
    if document_id is not None:
        db.session.execute(
            delete(DonorDocument).where(
                DonorDocument.id == document_id, DonorDocument.purpose == FAMILY_LINK_DOCUMENT
            )
        )


def attach_document(donor: Donor, link: FamilyLink, data: bytes) -> FamilyLink:
    """The proof of the relation (a household register page, a marriage certificate), checked
    and encrypted (donors.documents); it replaces the link's earlier upload, which is deleted. A
    rejected link is declared again. 409 for a removed or verified link."""
    _refuse_if_closed(link)
    document = store_document(donor.id, FAMILY_LINK_DOCUMENT, data)
    replaced, link.document_id = link.document_id, document.id
    db.session.flush()
    _drop_document(replaced)
    if link.status == LINK_REJECTED:
        link.status = LINK_DECLARED
        link.rejected_at = link.reject_reason = None
    audit.record(
        "family_link.document_uploaded",
        actor=("donor", donor.id),
        target=("family_link", link.id),
        details={"document": document.id, "replaced": replaced},
    )
    return link


# ---------------------------------------------------------------- the station's review


def review_query(status: str | None = None) -> Select:
    """Links for the station, oldest declaration first (a queue), by status if given."""
    query = select(FamilyLink).order_by(FamilyLink.declared_at, FamilyLink.id)
    return query if status is None else query.where(FamilyLink.status == status)


def get_link(link_id: int) -> FamilyLink:
    return get_or_404(FamilyLink, link_id, "family_link_unknown")


def read_document(link: FamilyLink, admin: Caller) -> DonorDocument:
    """The link's uploaded proof, for the administrator reviewing it; every read is audited."""
    if link.document_id is None:
        raise ApiError("family_link_no_document", 404)
    document = get_or_404(DonorDocument, link.document_id, "family_link_no_document")
    audit.record(
        "family_link.document_read",
        actor=("staff", admin.principal_id),
        target=("family_link", link.id),
        details={"donor": link.donor_id, "document": document.id},
    )
    return document


def _verify(
    link: FamilyLink,
    document_type: str,
    actor: tuple[str, int],
    name: str | None,
    details: dict[str, Any],
) -> FamilyLink:
    link.status = LINK_VERIFIED
    link.verified_at = clock.now()
    link.verified_by_type, link.verified_by_id = actor
    link.verified_by_name = name
    link.verified_document_type = document_type
    link.rejected_at = link.reject_reason = None
    audit.record(
        "family_link.verified",
        actor=actor,
        target=("family_link", link.id),
        details={"document_type": document_type, **details},
    )
    return link


def verify_by_staff(link: FamilyLink, document_type: str, admin: Caller) -> FamilyLink:
    """An administrator verifies a declared link from its upload, naming the document type
    seen: 409 `family_link_no_document` without one, `family_link_rejected` for an upload
    rejected (the donor uploads anew), and for a removed or verified link."""
    _refuse_if_closed(link)
    if link.status == LINK_REJECTED:
        raise ApiError("family_link_rejected", 409)
    if link.document_id is None:
        raise ApiError("family_link_no_document", 409)
    return _verify(
        link, document_type, (BY_STAFF, admin.principal_id), None, {"document": link.document_id}
    )


def verify_by_hospital(
    link_id: int, patient: ResidentId, document_type: str, hospital: VerifyingHospital
) -> FamilyLink:
    """A hospital verifies a link from the documents it has seen, for the relative it treats: a
    link whose relative is not `patient` is unknown to it (404, as an unknown id). A link the
    station rejected may be verified from the originals; 409 for a removed or verified one."""
    patient_hash = id_number_hash(patient.number)
    link = get_or_404(
        FamilyLink,
        link_id,
        "family_link_unknown",
        visible=lambda row: row.id_number_hash == patient_hash,
    )
    _refuse_if_closed(link)
    return _verify(
        link,
        document_type,
        (BY_HOSPITAL, hospital.hospital_id),
        hospital.name,
        {"device": hospital.device_id},
    )


def reject_link(link: FamilyLink, reason: str, admin: Caller) -> FamilyLink:
    """An administrator rejects a declared link's upload with a reason the donor reads."""
    _refuse_if_closed(link)
    if link.status == LINK_REJECTED:
        raise ApiError("family_link_rejected", 409)
    if link.document_id is None:
        raise ApiError("family_link_no_document", 409)
    link.status = LINK_REJECTED
    link.rejected_at = clock.now()
    link.reject_reason = reason
    audit.record(
        "family_link.rejected",
        actor=("staff", admin.principal_id),
        target=("family_link", link.id),
        details={"document": link.document_id},
    )
    return link


# ---------------------------------------------------------------- for settlement and erasure


def links_naming(id_hash: str) -> list[FamilyLink]:
    """The links not removed that name a person (by the keyed hash of their ID number), oldest
    first: a relative may be linked by several donors (two children declaring a parent), and a
    hospital verifies a declared one from what it sees."""
    return list(
        db.session.scalars(
            select(FamilyLink)
            .where(FamilyLink.id_number_hash == id_hash, FamilyLink.status != LINK_REMOVED)
            .order_by(FamilyLink.id)
        )
    )


def forget_donor(sender: Any, donor: Donor, **extra: Any) -> None:
    """The donor is erased (`donor_erased`, in the erasure's transaction): their links are
    removed, the relatives' names and ID numbers erased from them and the uploaded proofs
    deleted; the reductions settled under them keep their rows."""
    now = clock.now()
    documents: list[int] = []
    for link in db.session.scalars(select(FamilyLink).where(FamilyLink.donor_id == donor.id)):
        if link.status != LINK_REMOVED:
            link.status = LINK_REMOVED
            link.removed_at = now
        if link.document_id is not None:
            documents.append(link.document_id)
        link.name = link.id_number = link.id_number_hash = None
        link.document_id = None
        link.reject_reason = None
    db.session.flush()
    db.session.execute(
        delete(DonorDocument).where(
            DonorDocument.donor_id == donor.id, DonorDocument.purpose == FAMILY_LINK_DOCUMENT
        )
    )
    audit.record(
        "family_link.erased",
        actor=("donor", donor.id),
        target=("donor", donor.id),
        details={"documents": len(documents)},
    )

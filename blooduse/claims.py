"""Claims after the fact: a donor claims the reduction of a bill paid in full (a hospital outside
the region's agreements, a bill paid before the donor knew), for themself or a verified relative,
with photos of the bill and the discharge summary; station staff approve the computed reduction
or reject it with a reason, then record the payout (issue 15, item 7).

Readings this module makes:

- **Nothing is held at submission.** The claim shows what would be granted on the day it is
  submitted (the entitlement as of the transfusion, `plan_draws`), and the pool is drawn only at
  approval, computed again then under `lock_pools`: a pool is never tied up by a claim that may be
  rejected, and the approved amount is what the pool gives when the station decides (it may be
  less than shown if the pool was used meanwhile; approval is refused when nothing remains).
- **A bill is reduced once.** A claim takes the bill's key (`bills.bill_key`, unique across the
  cashier, claims and imports) at submission, so a submitted claim and a cashier settlement of
  the same bill cannot both stand. A claim naming a registered hospital by its name is keyed by
  the hospital's code, as the cashier keys it. A rejected claim gives the key back (the bill was
  not reduced), so the donor may claim again with better papers.
- **No deadline.** POLICY.md has no claim deadline for any region (§3.2: "not found"), so none is
  enforced; a transfusion in the future is refused.
- A claim that would be granted nothing now is refused at submission (`no_entitlement`, with the
  reason), as approval would refuse it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, select

from blooduse import bills
from blooduse.entitlement import Draw, Entitlement, entitlement, plan_draws
from blooduse.ledger import lock_pools, record_draws
from blooduse.models import (
    APPROVED,
    BY_CLAIM,
    PAID,
    REJECTED,
    SUBMITTED,
    BloodFeeDocument,
    BloodFeeReduction,
    Hospital,
)
from blooduse.rules import relation_name
from core import audit, clock
from core.auth import Caller
from core.errors import ApiError, Detail
from core.extensions import db
from core.lookups import get_or_404
from donors.documents import store_document
from donors.models import LINK_VERIFIED, Donor, DonorDocument, FamilyLink
from notifications.outbox import Draft, write

BILL = "bill"
DISCHARGE_SUMMARY = "discharge_summary"
DOCUMENT_PURPOSE = {BILL: "blood_fee_bill", DISCHARGE_SUMMARY: "blood_fee_discharge"}

# How the station paid a claim out (an operational list, not a regulation).
PAYOUT_METHODS = ("bank_transfer", "wechat_pay", "alipay", "cash")


@dataclass(frozen=True)
class ClaimedBill:
    """What the donor says about the bill."""

    bill_number: str
    hospital_name: str | None
    hospital_code: str | None
    transfused_on: date
    discharged_on: date | None
    components: list[dict[str, Any]]
    fee_cents: int
    link_id: int | None = None

    @property
    def volume_ml(self) -> int:
        return bills.volume_of(self.components)


# ---------------------------------------------------------------- the donor


def _link_of(donor: Donor, link_id: int | None) -> FamilyLink | None:
    if link_id is None:
        return None
    link = get_or_404(
        FamilyLink,
        link_id,
        "relative_unknown",
        visible=lambda row: row.donor_id == donor.id,
        errors={"link_id": ["relative_unknown"]},
    )
    if link.status != LINK_VERIFIED or link.removed_at is not None:
        raise ApiError("relative_not_verified", 409, errors={"link_id": ["relative_not_verified"]})
    return link


def _hospital_of(claimed: ClaimedBill) -> tuple[Hospital | None, str]:
    """The registered hospital the bill names (by code, or by its exact name), and the name."""
    if claimed.hospital_code:
        hospital = db.session.scalar(select(Hospital).where(Hospital.code == claimed.hospital_code))
        if hospital is None:
            raise ApiError("hospital_unknown", 422, errors={"hospital_code": ["hospital_unknown"]})
        return hospital, hospital.name
    name = (claimed.hospital_name or "").strip()
    if not name:
        raise ApiError("field_required", 422, errors={"hospital_name": ["field_required"]})
    named = bills.hospital_named(name)
    if len(named) > 1:
        raise ApiError(
            "hospital_name_ambiguous", 422, errors={"hospital_name": ["hospital_name_ambiguous"]}
        )
    return (named[0], named[0].name) if named else (None, name)


def _check_dates(claimed: ClaimedBill) -> None:
    today = clock.local_today()
    if claimed.transfused_on > today:
        raise ApiError(
            "transfused_in_future", 422, errors={"transfused_on": ["transfused_in_future"]}
        )
    discharged = claimed.discharged_on
    if discharged is not None and not claimed.transfused_on <= discharged <= today:
        raise ApiError(
            "discharged_on_invalid", 422, errors={"discharged_on": ["discharged_on_invalid"]}
        )


def _refuse_a_reduced_bill(key: str) -> None:
    if db.session.scalar(select(BloodFeeReduction.id).where(BloodFeeReduction.bill_key == key)):
        raise ApiError(
            "bill_already_reduced", 409, errors={"bill_number": ["bill_already_reduced"]}
        )


def _pool_for(donor: Donor, claim: BloodFeeReduction) -> tuple[Entitlement, FamilyLink | None]:
    link = db.session.get(FamilyLink, claim.family_link_id) if claim.family_link_id else None
    found = entitlement(donor, claim.transfused_on, link, discharged_on=claim.discharged_on)
    return found, link


def _apply(claim: BloodFeeReduction, found: Entitlement, donor: Donor) -> list[Draw]:
    """Compute the claim's reduction from the pool as it stands; refused when it gives none."""
    draws = plan_draws(found, claim.volume_ml)
    covered = bills.covered_ml(draws)
    if covered <= 0:
        reason = found.refused or "nothing_remains"
        raise ApiError("no_entitlement", 409, errors={"reason": Detail(code=reason)})
    claim.covered_ml = covered
    claim.reduction_cents = bills.reduction_cents(claim.fee_cents, covered, claim.volume_ml)
    claim.rule = {"pool": found.pool, "windows": bills.drawn_windows(draws)}
    claim.region = draws[0].window.region if draws else donor.region
    return draws


def submit_claim(
    donor: Donor, claimed: ClaimedBill, bill_photo: bytes, discharge_summary: bytes
) -> BloodFeeReduction:
    """The claim, with what would be granted now; the pool is drawn only at approval."""
    link = _link_of(donor, claimed.link_id)
    _check_dates(claimed)
    hospital, hospital_name = _hospital_of(claimed)
    key = bills.bill_key(claimed.bill_number, hospital.code if hospital else None, hospital_name)
    _refuse_a_reduced_bill(key)
    claim = BloodFeeReduction(
        channel=BY_CLAIM,
        status=SUBMITTED,
        bill_key=key,
        bill_number=claimed.bill_number.strip(),
        hospital_id=hospital.id if hospital else None,
        hospital_name=hospital_name,
        donor_id=donor.id,
        family_link_id=link.id if link else None,
        region=donor.region,
        transfused_on=claimed.transfused_on,
        discharged_on=claimed.discharged_on,
        components=claimed.components,
        volume_ml=claimed.volume_ml,
        fee_cents=claimed.fee_cents,
        created_by_type="donor",
        created_by_id=donor.id,
    )
    found = entitlement(donor, claimed.transfused_on, link, discharged_on=claimed.discharged_on)
    _apply(claim, found, donor)
    db.session.add(claim)
    db.session.flush()
    for kind, data, field in (
        (BILL, bill_photo, "bill_photo"),
        (DISCHARGE_SUMMARY, discharge_summary, "discharge_summary"),
    ):
        document = store_document(donor.id, DOCUMENT_PURPOSE[kind], data, field=field)
        db.session.add(BloodFeeDocument(reduction_id=claim.id, document_id=document.id, kind=kind))
    audit.record(
        "blood_fee_claim.submitted",
        actor=("donor", donor.id),
        target=("blood_fee_reduction", claim.id),
        details={"pool": found.pool, "covered_ml": claim.covered_ml},
    )
    db.session.flush()
    return claim


def donor_claims_query(donor: Donor) -> Select:
    return (
        select(BloodFeeReduction)
        .where(BloodFeeReduction.channel == BY_CLAIM, BloodFeeReduction.donor_id == donor.id)
        .order_by(BloodFeeReduction.id.desc())
    )


def donor_claim(donor: Donor, claim_id: int) -> BloodFeeReduction:
    """One of the donor's own claims; another donor's is as unknown as one that does not exist."""
    return get_or_404(
        BloodFeeReduction,
        claim_id,
        "claim_unknown",
        visible=lambda row: row.channel == BY_CLAIM and row.donor_id == donor.id,
    )


# ---------------------------------------------------------------- station staff


def claims_query(status: str | None = None) -> Select:
    query = select(BloodFeeReduction).where(BloodFeeReduction.channel == BY_CLAIM)
    if status is not None:
        query = query.where(BloodFeeReduction.status == status)
    return query.order_by(BloodFeeReduction.id)


def get_claim(claim_id: int, *, for_update: bool = False) -> BloodFeeReduction:
    options: dict[str, Any] = {"with_for_update": True, "populate_existing": True}
    return get_or_404(
        BloodFeeReduction,
        claim_id,
        "claim_unknown",
        visible=lambda row: row.channel == BY_CLAIM,
        **(options if for_update else {}),
    )


def claim_document(claim_id: int, document_id: int, staff: Caller) -> DonorDocument:
    """A document attached to a claim, for the staff reviewing it; every look is audited."""
    claim = get_claim(claim_id)
    attached = get_or_404(BloodFeeDocument, (claim.id, document_id), "claim_document_unknown")
    document = get_or_404(DonorDocument, document_id, "claim_document_unknown")
    audit.record(
        "blood_fee_claim.document_viewed",
        actor=("staff", staff.principal_id),
        target=("donor_document", document.id),
        details={"donor": claim.donor_id, "claim": claim.id, "kind": attached.kind},
    )
    return document


def _require_status(claim: BloodFeeReduction, *wanted: str) -> None:
    if claim.status not in wanted:
        code = {
            PAID: "claim_already_paid",
            REJECTED: "claim_already_decided",
            APPROVED: "claim_already_decided",
        }.get(claim.status, "claim_not_approved")
        raise ApiError(code, 409, errors={"status": [claim.status]})


def approve_claim(claim_id: int, staff: Caller) -> BloodFeeReduction:
    """Draw the computed reduction from the pool, under the donor's lock; `no_entitlement` when
    nothing remains (the claim stays submitted: staff reject it with the reason)."""
    claim = get_claim(claim_id)
    lock_pools(claim.donor_id)
    claim = get_claim(claim_id, for_update=True)
    _require_status(claim, SUBMITTED)
    donor = db.session.get(Donor, claim.donor_id)
    assert donor is not None
    found, _link = _pool_for(donor, claim)
    draws = _apply(claim, found, donor)
    record_draws(claim, found.pool, draws)
    claim.status = APPROVED
    claim.reviewed_at = clock.now()
    claim.reviewed_by = staff.principal_id
    audit.record(
        "blood_fee_claim.approved",
        actor=("staff", staff.principal_id),
        target=("blood_fee_reduction", claim.id),
        details={"covered_ml": claim.covered_ml, "reduction_cents": claim.reduction_cents},
    )
    _tell(donor, claim, "blood_fee_claim_approved", {"amount": bills.yuan(claim.reduction_cents)})
    return claim


def reject_claim(claim_id: int, reason: str, staff: Caller) -> BloodFeeReduction:
    """The pool is untouched; the bill's key is given back so the bill may be claimed again."""
    claim = get_claim(claim_id, for_update=True)
    _require_status(claim, SUBMITTED)
    claim.status = REJECTED
    claim.reject_reason = reason
    claim.reviewed_at = clock.now()
    claim.reviewed_by = staff.principal_id
    claim.bill_key = f"rejected:{claim.id}"
    audit.record(
        "blood_fee_claim.rejected",
        actor=("staff", staff.principal_id),
        target=("blood_fee_reduction", claim.id),
    )
    donor = db.session.get(Donor, claim.donor_id)
    assert donor is not None
    _tell(donor, claim, "blood_fee_claim_rejected", {"reason": reason})
    return claim


def record_payout(
    claim_id: int, amount_cents: int, method: str, reference: str, staff: Caller
) -> BloodFeeReduction:
    """Once, after approval, at most the approved amount."""
    claim = get_claim(claim_id, for_update=True)
    _require_status(claim, APPROVED)
    if amount_cents > claim.reduction_cents:
        raise ApiError(
            "payout_exceeds_approved", 422, errors={"amount_cents": ["payout_exceeds_approved"]}
        )
    claim.status = PAID
    claim.payout_cents = amount_cents
    claim.payout_method = method
    claim.payout_reference = reference
    claim.paid_at = clock.now()
    claim.paid_by = staff.principal_id
    audit.record(
        "blood_fee_claim.paid",
        actor=("staff", staff.principal_id),
        target=("blood_fee_reduction", claim.id),
        details={"amount_cents": amount_cents, "method": method},
    )
    donor = db.session.get(Donor, claim.donor_id)
    assert donor is not None
    _tell(donor, claim, "blood_fee_claim_paid", {"amount": bills.yuan(amount_cents)})
    return claim


# ---------------------------------------------------------------- what the donor is told


@dataclass(frozen=True)
class Patient:
    """Whom a claimed bill was for: the donor, or a relative by relation (never by name)."""

    link_id: int | None
    relation: str | None
    relation_name: str | None

    @property
    def kind(self) -> str:
        return "self" if self.link_id is None else "relative"


def patient_of(claim: BloodFeeReduction) -> Patient:
    if claim.family_link_id is None:
        return Patient(None, None, None)
    link = db.session.get(FamilyLink, claim.family_link_id)
    donor = db.session.get(Donor, claim.donor_id)
    relation = link.relation if link else None
    named = relation_name(relation, donor.region) if relation and donor else None
    return Patient(claim.family_link_id, relation, named)


def documents_of(claim: BloodFeeReduction) -> list[Any]:
    """The claim's documents: id, kind, content type and size (never the bytes)."""
    return list(
        db.session.execute(
            select(
                DonorDocument.id,
                BloodFeeDocument.kind,
                DonorDocument.content_type,
                DonorDocument.size,
            )
            .join(BloodFeeDocument, BloodFeeDocument.document_id == DonorDocument.id)
            .where(BloodFeeDocument.reduction_id == claim.id)
            .order_by(DonorDocument.id)
        )
    )


def donor_of(claim: BloodFeeReduction) -> Donor | None:
    return db.session.get(Donor, claim.donor_id)


def patient_words(claim: BloodFeeReduction) -> str:
    """Whom the bill was for, as the donor reads it: 本人, or the relation (never a name)."""
    patient = patient_of(claim)
    if patient.link_id is None:
        return "本人"
    return f"您的{patient.relation_name or '亲属'}"


def _tell(donor: Donor, claim: BloodFeeReduction, template: str, extra: dict[str, Any]) -> None:
    context = {
        "name": donor.name or "",
        "patient": patient_words(claim),
        "bill": claim.bill_number,
        **extra,
    }
    write(template, [Draft(key=f"{template}:{claim.id}", context=context, donor=donor)])

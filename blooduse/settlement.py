"""One-stop settlement at a hospital's cashier (issue 15 items 3 and 4): look a patient up, settle
a transfusion bill against the entitlement, reverse it.

A patient is found by the keyed hash of their ID number, as a donor, as a relative named in a
donor's family links, or both; each is a pool (the donor's own; each donor's relatives' pool),
and the cashier learns only which pools there are and what they would grant now.

Where the rules come from (POLICY.md Decisions 2026-11-30, "a donation given in one region and a
transfusion in another"): each donation's entitlement follows the rules of the region where it
was given (blooduse.entitlement); a hospital settles directly only the donations given in its own
region or in a region its region's policy lists in `direct_settlement_regions` (a reciprocal
agreement); for the others it is told where to send the donor (that region's blood stations)
with what they would grant.

A settlement draws on one pool under the donor's lock (blooduse.ledger): the one the cashier
names (`link_id`), or the patient's own pool first, then the relatives' pools by most remaining.
It is idempotent on the bill number: the same bill again answers the same receipt; another bill
under the same number is refused. Before settling, the cashier may ask for the bill's quote:
the same calculation, nothing drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from blooduse import bills
from blooduse.entitlement import Draw, Entitlement, entitlement, plan_draws, rules_of
from blooduse.hospitals import Cashier
from blooduse.ledger import lock_pools, record_draws, restore_draws
from blooduse.models import (
    AT_HOSPITAL,
    DONOR_POOL,
    RELATIVES_POOL,
    REVERSED,
    SETTLED,
    BloodFeeReduction,
    Hospital,
    HospitalMonth,
)
from blooduse.rules import relation_name
from certificate.models import VALID, Donation
from core import audit, clock
from core.errors import ApiError, Detail
from core.extensions import db
from core.lookups import get_or_404
from core.masking import mask_name
from core.policy import policy_for, regions
from donors import family
from donors.models import DONOR_ERASED, Donor, FamilyLink
from donors.services import id_number_hash
from notifications.outbox import Draft, write
from notifications.services import salutation_name
from sites.models import Site

DONOR = "donor"
RELATIVE = "relative"
NEITHER = "neither"
BLOOD_STATION = "blood_station"
SETTLED_MESSAGE = "blood_fee_settled"
REVERSED_MESSAGE = "blood_fee_reversed"


# ---------------------------------------------------------------- who the patient is


@dataclass(frozen=True)
class Patient:
    """The donor the ID number belongs to, and the family links that name it (not removed)."""

    donor: Donor | None
    links: list[FamilyLink]

    @property
    def answer(self) -> str:
        if self.donor is not None:
            return DONOR
        return RELATIVE if self.links else NEITHER


def find_patient(id_number: str) -> Patient:
    hashed = id_number_hash(id_number)
    donor = db.session.scalar(
        select(Donor).where(Donor.id_number_hash == hashed, Donor.status != DONOR_ERASED)
    )
    if donor is not None and not _has_donated(donor):
        donor = None  # registered, but no donation on record: not a donor for blood use
    return Patient(donor, family.links_naming(hashed))


def _has_donated(donor: Donor) -> bool:
    return (
        db.session.scalar(
            select(Donation.id).where(Donation.donor_id == donor.id, Donation.status == VALID)
        )
        is not None
    )


def settleable_regions(hospital_region: str) -> tuple[str, ...]:
    """The donation regions whose rules a hospital of `hospital_region` applies at its cashier:
    its own, and those its policy names by reciprocal agreement (Decisions 2026-11-30)."""
    rules = rules_of(hospital_region)
    agreed = rules.direct_settlement_regions if rules else ()
    return (hospital_region, *(region for region in agreed if region != hospital_region))


# ---------------------------------------------------------------- what a pool offers


@dataclass(frozen=True)
class Referral:
    """Donations given in a region this hospital may not settle: where to send the donor."""

    region: str
    region_name: str
    law: str
    entitlement: Entitlement
    stations: list[Site]


@dataclass(frozen=True)
class PoolOffer:
    """One pool the patient may draw on: what this hospital may settle (`here`), and what other
    regions' stations would grant (`referrals`)."""

    donor: Donor
    link: FamilyLink | None
    relation_name: str | None
    here: Entitlement
    referrals: list[Referral] = field(default_factory=list)

    @property
    def pool(self) -> str:
        return DONOR_POOL if self.link is None else RELATIVES_POOL

    @property
    def donor_masked(self) -> str | None:
        return None if self.link is None else mask_name(self.donor.name)

    @property
    def settle_here(self) -> bool:
        return self.here.refused is None and (
            self.here.unlimited or (self.here.remaining_ml or 0) > 0
        )

    @property
    def drawing_rank(self) -> tuple[int, int]:
        """The order a settlement without `link_id` tries pools in: own pool first, then the
        relatives' pools by most remaining."""
        if self.link is None:
            return (0, 0)
        remaining = self.here.remaining_ml
        return (1, -(remaining or 0))


@dataclass(frozen=True)
class Lookup:
    answer: str
    pools: list[PoolOffer]
    hospital_region: str
    settleable_regions: tuple[str, ...]


def _offer(
    donor: Donor,
    link: FamilyLink | None,
    on: date,
    here_regions: tuple[str, ...],
    *,
    discharged_on: date | None = None,
    with_referrals: bool,
) -> PoolOffer:
    here = entitlement(
        donor,
        on,
        link,
        discharged_on=discharged_on,
        only_regions=here_regions,
        unclaimed_history=True,
    )
    referrals = []
    if with_referrals:
        for region in _donation_regions(donor):
            if region in here_regions or region not in regions():
                continue
            elsewhere = entitlement(
                donor,
                on,
                link,
                discharged_on=discharged_on,
                only_regions=[region],
                unclaimed_history=True,
            )
            if not elsewhere.windows:
                continue
            referrals.append(_referral(region, elsewhere))
    name = None
    if link is not None:
        name = relation_name(link.relation, here_regions[0], donor.region)
    return PoolOffer(donor, link, name, here, referrals)


def _donation_regions(donor: Donor) -> list[str]:
    return sorted(
        db.session.scalars(
            select(Donation.region)
            .where(Donation.donor_id == donor.id, Donation.status == VALID)
            .distinct()
        )
    )


def _referral(region: str, found: Entitlement) -> Referral:
    rules = rules_of(region)
    stations = db.session.scalars(
        select(Site)
        .where(Site.region == region, Site.kind == BLOOD_STATION, Site.active.is_(True))
        .order_by(Site.id)
        .limit(current_app.config["HOSPITAL_REFERRAL_STATIONS_MAX"])
    ).all()
    return Referral(
        region, policy_for(region).name_zh, rules.law if rules else "", found, list(stations)
    )


def _offers(
    patient: Patient,
    on: date,
    here_regions: tuple[str, ...],
    *,
    discharged_on: date | None = None,
    with_referrals: bool,
) -> list[PoolOffer]:
    offers = []
    if patient.donor is not None:
        offers.append(
            _offer(
                patient.donor,
                None,
                on,
                here_regions,
                discharged_on=discharged_on,
                with_referrals=with_referrals,
            )
        )
    for link in patient.links:
        donor = db.session.get(Donor, link.donor_id)
        assert donor is not None  # a link's donor is a foreign key
        offers.append(
            _offer(
                donor,
                link,
                on,
                here_regions,
                discharged_on=discharged_on,
                with_referrals=with_referrals,
            )
        )
    return sorted(offers, key=lambda offer: offer.drawing_rank)


def look_up(cashier: Cashier, id_number: str) -> Lookup:
    """What the patient is to free blood use, and what would apply today; audited (a hospital
    looked a person up: PIPL), without the ID number."""
    patient = find_patient(id_number)
    here = settleable_regions(cashier.region)
    offers = _offers(patient, clock.local_today(), here, with_referrals=True)
    target: tuple[str, Any] = (
        ("donor", patient.donor.id)
        if patient.donor is not None
        else ("hospital", cashier.hospital_id)
    )
    audit.record(
        "blood_use.looked_up",
        actor=("device", cashier.device_id),
        target=target,
        details={
            "hospital": cashier.hospital_id,
            "answer": patient.answer,
            "family_links": [link.id for link in patient.links],
        },
    )
    return Lookup(patient.answer, offers, cashier.region, here)


# ---------------------------------------------------------------- settling a bill


@dataclass(frozen=True)
class Bill:
    bill_number: str
    id_number: str
    transfused_on: date
    components: list[dict[str, Any]]
    fee_cents: int
    discharged_on: date | None = None
    link_id: int | None = None

    @property
    def volume_ml(self) -> int:
        return bills.volume_of(self.components)


@dataclass(frozen=True)
class Receipt:
    """A settled (or reversed) bill as the cashier prints it: the reduction, and who it was for
    (read from the donor or the link; the schema masks them)."""

    reduction: BloodFeeReduction
    patient_name: str | None
    patient_id_number: str | None
    relation: str | None
    relation_name: str | None
    donor_name: str | None

    @property
    def payable_cents(self) -> int:
        return self.reduction.fee_cents - self.reduction.reduction_cents


def receipt_of(reduction: BloodFeeReduction) -> Receipt:
    donor = db.session.get(Donor, reduction.donor_id)
    assert donor is not None
    if reduction.family_link_id is None:
        return Receipt(reduction, donor.name, donor.id_number, None, None, None)
    link = db.session.get(FamilyLink, reduction.family_link_id)
    assert link is not None
    name = relation_name(link.relation, reduction.region, donor.region)
    return Receipt(reduction, link.name, link.id_number, link.relation, name, donor.name)


def _check_dates(bill: Bill) -> None:
    if bill.transfused_on > clock.local_today():
        raise ApiError(
            "transfused_in_future", 422, errors={"transfused_on": ["transfused_in_future"]}
        )
    if bill.discharged_on is not None and bill.discharged_on < bill.transfused_on:
        raise ApiError(
            "discharged_before_transfusion",
            422,
            errors={"discharged_on": ["discharged_before_transfusion"]},
        )


def _same_bill(existing: BloodFeeReduction, cashier: Cashier, bill: Bill, patient: Patient) -> bool:
    """Whether a bill already recorded under the number is this one (a retry)."""
    if existing.channel != AT_HOSPITAL or existing.hospital_id != cashier.hospital_id:
        return False
    if existing.family_link_id is None:
        for_patient = patient.donor is not None and patient.donor.id == existing.donor_id
    else:
        for_patient = any(link.id == existing.family_link_id for link in patient.links)
    return (
        for_patient
        and (bill.link_id is None or bill.link_id == existing.family_link_id)
        and existing.transfused_on == bill.transfused_on
        and existing.discharged_on == bill.discharged_on
        and existing.fee_cents == bill.fee_cents
        and existing.components == bill.components
    )


def _existing(key: str) -> BloodFeeReduction | None:
    return db.session.scalar(
        select(BloodFeeReduction)
        .where(BloodFeeReduction.bill_key == key)
        .execution_options(populate_existing=True)
    )


def _answer_again(
    existing: BloodFeeReduction, cashier: Cashier, bill: Bill, patient: Patient
) -> Receipt:
    if not _same_bill(existing, cashier, bill, patient):
        raise ApiError(
            "bill_already_settled", 409, errors={"bill_number": ["bill_already_settled"]}
        )
    if existing.status == REVERSED:
        raise ApiError("settlement_reversed", 409, errors={"bill_number": ["settlement_reversed"]})
    return receipt_of(existing)


def _choose(offers: list[PoolOffer], bill: Bill, patient: Patient) -> PoolOffer | None:
    if bill.link_id is not None:
        if not any(link.id == bill.link_id for link in patient.links):
            raise ApiError("link_not_patients", 422, errors={"link_id": ["link_not_patients"]})
        return next(offer for offer in offers if offer.link and offer.link.id == bill.link_id)
    usable = [offer for offer in offers if offer.settle_here]
    return usable[0] if usable else (offers[0] if offers else None)


def _refuse_uncovered(
    patient: Patient, chosen: PoolOffer | None, bill: Bill, cashier: Cashier
) -> ApiError:
    """No ml is covered here: sent to another region's station, or no entitlement at all."""
    if chosen is None:
        return ApiError("no_entitlement", 422, errors={"reason": Detail(code="not_a_donor")})
    with_referrals = _offer(
        chosen.donor,
        chosen.link,
        bill.transfused_on,
        settleable_regions(cashier.region),
        discharged_on=bill.discharged_on,
        with_referrals=True,
    )
    if chosen.here.refused is None and with_referrals.referrals:
        return ApiError(
            "settle_at_donation_region",
            422,
            errors={"regions": [referral.region for referral in with_referrals.referrals]},
        )
    if chosen.here.refused == "link_not_verified":
        return ApiError("link_not_verified", 422, errors={"link_id": ["link_not_verified"]})
    reason = chosen.here.refused or ("nothing_remains" if chosen.here.windows else "none_in_force")
    return ApiError("no_entitlement", 422, errors={"reason": Detail(code=reason)})


def _rule(offer: PoolOffer, draws: list[Draw], covered_ml: int) -> dict[str, Any]:
    """What was applied under which rule, kept with the bill for its receipt and the month."""
    before = offer.here.remaining_ml
    return {
        "pool": offer.pool,
        "relation": offer.link.relation if offer.link else None,
        "unlimited": offer.here.unlimited,
        "remaining_ml": None if before is None else before - covered_ml,
        "windows": bills.drawn_windows(draws),
    }


def _plan(cashier: Cashier, bill: Bill, patient: Patient) -> tuple[PoolOffer, list[Draw], int]:
    """The pool a bill draws on, its draws and the ml they cover; refused when nothing is
    covered here. One calculation for the settlement and for its quote."""
    here = settleable_regions(cashier.region)
    offers = _offers(
        patient, bill.transfused_on, here, discharged_on=bill.discharged_on, with_referrals=False
    )
    chosen = _choose(offers, bill, patient)
    draws = plan_draws(chosen.here, bill.volume_ml) if chosen else []
    covered_ml = bills.covered_ml(draws)
    if chosen is None or covered_ml == 0:
        raise _refuse_uncovered(patient, chosen, bill, cashier)
    return chosen, draws, covered_ml


@dataclass(frozen=True)
class Quote:
    """What settling a bill would reduce now, before the cashier settles it; nothing is drawn.
    `already_settled`: this very bill is settled already (settling again answers its receipt)."""

    bill: Bill
    region: str
    covered_ml: int
    reduction_cents: int
    rule: dict[str, Any]
    relation_name: str | None
    donor_name: str | None
    already_settled: bool = False

    @property
    def volume_ml(self) -> int:
        return self.bill.volume_ml

    @property
    def payable_cents(self) -> int:
        return self.bill.fee_cents - self.reduction_cents


def quote(cashier: Cashier, bill: Bill) -> Quote:
    """The reduction the bill would get if settled now, by the settlement's own calculation;
    audited like a look-up (it names a patient). Without the donor's lock: a settlement in
    between may leave less, and the settlement's own answer is the one that counts."""
    _check_dates(bill)
    patient = find_patient(bill.id_number)
    existing = _existing(bills.bill_key(bill.bill_number, cashier.code))
    if existing is not None:
        receipt = _answer_again(existing, cashier, bill, patient)
        found = Quote(
            bill,
            existing.region,
            existing.covered_ml,
            existing.reduction_cents,
            existing.rule or {},
            receipt.relation_name,
            receipt.donor_name,
            already_settled=True,
        )
    else:
        chosen, draws, covered_ml = _plan(cashier, bill, patient)
        found = Quote(
            bill,
            draws[0].window.region,
            covered_ml,
            bills.reduction_cents(bill.fee_cents, covered_ml, bill.volume_ml),
            _rule(chosen, draws, covered_ml),
            chosen.relation_name,
            chosen.donor.name if chosen.link else None,
        )
    audit.record(
        "blood_fee.quoted",
        actor=("device", cashier.device_id),
        target=("hospital", cashier.hospital_id),
        details={"hospital": cashier.hospital_id, "covered_ml": found.covered_ml},
    )
    return found


def settle(cashier: Cashier, bill: Bill) -> tuple[Receipt, bool]:
    """Settle a transfusion bill at the cashier: the receipt, and whether it is new (False: the
    same bill again, answered as the first time)."""
    _check_dates(bill)
    key = bills.bill_key(bill.bill_number, cashier.code)
    patient = find_patient(bill.id_number)
    donors = {patient.donor.id} if patient.donor else set()
    donors |= {link.donor_id for link in patient.links}
    for donor_id in sorted(donors):  # one order for every request: no deadlock between two
        lock_pools(donor_id)
    existing = _existing(key)
    if existing is not None:
        return _answer_again(existing, cashier, bill, patient), False
    chosen, draws, covered_ml = _plan(cashier, bill, patient)
    reduction = BloodFeeReduction(
        channel=AT_HOSPITAL,
        status=SETTLED,
        bill_key=key,
        bill_number=bill.bill_number,
        hospital_id=cashier.hospital_id,
        hospital_name=cashier.name,
        donor_id=chosen.donor.id,
        family_link_id=chosen.link.id if chosen.link else None,
        region=draws[0].window.region,
        transfused_on=bill.transfused_on,
        discharged_on=bill.discharged_on,
        components=bill.components,
        volume_ml=bill.volume_ml,
        fee_cents=bill.fee_cents,
        covered_ml=covered_ml,
        reduction_cents=bills.reduction_cents(bill.fee_cents, covered_ml, bill.volume_ml),
        rule=_rule(chosen, draws, covered_ml),
        settled_on=clock.local_today(),
        created_by_type="device",
        created_by_id=cashier.device_id,
    )
    db.session.add(reduction)
    try:
        db.session.flush()
    except IntegrityError:
        # The same number for another patient raced this one (no lock in common): answer as
        # the bill that got there first.
        db.session.rollback()
        existing = _existing(key)
        if existing is None:
            raise ApiError("conflict", 409) from None
        return _answer_again(existing, cashier, bill, find_patient(bill.id_number)), False
    record_draws(reduction, chosen.pool, draws)
    audit.record(
        "blood_fee.settled",
        actor=("device", cashier.device_id),
        target=("blood_fee_reduction", reduction.id),
        details={"hospital": cashier.hospital_id, "covered_ml": covered_ml},
    )
    receipt = receipt_of(reduction)
    _tell_donor(chosen, receipt)
    return receipt, True


def _tell_donor(offer: PoolOffer, receipt: Receipt) -> None:
    """The donor hears that a reduction was settled on their donations, and what remains."""
    reduction = receipt.reduction
    rule = reduction.rule or {}
    for_whom = "您本人" if offer.link is None else f"您的{offer.relation_name}"
    if rule.get("unlimited"):
        remaining = "您本人用血终身免费。" if offer.link is None else ""
    else:
        remaining = f"在本地区医院还可免费用血{rule.get('remaining_ml', 0)}毫升。"
    write(
        SETTLED_MESSAGE,
        [
            Draft(
                key=f"{SETTLED_MESSAGE}:{reduction.id}",
                donor=offer.donor,
                context={
                    "name": salutation_name(offer.donor),
                    "for_whom": for_whom,
                    "hospital": reduction.hospital_name,
                    "covered": f"{reduction.covered_ml}毫升",
                    "amount": bills.yuan(reduction.reduction_cents),
                    "remaining": remaining,
                },
            )
        ],
    )


# ---------------------------------------------------------------- reversing a bill


def _month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def lock_hospital(hospital_id: int) -> None:
    """Held by a month's confirmation and by a reversal, so neither sees the month half-done
    (SQLite has no row locks: a write takes its one write lock, as blooduse.ledger does)."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("UPDATE hospitals SET id = id WHERE id = :id"), {"id": hospital_id})
        return
    db.session.execute(select(Hospital.id).where(Hospital.id == hospital_id).with_for_update())


def month_confirmed(hospital_id: int, month: str) -> bool:
    return (
        db.session.scalar(
            select(HospitalMonth.id).where(
                HospitalMonth.hospital_id == hospital_id, HospitalMonth.month == month
            )
        )
        is not None
    )


def _reverse(
    reduction: BloodFeeReduction, actor: tuple[str, int], reason: str, *, by_admin: bool
) -> Receipt:
    lock_pools(reduction.donor_id)
    db.session.refresh(reduction)
    if reduction.status != SETTLED:
        raise ApiError("settlement_already_reversed", 409)
    if reduction.hospital_id is not None:
        lock_hospital(reduction.hospital_id)
        confirmed = reduction.settled_on is not None and month_confirmed(
            reduction.hospital_id, _month_of(reduction.settled_on)
        )
        if confirmed and not by_admin:
            raise ApiError("month_confirmed", 409)
    restored = restore_draws(reduction)
    reduction.status = REVERSED
    reduction.reversed_at = clock.now()
    reduction.reversed_by_type, reduction.reversed_by_id = actor
    reduction.reverse_reason = reason
    audit.record(
        "blood_fee.reversed",
        actor=actor,
        target=("blood_fee_reduction", reduction.id),
        details={"hospital": reduction.hospital_id, "restored_ml": restored},
    )
    _tell_donor_of_reversal(reduction)
    return receipt_of(reduction)


def _tell_donor_of_reversal(reduction: BloodFeeReduction) -> None:
    """The donor heard of the reduction, so they hear it was undone and their right restored."""
    donor = db.session.get_one(Donor, reduction.donor_id)
    link = (
        db.session.get(FamilyLink, reduction.family_link_id) if reduction.family_link_id else None
    )
    for_whom = "您本人" if link is None else f"您的{relation_name(link.relation, reduction.region)}"
    write(
        REVERSED_MESSAGE,
        [
            Draft(
                key=f"{REVERSED_MESSAGE}:{reduction.id}",
                donor=donor,
                context={
                    "name": salutation_name(donor),
                    "for_whom": for_whom,
                    "hospital": reduction.hospital_name,
                    "covered": f"{reduction.covered_ml}毫升",
                    "amount": bills.yuan(reduction.reduction_cents),
                },
            )
        ],
    )


def cashier_settlement(cashier: Cashier, bill_number: str) -> BloodFeeReduction:
    """A bill this hospital settled (any other answers as unknown)."""
    reduction = _existing(bills.bill_key(bill_number, cashier.code))
    if (
        reduction is None
        or reduction.channel != AT_HOSPITAL
        or reduction.hospital_id != cashier.hospital_id
    ):
        raise ApiError("settlement_unknown", 404)
    return reduction


def reverse_at_hospital(cashier: Cashier, bill_number: str, reason: str) -> Receipt:
    """The cashier undoes a settlement (a wrong patient, a cancelled bill): the entitlement is
    restored; refused once the hospital confirmed the bill's month."""
    reduction = cashier_settlement(cashier, bill_number)
    return _reverse(reduction, ("device", cashier.device_id), reason, by_admin=False)


def reverse_by_admin(reduction_id: int, admin_id: int, reason: str) -> Receipt:
    """An administrator reverses a settled bill, in a confirmed month too."""
    reduction = get_or_404(BloodFeeReduction, reduction_id, "blood_fee_reduction_unknown")
    return _reverse(reduction, ("staff", admin_id), reason, by_admin=True)

"""Recording donations, issuing and voiding certificates, and the donor's totals.

`record_donation` is the one way a donation enters the system through the API: it checks
eligibility, takes or makes the DIN, writes the donation, its signed certificate and the new
totals, and sends `donation_recorded`, all in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from certificate.eligibility import Eligibility, check_eligibility
from certificate.events import card_requested, donation_recorded, donation_voided
from certificate.models import (
    IMPORTED,
    RECORDED,
    VALID,
    VOIDED,
    Certificate,
    DinSequence,
    Donation,
    DonorTotals,
)
from certificate.visits import resolve_visit
from core import audit, clock
from core.auth import Caller
from core.errors import ApiError
from core.extensions import db
from core.ids import Din, DinError, certificate_number, make_din, parse_din
from core.masking import mask_name
from core.models import AuditEntry
from core.policy import PolicyUndecided, RegionPolicy, policy_for
from core.signing import SignatureInvalid, keyring
from donors.models import Donor
from donors.services import find_donor_by_id_number
from sites.models import Site

CERTIFICATE_TOKEN_TYPE = "donation-certificate+jwt"
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class DonationRequest:
    donor: Donor
    site: Site
    kind: str
    volume_ml: int | None
    units: int | None
    collected_at: datetime
    din: str | None
    override_reason: str | None
    visit_id: int | None = None


def check_amount(
    policy: RegionPolicy, kind: str, volume_ml: int | None, units: int | None, on: date
) -> None:
    """Volume in ml or therapeutic units, whichever the policy in force on `on` measures."""
    try:
        rule = policy.kind(kind, on)
    except KeyError:
        raise ApiError(
            "unknown_donation_kind", 422, errors={"kind": ["unknown_donation_kind"]}
        ) from None
    except PolicyUndecided:
        raise ApiError("amount_not_decided", 422, errors={"kind": ["amount_not_decided"]}) from None
    amount, other, field = (
        (volume_ml, units, "volume_ml") if rule.unit == "ml" else (units, volume_ml, "units")
    )
    if other is not None:
        wrong = "units" if field == "volume_ml" else "volume_ml"
        raise ApiError("amount_unit_mismatch", 422, errors={wrong: ["amount_unit_mismatch"]})
    if amount is None:
        raise ApiError("validation_failed", 422, errors={field: ["field_required"]})
    try:
        allowed = rule.allowed_amounts
    except PolicyUndecided:
        allowed = None
    if not allowed:
        raise ApiError("amount_not_decided", 422, errors={field: ["amount_not_decided"]})
    if amount not in allowed:
        raise ApiError("amount_not_allowed", 422, errors={field: ["amount_not_allowed"]})


def next_din(site: Site, year: int) -> Din:
    """A fresh DIN from this site's facility code, under a row lock on the year's counter.

    The counter row is created with INSERT ... ON CONFLICT DO NOTHING first, so two stations
    recording the year's first donations at the same moment queue on the lock instead of one
    failing on a duplicate key.
    """
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(
        insert(DinSequence)
        .values(facility_code=site.facility_code, year=year, last=0)
        .on_conflict_do_nothing()
    )
    counter = db.session.scalar(
        select(DinSequence)
        .where(DinSequence.facility_code == site.facility_code, DinSequence.year == year)
        .with_for_update()
    )
    counter.last += 1
    db.session.flush()
    return make_din(site.facility_code, year, counter.last)


def record_donation(request: DonationRequest, staff: Caller) -> tuple[Donation, Eligibility]:
    policy = policy_for(request.site.region)
    now = clock.now()
    if request.collected_at > now + CLOCK_SKEW:
        raise ApiError("collected_in_future", 422, errors={"collected_at": ["collected_in_future"]})
    day = clock.to_local(request.collected_at).date()
    check_amount(policy, request.kind, request.volume_ml, request.units, day)
    donor = db.session.scalar(select(Donor).where(Donor.id == request.donor.id).with_for_update())
    eligibility = check_eligibility(donor, request.kind, day, policy)
    if not eligibility.allowed:
        if not request.override_reason:
            raise ApiError(
                "donor_not_eligible",
                409,
                errors={"eligibility": [reason.code for reason in eligibility.reasons]},
            )
    if request.din:
        try:
            din = parse_din(request.din)
        except DinError as error:
            raise ApiError(error.code, 422, errors={"din": [error.code]}) from error
    else:
        din = next_din(request.site, day.year)
    if db.session.scalar(
        select(Donation.id).where(Donation.din == din.body, Donation.status == VALID)
    ):
        raise ApiError("din_taken", 409, errors={"din": ["din_taken"]})

    donation = Donation(
        donor_id=donor.id,
        site_id=request.site.id,
        facility_code=request.site.facility_code,
        staff_id=staff.principal_id,
        kind=request.kind,
        volume_ml=request.volume_ml,
        units=request.units,
        collected_at=request.collected_at,
        donation_date=day,
        din=din.body,
        din_flags=din.flags,
        din_check=din.check,
        status=VALID,
        source=RECORDED,
        region=request.site.region,
        override_reason=request.override_reason if not eligibility.allowed else None,
        visit_id=request.visit_id,
    )
    db.session.add(donation)
    try:
        db.session.flush()
    except IntegrityError as error:
        raise ApiError("din_taken", 409, errors={"din": ["din_taken"]}) from error
    if donation.override_reason:
        audit.record(
            "donation.eligibility_overridden",
            actor=("staff", staff.principal_id),
            target=("donation", donation.id),
            details={
                "reasons": [reason.code for reason in eligibility.reasons],
                "override_reason": donation.override_reason,
            },
        )
    audit.record(
        "donation.recorded", actor=("staff", staff.principal_id), target=("donation", donation.id)
    )
    issue_certificate(donation, donor)
    refresh_totals(donor)
    donation_recorded.send(current_app._get_current_object(), donation=donation)
    return donation, eligibility


def donation_donor(
    site: Site, id_number: str | None, visit_id: int | None
) -> tuple[Donor, int | None]:
    """The donor a recording names: by ID number, or by the check-in visit they came from."""
    if visit_id is None:
        donor = find_donor_by_id_number(id_number or "")
        if donor is None:
            raise ApiError("donor_not_found", 404)
        return donor, None
    visit = resolve_visit(visit_id)
    if visit is None:
        raise ApiError("visit_not_found", 404, errors={"visit_id": ["visit_not_found"]})
    if visit.site_id != site.id:
        raise ApiError("visit_other_site", 409, errors={"visit_id": ["visit_other_site"]})
    if not visit.open:
        raise ApiError("visit_not_open", 409, errors={"visit_id": ["visit_not_open"]})
    return db.session.get(Donor, visit.donor_id), visit.id


def certificate_claims(donation: Donation, donor: Donor, number: str) -> dict[str, Any]:
    """What the certificate attests, with the donor's name masked: this is what anyone can see."""
    amount, unit = (
        (donation.volume_ml, "ml") if donation.volume_ml is not None else (donation.units, "unit")
    )
    return {
        "no": number,
        "name": mask_name(donor.name),
        "kind": donation.kind,
        "amount": amount,
        "unit": unit,
        "date": donation.donation_date.isoformat(),
        "site": donation.facility_code,
        "iat": int(clock.now().timestamp()),
    }


def issue_certificate(donation: Donation, donor: Donor) -> Certificate:
    certificate = Certificate(
        donation_id=donation.id, donor_id=donor.id, number="", kid="", signed_token=""
    )
    db.session.add(certificate)
    db.session.flush()
    number = certificate_number(donation.donation_date.year, certificate.id)
    ring = keyring()
    certificate.number = number
    certificate.kid = ring.active.kid
    certificate.signed_token = ring.sign(
        certificate_claims(donation, donor, number), CERTIFICATE_TOKEN_TYPE
    )
    donation.certificate = certificate
    return certificate


def refresh_totals(donor: Donor) -> DonorTotals:
    """Recompute from the valid, proven donations: totals can never drift from the records."""
    donations = db.session.scalars(
        select(Donation).where(visible_to_donor(donor), Donation.status == VALID)
    ).all()
    totals = db.session.get(DonorTotals, donor.id)
    if totals is None:
        totals = DonorTotals(donor_id=donor.id)
        db.session.add(totals)
    award_counts = 0
    by_kind: dict[str, dict[str, int]] = {}
    for donation in donations:
        award_counts += award_counts_for(donation)
        entry = by_kind.setdefault(donation.kind, {"donations": 0, "volume_ml": 0, "units": 0})
        entry["donations"] += 1
        entry["volume_ml"] += donation.volume_ml or 0
        entry["units"] += donation.units or 0
    totals.donations = len(donations)
    totals.award_counts = award_counts
    totals.by_kind = by_kind
    totals.last_donation_date = max((d.donation_date for d in donations), default=None)
    totals.updated_at = clock.now()
    return totals


def award_counts_for(donation: Donation) -> int:
    """Counts by the national award rules in force on the donation's date (0 while undecided)."""
    return count_donation(donation).counts or 0


@dataclass(frozen=True)
class CountedDonation:
    """A donation with its counts by the national award rules, or the question that stops them.

    A 300 ml whole-blood or a plasma donation has no settled count: it is "not yet counted",
    shown with its open question, never silently 0 and never guessed.
    """

    donation: Donation
    counts: int | None
    open_question: str | None


def count_donation(donation: Donation) -> CountedDonation:
    policy = policy_for(donation.region)
    amount = donation.volume_ml if donation.volume_ml is not None else donation.units
    try:
        counts = policy.counts_for(donation.kind, amount or 0, donation.donation_date)
    except PolicyUndecided as undecided:
        return CountedDonation(donation, None, undecided.question)
    return CountedDonation(donation, counts, None)


def counted_donations(donor: Donor, region: str | None = None) -> list[CountedDonation]:
    """The donor's valid, proven donations (in `region` if given), oldest first, with counts."""
    query = select(Donation).where(visible_to_donor(donor), Donation.status == VALID)
    if region is not None:
        query = query.where(Donation.region == region)
    donations = db.session.scalars(query.order_by(Donation.donation_date, Donation.id))
    return [count_donation(donation) for donation in donations]


def void_donation(donation: Donation, reason: str, admin: Caller) -> Donation:
    """Mark a donation void; its certificate shows voided and everything derived follows."""
    if donation.status == VOIDED:
        raise ApiError("donation_already_voided", 409)
    donation.status = VOIDED
    donation.voided_at = clock.now()
    donation.voided_by = admin.principal_id
    donation.void_reason = reason
    db.session.flush()
    refresh_totals(donation.donor)
    audit.record(
        "donation.voided",
        actor=("staff", admin.principal_id),
        target=("donation", donation.id),
        details={"reason": reason},
    )
    donation_voided.send(current_app._get_current_object(), donation=donation)
    return donation


def get_donation(donation_id: int) -> Donation:
    donation = db.session.get(Donation, donation_id)
    if donation is None:
        raise ApiError("not_found", 404)
    return donation


def visible_to_donor(donor: Donor):
    """Imported history stays hidden until the donor proves a donation number from it."""
    condition = Donation.donor_id == donor.id
    if donor.history_claimed_at is None:
        condition = condition & (Donation.source != IMPORTED)
    return condition


def donor_certificates_query(donor: Donor):
    return (
        select(Certificate)
        .join(Donation, Certificate.donation_id == Donation.id)
        .where(visible_to_donor(donor))
        .order_by(Donation.collected_at.desc(), Certificate.id.desc())
    )


def donor_certificate(donor: Donor, number: str) -> Certificate:
    certificate = db.session.scalar(
        donor_certificates_query(donor).where(Certificate.number == number)
    )
    if certificate is None:
        raise ApiError("not_found", 404)
    return certificate


def find_certificate(number: str) -> Certificate | None:
    """With its donation and site in the same query: verification is the public hot path."""
    return db.session.scalar(
        select(Certificate)
        .options(joinedload(Certificate.donation).joinedload(Donation.site))
        .where(Certificate.number == number)
    )


def totals_for(donor: Donor) -> DonorTotals:
    return db.session.get(DonorTotals, donor.id) or DonorTotals(
        donor_id=donor.id, donations=0, award_counts=0, by_kind={}
    )


def latest_certificate(donor: Donor) -> Certificate | None:
    return db.session.scalar(donor_certificates_query(donor).limit(1))


def printed_din(donation: Donation) -> str:
    return f"{donation.din} {donation.din_flags} {donation.din_check}"


def verification_url(number: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/v/{number}"


def certificate_view(certificate: Certificate) -> dict[str, Any]:
    donation = certificate.donation
    policy = policy_for(donation.region)
    return {
        "number": certificate.number,
        "issued_at": certificate.issued_at,
        "status": donation.status,
        "kind": donation.kind,
        "kind_name": policy.kind_name(donation.kind),
        "volume_ml": donation.volume_ml,
        "units": donation.units,
        "donation_date": donation.donation_date,
        "collected_at": donation.collected_at,
        "site": {
            "facility_code": donation.facility_code,
            "name": donation.site.name if donation.site else None,
        },
        "din": printed_din(donation),
        "verify_url": verification_url(certificate.number),
        "kid": certificate.kid,
        "signed_token": certificate.signed_token,
    }


def donation_view(donation: Donation) -> dict[str, Any]:
    return {
        "id": donation.id,
        "donor_id": donation.donor_id,
        "site_id": donation.site_id,
        "kind": donation.kind,
        "volume_ml": donation.volume_ml,
        "units": donation.units,
        "collected_at": donation.collected_at,
        "donation_date": donation.donation_date,
        "din": printed_din(donation),
        "status": donation.status,
        "replaces_id": donation.replaces_id,
        "override_reason": donation.override_reason,
        "certificate": certificate_view(donation.certificate) if donation.certificate else None,
    }


def verify_certificate(number: str) -> dict[str, Any] | None:
    """Anyone's check of a certificate: signature, status, and only masked facts."""
    certificate = find_certificate(number)
    if certificate is None:
        return None
    try:
        claims = keyring().verify(
            certificate.signed_token, CERTIFICATE_TOKEN_TYPE, verify_exp=False
        )
        signature = "valid"
    except SignatureInvalid:
        claims, signature = {}, "invalid"
    donation = certificate.donation
    status = donation.status if signature == "valid" else "invalid"
    policy = policy_for(donation.region)
    return {
        "status": status,
        "signature": signature,
        "kid": certificate.kid,
        "signed_token": certificate.signed_token,
        "certificate": {
            "number": certificate.number,
            "name": claims.get("name"),
            "date": claims.get("date"),
            "kind": claims.get("kind"),
            "kind_name": policy.kind_name(donation.kind),
            "amount": claims.get("amount"),
            "unit": claims.get("unit"),
            "site": claims.get("site"),
            "site_name": donation.site.name if donation.site else None,
        },
    }


def _failed_claims_since(donor: Donor, since: datetime) -> list[datetime]:
    return list(
        db.session.scalars(
            select(AuditEntry.at).where(
                AuditEntry.action == "donor.history_claim_failed",
                AuditEntry.actor_type == "donor",
                AuditEntry.actor_id == donor.id,
                AuditEntry.at >= since,
            )
        )
    )


def claim_history(donor: Donor, raw_din: str) -> int:
    """Show imported history once the donor proves a donation number from it.

    A bag number is the proof, so guessing one is bounded: a few failures a day per donor.
    """
    window = timedelta(days=1)
    failures = _failed_claims_since(donor, clock.now() - window)
    if len(failures) >= current_app.config["HISTORY_CLAIM_MAX_FAILURES_PER_DAY"]:
        wait = min(clock.as_utc(at) for at in failures) + window - clock.now()
        raise ApiError(
            "history_claim_too_many",
            429,
            headers={"Retry-After": str(int(wait.total_seconds()) + 1)},
        )
    try:
        din = parse_din(raw_din)
    except DinError as error:
        raise ApiError(error.code, 422, errors={"din": [error.code]}) from error
    match = db.session.scalar(
        select(Donation.id).where(
            Donation.donor_id == donor.id, Donation.din == din.body, Donation.source == IMPORTED
        )
    )
    if match is None:
        audit.record("donor.history_claim_failed", actor=("donor", donor.id))
        db.session.commit()  # failed proofs are counted even though the request fails
        raise ApiError("history_claim_failed", 422, errors={"din": ["history_claim_failed"]})
    donor.history_claimed_at = clock.now()
    imported = db.session.scalars(
        select(Donation).where(Donation.donor_id == donor.id, Donation.source == IMPORTED)
    ).all()
    for donation in imported:
        if donation.certificate is None and donation.status == VALID:
            issue_certificate(donation, donor)
    refresh_totals(donor)
    audit.record(
        "donor.history_claimed", actor=("donor", donor.id), details={"count": len(imported)}
    )
    return len(imported)


def audit_staff_access(staff: Caller, donor: Donor) -> None:
    """Every staff look at a donor's record is logged (PIPL: sensitive personal information)."""
    audit.record(
        "donor.viewed_by_staff", actor=("staff", staff.principal_id), target=("donor", donor.id)
    )


def correct_donation(original: Donation, changes: dict[str, Any], admin: Caller) -> Donation:
    """A correction is a new record: the original is voided, the new one points back to it."""
    void_donation(original, changes["reason"], admin)
    kind = changes.get("kind", original.kind)
    volume_ml = changes.get("volume_ml", original.volume_ml if "units" not in changes else None)
    units = changes.get("units", original.units if "volume_ml" not in changes else None)
    collected_at = changes.get("collected_at", original.collected_at)
    check_amount(
        policy_for(original.region), kind, volume_ml, units, clock.to_local(collected_at).date()
    )
    corrected = Donation(
        donor_id=original.donor_id,
        site_id=original.site_id,
        facility_code=original.facility_code,
        staff_id=original.staff_id,
        kind=kind,
        volume_ml=volume_ml,
        units=units,
        collected_at=collected_at,
        donation_date=clock.to_local(collected_at).date(),
        din=original.din,
        din_flags=original.din_flags,
        din_check=original.din_check,
        status=VALID,
        source=original.source,
        region=original.region,
        replaces_id=original.id,
    )
    db.session.add(corrected)
    db.session.flush()
    audit.record(
        "donation.corrected",
        actor=("staff", admin.principal_id),
        target=("donation", corrected.id),
        details={"replaces": original.id, "reason": changes["reason"]},
    )
    donor = original.donor
    if original.certificate is not None:
        issue_certificate(corrected, donor)
    refresh_totals(donor)
    donation_recorded.send(current_app._get_current_object(), donation=corrected)
    return corrected


def card_view(donor: Donor, eligibility_views) -> dict[str, Any]:
    totals = totals_for(donor)
    latest = latest_certificate(donor)
    card = {
        "name": donor.name,
        "blood_group": {"abo": donor.abo, "rhd": donor.rhd} if donor.abo else None,
        "donations": totals.donations,
        "award_counts": totals.award_counts,
        "by_kind": totals.by_kind,
        "last_donation_date": totals.last_donation_date,
        "latest_certificate": certificate_view(latest) if latest else None,
        "next_eligible": eligibility_views(donor, clock.local_today()),
    }
    for _receiver, sections in card_requested.send(current_app._get_current_object(), donor=donor):
        card.update(sections or {})
    return card

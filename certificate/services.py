"""Recording donations, issuing and voiding certificates, and the donor's totals.

`record_donation` is the one way a donation enters the system through the API: it checks
eligibility, takes or makes the DIN, writes the donation, its signed certificate and the new
totals, and sends `donation_recorded`, all in the caller's transaction.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from certificate.counts import to_halves
from certificate.eligibility import (
    BETWEEN_DONATIONS,
    Eligibility,
    Reason,
    check_eligibility,
    reason_details,
)
from certificate.events import donation_recorded, donation_voided
from certificate.models import (
    IMPORTED,
    RECORDED,
    VALID,
    VOIDED,
    Certificate,
    DinSequence,
    Donation,
    DonationReaction,
    DonorTotals,
)
from certificate.policy import donation_rules
from certificate.visits import resolve_visit
from core import audit, clock
from core.auth import ADMIN, Caller
from core.crypto import cipher
from core.errors import ApiError
from core.extensions import db
from core.ids import (
    Din,
    DinError,
    certificate_number,
    is_sequential_certificate_number,
    make_din,
    normalise_certificate_number,
    parse_din,
)
from core.lookups import get_or_404
from core.masking import mask_name
from core.policy import PolicyUndecided, RegionPolicy, policy_for
from core.signing import SignatureInvalid, keyring
from donors.models import Donor
from donors.services import find_donor_by_id_number
from sites.models import Site
from sites.services import serves_site

CERTIFICATE_TOKEN_TYPE = "donation-certificate+jwt"
CLOCK_SKEW = timedelta(minutes=5)
SEQUENTIAL_KEY_LENGTH = 20  # hex characters: 80 bits


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
    reaction: Reaction | None = None


@dataclass(frozen=True)
class Reaction:
    """A donation reaction as staff enter it: severity, and an optional note (health data)."""

    severity: str
    note: str | None = None


def check_amount(
    policy: RegionPolicy,
    kind: str,
    volume_ml: int | None,
    units: int | None,
    on: date,
    *,
    measured: bool = True,
) -> None:
    """Volume in ml or therapeutic units, whichever the policy in force on `on` measures.

    A kind measured in units whose collected volume the policy requires (apheresis platelets)
    takes both; `measured=False` (a correction of imported history) lets the volume be absent.
    """
    try:
        rule = donation_rules(policy).kind(kind, on)
    except KeyError:
        raise ApiError(
            "unknown_donation_kind", 422, errors={"kind": ["unknown_donation_kind"]}
        ) from None
    except PolicyUndecided:
        raise ApiError("amount_not_decided", 422, errors={"kind": ["amount_not_decided"]}) from None
    if not rule.offered:
        raise ApiError("kind_not_offered", 422, errors={"kind": ["kind_not_offered"]})
    amount, other, field = (
        (volume_ml, units, "volume_ml") if rule.unit == "ml" else (units, volume_ml, "units")
    )
    if rule.volume_required:
        if volume_ml is None and measured:
            raise ApiError("volume_required", 422, errors={"volume_ml": ["volume_required"]})
        other = None
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
    counter = db.session.execute(
        select(DinSequence)
        .where(DinSequence.facility_code == site.facility_code, DinSequence.year == year)
        .with_for_update()
    ).scalar_one()
    counter.last += 1
    db.session.flush()
    return make_din(site.facility_code, year, counter.last)


def _refuse_future(collected_at: datetime) -> None:
    if collected_at > clock.now() + CLOCK_SKEW:
        raise ApiError("collected_in_future", 422, errors={"collected_at": ["collected_in_future"]})


def check_collection_day(collected_at: datetime, visit_id: int | None) -> date:
    """The local day of a collection staff enter: not in the future, not older than staff may
    enter (older history comes through the import), and the visit's own day for a visit."""
    _refuse_future(collected_at)
    day = clock.to_local(collected_at).date()
    oldest = clock.local_today() - timedelta(days=current_app.config["STAFF_ENTRY_MAX_AGE_DAYS"])
    if day < oldest:
        raise ApiError(
            "collected_too_long_ago", 422, errors={"collected_at": ["collected_too_long_ago"]}
        )
    visit = resolve_visit(visit_id) if visit_id is not None else None
    if visit is not None and visit.day != day:
        raise ApiError(
            "collected_not_on_visit_day",
            422,
            errors={"collected_at": ["collected_not_on_visit_day"]},
        )
    return day


def record_donation(request: DonationRequest, staff: Caller) -> tuple[Donation, Eligibility]:
    policy = policy_for(request.site.region)
    day = check_collection_day(request.collected_at, request.visit_id)
    check_amount(policy, request.kind, request.volume_ml, request.units, day)
    locked = select(Donor).where(Donor.id == request.donor.id).with_for_update()
    donor = db.session.execute(locked).scalar_one()
    eligibility = check_eligibility(donor, request.kind, day, policy, volume_ml=request.volume_ml)
    if not eligibility.allowed and not request.override_reason:
        raise not_eligible(eligibility.reasons)
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
                "donor": donor.id,
                "reasons": [reason.code for reason in eligibility.reasons],
                "override_reason": donation.override_reason,
            },
        )
    audit.record(
        "donation.recorded",
        actor=("staff", staff.principal_id),
        target=("donation", donation.id),
        details={"donor": donor.id},
    )
    if request.reaction is not None:
        record_reaction(donation, request.reaction, staff)
    issue_certificate(donation, donor)
    refresh_totals(donor)
    donation_recorded.send(current_app._get_current_object(), donation=donation)  # type: ignore[attr-defined]
    return donation, eligibility


def not_eligible(reasons: tuple[Reason, ...] | list[Reason]) -> ApiError:
    """The 409 a recording gets from the eligibility rules; an override reason lifts it.

    Each reason is `{code, until, message}`, as in GET /me/eligibility, so a client can branch
    on the code and show the date.
    """
    return ApiError("donor_not_eligible", 409, errors={"eligibility": reason_details(reasons)})


def record_reaction(donation: Donation, reaction: Reaction, staff: Caller) -> DonationReaction:
    """Add a reaction entry to a donation; it becomes the donation's reaction.

    The audit entry names the entry, not its severity or note: the log holds no health data.
    """
    if donation.status == VOIDED:
        raise ApiError("donation_already_voided", 409)
    entry = DonationReaction(
        severity=reaction.severity, note=reaction.note or None, recorded_by=staff.principal_id
    )
    donation.reactions.append(entry)
    db.session.flush()
    audit.record(
        "donation.reaction_recorded",
        actor=("staff", staff.principal_id),
        target=("donation", donation.id),
        details={"donor": donation.donor_id, "reaction_id": entry.id},
    )
    return entry


def staff_donation(staff: Caller, donation_id: int) -> Donation:
    """A donation of a site the caller serves (imported history has no site: admins only).

    Another site's donation is answered as an unknown one, so ids do not tell what exists.
    """
    donation = get_donation(donation_id)
    served = (
        staff.role == ADMIN if donation.site_id is None else serves_site(staff, donation.site_id)
    )
    if not served:
        raise ApiError("not_found", 404)
    return donation


def reaction_severity(donation_id: int | None) -> str | None:
    """The reaction recorded on a donation, for staff lists (None: none recorded)."""
    if donation_id is None:
        return None
    return db.session.scalar(
        select(DonationReaction.severity)
        .where(DonationReaction.donation_id == donation_id)
        .order_by(DonationReaction.id.desc())
        .limit(1)
    )


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
    return db.session.get_one(Donor, visit.donor_id), visit.id


def certificate_claims(donation: Donation, donor: Donor, number: str) -> dict[str, Any]:
    """What the certificate attests, with the donor's name masked: this is what anyone can see.

    The site is named as it was called that day: a site renamed since does not change what a
    certificate says.
    """
    amount, unit = donation.amount
    return {
        "no": number,
        "name": mask_name(donor.name),
        "kind": donation.kind,
        "amount": amount,
        "unit": unit,
        "date": donation.donation_date.isoformat(),
        "site": donation.facility_code,
        "site_name": donation.site.name if donation.site else None,
        "iat": int(clock.now().timestamp()),
    }


def issue_certificate(donation: Donation, donor: Donor) -> Certificate:
    number = certificate_number(donation.donation_date.year)
    ring = keyring()
    certificate = Certificate(
        donation_id=donation.id,
        donor_id=donor.id,
        number=number,
        kid=ring.active.kid,
        signed_token=ring.sign(certificate_claims(donation, donor, number), CERTIFICATE_TOKEN_TYPE),
    )
    db.session.add(certificate)
    db.session.flush()
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
    award_counts = Fraction(0)
    by_kind: dict[str, dict[str, int]] = {}
    for donation in donations:
        award_counts += award_counts_for(donation)
        entry = by_kind.setdefault(donation.kind, {"donations": 0, "volume_ml": 0, "units": 0})
        entry["donations"] += 1
        entry["volume_ml"] += donation.volume_ml or 0
        entry["units"] += donation.units or 0
    totals.donations = len(donations)
    totals.award_half_counts = to_halves(award_counts)
    totals.by_kind = by_kind
    totals.last_donation_date = max((d.donation_date for d in donations), default=None)
    totals.updated_at = clock.now()
    return totals


def refresh_all_totals(batch: int = 500) -> int:
    """Recompute every donor's totals, after a change of the counting rules; returns how many."""
    done = 0
    last_id = 0
    while True:
        donors = db.session.scalars(
            select(Donor)
            .where(Donor.id > last_id, Donor.id.in_(select(Donation.donor_id)))
            .order_by(Donor.id)
            .limit(batch)
        ).all()
        if not donors:
            return done
        for donor in donors:
            refresh_totals(donor)
        db.session.commit()
        done += len(donors)
        last_id = donors[-1].id


def award_counts_for(donation: Donation) -> Fraction:
    """Counts by the national award rules in force on the donation's date (0 while undecided)."""
    return count_donation(donation).counts or Fraction(0)


@dataclass(frozen=True)
class CountedDonation:
    """A donation with its counts by the national award rules, or the question that stops them.

    A donation the rules give no settled count (a kind the policy leaves open) is "not yet
    counted", shown with its open question, never silently 0 and never guessed.
    """

    donation: Donation
    counts: Fraction | None
    open_question: str | None


def count_donation(donation: Donation) -> CountedDonation:
    policy = policy_for(donation.region)
    amount, _ = donation.amount
    try:
        counts = donation_rules(policy).counts_for(
            donation.kind, amount or 0, donation.donation_date
        )
    except PolicyUndecided as undecided:
        return CountedDonation(donation, None, undecided.question)
    return CountedDonation(donation, counts, None)


def counted_donations(
    donor: Donor, region: str | None = None, *, unclaimed_history: bool = False
) -> list[CountedDonation]:
    """The donor's valid, proven donations (in `region` if given), oldest first, with counts.

    `unclaimed_history` adds imported history the donor has not claimed in the app: the
    station's own record, for the station's and hospitals' use, never shown to the account.
    """
    shown = Donation.donor_id == donor.id if unclaimed_history else visible_to_donor(donor)
    query = select(Donation).where(shown, Donation.status == VALID)
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
        details={"donor": donation.donor_id, "reason": reason},
    )
    donation_voided.send(current_app._get_current_object(), donation=donation)  # type: ignore[attr-defined]
    return donation


def get_donation(donation_id: int) -> Donation:
    return get_or_404(Donation, donation_id)


def visible_to_donor(donor: Donor) -> ColumnElement[bool]:
    """Imported history stays hidden until the donor proves a donation number from it."""
    condition = Donation.donor_id == donor.id
    if donor.history_claimed_at is None:
        condition = condition & (Donation.source != IMPORTED)
    return condition


def donor_certificates_query(donor: Donor) -> Select[Certificate]:
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
        donor_id=donor.id, donations=0, award_half_counts=0, by_kind={}
    )


def latest_certificate(donor: Donor) -> Certificate | None:
    return db.session.scalar(donor_certificates_query(donor).limit(1))


def printed_din(donation: Donation) -> str:
    return f"{donation.din} {donation.din_flags} {donation.din_check}"


def verification_url(number: str) -> str:
    """The link a QR code and the thank-you SMS carry; a sequential number's carries its key."""
    url = f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/v/{number}"
    if is_sequential_certificate_number(number):
        url += f"?k={sequential_number_key(number)}"
    return url


def sequential_number_key(number: str) -> str:
    """The secret that lets a sequential number's link show the certificate's details.

    Sequential numbers can be walked, so their number alone shows only whether the certificate
    is valid; the donor's QR code and app add this key (a keyed hash of the number).
    """
    return cipher().lookup_hash("certificate-link", number)[:SEQUENTIAL_KEY_LENGTH]


def verify_certificate(number: str, key: str | None = None) -> dict[str, Any] | None:
    """Anyone's check of a certificate: signature, status, and only the masked signed facts.

    Everything shown comes from the signed claims, as issued. A sequential number (guessable)
    without its key shows the status alone, as the number of a certificate that exists.
    """
    normalised = normalise_certificate_number(number)
    certificate = find_certificate(normalised) if normalised else None
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
    detailed = not is_sequential_certificate_number(certificate.number) or hmac.compare_digest(
        (key or "").encode(), sequential_number_key(certificate.number).encode()
    )
    if not detailed:
        return {
            "status": status,
            "signature": signature,
            "detailed": False,
            "kid": certificate.kid,
            "signed_token": None,
            "certificate": {"number": certificate.number},
        }
    kind = claims.get("kind")
    return {
        "status": status,
        "signature": signature,
        "detailed": True,
        "kid": certificate.kid,
        "signed_token": certificate.signed_token,
        "certificate": {
            "number": certificate.number,
            "name": claims.get("name"),
            "date": claims.get("date"),
            "kind": kind,
            "kind_name": donation_rules(policy_for(donation.region)).kind_name(kind)
            if kind
            else None,
            "amount": claims.get("amount"),
            "unit": claims.get("unit"),
            "site": claims.get("site"),
            "site_name": claims.get("site_name"),
        },
    }


def audit_staff_access(staff: Caller, donor: Donor) -> None:
    """Every staff look at a donor's record is logged (PIPL: sensitive personal information)."""
    audit.record(
        "donor.viewed_by_staff", actor=("staff", staff.principal_id), target=("donor", donor.id)
    )


def correct_donation(original: Donation, changes: dict[str, Any], admin: Caller) -> Donation:
    """A correction is a new record: the original is voided, the new one points back to it.

    A new date, kind or amount is checked against the donor's other donations, on both sides
    of the date (intervals, yearly caps); the age and deferrals were judged at the collection.
    An `override_reason` records it anyway, audited, as at recording.
    """
    void_donation(original, changes["reason"], admin)
    policy = policy_for(original.region)
    kind = changes.get("kind", original.kind)
    if kind == original.kind:
        volume_ml = changes.get("volume_ml", original.volume_ml)
        units = changes.get("units", original.units)
    else:  # another kind is measured anew
        volume_ml, units = changes.get("volume_ml"), changes.get("units")
    collected_at = changes.get("collected_at", original.collected_at)
    _refuse_future(collected_at)
    day = clock.to_local(collected_at).date()
    check_amount(policy, kind, volume_ml, units, day, measured=original.source == RECORDED)
    between: list[Reason] = []
    if {"kind", "collected_at", "volume_ml", "units"} & set(changes):
        result = check_eligibility(original.donor, kind, day, policy, volume_ml=volume_ml)
        between = [reason for reason in result.reasons if reason.code in BETWEEN_DONATIONS]
        if between and not changes.get("override_reason"):
            raise not_eligible(between)
    override = changes.get("override_reason") if between else None
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
        override_reason=override,
        replaces_id=original.id,
    )
    db.session.add(corrected)
    db.session.flush()
    if override:
        audit.record(
            "donation.eligibility_overridden",
            actor=("staff", admin.principal_id),
            target=("donation", corrected.id),
            details={
                "donor": corrected.donor_id,
                "reasons": [r.code for r in between],
                "override_reason": override,
            },
        )
    reaction = original.reaction
    if reaction is not None:  # a fact of the collection, which the correction does not undo
        corrected.reactions.append(
            DonationReaction(
                severity=reaction.severity,
                note=reaction.note,
                recorded_at=reaction.recorded_at,
                recorded_by=reaction.recorded_by,
            )
        )
        db.session.flush()
    audit.record(
        "donation.corrected",
        actor=("staff", admin.principal_id),
        target=("donation", corrected.id),
        details={
            "donor": corrected.donor_id,
            "replaces": original.id,
            "reason": changes["reason"],
        },
    )
    donor = original.donor
    if original.certificate is not None:
        issue_certificate(corrected, donor)
    refresh_totals(donor)
    donation_recorded.send(current_app._get_current_object(), donation=corrected)  # type: ignore[attr-defined]
    return corrected

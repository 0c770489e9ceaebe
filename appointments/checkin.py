"""Check-in: the donor's rotating signed code, the visit staff open by scanning it, and its end.

A check-in code is a compact JWS (EdDSA, typ `checkin+jwt`) naming only the donor's internal id,
a `jti` (a keyed hash of the donor and the rotation step; random once that step's code was used)
and an expiry about a minute ahead; no name or ID number is in it. A code opens one visit: its
`jti` is stored when used, so a photographed code cannot be replayed. Expiry is checked against
the service's clock (not the token library's), so the suite can move time past it.

A donation recorded for the visit fulfils the visit and its booking in the same transaction,
(`fulfil_visit`, a reaction to `donation_recorded`); certificate/ finds visits through
`visit_ref`, and asks whether a donor is at a site (to defer them there) through `visiting` and
`booked`: it does not import this package, the app hands it these when it is built (wiring.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from appointments import bookings, questionnaire, staff_views
from appointments.events import visit_opened
from appointments.models import (
    ACTIVE_BOOKING,
    BOOKED,
    CHECKED_IN,
    FULFILLED,
    NOT_DONATED,
    VISIT_CLOSED,
    VISIT_DONATED,
    VISIT_OPEN,
    Booking,
    CheckinCodeUse,
    QuestionnaireResponse,
    Visit,
)
from appointments.questionnaire import NoSignedForm, SignedForm
from appointments.rules import booking_rules
from certificate.eligibility import Eligibility, eligibility_for_all_kinds
from certificate.models import Donation
from certificate.services import audit_staff_access
from certificate.visits import VisitRef
from core import audit, clock
from core.auth import Caller
from core.errors import ApiError
from core.extensions import db
from core.lookups import get_or_404
from core.policy import policy_for
from core.signing import (
    CodeExpired,
    RotatingCode,
    SignatureInvalid,
    read_rotating_code,
    rotating_code,
)
from donors import faces
from donors.models import DONOR_ACTIVE, Donor
from donors.services import find_donor_by_id_number
from sites.models import Site
from sites.services import require_site, serves_site

CHECKIN_TOKEN_TYPE = "checkin+jwt"
CODE_ID_LENGTH = 22  # hex characters of a rotation step's jti: 88 bits


def issue_code(donor: Donor) -> RotatingCode:
    """The donor's code for now; the app fetches another before it expires.

    Codes rotate every half of their life (core.signing.rotating_code): every fetch within one
    step gets the same code, and a step's code once scanned is not handed out again.
    """
    return rotating_code(
        CHECKIN_TOKEN_TYPE,
        str(donor.id),
        booking_rules(donor.region).checkin_code_life,
        scope="checkin-code",
        used=lambda jti: db.session.get(CheckinCodeUse, jti) is not None,
        jti_length=CODE_ID_LENGTH,
    )


def _invalid() -> ApiError:
    return ApiError("checkin_code_invalid", 422, errors={"code": ["checkin_code_invalid"]})


def _read_code(code: str) -> tuple[Donor, str, datetime]:
    try:
        claims = read_rotating_code(code, CHECKIN_TOKEN_TYPE)
        donor_id, jti = int(claims["sub"]), str(claims["jti"])
        expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
    except CodeExpired:
        raise ApiError(
            "checkin_code_expired", 422, errors={"code": ["checkin_code_expired"]}
        ) from None
    except (SignatureInvalid, ValueError, OverflowError):
        raise _invalid() from None
    donor = db.session.get(Donor, donor_id)
    if donor is None or donor.status != DONOR_ACTIVE or not 8 <= len(jti) <= 64:
        raise _invalid()
    return donor, jti, expires_at


def check_in(
    staff: Caller, site_id: int, code: str | None, id_number: str | None
) -> tuple[VisitAtDesk, bool]:
    """Open today's visit at a site the caller serves, by scanned code or ID number, and hand it
    to the caller. A donor already checked in there today gets the same visit back (`False`:
    not new)."""
    site = require_site(staff, site_id)
    donor: Donor | None
    if code is not None:
        donor, jti, expires_at = _read_code(code)
        used = db.session.get(CheckinCodeUse, jti)
        if used is not None:
            raise ApiError("checkin_code_used", 409, errors={"code": ["checkin_code_used"]})
        db.session.add(
            CheckinCodeUse(jti=jti, donor_id=donor.id, site_id=site.id, expires_at=expires_at)
        )
        try:
            db.session.flush()
        except IntegrityError:  # the same code scanned twice at once: one wins
            raise ApiError(
                "checkin_code_used", 409, errors={"code": ["checkin_code_used"]}
            ) from None
        method = "qr"
    else:
        donor = find_donor_by_id_number(id_number or "")
        if donor is None or donor.status != DONOR_ACTIVE:
            raise ApiError("donor_not_found", 404)
        method = "id_number"
    visit, new = _open_visit(staff, site, donor, method)
    return _at_desk(staff, visit), new


def _open_visit(staff: Caller, site: Site, donor: Donor, method: str) -> tuple[Visit, bool]:
    today = clock.local_today()
    current = db.session.scalar(
        select(Visit).where(Visit.donor_id == donor.id, Visit.status == VISIT_OPEN)
    )
    if current is not None and current.site_id == site.id and current.day == today:
        audit_staff_access(staff, donor)
        return current, False
    if current is not None:  # yesterday's, or another site's: the donor is here now
        close_visit(current, "superseded", None)
    booking = db.session.scalar(
        select(Booking).where(
            Booking.donor_id == donor.id,
            Booking.status.in_(ACTIVE_BOOKING),
            Booking.site_id == site.id,
            Booking.day == today,
        )
    )
    if booking is not None and booking.status == BOOKED:
        booking.status = CHECKED_IN
        booking.changed_at = clock.now()
    response = questionnaire.valid_response(donor)
    visit = Visit(
        donor_id=donor.id,
        site_id=site.id,
        day=today,
        method=method,
        opened_by=staff.principal_id,
        booking_id=booking.id if booking else None,
        questionnaire_response_id=response.id if response else None,
    )
    db.session.add(visit)
    try:
        db.session.flush()
    except IntegrityError:
        raise ApiError("conflict", 409) from None
    audit.record(
        "visit.opened",
        actor=("staff", staff.principal_id),
        target=("visit", visit.id),
        details={"method": method, "site": site.id},
    )
    audit_staff_access(staff, donor)
    visit_opened.send(current_app._get_current_object(), visit=visit)  # type: ignore[attr-defined]
    return visit, True


def staff_visit(staff: Caller, visit_id: int) -> Visit:
    """A visit at a site the caller serves; another site's is answered as an unknown one, so
    ids do not tell what exists."""
    return get_or_404(
        Visit, visit_id, "visit_not_found", visible=lambda visit: serves_site(staff, visit.site_id)
    )


def close_visit(visit: Visit, outcome: str, staff_id: int | None) -> Visit:
    """End a visit without a donation (deferred at screening, left); its booking follows."""
    if visit.status != VISIT_OPEN:
        raise ApiError("visit_not_open", 409)
    visit.status = VISIT_CLOSED
    visit.outcome = outcome
    visit.closed_at = clock.now()
    visit.closed_by = staff_id
    if visit.booking is not None and visit.booking.status == CHECKED_IN:
        visit.booking.status = NOT_DONATED
        visit.booking.changed_at = clock.now()
    audit.record(
        "visit.closed",
        actor=("staff", staff_id),
        target=("visit", visit.id),
        details={"outcome": outcome},
    )
    return visit


def end_visits_for_erasure(donor: Donor) -> None:
    """Erasure: an open visit ends, and the record of which codes the donor showed where goes.
    Codes the app fetched but never showed are refused anyway: they name an erased donor."""
    for visit in db.session.scalars(
        select(Visit).where(Visit.donor_id == donor.id, Visit.status == VISIT_OPEN)
    ).all():
        close_visit(visit, "donor_erased", None)
    db.session.execute(delete(CheckinCodeUse).where(CheckinCodeUse.donor_id == donor.id))


# ---------------------------------------------------------------- face checks


def face_check(staff: Caller, visit_id: int, frames: Sequence[bytes]) -> faces.FaceCheck:
    """Compare a live burst with the enrolled face of the donor whose visit is open here (1:1).

    Only an open visit: once the donor has given blood or left, there is no identity to confirm.
    A verified check is noted on the visit for the staff who take the blood; donors.faces audits
    every check with the site and visit, never its images.
    """
    visit = staff_visit(staff, visit_id)
    if visit.status != VISIT_OPEN:
        raise ApiError("visit_not_open", 409)
    check = faces.verify_face(
        visit.donor, frames, actor=staff, site_id=visit.site_id, visit_id=visit.id
    )
    if check.verified:
        visit.face_verified_at = check.checked_at
    return check


def identify_at_site(staff: Caller, site_id: int, frames: Sequence[bytes]) -> faces.Identification:
    """Who the donor without an ID card is, among those this site may search (1:N).

    The candidates are the donors booked here today, and where the region's policy allows it the
    donors enrolled in the site's city: never every enrolled face. The answer is one candidate for
    staff to confirm by name and birth year, or none.
    """
    site = require_site(staff, site_id)
    booked = staff_views.booked_donor_ids(site.id, clock.local_today())
    candidates = faces.identification_candidates(booked, region=site.region, city=site.city)
    return faces.identify_face(candidates, frames, actor=staff, site_id=site.id)


def _questionnaire_of(visit: Visit) -> QuestionnaireResponse | None:
    """The answers attached at check-in, or for an open visit those signed since."""
    if visit.questionnaire_response is not None:
        return visit.questionnaire_response
    if visit.status == VISIT_OPEN:
        return questionnaire.valid_response(visit.donor)
    return None


@dataclass(frozen=True)
class VisitAtDesk:
    """What staff at the site see of a visit: the visit with the donor (masked) and the booking,
    the donor's eligibility today, and the health form that counts for it."""

    visit: Visit
    eligibility: list[Eligibility]
    questionnaire: SignedForm | NoSignedForm


def _at_desk(staff: Caller, visit: Visit) -> VisitAtDesk:
    """The visit handed to staff at its site; their reading the donor's answers is recorded."""
    response = _questionnaire_of(visit)
    if response is not None:
        audit.record(
            "questionnaire.viewed_by_staff",
            actor=("staff", staff.principal_id),
            target=("questionnaire", response.id),
            details={"visit": visit.id},
        )
    policy = policy_for(visit.site.region)
    return VisitAtDesk(
        visit,
        eligibility_for_all_kinds(visit.donor, clock.local_today(), policy),
        questionnaire.form_at_visit(response),
    )


def visit_at_desk(staff: Caller, visit_id: int) -> VisitAtDesk:
    """One visit at a site the caller serves, with the donor's answers."""
    return _at_desk(staff, staff_visit(staff, visit_id))


def close_at_desk(staff: Caller, visit_id: int, outcome: str) -> VisitAtDesk:
    """Staff end a visit at their site without a donation (deferred at screening, left)."""
    visit = staff_visit(staff, visit_id)
    close_visit(visit, outcome, staff.principal_id)
    return _at_desk(staff, visit)


# ---------------------------------------------------------------- donations


def visit_ref(visit_id: int) -> VisitRef | None:
    """The visit as certificate sees it when staff record a donation by naming it."""
    visit = db.session.get(Visit, visit_id)
    if visit is None:
        return None
    return VisitRef(visit.id, visit.donor_id, visit.site_id, visit.status == VISIT_OPEN, visit.day)


def visiting(donor_id: int, site_id: int, today: date) -> bool:
    """A visit at the site, open or of today: the donor is, or was today, at its desk."""
    return (
        db.session.scalar(
            select(Visit.id)
            .where(
                Visit.donor_id == donor_id,
                Visit.site_id == site_id,
                or_(Visit.status == VISIT_OPEN, Visit.day == today),
            )
            .limit(1)
        )
        is not None
    )


def booked(donor_id: int, site_id: int, today: date) -> bool:
    """A booking at the site, for today or later, neither cancelled nor over."""
    return (
        db.session.scalar(
            select(Booking.id)
            .where(
                Booking.donor_id == donor_id,
                Booking.site_id == site_id,
                Booking.status.in_(ACTIVE_BOOKING),
                Booking.day >= today,
            )
            .limit(1)
        )
        is not None
    )


def fulfil_visit(sender: Any, donation: Donation, **extra: Any) -> None:
    """The donation ends the visit it came from (or the donor's open visit there) and its booking.

    Runs in the recording transaction: if the visit was closed meanwhile, everything rolls back.
    """
    if donation.replaces_id is not None:
        return  # a correction: the original donation already fulfilled the visit
    now = clock.now()
    visit_id = donation.visit_id
    if visit_id is None:
        visit_id = db.session.scalar(
            select(Visit.id).where(
                Visit.donor_id == donation.donor_id,
                Visit.site_id == donation.site_id,
                Visit.status == VISIT_OPEN,
                Visit.day == donation.donation_date,
            )
        )
    booking = None
    if visit_id is not None:
        closed = cast(
            CursorResult[Any],
            db.session.execute(
                update(Visit)
                .where(
                    Visit.id == visit_id,
                    Visit.status == VISIT_OPEN,
                    Visit.donor_id == donation.donor_id,
                )
                .values(
                    status=VISIT_DONATED,
                    donation_id=donation.id,
                    closed_at=now,
                    closed_by=donation.staff_id,
                    outcome="donated",
                )
                .execution_options(synchronize_session=False)
            ),
        ).rowcount
        if not closed:
            raise ApiError("visit_not_open", 409, errors={"visit_id": ["visit_not_open"]})
        visit = db.session.get_one(Visit, visit_id, populate_existing=True)
        if visit.questionnaire_response_id is None:
            response = questionnaire.valid_response(visit.donor, now)
            visit.questionnaire_response_id = response.id if response else None
        booking = visit.booking
    if booking is None:
        booking = db.session.scalar(
            select(Booking).where(
                Booking.donor_id == donation.donor_id,
                Booking.site_id == donation.site_id,
                Booking.day == donation.donation_date,
                Booking.status.in_(ACTIVE_BOOKING),
            )
        )
    if booking is not None and booking.status in ACTIVE_BOOKING:
        booking.status = FULFILLED
        booking.donation_id = donation.id
        booking.changed_at = now
    db.session.flush()
    bookings.withdraw_after_donation(db.session.get_one(Donor, donation.donor_id))

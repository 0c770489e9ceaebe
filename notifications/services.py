"""The rules of talking to donors: what causes a message, who may turn what off, what admins see.

No `request` in here: routes, the CLI, the Celery tasks and the tests call the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, ClassVar, NamedTuple

from flask import current_app
from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError

from certificate.models import VALID, Donation
from certificate.services import CLOCK_SKEW, verification_url
from core import audit, clock
from core.auth import Caller
from core.errors import ApiError
from core.extensions import db
from core.ids import DinError, parse_din
from core.lookups import get_or_404
from core.masking import mask_mobile
from donors.models import Donor
from notifications.bookings import Booking, PlaceOffer
from notifications.conditions import Condition
from notifications.models import (
    CANCELLED,
    DELIVERED,
    FAILED,
    NOT_DELIVERED,
    PENDING,
    SENDING,
    SENT,
    UNDELIVERED,
    NotificationPreference,
    OutboxMessage,
    UnitIssue,
)
from notifications.outbox import (
    Addressee,
    Draft,
    cancel_unsent,
    dispatch_after_commit,
    write_one,
)
from notifications.rules import local_moment
from notifications.templates import (
    OPT_OUTS,
    month_day,
)

# ------------------------------------------------------------------ what donors are told


def salutation_name(donor: Donor) -> str:
    return donor.name or ""


def amount_text(donation: Donation) -> str:
    amount, unit = donation.amount
    return f"{amount}毫升" if unit == "ml" else f"{amount}个治疗单位"


def _thanks_key(donation_id: int) -> str:
    return f"thanks:{donation_id}"


def _thanks_row(donation_id: int) -> OutboxMessage | None:
    return db.session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.key == _thanks_key(donation_id))
        .execution_options(populate_existing=True)
    )


def _reached_the_donor(row: OutboxMessage) -> bool:
    """Sent, or handed to the provider with the outcome unknown: the donor may have read it."""
    return row.status in (SENT, DELIVERED) or row.in_flight_since is not None


def thank_for_donation(donation: Donation) -> OutboxMessage | None:
    """The thank-you, written in the recording transaction, with the certificate's number.

    A correction (a new record replacing a voided one) is told too, under its own key: the
    voided record's thank-you was cancelled if it had not gone, and the corrected record is
    thanked instead; if it had gone, the donor is told of the correction and the new number.
    A record whose first version was never to be thanked (no row) is not thanked now.
    """
    if donation.certificate is None:
        return None
    code = "thanks"
    if donation.replaces_id is not None:
        original = _thanks_row(donation.replaces_id)
        if original is None:
            return None
        if _reached_the_donor(original):
            code = "donation_corrected"
    number = donation.certificate.number
    donor = donation.donor
    return write_one(
        code,
        Draft(
            key=_thanks_key(donation.id),
            donor=donor,
            context={
                "name": salutation_name(donor),
                "donated_on": donation.donation_date,
                "amount": amount_text(donation),
                "number": number,
                "url": verification_url(number),
            },
            condition=Condition("donation_valid", {"donation": donation.id}),
        ),
    )


def cancel_thanks(donation: Donation) -> int:
    """A voided donation's thank-you is not sent if it has not gone yet (one sent stays sent)."""
    return cancel_unsent(OutboxMessage.key == _thanks_key(donation.id), "donation_voided")


def donations_still_valid(args: list[dict[str, Any]]) -> list[str | None]:
    """The `donation_valid` condition: the donation a message tells of has not been voided."""
    ids = {item["donation"] for item in args}
    query = select(Donation.id).where(Donation.id.in_(ids), Donation.status == VALID)
    valid = set(db.session.scalars(query))
    return [None if item["donation"] in valid else "donation_voided" for item in args]


def send_login_code(code_id: int, e164: str, code: str, minutes: int, expires_at: datetime) -> None:
    """One-time codes go through the outbox too: urgent, and their text is wiped once sent."""
    write_one(
        "otp",
        Draft(key=f"otp:{code_id}", mobile=e164, context={"code": code, "minutes": minutes}),
        expires_at=expires_at,
    )


def tell_old_number(audit_id: int, old_e164: str) -> None:
    write_one(
        "mobile_changed", Draft(key=f"mobile-changed:{audit_id}", mobile=old_e164, context={})
    )


def tell_registered_holder(donor: Donor, other_e164: str) -> None:
    """Someone tried to register the donor's ID number with another number: at most one such
    text a day, so the attempts cannot be turned into a flood at the donor's phone."""
    write_one(
        "registration_for_registered_id",
        Draft(
            key=f"registration-for-registered-id:{donor.id}:{clock.local_today().isoformat()}",
            donor=donor,
            context={"mobile": mask_mobile(other_e164)},
        ),
    )


def forget_donor(donor_id: int) -> None:
    """Erasure: texts that name the donor go, and nothing still waiting is sent."""
    cancel_unsent(OutboxMessage.donor_id == donor_id, "donor_erased")
    db.session.execute(  # and retries whose first attempt's fate is unknown: not tried again
        update(OutboxMessage)
        .where(OutboxMessage.donor_id == donor_id, OutboxMessage.status == PENDING)
        .values(status=CANCELLED, status_reason="donor_erased")
    )
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.donor_id == donor_id)
        .values(body=None, context=None, to_mobile=None)
    )


def report_unit_issue(device: Caller, body: dict[str, Any]) -> tuple[UnitIssue, bool]:
    """The station system says a unit went to a hospital; its donor hears where. Once per issue.

    Returns the issue and whether it is new; the same report again changes nothing.
    """
    try:
        din = parse_din(body["din"])
    except DinError as error:
        raise ApiError(error.code, 422, errors={"din": [error.code]}) from error
    if body["issued_at"] > clock.now() + CLOCK_SKEW:
        raise ApiError("issued_in_future", 422, errors={"issued_at": ["issued_in_future"]})
    existing = db.session.scalar(
        select(UnitIssue).where(UnitIssue.din == din.body, UnitIssue.issue_ref == body["issue_id"])
    )
    if existing is not None:
        if existing.hospital != body["hospital"]:
            raise ApiError("unit_issue_conflict", 409, errors={"issue_id": ["unit_issue_conflict"]})
        return existing, False
    donation = db.session.scalar(
        select(Donation).where(Donation.din == din.body, Donation.status == VALID)
    )
    if donation is None:
        raise ApiError("unit_unknown", 404, errors={"din": ["unit_unknown"]})
    issue = UnitIssue(
        din=din.body,
        issue_ref=body["issue_id"],
        hospital=body["hospital"],
        component=body.get("component"),
        issued_at=body["issued_at"],
        donation_id=donation.id,
        reported_by=device.principal_id,
    )
    db.session.add(issue)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()  # the same report raced itself: answer as the first did
        existing = db.session.scalar(
            select(UnitIssue).where(
                UnitIssue.din == din.body, UnitIssue.issue_ref == body["issue_id"]
            )
        )
        if existing is None:
            raise ApiError("conflict", 409) from None
        return existing, False
    donor = donation.donor
    write_one(
        "unit_issued",
        Draft(
            key=f"journey:{din.body}:{body['issue_id']}",
            donor=donor,
            context={
                "name": salutation_name(donor),
                "donated_on": month_day(donation.donation_date),
                "issued_on": month_day(clock.to_local(body["issued_at"]).date()),
                "hospital": body["hospital"],
            },
        ),
    )
    audit.record(
        "unit.issued",
        actor=("device", device.principal_id),
        target=("donation", donation.id),
        details={"issue": issue.id},
    )
    return issue, True


# ------------------------------------------------------------------ bookings
#
# appointments tells the app of bookings and offers; the app's wiring (wiring.py) hands them here
# as plain values, in the transaction that made them.


def _day_and_time(moment: datetime) -> dict[str, Any]:
    local = clock.to_local(moment)
    return {"day": local.date(), "time": local.strftime("%H:%M")}


def remind_of_booking(
    booking: Booking, donor: Donor | None = None, *, dispatch: bool = True
) -> OutboxMessage | None:
    """The reminder of a booking, written once (`appointment:<booking>`) and sent the day before
    at NOTIFY_APPOINTMENT_REMINDER_TIME, or at once for a booking made later that day.

    It is a day-before reminder, so it is never sent once that day's quiet hours begin: a
    booking made in the evening for the next morning gets none. It names the day as it is on
    the day it goes ("明天"), and goes only while the booking is still booked for that time.
    """
    donor = donor or db.session.get(Donor, booking.donor_id)
    if donor is None:
        return None
    config = current_app.config
    day_before = clock.to_local(booking.starts_at).date() - timedelta(days=1)
    expires_at = min(
        clock.as_utc(booking.starts_at), local_moment(day_before, config["NOTIFY_QUIET_HOURS"][0])
    )
    if expires_at <= clock.now():
        return None  # booked on the day, or the evening before: nothing to remind of
    return write_one(
        "appointment_reminder",
        Draft(
            key=f"appointment:{booking.id}",
            donor=Addressee.of(donor),
            context={
                "name": salutation_name(donor),
                **_day_and_time(booking.starts_at),
                "site": booking.site_name,
            },
            condition=Condition(
                "booking_active",
                {"booking": booking.id, "starts_at": clock.as_utc(booking.starts_at).isoformat()},
            ),
        ),
        not_before=local_moment(day_before, config["NOTIFY_APPOINTMENT_REMINDER_TIME"]),
        expires_at=expires_at,
        dispatch=dispatch,
    )


def cancel_booking_reminder(booking_id: int) -> int:
    """A booking cancelled or moved elsewhere: its reminder, if not yet sent, is not sent."""
    return cancel_unsent(OutboxMessage.key == f"appointment:{booking_id}", "booking_cancelled")


def tell_booking_cancelled_by_site(booking: Booking) -> OutboxMessage | None:
    """The site closed the slot: the donor must hear it before setting out."""
    donor = db.session.get(Donor, booking.donor_id)
    if donor is None:
        return None
    return write_one(
        "booking_cancelled_by_site",
        Draft(
            key=f"booking-cancelled:{booking.id}",
            donor=donor,
            context={
                "name": salutation_name(donor),
                **_day_and_time(booking.starts_at),
                "site": booking.site_name,
            },
        ),
        expires_at=clock.as_utc(booking.starts_at),
    )


def tell_place_offered(offer: PlaceOffer) -> OutboxMessage | None:
    """A place held from the waiting list: where, when, and until when it is held. Worth
    nothing once the hold ends, so it expires with it (written in the quiet hours, it is
    skipped as too late when the hold ends before they do)."""
    donor = db.session.get(Donor, offer.donor_id)
    if donor is None:
        return None
    return write_one(
        "waitlist_offer",
        Draft(
            key=f"offer:{offer.entry_id}:{offer.slot_id}",
            donor=donor,
            context={
                "name": salutation_name(donor),
                "site": offer.site_name,
                **_day_and_time(offer.starts_at),
                "until": clock.as_utc(offer.expires_at),
            },
            condition=Condition("offer_open", {"entry": offer.entry_id, "slot": offer.slot_id}),
        ),
        expires_at=clock.as_utc(offer.expires_at),
    )


# ------------------------------------------------------------------ points


@dataclass(frozen=True)
class ExpiringPoints:
    """Points of one lot (rewards' ledger) that expire soon: `expires_on` is the first day they
    are gone. The app's wiring hands them here as plain values."""

    donor_id: int
    lot_id: int
    points: int
    expires_on: date


def warn_points_expiring(lots: list[ExpiringPoints], on: date) -> int:
    """Tell each donor, once per lot (`points-expiring:<lot>`), of points about to expire; a
    reminder (the opt-outs and the weekly cap apply), sent only while the lot still has points
    left (`points_left`)."""
    donors = {
        donor.id: donor
        for donor in db.session.scalars(
            select(Donor).where(Donor.id.in_({lot.donor_id for lot in lots}))
        )
    }
    written = 0
    for lot in lots:
        donor = donors.get(lot.donor_id)
        if donor is None:
            continue
        draft = Draft(
            key=f"points-expiring:{lot.lot_id}",
            donor=Addressee.of(donor),
            context={
                "name": salutation_name(donor),
                "points": lot.points,
                "last_day": lot.expires_on - timedelta(days=1),
            },
            condition=Condition("points_left", {"lot": lot.lot_id}),
        )
        write_one(
            "points_expiring",
            draft,
            not_before=local_moment(on, current_app.config["NOTIFY_GREETING_TIME"]),
            expires_at=local_moment(lot.expires_on, "00:00"),
            dispatch=False,
        )
        written += 1
    return written


# ------------------------------------------------------------------ preferences

PREFERENCE_FIELDS = tuple(dict.fromkeys(OPT_OUTS.values()))  # care and reminders share one


class QuietHours(NamedTuple):
    """Local times between which non-urgent messages wait."""

    start: str
    end: str


@dataclass(frozen=True)
class NotificationSettings:
    """What a donor hears: the kinds they may turn off (all on until they do), and the manners
    every message to them keeps."""

    greetings: bool
    appeals: bool
    reminders: bool
    quiet_hours: QuietHours
    weekly_cap: int
    updated_at: datetime | None  # None: never changed
    # codes, thanks, where the blood went, appointment reminders: never turned off
    transactional: ClassVar[bool] = True


def preferences(donor: Donor) -> NotificationSettings:
    row = db.session.get(NotificationPreference, donor.id)
    return NotificationSettings(
        greetings=row.greetings if row else True,
        appeals=row.appeals if row else True,
        reminders=row.reminders if row else True,
        quiet_hours=QuietHours(*current_app.config["NOTIFY_QUIET_HOURS"]),
        weekly_cap=current_app.config["NOTIFY_WEEKLY_CAP"],
        updated_at=row.updated_at if row else None,
    )


def update_preferences(donor: Donor, changes: dict[str, bool]) -> NotificationSettings:
    """Greetings, appeals and reminders can be turned off; what concerns the donor's own
    donations, bookings and account cannot."""
    row = db.session.get(NotificationPreference, donor.id)
    if row is None:
        row = NotificationPreference(donor_id=donor.id)
        db.session.add(row)
    for name in PREFERENCE_FIELDS:
        if name in changes:
            setattr(row, name, changes[name])
    row.updated_at = clock.now()
    audit.record(
        "notifications.preferences_changed",
        actor=("donor", donor.id),
        target=("donor", donor.id),
        details={name: changes[name] for name in PREFERENCE_FIELDS if name in changes},
    )
    db.session.flush()
    return preferences(donor)


# ------------------------------------------------------------------ what administrators see


def message_mobile(row: OutboxMessage) -> str | None:
    """The number a message went or goes to, masked: its own, or else its donor's."""
    mobile = row.to_mobile
    if mobile is None and row.donor_id is not None:
        donor = db.session.get(Donor, row.donor_id)
        mobile = donor.mobile if donor else None
    return mask_mobile(mobile)


def messages_query(statuses: list[str] | None, template: str | None) -> Select:
    query = select(OutboxMessage)
    if statuses:
        query = query.where(OutboxMessage.status.in_(statuses))
    if template:
        query = query.where(OutboxMessage.template == template)
    return query.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())


def undelivered_query() -> Select:
    """Messages that did not reach their donor and will not be tried again on their own."""
    return messages_query(list(NOT_DELIVERED), None)


def get_message(message_id: int) -> OutboxMessage:
    return get_or_404(OutboxMessage, message_id)


def retry_message(row: OutboxMessage, admin: Caller) -> OutboxMessage:
    """An administrator sends an undelivered message again (for a number now corrected, say)."""
    if row.status not in NOT_DELIVERED or row.sensitive:
        raise ApiError("message_not_retryable", 409)
    if row.body is None:
        raise ApiError("message_not_retryable", 409)
    row.status, row.status_reason, row.error_code = PENDING, None, None
    now = clock.now()
    lifetime = row.expires_at - row.created_at if row.expires_at else None
    row.not_before = now
    row.expires_at = now + lifetime if lifetime else None
    row.in_flight_since = None
    row.attempts = 0
    audit.record(
        "notifications.retried",
        actor=("staff", admin.principal_id),
        target=("notification", row.id),
    )
    dispatch_after_commit(db.session(), [row.id])
    return row


# ------------------------------------------------------------------ delivery callbacks

_PROVIDER_STATES = {
    "delivered": DELIVERED,
    "read": DELIVERED,
    "undelivered": UNDELIVERED,
    "failed": FAILED,
}


def record_delivery_status(sid: str, provider_status: str, error_code: str | None) -> bool:
    """A provider's word on a message it took; final states never move backwards."""
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.provider_sid == sid))
    if row is None:
        return False
    row.provider_status = provider_status[:16]
    final = _PROVIDER_STATES.get(provider_status)
    if final is not None and row.status in (SENT, SENDING, PENDING):
        row.status = final
        if final == DELIVERED:
            row.delivered_at = clock.now()
        else:
            row.status_reason = "provider"
            row.error_code = f"twilio:{error_code}" if error_code else None
    return True

"""Stock appeals: blood group X is low in city Y, so the eligible donors of that group nearby are
asked to give, in waves no larger than the free places near the city, until the stock recovers.

An administrator declares an appeal (its first wave is written at once) and closes it; the
scheduler's tick writes the next wave when it is due.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, or_, select

from certificate.eligibility import check_eligibility
from certificate.models import VALID, Donation, DonorTotals
from certificate.policy import donation_rules
from core import audit, clock
from core.auth import Caller
from core.errors import ApiError
from core.extensions import db
from core.lookups import get_or_404
from core.policy import Period, PolicyUndecided, policy_for, regions
from donors.models import DONOR_ACTIVE, Donor
from notifications.bookings import booking_directory
from notifications.models import (
    CANCELLED,
    CLOSED,
    OPEN,
    PENDING,
    SKIPPED,
    NotificationPreference,
    OutboxMessage,
    StockAppeal,
)
from notifications.outbox import Addressee, Draft, write
from notifications.rules import appeal_rules_of, local_moment
from notifications.templates import APPEAL


def declare_appeal(body: dict[str, Any], admin: Caller) -> StockAppeal:
    """Blood group X is low in city Y: open an appeal; its first wave is written at once."""
    today = clock.local_today()
    if body["ends_on"] < today:
        raise ApiError("appeal_ends_in_past", 422, errors={"ends_on": ["appeal_ends_in_past"]})
    region = body.get("region") or current_app.config["DEFAULT_REGION"]
    if region not in regions():
        raise ApiError("validation_failed", 422, errors={"region": ["region_unknown"]})
    policy = policy_for(region)
    try:
        donation_rules(policy).kind(body["kind"], today)
    except KeyError:
        raise ApiError(
            "unknown_donation_kind", 422, errors={"kind": ["unknown_donation_kind"]}
        ) from None
    max_wave = min(
        body.get("max_wave") or current_app.config["NOTIFY_APPEAL_MAX_WAVE"],
        current_app.config["NOTIFY_APPEAL_MAX_WAVE"],
    )
    appeal = StockAppeal(
        abo=body["abo"],
        rhd=body["rhd"],
        city=body["city"],
        kind=body["kind"],
        region=region,
        ends_on=body["ends_on"],
        max_wave=max_wave,
        status=OPEN,
        next_wave_at=clock.now(),
        declared_by=admin.principal_id,
    )
    db.session.add(appeal)
    db.session.flush()
    audit.record(
        "appeal.declared",
        actor=("staff", admin.principal_id),
        target=("appeal", appeal.id),
        details={"abo": appeal.abo, "rhd": appeal.rhd, "city": appeal.city},
    )
    advance_appeal(appeal)
    return appeal


def get_appeal(appeal_id: int) -> StockAppeal:
    return get_or_404(StockAppeal, appeal_id)


def close_appeal(appeal: StockAppeal, admin: Caller) -> StockAppeal:
    """Stock recovered: no further waves; messages already written still go (they are true)."""
    if appeal.status != CLOSED:
        appeal.status = CLOSED
        appeal.closed_at = clock.now()
        appeal.closed_by = admin.principal_id
        appeal.next_wave_at = None
        audit.record(
            "appeal.closed", actor=("staff", admin.principal_id), target=("appeal", appeal.id)
        )
    return appeal


def appeals_query(status: str | None) -> Select:
    query = select(StockAppeal)
    if status:
        query = query.where(StockAppeal.status == status)
    return query.order_by(StockAppeal.declared_at.desc(), StockAppeal.id.desc())


def period_start(period: Period, today: date) -> date:
    """The first day from which `period` has not yet passed by `today`."""
    day = today - timedelta(
        days=period.years * 366 + period.months * 31 + period.weeks * 7 + period.days
    )
    while period.add_to(day) <= today:
        day += timedelta(days=1)
    return day


def _group_name(appeal: StockAppeal) -> str:
    return f"{appeal.abo}型RhD{'阳性' if appeal.rhd == 'positive' else '阴性'}"


def appeal_candidates(appeal: StockAppeal, wanted: int, on: date) -> list[Donor]:
    """Eligible donors of the group near the city, most likely first (regular and recent),
    leaving out anyone who heard an appeal within the policy's period or opted out."""
    policy = policy_for(appeal.region)
    rules = appeal_rules_of(policy)
    since = local_moment(period_start(rules.once_per, on), "00:00")
    recently_appealed = select(OutboxMessage.donor_id).where(
        OutboxMessage.category == APPEAL,
        OutboxMessage.status.notin_((SKIPPED, CANCELLED)),
        OutboxMessage.created_at >= since,
        OutboxMessage.donor_id.is_not(None),
    )
    this_appeal = select(OutboxMessage.donor_id).where(
        OutboxMessage.key.like(f"appeal:{appeal.id}:%"), OutboxMessage.donor_id.is_not(None)
    )
    opted_out = select(NotificationPreference.donor_id).where(
        NotificationPreference.appeals.is_(False)
    )
    from sites.models import Site

    gave_in_city = (
        select(Donation.donor_id)
        .join(Site, Site.id == Donation.site_id)
        .where(Site.city == appeal.city, Donation.status == VALID)
    )
    query = (
        select(Donor)
        .outerjoin(DonorTotals, DonorTotals.donor_id == Donor.id)
        .where(
            Donor.abo == appeal.abo,
            Donor.rhd == appeal.rhd,
            Donor.region == appeal.region,
            Donor.status == DONOR_ACTIVE,
            Donor.mobile_hash.is_not(None),
            or_(Donor.city == appeal.city, Donor.id.in_(gave_in_city)),
            Donor.id.notin_(recently_appealed),
            Donor.id.notin_(this_appeal),
            Donor.id.notin_(opted_out),
        )
        .order_by(
            DonorTotals.donations.desc().nulls_last(),
            DonorTotals.last_donation_date.desc().nulls_last(),
            Donor.id,
        )
    )
    chosen: list[Donor] = []
    for donor in db.session.scalars(query.limit(wanted * 20)):
        try:
            result = check_eligibility(donor, appeal.kind, on, policy)
        except (KeyError, PolicyUndecided):
            continue
        if result.allowed:
            chosen.append(donor)
            if len(chosen) >= wanted:
                break
    return chosen


def advance_appeal(appeal: StockAppeal) -> int:
    """Write the appeal's next wave if its time has come; the wave never exceeds the free
    places near the city (when the booking directory knows them) nor the administrator's cap."""
    now = clock.now()
    if (
        appeal.status != OPEN
        or appeal.next_wave_at is None
        or clock.as_utc(appeal.next_wave_at) > now
    ):
        return 0
    today = clock.local_today()
    interval = current_app.config["NOTIFY_APPEAL_WAVE_INTERVAL"]
    if today > appeal.ends_on:
        appeal.status, appeal.next_wave_at, appeal.closed_at = CLOSED, None, now
        return 0
    free = booking_directory().free_places_near(appeal.city, today, appeal.ends_on, appeal.kind)
    size = appeal.max_wave if free is None else min(appeal.max_wave, free)
    appeal.next_wave_at = now + interval
    if size <= 0:
        return 0
    donors = appeal_candidates(appeal, size, today)
    if not donors:
        return 0
    rows = write(
        "appeal",
        [
            Draft(
                key=f"appeal:{appeal.id}:{donor.id}",
                donor=Addressee.of(donor),
                context={
                    "name": donor.name or "",
                    "city": appeal.city,
                    "group": _group_name(appeal),
                },
            )
            for donor in donors
        ],
        expires_at=local_moment(appeal.ends_on, current_app.config["NOTIFY_QUIET_HOURS"][0]),
    )
    told = sum(1 for row in rows if row.status == PENDING)
    appeal.waves += 1
    appeal.notified += told
    return told


def advance_appeals() -> int:
    due = db.session.scalars(
        select(StockAppeal).where(
            StockAppeal.status == OPEN, StockAppeal.next_wave_at <= clock.now()
        )
    ).all()
    return sum(advance_appeal(appeal) for appeal in due)

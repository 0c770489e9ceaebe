"""Builders for appointments tests: schedules through the services the admin API uses, and donors
with tokens made directly (the concurrency test needs fifty, the SMS round trip adds nothing)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from appointments import schedule
from appointments.models import Slot
from core import auth, clock
from core.auth import Caller
from core.extensions import db
from donors import services as donor_services
from donors.identity import parse_resident_id
from donors.models import Donor
from sites.models import Site
from tests.factories import make_site, make_staff, resident_id

MORNING = {"opens": "09:00", "closes": "11:00", "slot_minutes": 30}


def admin_caller() -> Caller:
    admin = make_staff(admin=True)
    return Caller("staff", admin.id, auth.ADMIN, "test", {})


def in_days(days: int) -> date:
    return clock.local_today() + timedelta(days=days)


def open_day(
    site: Site, day: date, capacity: dict[str, int] | None = None, **session: Any
) -> list[Slot]:
    """Open `day` at the site with one session (a dated exception: no weekday or holiday luck)."""
    body = {
        "day": day,
        "closed": False,
        "sessions": [{**MORNING, **session, "capacity": capacity or {"whole_blood": 2}}],
        "reason": "测试开放",
    }
    schedule.set_exception(site, body, admin_caller())
    db.session.commit()
    return slots_on(site, day)


def slots_on(site: Site, day: date, kind: str | None = None) -> list[Slot]:
    query = select(Slot).where(Slot.site_id == site.id, Slot.day == day)
    if kind:
        query = query.where(Slot.kind == kind)
    return list(
        db.session.scalars(
            query.order_by(Slot.starts_at, Slot.kind).execution_options(populate_existing=True)
        )
    )


def site_with_day(days_ahead: int = 3, **capacity: int) -> tuple[Site, list[Slot]]:
    site = make_site()
    return site, open_day(site, in_days(days_ahead), capacity or None)


def quick_donor(
    *, birth: str = "19900101", male: bool = True, region: str = "zhejiang"
) -> tuple[Donor, str]:
    """A registered donor and an access token, without the SMS round trip."""
    resident = parse_resident_id(resident_id(birth=birth, male=male))
    donor = Donor(
        name="测试献血者",
        id_number=resident.number,
        id_number_hash=donor_services.id_number_hash(resident.number),
        birth_date=resident.birth_date,
        sex=resident.sex,
        abo="O",
        rhd="positive",
        blood_group_source="laboratory",
        region=region,
    )
    db.session.add(donor)
    db.session.flush()
    tokens = auth.issue_tokens("donor", donor.id, auth.DONOR)
    db.session.commit()
    return donor, tokens["access_token"]

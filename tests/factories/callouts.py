"""Builders for call-out tests: teams and members written as rows (the membership API is another
module's), donors with a mobile number and a token, sites on the map, call-outs opened through
the API, and the reply link read back from the text the member was sent."""

from __future__ import annotations

import itertools
import re
from datetime import date, datetime, time, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from certificate.models import RECORDED, VALID, Donation
from core import auth, clock
from core.extensions import db
from donors import services as donor_services
from donors.identity import parse_resident_id
from donors.models import Donor
from notifications.models import OutboxMessage
from sites.models import Site
from teams.membership import CONSENT
from teams.models import MEMBER_ACTIVE, Team, TeamMember
from tests.factories import bearer, make_site, mobile, resident_id

_sequence = itertools.count(1)
# The site every test calls to: Hangzhou's Wulin donation house, on the map.
SITE_AT = (30.2741, 120.1551)
KM = 1 / 111.195  # a kilometre north, in degrees of latitude


def located_site(**fields: Any) -> Site:
    latitude, longitude = SITE_AT
    return make_site(latitude=latitude, longitude=longitude, **fields)


def member_donor(
    abo: str = "O",
    rhd: str = "negative",
    *,
    birth: str = "19900101",
    name: str = "李应急",
    region: str = "zhejiang",
    with_mobile: bool = True,
) -> Donor:
    resident = parse_resident_id(resident_id(birth=birth))
    number = "+86" + mobile()
    donor = Donor(
        name=name,
        id_number=resident.number,
        id_number_hash=donor_services.id_number_hash(resident.number),
        mobile=number if with_mobile else None,
        mobile_hash=donor_services.mobile_hash(number) if with_mobile else None,
        birth_date=resident.birth_date,
        sex=resident.sex,
        abo=abo,
        rhd=rhd,
        blood_group_source="laboratory",
        region=region,
    )
    db.session.add(donor)
    db.session.commit()
    return donor


def join(
    team: Team,
    donor: Donor,
    km: float | None = None,
    *,
    status: str = MEMBER_ACTIVE,
) -> TeamMember:
    """The donor in the team, `km` north of the call-out site (None: no location given)."""
    latitude, longitude = SITE_AT
    member = TeamMember(
        team_id=team.id,
        donor_id=donor.id,
        status=status,
        consent_text=CONSENT.text,
        consent_version=CONSENT.version,
        latitude=None if km is None else latitude + km * KM,
        longitude=None if km is None else longitude,
    )
    db.session.add(member)
    db.session.commit()
    return member


def gave(donor: Donor, days_ago: int, kind: str = "whole_blood") -> Donation:
    """A valid donation `days_ago` days before today."""
    day = clock.local_today() - timedelta(days=days_ago)
    number = next(_sequence)
    donation = Donation(
        donor_id=donor.id,
        facility_code="W3301",
        kind=kind,
        volume_ml=400 if kind == "whole_blood" else 250,
        units=None if kind == "whole_blood" else 1,
        collected_at=clock.as_utc(datetime.combine(day, time(10), clock.LOCAL_ZONE)),
        donation_date=day,
        din=f"W3301{day.year % 100:02d}{900000 + number:06d}",
        din_check="X",
        status=VALID,
        source=RECORDED,
        region=donor.region,
    )
    db.session.add(donation)
    db.session.commit()
    return donation


def donor_token(donor: Donor) -> str:
    tokens = auth.issue_tokens("donor", donor.id, auth.DONOR)
    db.session.commit()
    return tokens["access_token"]


def call_out_body(site: Site, **fields: Any) -> dict[str, Any]:
    return {
        "site_id": site.id,
        "abo": "O",
        "rhd": "negative",
        "kind": "whole_blood",
        "needed": 1,
        "needed_by": (clock.now() + timedelta(hours=6)).isoformat(),
        "urgent": True,
        **fields,
    }


def open_call_out(client: FlaskClient, token: str, site: Site, **fields: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/admin/call-outs",
        json=call_out_body(site, **fields),
        headers={**bearer(token), "Idempotency-Key": f"call-out-{next(_sequence):06d}"},
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def invitation_rows(call_out_id: int) -> list[OutboxMessage]:
    """The invitations' messages of a call-out, in the order written."""
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.key.like(f"call_out:{call_out_id}:%"))
            .order_by(OutboxMessage.id)
        )
    )


def invited_donors(call_out_id: int) -> list[int]:
    return [row.donor_id for row in invitation_rows(call_out_id)]


def reply_token(call_out_id: int, donor: Donor) -> str:
    """The token of the reply link in the text the donor was sent."""
    row = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.key == f"call_out:{call_out_id}:{donor.id}")
    )
    assert row is not None and row.body is not None, "the donor was sent no invitation"
    found = re.search(r"/c/([A-Za-z0-9_-]+)", row.body)
    assert found, row.body
    return found.group(1)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return clock.as_utc(datetime.combine(day, time(hour, minute), tzinfo=clock.LOCAL_ZONE))

"""`flask demo load`: a few sites, staff and donors so the API can be tried at once.

Demo credentials are printed, never used outside development: the command refuses to run in
production.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import click
from flask import current_app
from sqlalchemy import select

from certificate import services as certificate_services
from core import auth, clock
from core.errors import CommandError
from core.extensions import db
from core.i18n import _l
from donors import services as donor_services
from donors.identity import parse_mobile, parse_resident_id
from donors.models import Donor
from rewards import store
from rewards.models import DELIVERY, PICKUP
from sites import services as site_services
from sites.models import Site, StaffUser

demo_cli = click.Group("demo", help="Demo data for trying the API locally.")

NOT_FOR_PRODUCTION = _l("Demo data is not for production.")

DEMO_SITES = [
    {
        "facility_code": "W3301",
        "name": "杭州市武林献血屋",
        "kind": "donation_house",
        "address": "浙江省杭州市拱墅区武林广场1号",
        "city": "杭州市",
        "region": "zhejiang",
        "latitude": 30.2741,
        "longitude": 120.1650,
        "opening_hours": [
            {"weekday": day, "opens": "08:30", "closes": "17:30"} for day in range(1, 8)
        ],
    },
    {
        "facility_code": "W3302",
        "name": "杭州西湖文化广场献血车",
        "kind": "blood_bus_stop",
        "address": "浙江省杭州市下城区西湖文化广场",
        "city": "杭州市",
        "region": "zhejiang",
        "latitude": 30.2810,
        "longitude": 120.1630,
        "opening_hours": [{"weekday": day, "opens": "09:00", "closes": "16:00"} for day in (6, 7)],
    },
    {
        "facility_code": "W3310",
        "name": "宁波市中心血站",
        "kind": "blood_station",
        "address": "浙江省宁波市海曙区西北街1号",
        "city": "宁波市",
        "region": "zhejiang",
        "latitude": 29.8750,
        "longitude": 121.5440,
        "opening_hours": [
            {"weekday": day, "opens": "08:00", "closes": "17:00"} for day in range(1, 6)
        ],
    },
]

DEMO_STAFF = [
    ("admin", "站点管理员", "demo-admin-pass", auth.ADMIN, []),
    ("wulin", "武林献血屋护士", "demo-staff-pass", auth.STAFF, ["W3301"]),
    ("ningbo", "宁波血站护士", "demo-staff-pass", auth.STAFF, ["W3310"]),
]

# Weekly sessions for booking (flask appointments open-slots keeps them open two weeks ahead).
DEMO_SCHEDULES = {
    "W3301": {
        "public_holidays": "open",
        "sessions": [
            {
                "weekday": day,
                "opens": opens,
                "closes": closes,
                "slot_minutes": 30,
                "capacity": {"whole_blood": 4, "apheresis_platelets": 1},
            }
            for day in range(1, 8)
            for opens, closes in (("08:30", "11:30"), ("13:00", "17:00"))
        ],
    },
    "W3302": {
        "public_holidays": "open",
        "sessions": [
            {
                "weekday": day,
                "opens": opens,
                "closes": closes,
                "slot_minutes": 60,
                "capacity": {"whole_blood": 6},
            }
            for day in (6, 7)
            for opens, closes in (("09:00", "12:00"), ("13:00", "16:00"))
        ],
    },
    "W3310": {
        "public_holidays": "closed",
        "adjusted_workdays_as": 1,
        "sessions": [
            {
                "weekday": day,
                "opens": opens,
                "closes": closes,
                "slot_minutes": 30,
                "capacity": {"whole_blood": 3, "apheresis_platelets": 2},
            }
            for day in range(1, 6)
            for opens, closes in (("08:00", "11:30"), ("13:30", "17:00"))
        ],
    },
}

# Valid check digits, made-up people.
DEMO_DONORS = [
    ("张伟", "330102199001011234", "13800000001", "A", "positive"),
    ("王芳", "330203198507154328", "13800000002", "O", "positive"),
    ("李强", "360426199101010071", "13800000003", None, None),
]


# 张伟's past donations, recorded through the same service staff use, so his card has content.
DEMO_HISTORY = [
    ("330102199001011234", "W3301", "whole_blood", 400, None, 400),  # days ago
    ("330102199001011234", "W3301", "apheresis_platelets", 520, 2, 120),
    ("330203198507154328", "W3301", "whole_blood", 300, None, 30),
]


def record_demo_history() -> None:
    staff = db.session.scalar(select(StaffUser).where(StaffUser.username == "wulin"))
    who = auth.Caller("staff", staff.id, auth.STAFF, "demo", {})
    for id_number, facility_code, kind, volume_ml, units, days_ago in DEMO_HISTORY:
        day = clock.local_today() - timedelta(days=days_ago)
        collected = datetime.combine(day, time(10), tzinfo=clock.LOCAL_ZONE)
        # As if staff recorded each at 10:00 on its day: staff may not enter older dates today.
        with clock.frozen_at(collected):
            certificate_services.record_donation(
                certificate_services.DonationRequest(
                    donor=donor_services.find_donor_by_id_number(id_number),
                    site=db.session.scalar(select(Site).where(Site.facility_code == facility_code)),
                    kind=kind,
                    volume_ml=volume_ml,
                    units=units,
                    collected_at=collected,
                    din=None,
                    override_reason=None,
                ),
                who,
            )


def _demo_store() -> None:
    """Two souvenirs, so the store is not empty: a badge to pick up at the first demo site and a
    mug delivered by post; the demo administrator puts them in the catalogue."""
    admin = db.session.scalar(select(StaffUser).where(StaffUser.username == "admin"))
    site = db.session.scalar(select(Site).where(Site.facility_code == "W3301"))
    assert admin is not None and site is not None
    actor = auth.Caller("staff", admin.id, admin.role, "demo", {})
    store.create_item(
        store.ItemDetails(
            "无偿献血纪念徽章", price=100, stock=50, fulfilment=PICKUP, site_ids=(site.id,)
        ),
        actor,
    )
    store.create_item(
        store.ItemDetails("献血主题保温杯", price=300, stock=20, fulfilment=DELIVERY), actor
    )


@demo_cli.command("load")
def load() -> None:
    """Create demo sites, staff (password logins) and donors (log in with an SMS code)."""
    if current_app.config["ENV_NAME"] == "production":
        raise CommandError(NOT_FOR_PRODUCTION)
    if db.session.scalar(select(Site.id).limit(1)) is not None:
        opened = _open_demo_slots()
        db.session.commit()
        click.echo(f"demo data already present; {opened} new slots opened")
        return
    for fields in DEMO_SITES:
        db.session.add(Site(**fields))
    db.session.flush()
    for username, name, password, role, codes in DEMO_STAFF:
        site_services.create_staff(
            username=username, display_name=name, password=password, role=role, facility_codes=codes
        )
    for name, id_number, mobile, abo, rhd in DEMO_DONORS:
        resident = parse_resident_id(id_number)
        e164 = parse_mobile(mobile)
        db.session.add(
            Donor(
                name=name,
                id_number=resident.number,
                id_number_hash=donor_services.id_number_hash(resident.number),
                mobile=e164,
                mobile_hash=donor_services.mobile_hash(e164),
                birth_date=resident.birth_date,
                sex=resident.sex,
                abo=abo,
                rhd=rhd,
                blood_group_source="laboratory" if abo else None,
                city="杭州市",
            )
        )
    db.session.flush()
    record_demo_history()
    gate, secret = _demo_gate_and_holder()
    cashier, cashier_secret = _demo_hospital_and_family()
    _demo_store()
    opened = _open_demo_slots()
    db.session.commit()
    click.echo("demo data loaded:")
    for username, _, password, role, codes in DEMO_STAFF:
        click.echo(f"  {role:6} {username} / {password} {codes}")
    for name, _, mobile, *_ in DEMO_DONORS:
        click.echo(f"  donor  {name} mobile {mobile} (POST /api/v1/auth/otp, code in the log)")
    base = current_app.config["PUBLIC_BASE_URL"]
    click.echo(f"  gate   client_id={gate.client_id} client_secret={secret}")
    click.echo(
        "  张伟 holds Zhejiang's three frees (bronze award 2022-2023, recorded for the demo)"
    )
    click.echo(
        f"  hospital client_id={cashier.client_id} client_secret={cashier_secret}"
        f" ({DEMO_HOSPITAL[1]}, cashier)"
    )
    click.echo(
        f"  family 王芳's mother (ID {DEMO_RELATIVE[1]}) is a verified relative:"
        " GET /api/v1/me/blood-use as 王芳; POST /api/v1/hospital/entitlements/lookup"
    )
    click.echo("  store  two souvenirs: GET /api/v1/rewards/catalog; 张伟 has points to spend")
    # Chinese in a query string goes percent-encoded: curl encodes what --data-urlencode gives.
    click.echo(
        f"  slots  {opened} opened: curl -s -G {base}/api/v1/sites/search"
        " --data-urlencode 'city=杭州市'"
    )


def _demo_gate_and_holder():
    """A Hangzhou bus gate bound to its operator, and one demo donor holding the three frees."""
    from datetime import date

    from rewards.awards import AwardRecord, record_award
    from rewards.models import GateDevice, GateOperator

    operator = GateOperator(
        name="杭州公交集团（演示）",
        category="transit",
        region="zhejiang",
        benefit_kind="urban_public_transport",
    )
    db.session.add(operator)
    gate, secret = auth.create_device(auth.GATE, "杭州公交闸机（演示）", "urban_public_transport")
    db.session.add(GateDevice(device_id=gate.id, operator_id=operator.id, location="武林广场站"))
    holder = db.session.scalar(select(Donor).where(Donor.name == DEMO_DONORS[0][0]))
    record_award(
        holder,
        AwardRecord(
            "bronze",
            "zhejiang",
            "2022-2023",
            "国卫医急发〔2025〕11号",
            date(2025, 8, 1),
            reason="演示数据：该献血者的历史献血记录未载入",
        ),
        actor=None,
    )
    return gate, secret


DEMO_HOSPITAL = ("H3301", "浙江大学医学院附属第一医院（演示）", "zhejiang")
DEMO_RELATIVE = ("刘桂英", "330203196003124329", "parent")


def _demo_hospital_and_family():
    """A Hangzhou hospital with a cashier's device, and 王芳's mother as a relative the station
    verified from the household register, so her blood fee can be reduced at the cashier."""
    from blooduse import hospitals
    from donors.models import LINK_VERIFIED, FamilyLink

    code, name, region = DEMO_HOSPITAL
    hospital = hospitals.create_hospital({"code": code, "name": name, "region": region}, None)
    device, secret = hospitals.create_hospital_device(hospital, "住院收费处（演示）", None)
    donor = db.session.scalar(select(Donor).where(Donor.name == DEMO_DONORS[1][0]))
    relative_name, relative_id, relation = DEMO_RELATIVE
    resident = parse_resident_id(relative_id)
    db.session.add(
        FamilyLink(
            donor_id=donor.id,
            relation=relation,
            name=relative_name,
            id_number=resident.number,
            id_number_hash=donor_services.id_number_hash(resident.number),
            status=LINK_VERIFIED,
            verified_at=clock.now(),
            verified_by_type="staff",
            verified_document_type="household_register",
        )
    )
    return device, secret


def _open_demo_slots() -> int:
    """Give the demo sites their weekly sessions once, then keep slots open to the horizon."""
    from appointments import schedule
    from appointments.models import SiteSchedule

    admin = db.session.scalar(select(StaffUser).where(StaffUser.username == "admin"))
    actor = auth.Caller("staff", admin.id if admin else 0, auth.ADMIN, "demo", {})
    opened = 0
    for code, body in DEMO_SCHEDULES.items():
        site = db.session.scalar(select(Site).where(Site.facility_code == code))
        if site is None:
            continue
        if db.session.get(SiteSchedule, site.id) is None and admin is not None:
            opened += schedule.replace_schedule(site, body, actor).opened
        else:
            opened += schedule.open_slots(site).opened
    return opened

"""Builders for test data, going through the same services the API uses.

Shared builders live here; each domain adds its own module (`tests/factories/<domain>.py`).
"""

from __future__ import annotations

import itertools
import re
from datetime import date, datetime
from typing import Any

from flask.testing import FlaskClient
from stdnum.cn import ric

from core import auth
from core.extensions import db
from sites import services as site_services
from sites.models import Site

_sequence = itertools.count(1)


def resident_id(birth: str = "19900101", region: str = "330102", male: bool = True) -> str:
    """A valid ID number with a fresh sequence code (odd for men, even for women, 001 to 998:
    the code has three digits, so the counter wraps before a woman's would reach 1000)."""
    seq = next(_sequence) % 499 * 2 + (1 if male else 2)
    body = f"{region}{birth}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def mobile() -> str:
    return f"139{next(_sequence):08d}"


def last_code(sms: list, to_mobile: str) -> str:
    for message in reversed(sms):
        found = re.search(r"验证码是(\d{6})", message.body)
        if found and message.to.endswith(to_mobile[-11:]):
            return found.group(1)
    raise AssertionError(f"no code was sent to {to_mobile}")


def send_code(client: FlaskClient, number: str, ip: str = "127.0.0.1") -> Any:
    return client.post(
        "/api/v1/auth/otp", json={"mobile": number}, environ_base={"REMOTE_ADDR": ip}
    )


def register_donor(client: FlaskClient, sms: list, **overrides: Any) -> dict[str, Any]:
    """Register through the API and log in with the code registration sends: the profile
    (`donor`), the `tokens`, and the plain identifiers (`plain`)."""
    number = overrides.pop("mobile", None) or mobile()
    assert send_code(client, number).status_code == 202
    code = last_code(sms, number)
    body = {
        "name": "张伟",
        "id_number": overrides.pop("id_number", None) or resident_id(),
        "mobile": number,
        "code": code,
        **overrides,
    }
    response = client.post("/api/v1/donors", json=body)
    assert response.status_code == 202, response.get_json()
    login_code = last_code(sms, number)  # the registration's own code is spent
    login = client.post("/api/v1/auth/login", json={"mobile": number, "code": login_code})
    assert login.status_code == 200, login.get_json()
    tokens = login.get_json()
    me = client.get("/api/v1/me", headers=bearer(tokens["access_token"]))
    return {
        "donor": me.get_json(),
        "tokens": tokens,
        "plain": {"mobile": number, "id_number": body["id_number"]},
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_site(**overrides: Any) -> Site:
    number = next(_sequence)
    fields = {
        "facility_code": f"W{number % 10000:04d}",
        "name": f"献血点{number}",
        "kind": "donation_house",
        "address": "浙江省杭州市某路1号",
        "city": "杭州市",
        "region": "zhejiang",
        "opening_hours": [],
        **overrides,
    }
    site = Site(**fields)
    db.session.add(site)
    db.session.commit()
    return site


def make_staff(
    sites: list[Site] | None = None, *, admin: bool = False, password: str = "correct-horse-1"
) -> Any:
    user = site_services.create_staff(
        username=f"user{next(_sequence)}",
        display_name="测试护士",
        password=password,
        role=auth.ADMIN if admin else auth.STAFF,
        facility_codes=[site.facility_code for site in sites or []],
    )
    db.session.commit()
    return user


def staff_token(client: FlaskClient, user: Any, password: str = "correct-horse-1") -> str:
    response = client.post(
        "/api/v1/auth/staff-login", json={"username": user.username, "password": password}
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def donor_record(client: FlaskClient, sms: list, **overrides: Any) -> tuple[Any, dict[str, Any]]:
    """Register through the API and return the Donor row with the registration data."""
    from donors.models import Donor

    data = register_donor(client, sms, **overrides)
    return db.session.get(Donor, data["donor"]["id"]), data


def record(
    client: FlaskClient,
    token: str,
    site: Site,
    id_number: str,
    *,
    key: str | None = None,
    **fields: Any,
) -> Any:
    """POST /staff/donations with sensible defaults (400 ml of whole blood, now)."""
    from core import clock

    body = {
        "site_id": site.id,
        "donor": {"id_number": id_number},
        "kind": "whole_blood",
        "volume_ml": 400,
        "collected_at": clock.now().isoformat(),
        **fields,
    }
    headers = {**bearer(token), "Idempotency-Key": key or f"key-{next(_sequence):08d}"}
    return client.post("/api/v1/staff/donations", json=body, headers=headers)


def look_up(client: FlaskClient, token: str, site: Site, id_number: str) -> Any:
    """POST /staff/donor-lookup: the desk finds a walk-in by ID number (audited with the site,
    which lets the site's staff defer the donor today)."""
    response = client.post(
        "/api/v1/staff/donor-lookup",
        json={"site_id": site.id, "id_number": id_number},
        headers=bearer(token),
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# A command line that reads English (the command line is Chinese by default; LANGUAGE comes first
# among the variables gettext reads, so a CI machine's LC_ALL cannot override it).
ENGLISH_COMMAND_LINE = {"LANGUAGE": "en", "LANG": "en_US.UTF-8"}


def at(day: date, hour: int = 10) -> datetime:
    """`hour`:00 Beijing time on `day`: a moment of a working day at a donation site."""
    from core import clock

    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=clock.LOCAL_ZONE)


def request_erasure(client: FlaskClient, sms: list, data: dict[str, Any]) -> None:
    """Ask for a code and erase with it; call inside a clock moved past the resend wait."""
    send_code(client, data["plain"]["mobile"])
    response = client.post(
        "/api/v1/me/erasure",
        json={"code": last_code(sms, data["plain"]["mobile"])},
        headers=bearer(data["tokens"]["access_token"]),
    )
    assert response.status_code == 204, response.get_json()

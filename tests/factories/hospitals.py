"""Hospitals and their cashiers, built through the services the admin routes use, logged in as
a hospital's device logs in (POST /auth/device-token)."""

from __future__ import annotations

import itertools
from typing import Any

from flask.testing import FlaskClient

from blooduse import hospitals
from blooduse.models import Hospital
from core.extensions import db
from tests.factories import bearer

_sequence = itertools.count(1)


def make_hospital(region: str = "zhejiang", name: str = "浙江大学医学院附属第一医院") -> Hospital:
    number = next(_sequence)
    hospital = hospitals.create_hospital(
        {"code": f"H{number:05d}", "name": f"{name}{number}", "region": region}, None
    )
    db.session.commit()
    return hospital


def cashier(client: FlaskClient, hospital: Hospital, name: str = "住院收费处") -> dict[str, str]:
    """A cashier's device of the hospital, logged in: its auth headers."""
    device, secret = hospitals.create_hospital_device(hospital, name, None)
    db.session.commit()
    response = client.post(
        "/api/v1/auth/device-token",
        json={"client_id": device.client_id, "client_secret": secret},
    )
    assert response.status_code == 200, response.get_json()
    return bearer(response.get_json()["access_token"])


def hospital_cashier(
    client: FlaskClient, region: str = "zhejiang", **fields: Any
) -> tuple[Hospital, dict[str, str]]:
    hospital = make_hospital(region, **fields)
    return hospital, cashier(client, hospital)

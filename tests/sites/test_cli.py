"""`flask users ...` and `flask demo load` (items 2 and 10)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from core.extensions import db
from core.models import Device
from donors.models import Donor
from sites.models import StaffUser
from tests.factories import make_site


def device_login(client, client_id, secret):
    return client.post(
        "/api/v1/auth/device-token", json={"client_id": client_id, "client_secret": secret}
    )


def test_create_staff_bound_to_a_site(app):
    site = make_site()
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create-staff",
            "--username",
            "nurse1",
            "--name",
            "护士甲",
            "--password",
            "a-long-password",
            "--site",
            site.facility_code,
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == "nurse1"))
    assert user.site_ids == [site.id] and user.role == "staff"


def test_create_staff_refuses_an_unknown_site(app):
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create-staff",
            "--username",
            "nurse2",
            "--name",
            "护士乙",
            "--password",
            "a-long-password",
            "--site",
            "W9999",
        ]
    )
    assert result.exit_code != 0
    assert db.session.scalar(select(func.count()).select_from(StaffUser)) == 0


def test_device_credentials_rotate_and_revoke(app, client):
    runner = app.test_cli_runner()
    created = runner.invoke(
        args=[
            "users",
            "create-device",
            "--role",
            "station_system",
            "--name",
            "血站信息系统",
        ]
    )
    client_id = re.search(r"client_id=(\S+)", created.output).group(1)
    secret = re.search(r"client_secret=(\S+)", created.output).group(1)
    first = device_login(client, client_id, secret)
    assert first.status_code == 200

    rotated = runner.invoke(args=["users", "rotate-device", client_id])
    new_secret = re.search(r"client_secret=(\S+)", rotated.output).group(1)
    assert device_login(client, client_id, secret).status_code == 401
    assert device_login(client, client_id, new_secret).status_code == 200
    old_access = first.get_json()["access_token"]
    from tests.factories import bearer

    assert client.get("/api/v1/me", headers=bearer(old_access)).status_code == 401

    runner.invoke(args=["users", "revoke-device", client_id])
    assert device_login(client, client_id, new_secret).status_code == 401
    assert db.session.scalar(select(Device.active)) is False


def test_demo_load_creates_sites_staff_and_donors_once(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    again = runner.invoke(args=["demo", "load"])
    assert "already" in again.output
    assert db.session.scalar(select(func.count()).select_from(Donor)) == 3
    assert db.session.scalar(select(func.count()).select_from(StaffUser)) == 3

"""Fixtures shared by the tests of the service as a whole."""

from __future__ import annotations

import pytest

from core import auth
from core.extensions import db
from tests.factories import make_site, make_staff, register_donor, staff_token


@pytest.fixture
def tokens(client, sms) -> dict[str, str]:
    site = make_site()
    found = {
        auth.DONOR: register_donor(client, sms)["tokens"]["access_token"],
        auth.STAFF: staff_token(client, make_staff([site])),
        auth.ADMIN: staff_token(client, make_staff(admin=True)),
    }
    for role in auth.DEVICE_ROLES:
        device, secret = auth.create_device(role, f"test {role}", "urban_public_transport")
        db.session.commit()
        response = client.post(
            "/api/v1/auth/device-token",
            json={"client_id": device.client_id, "client_secret": secret},
        )
        found[role] = response.get_json()["access_token"]
    return found

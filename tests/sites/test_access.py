"""Object-level access: a donor sees only their own data; staff act only at their sites."""

from __future__ import annotations

import pytest

from core import auth
from core.extensions import db
from tests.factories import bearer, make_site, make_staff, register_donor, staff_token


def test_each_donor_token_reads_and_changes_only_its_own_profile(client, sms):
    alice = register_donor(client, sms, name="艾丽")
    bob = register_donor(client, sms, name="鲍勃")
    a_headers = bearer(alice["tokens"]["access_token"])
    assert client.get("/api/v1/me", headers=a_headers).get_json()["name"] == "艾丽"
    client.patch("/api/v1/me", json={"city": "温州市"}, headers=a_headers)
    b_profile = client.get("/api/v1/me", headers=bearer(bob["tokens"]["access_token"])).get_json()
    assert b_profile["name"] == "鲍勃"
    assert b_profile["city"] != "温州市"


def test_staff_of_one_site_cannot_act_on_another(client):
    site_x, site_y = make_site(), make_site()
    token = staff_token(client, make_staff([site_x]))
    own = client.patch(
        f"/api/v1/staff/sites/{site_x.id}/notice",
        json={"notice": "今日16点闭馆"},
        headers=bearer(token),
    )
    assert own.status_code == 200
    other = client.patch(
        f"/api/v1/staff/sites/{site_y.id}/notice",
        json={"notice": "恶作剧"},
        headers=bearer(token),
    )
    assert other.status_code == 403
    assert other.get_json()["code"] == "site_not_served"
    db.session.refresh(site_y)
    assert site_y.notice is None


def test_an_admin_acts_on_any_site(client):
    site = make_site()
    token = staff_token(client, make_staff(admin=True))
    response = client.patch(
        f"/api/v1/staff/sites/{site.id}/notice", json={"notice": "x"}, headers=bearer(token)
    )
    assert response.status_code == 200


def device_token(client, role):
    device, secret = auth.create_device(role, "测试设备", "urban_public_transport")
    db.session.commit()
    response = client.post(
        "/api/v1/auth/device-token",
        json={"client_id": device.client_id, "client_secret": secret},
    )
    return response.get_json()["access_token"]


ROUTES = [
    ("GET", "/api/v1/me", {"donor"}),
    ("GET", "/api/v1/staff/me", {"staff", "admin"}),
    ("GET", "/api/v1/admin/sites", {"admin"}),
]


@pytest.mark.parametrize("role", ["donor", "staff", "admin", "gate", "hospital"])
@pytest.mark.parametrize("method,path,allowed", ROUTES)
def test_role_matrix(client, sms, role, method, path, allowed):
    if role == "donor":
        token = register_donor(client, sms)["tokens"]["access_token"]
    elif role in ("staff", "admin"):
        token = staff_token(client, make_staff([make_site()], admin=role == "admin"))
    else:
        token = device_token(client, role)
    response = client.open(path, method=method, headers=bearer(token))
    expected = 200 if role in allowed else 403
    assert response.status_code == expected, response.get_json()

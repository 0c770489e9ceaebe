"""Hospitals and their cashiers' devices (issue 15 item 3; DESIGN.md "Who calls us": the
hospital, a device credential bound to one hospital), as administrators and the shell make them."""

from __future__ import annotations

import re

import pytest

from tests.factories import bearer, make_staff, staff_token
from tests.factories.settlements import look_up, patient_donor


@pytest.fixture
def admin(client):
    return bearer(staff_token(client, make_staff(admin=True)))


def register(client, admin, **fields):
    body = {
        "code": "330100001",
        "name": "浙江大学医学院附属第一医院",
        "region": "zhejiang",
        **fields,
    }
    return client.post("/api/v1/admin/hospitals", json=body, headers=admin)


def device_login(client, client_id: str, secret: str):
    return client.post(
        "/api/v1/auth/device-token", json={"client_id": client_id, "client_secret": secret}
    )


def test_an_administrator_registers_hospitals_and_lists_them_by_region(client, admin):
    made = register(client, admin)
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["region"] == "zhejiang" and made.get_json()["active"]
    register(client, admin, code="370100001", name="山东省立医院", region="shandong")
    listed = client.get("/api/v1/admin/hospitals?region=shandong", headers=admin).get_json()
    assert [item["name"] for item in listed["items"]] == ["山东省立医院"]
    assert listed["page"]["total"] == 1
    taken = register(client, admin, name="另一家")
    assert (taken.status_code, taken.get_json()["code"]) == (409, "hospital_code_taken")
    unknown = register(client, admin, code="990000001", region="atlantis")
    assert (unknown.status_code, unknown.get_json()["code"]) == (422, "region_unknown")


def test_a_cashiers_device_is_shown_its_secret_once_and_works_until_the_hospital_ends(
    client, admin
):
    hospital = register(client, admin).get_json()
    issued = client.post(
        f"/api/v1/admin/hospitals/{hospital['id']}/devices",
        json={"name": "住院收费处1号窗口"},
        headers=admin,
    )
    assert issued.status_code == 201, issued.get_json()
    device = issued.get_json()
    assert device["hospital_id"] == hospital["id"] and device["client_secret"]
    login = device_login(client, device["client_id"], device["client_secret"])
    assert login.status_code == 200
    desk = bearer(login.get_json()["access_token"])
    assert look_up(client, desk, patient_donor().id_number).status_code == 200
    ended = client.post(f"/api/v1/admin/hospitals/{hospital['id']}/deactivate", headers=admin)
    assert ended.status_code == 200 and ended.get_json()["active"] is False
    assert look_up(client, desk, patient_donor().id_number).status_code == 401
    again = client.post(
        f"/api/v1/admin/hospitals/{hospital['id']}/devices", json={"name": "新窗口"}, headers=admin
    )
    assert (again.status_code, again.get_json()["code"]) == (409, "hospital_inactive")


def test_a_device_of_no_hospital_is_refused_at_the_cashiers_routes(client):
    from tests.factories.notifications import device_token

    desk = bearer(device_token(client, "hospital"))
    refused = look_up(client, desk, patient_donor().id_number)
    assert (refused.status_code, refused.get_json()["code"]) == (403, "hospital_not_registered")


@pytest.mark.committed_db
def test_the_shell_makes_a_cashiers_device_for_a_hospital_and_refuses_one_without(
    app, client, admin
):
    # sites/cli.py: `flask users create-device --role hospital --hospital ID`.
    hospital = register(client, admin).get_json()
    runner = app.test_cli_runner()
    base = ["users", "create-device", "--role", "hospital", "--name", "急诊收费处"]
    made = runner.invoke(args=[*base, "--hospital", str(hospital["id"])])
    assert made.exit_code == 0, made.output
    client_id = re.search(r"client_id=(\S+)", made.output).group(1)
    secret = re.search(r"client_secret=(\S+)", made.output).group(1)
    login = device_login(client, client_id, secret)
    desk = bearer(login.get_json()["access_token"])
    assert look_up(client, desk, patient_donor().id_number).status_code == 200
    without = runner.invoke(args=base)
    assert without.exit_code != 0 and "--hospital" in without.output
    unknown = runner.invoke(args=[*base, "--hospital", "99999"])
    assert unknown.exit_code != 0 and "--hospital 99999" in unknown.output

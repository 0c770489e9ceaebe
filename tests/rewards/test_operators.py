"""Gate operators and devices (admins), and usage for settlement (admins; an operator's own)."""

from __future__ import annotations

import csv
import io

import pytest

from core import clock
from tests.factories import bearer, register_donor
from tests.factories.rewards import Scheme


def test_an_admin_registers_an_operator_and_its_devices(client, sms):
    scheme = Scheme(client, sms)
    operator = scheme.operator(contact="0571-12345678")
    assert operator["active"] is True
    device = scheme.device(operator["id"])
    assert device["client_id"].startswith("gate-")
    assert device["client_secret"]
    assert device["benefit_kind"] == "urban_public_transport"
    listed = client.get(
        f"/api/v1/admin/gate-operators/{operator['id']}/devices", headers=scheme.admin
    ).get_json()
    assert listed["page"]["total"] == 1
    assert "client_secret" not in listed["items"][0]
    operators = client.get("/api/v1/admin/gate-operators?region=zhejiang", headers=scheme.admin)
    assert operators.get_json()["page"]["total"] == 1
    assert scheme.device_login(device).status_code == 200


def test_rotating_a_device_secret_ends_the_old_one(client, sms):
    scheme = Scheme(client, sms)
    device, gate = scheme.gate()
    rotated = client.post(
        f"/api/v1/admin/gate-devices/{device['client_id']}/rotate", headers=scheme.admin
    )
    assert rotated.status_code == 200
    fresh = rotated.get_json()["client_secret"]
    assert fresh != device["client_secret"]
    assert scheme.device_login(device).status_code == 401
    assert scheme.device_login({**device, "client_secret": fresh}).status_code == 200
    kit = client.get("/api/v1/gate/offline-kit", headers=gate)
    assert kit.status_code == 401


def test_deactivating_an_operator_stops_all_its_devices(client, sms):
    scheme = Scheme(client, sms)
    device, gate = scheme.gate()
    operator_id = device["operator_id"]
    response = client.post(
        f"/api/v1/admin/gate-operators/{operator_id}/deactivate", headers=scheme.admin
    )
    assert response.get_json()["active"] is False
    assert scheme.device_login(device).status_code == 401
    more = client.post(
        f"/api/v1/admin/gate-operators/{operator_id}/devices",
        json={"name": "新闸机"},
        headers=scheme.admin,
    )
    assert more.status_code == 409


@pytest.mark.parametrize(
    "change,code",
    [
        ({"region": "mars"}, "region_unknown"),
        ({"benefit_kind": "free_lunch"}, "benefit_kind_unknown"),
        (
            {"region": "shandong", "benefit_kind": "outpatient_consultation_fee"},
            "benefit_kind_unknown",
        ),
        ({"category": "casino"}, "validation_failed"),
        ({"name": ""}, "validation_failed"),
    ],
)
def test_an_operator_must_offer_a_benefit_of_its_regions_policy(client, sms, change, code):
    scheme = Scheme(client, sms)
    body = {
        "name": "某公司",
        "category": "transit",
        "region": "zhejiang",
        "benefit_kind": "urban_public_transport",
        **change,
    }
    response = client.post("/api/v1/admin/gate-operators", json=body, headers=scheme.admin)
    assert response.status_code == 422
    assert response.get_json()["code"] == code


def test_unknown_operators_and_devices_are_not_found(client, sms):
    scheme = Scheme(client, sms)
    assert client.get("/api/v1/admin/gate-operators/999", headers=scheme.admin).status_code == 404
    missing = client.post("/api/v1/admin/gate-devices/gate-nope/rotate", headers=scheme.admin)
    assert missing.status_code == 404


ADMIN_ROUTES = [
    ("POST", "/api/v1/admin/gate-operators"),
    ("GET", "/api/v1/admin/gate-operators"),
    ("GET", "/api/v1/admin/benefit-usage?from=2026-01-01&to=2026-01-31"),
]


@pytest.mark.parametrize("method,path", ADMIN_ROUTES)
def test_only_admins_manage_gates_and_read_usage(client, sms, method, path):
    scheme = Scheme(client, sms)
    donor = bearer(register_donor(client, sms)["tokens"]["access_token"])
    staff = bearer(scheme.staff)
    _, gate = scheme.gate()
    for headers in (donor, staff, gate):
        assert client.open(path, method=method, json={}, headers=headers).status_code == 403


def _admit(scheme, gate, headers, times):
    for _ in range(times):
        assert scheme.verify(gate, scheme.code(headers))["decision"] == "allow"


def test_usage_is_counted_per_operator_day_and_kind_as_json_and_csv(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    bus_device, bus = scheme.gate(name="杭州公交集团")
    _, park = scheme.gate(
        name="=西湖风景名胜区", category="park", benefit_kind="government_parks_scenic_museums"
    )
    _admit(scheme, bus, headers, 3)
    _admit(scheme, park, headers, 1)
    offline = client.post(
        "/api/v1/gate/offline-uses",
        json={"uses": [{"code": scheme.code(headers), "used_at": clock.now().isoformat()}]},
        headers=bus,
    )
    assert offline.get_json()["recorded"] == 1
    today = clock.local_today().isoformat()
    query = f"from={today}&to={today}"
    rows = client.get(f"/api/v1/admin/benefit-usage?{query}", headers=scheme.admin).get_json()
    summary = {
        (r["operator_name"], r["benefit_kind"]): (r["uses"], r["online"], r["offline"])
        for r in rows["items"]
    }
    assert summary == {
        ("杭州公交集团", "urban_public_transport"): (4, 3, 1),
        ("=西湖风景名胜区", "government_parks_scenic_museums"): (1, 1, 0),
    }
    assert rows["items"][0]["day"] == today
    response = client.get(f"/api/v1/admin/benefit-usage.csv?{query}", headers=scheme.admin)
    assert response.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert table[0] == [
        "day",
        "operator_id",
        "operator_name",
        "benefit_kind",
        "uses",
        "online",
        "offline",
    ]
    assert ["'=西湖风景名胜区"] == [row[2] for row in table[1:] if "西湖" in row[2]]
    only_bus = client.get(
        f"/api/v1/admin/benefit-usage?{query}&operator_id={bus_device['operator_id']}",
        headers=scheme.admin,
    ).get_json()
    assert only_bus["page"]["total"] == 1


def test_an_operator_sees_only_its_own_usage(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    _, bus = scheme.gate(name="杭州公交集团")
    _, park = scheme.gate(
        name="西湖风景名胜区", category="park", benefit_kind="government_parks_scenic_museums"
    )
    _admit(scheme, bus, headers, 2)
    _admit(scheme, park, headers, 1)
    today = clock.local_today().isoformat()
    mine = client.get(f"/api/v1/gate/usage?from={today}&to={today}", headers=park).get_json()
    assert [(r["operator_name"], r["uses"]) for r in mine["items"]] == [("西湖风景名胜区", 1)]
    # An operator_id in the query changes nothing: a gate's view is its operator's.
    sneaky = client.get(f"/api/v1/gate/usage?from={today}&to={today}&operator_id=1", headers=park)
    assert sneaky.get_json()["items"] == mine["items"]
    as_csv = client.get(f"/api/v1/gate/usage.csv?from={today}&to={today}", headers=park)
    assert "杭州公交" not in as_csv.data.decode("utf-8-sig")


def test_usage_ranges_are_bounded(client, sms):
    scheme = Scheme(client, sms)
    backwards = client.get(
        "/api/v1/admin/benefit-usage?from=2026-02-01&to=2026-01-01", headers=scheme.admin
    )
    assert backwards.get_json()["code"] == "usage_range_invalid"
    too_long = client.get(
        "/api/v1/admin/benefit-usage?from=2020-01-01&to=2026-01-01", headers=scheme.admin
    )
    assert too_long.get_json()["code"] == "usage_range_too_long"
    missing = client.get("/api/v1/admin/benefit-usage", headers=scheme.admin)
    assert missing.status_code == 422

"""Gate operators and devices (admins), and usage for settlement (admins; an operator's own)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from core import clock
from core.extensions import db
from core.models import AuditEntry, Device
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


def _shell_device(app, *options: str):
    return app.test_cli_runner().invoke(
        args=["users", "create-device", "--role", "gate", "--name", "B1路闸机", *options]
    )


def _printed(output: str, name: str) -> str:
    return re.search(rf"{name}=(\S+)", output).group(1)


@pytest.mark.committed_db
def test_a_gate_made_in_the_shell_for_an_operator_admits_a_holder(app, client, sms):
    """Issue 12 item 5: `flask users create-device --role gate` makes a gate that works."""
    scheme = Scheme(client, sms)
    _, _, holder, _ = scheme.holder()
    operator = scheme.operator()
    made = _shell_device(app, "--operator", str(operator["id"]), "--location", "武林广场站")
    assert made.exit_code == 0, made.output
    device = {
        "client_id": _printed(made.output, "client_id"),
        "client_secret": _printed(made.output, "client_secret"),
    }
    login = scheme.device_login(device)
    assert login.status_code == 200, login.get_json()
    gate = bearer(login.get_json()["access_token"])
    decision = scheme.verify(gate, scheme.code(holder))
    assert (decision["decision"], decision["benefit_kind"]) == ("allow", "urban_public_transport")
    listed = client.get(
        f"/api/v1/admin/gate-operators/{operator['id']}/devices", headers=scheme.admin
    ).get_json()["items"]
    assert [(d["client_id"], d["location"]) for d in listed] == [
        (device["client_id"], "武林广场站")
    ]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "gate_device.created"))
    assert (entry.actor_type, entry.details) == ("shell", {"operator": operator["id"]})


@pytest.mark.parametrize(
    "options,sentence",
    [
        ((), "闸机必须属于一个运营单位，请指定运营单位编号。 (--operator)"),
        (("--operator", "999"), "没有该编号的运营单位。 (--operator 999)"),
        (
            ("--benefit-kind", "free_lunch"),
            "该地区的“三免”政策中没有此项优待。 (--benefit-kind free_lunch)",
        ),
        (
            ("--benefit-kind", "outpatient_consultation_fee"),
            "该运营单位提供的不是这项优待。 (--benefit-kind outpatient_consultation_fee)",
        ),
    ],
    ids=["no_operator", "unknown_operator", "unknown_kind", "another_kind"],
)
def test_the_shell_refuses_a_gate_of_no_known_operator_or_an_unknown_benefit(
    app, client, sms, options, sentence
):
    """Issue 12 item 5: no gate that every check would refuse; a sentence and a non-zero exit."""
    scheme = Scheme(client, sms)
    operator = scheme.operator()
    if "--operator" not in options and options:
        options = ("--operator", str(operator["id"]), *options)
    made = _shell_device(app, *options)
    assert made.exit_code == 1
    assert sentence in made.output
    assert "client_secret" not in made.output
    assert db.session.scalar(select(func.count()).select_from(Device)) == 0


def test_the_operators_own_benefit_kind_may_be_named(app, client, sms):
    scheme = Scheme(client, sms)
    operator = scheme.operator()
    made = _shell_device(
        app, "--operator", str(operator["id"]), "--benefit-kind", "urban_public_transport"
    )
    assert made.exit_code == 0, made.output


def test_other_devices_take_no_gate_options(app):
    made = app.test_cli_runner().invoke(
        args=[
            "users",
            "create-device",
            "--role",
            "hospital",
            "--name",
            "浙一医院",
            "--operator",
            "1",
        ]
    )
    assert made.exit_code == 1
    assert "该类设备不使用此选项。 (--operator 1)" in made.output
    assert db.session.scalar(select(func.count()).select_from(Device)) == 0


def test_the_create_device_help_says_what_a_gate_needs(app):
    """Issue 12 item 10: --help says what the command needs."""
    shown = app.test_cli_runner().invoke(args=["users", "create-device", "--help"]).output
    assert "--operator" in shown and "gate operator" in shown
    assert "--benefit-kind" in shown and "three_free" in shown


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


@pytest.mark.committed_db
def test_usage_is_counted_per_operator_day_and_kind_as_json_and_csv(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    bus_device, bus = scheme.gate(name="杭州公交集团")
    _, park = scheme.gate(
        name="＝西湖风景名胜区", category="park", benefit_kind="government_parks_scenic_museums"
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
        ("＝西湖风景名胜区", "government_parks_scenic_museums"): (1, 1, 0),
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
    assert ["'＝西湖风景名胜区"] == [row[2] for row in table[1:] if "西湖" in row[2]]
    only_bus = client.get(
        f"/api/v1/admin/benefit-usage?{query}&operator_id={bus_device['operator_id']}",
        headers=scheme.admin,
    ).get_json()
    assert only_bus["page"]["total"] == 1


@pytest.mark.committed_db
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

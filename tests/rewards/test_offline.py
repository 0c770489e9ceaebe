"""Gates offline: check with the public keys alone, upload the uses later, once each."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from core import clock
from core.config import PROJECT_ROOT
from core.extensions import db
from rewards.models import BenefitUse
from tests.factories.rewards import Scheme


def _script():
    path = PROJECT_ROOT / "scripts" / "gate_offline_verify.py"
    spec = importlib.util.spec_from_file_location("gate_offline_verify", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def upload(client, gate, *uses):
    return client.post("/api/v1/gate/offline-uses", json={"uses": list(uses)}, headers=gate)


def use(code, moment=None):
    return {"code": code, "used_at": (moment or clock.now()).isoformat()}


def test_the_script_checks_codes_with_the_jwks_alone(client, sms, tmp_path, capsys):
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(client.get("/.well-known/jwks.json").get_json()))
    journal = tmp_path / "uses.jsonl"
    code = scheme.code(headers)
    script = _script()
    args = ["check", "--jwks", str(jwks), "--region", "zhejiang", "--token-code", "t"]
    status = script.main([*args, "--journal", str(journal), code, code, code[:-4] + "AAAA"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["reason"] for line in lines] == ["allowed", "replayed", "code_invalid"]
    assert status == 1
    [entry] = [json.loads(line) for line in journal.read_text().splitlines()]
    assert entry["code"] == code
    wrong_kind = script.main([*args[:-1], "o", code])
    assert wrong_kind == 0  # the clinic's letter is on a Zhejiang holder's code too
    capsys.readouterr()
    parks_elsewhere = script.main(
        ["check", "--jwks", str(jwks), "--region", "shandong", "--token-code", "t", code]
    )
    assert parks_elsewhere == 1
    assert json.loads(capsys.readouterr().out)["reason"] == "wrong_region"


def _check(capsys, kit, journal, *codes):
    """One run of the kit, as the gate runs it per scan: a fresh process state each time."""
    status = _script().main(["check", "--kit", str(kit), "--journal", str(journal), *codes])
    return status, [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.committed_db
def test_a_code_in_the_gates_own_journal_is_refused_after_a_restart(client, sms, tmp_path, capsys):
    """Issue 12 item 5: one device never admits the same code twice, online or not."""
    scheme = Scheme(client, sms)
    _, _, holder, _ = scheme.holder()
    _, gate = scheme.gate()
    kit = tmp_path / "kit.json"
    kit.write_text(json.dumps(client.get("/api/v1/gate/offline-kit", headers=gate).get_json()))
    journal = tmp_path / "uses.jsonl"
    code, other = scheme.code(holder), scheme.code(holder)

    assert _check(capsys, kit, journal, code) == (0, [{"decision": "allow", "reason": "allowed"}])
    again = _check(capsys, kit, journal, code)
    assert again == (1, [{"decision": "deny", "reason": "replayed"}])
    assert scheme.verify(gate, other)["reason"] == "allowed"
    assert scheme.verify(gate, other)["reason"] == again[1][0]["reason"]  # the online answer

    [entry] = [json.loads(line) for line in journal.read_text().splitlines()]
    assert entry["code"] == code
    answer = upload(client, gate, entry).get_json()
    assert (answer["recorded"], answer["rejected"]) == (1, 0)


def test_a_line_torn_by_a_crash_neither_stops_the_gate_nor_the_upload(
    client, sms, tmp_path, capsys
):
    scheme = Scheme(client, sms)
    _, _, holder, _ = scheme.holder()
    _, gate = scheme.gate()
    kit = tmp_path / "kit.json"
    kit.write_text(json.dumps(client.get("/api/v1/gate/offline-kit", headers=gate).get_json()))
    journal = tmp_path / "uses.jsonl"
    first, second = scheme.code(holder), scheme.code(holder)
    _check(capsys, kit, journal, first)
    with journal.open("a", encoding="utf-8") as torn:
        torn.write('{"code": "' + second[:20])
    status, lines = _check(capsys, kit, journal, second, first)
    assert status == 1
    assert [line["reason"] for line in lines] == ["allowed", "replayed"]
    entries = _script().journal_entries(str(journal))
    assert [entry["code"] for entry in entries] == [first, second]
    assert upload(client, gate, *entries).get_json()["recorded"] == 2


def test_the_offline_kit_carries_keys_region_and_letter(client, sms):
    scheme = Scheme(client, sms)
    _, gate = scheme.gate(
        name="西湖景区", category="park", benefit_kind="government_parks_scenic_museums"
    )
    kit = client.get("/api/v1/gate/offline-kit", headers=gate).get_json()
    assert (kit["region"], kit["token_code"]) == ("zhejiang", "p")
    assert kit["jwks"] == client.get("/.well-known/jwks.json").get_json()


def test_the_offline_kit_says_the_servers_time_and_until_when_it_serves(client, sms, app):
    scheme = Scheme(client, sms)
    _, gate = scheme.gate()
    made = clock.local_now().replace(microsecond=0)
    with clock.frozen_at(made):
        kit = client.get("/api/v1/gate/offline-kit", headers=gate).get_json()
    assert datetime.fromisoformat(kit["server_time"]) == made
    assert datetime.fromisoformat(kit["valid_until"]) == made + timedelta(days=31)
    assert (
        datetime.fromisoformat(kit["valid_until"]) == made + app.config["BENEFIT_OFFLINE_MAX_AGE"]
    )
    assert (kit["clock_skew"], kit["batch_max"]) == (30, app.config["BENEFIT_OFFLINE_BATCH_MAX"])


def test_an_upload_records_each_use_once(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    _, gate = scheme.gate()
    first, second = use(scheme.code(headers)), use(scheme.code(headers))
    answer = upload(client, gate, first, second).get_json()
    assert (answer["recorded"], answer["duplicate"], answer["rejected"]) == (2, 0, 0)
    again = upload(client, gate, first, second).get_json()
    assert (again["recorded"], again["duplicate"]) == (0, 2)
    modes = db.session.scalars(select(BenefitUse.mode)).all()
    assert modes == ["offline", "offline"]


@pytest.mark.committed_db
def test_a_code_used_at_two_gates_is_settled_to_the_first(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    _, gate = scheme.gate()
    _, other = scheme.gate(name="杭州地铁")
    shared = use(scheme.code(headers))
    assert upload(client, gate, shared).get_json()["recorded"] == 1
    answer = upload(client, other, shared).get_json()
    assert answer["results"][0]["reason"] == "replayed"
    online_then_offline = scheme.code(headers)
    assert scheme.verify(gate, online_then_offline)["decision"] == "allow"
    assert upload(client, other, use(online_then_offline)).get_json()["rejected"] == 1


def test_an_upload_refuses_uses_outside_the_codes_minute_or_forged(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    _, gate = scheme.gate()
    code = scheme.code(headers)
    late = use(code, clock.now() + timedelta(minutes=5))
    early = use(code, clock.now() - timedelta(minutes=5))
    forged = use(code[:-6] + "AAAAAA")
    answer = upload(client, gate, late, early, forged).get_json()
    assert [r["reason"] for r in answer["results"]] == [
        "code_expired",
        "used_before_issue",
        "code_invalid",
    ]
    assert db.session.scalar(select(func.count()).select_from(BenefitUse)) == 0


def test_an_upload_checks_the_standing_at_the_time_of_use(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers, donations = scheme.holder()
    _, gate = scheme.gate()
    before = use(scheme.code(headers))
    code = scheme.code(headers)
    client.post(
        f"/api/v1/admin/donations/{donations[0]['id']}/void",
        json={"reason": "重复登记"},
        headers=scheme.admin,
    )
    after = use(code, clock.now() + timedelta(seconds=1))
    answer = upload(client, gate, before, after).get_json()
    assert [r["outcome"] for r in answer["results"]] == ["recorded", "rejected"]
    assert answer["results"][1]["reason"] == "not_held"


def test_a_batch_too_large_or_malformed_changes_nothing(client, sms, app):
    scheme = Scheme(client, sms)
    _, gate = scheme.gate()
    too_many = [use("a.b.c")] * (app.config["BENEFIT_OFFLINE_BATCH_MAX"] + 1)
    response = upload(client, gate, *too_many)
    assert response.status_code == 422
    assert response.get_json()["code"] == "offline_batch_too_large"
    naive = client.post(
        "/api/v1/gate/offline-uses",
        json={"uses": [{"code": "a.b.c", "used_at": "2026-01-01T08:00:00"}]},
        headers=gate,
    )
    assert naive.status_code == 422
    assert (
        client.post("/api/v1/gate/offline-uses", json={"uses": "x"}, headers=gate).status_code
        == 422
    )

"""Gates online: signature, expiry, kind, region, current standing, replay; the use recorded."""

from __future__ import annotations

import base64
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import func, select

from core import auth, clock
from core.extensions import db
from core.signing import keyring
from rewards.codes import TOKEN_TYPE
from rewards.models import BenefitUse
from tests.factories import bearer
from tests.factories.rewards import NOT_ON_RECORD, Scheme


def _tamper(code: str, **changes) -> str:
    header, payload, signature = code.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def uses() -> int:
    return db.session.scalar(select(func.count()).select_from(BenefitUse))


@pytest.mark.committed_db
def test_a_holders_code_is_admitted_once_and_the_use_recorded(client, sms):
    scheme = Scheme(client, sms)
    donor, _, headers, _ = scheme.holder(name="张三丰")
    device, gate = scheme.gate()
    answer = scheme.verify(gate, scheme.code(headers))
    assert (answer["decision"], answer["reason"]) == ("allow", "allowed")
    assert answer["benefit_kind"] == "urban_public_transport"
    assert answer["name"] == "张**"
    assert set(answer) == {"decision", "reason", "message", "benefit_kind", "name", "checked_at"}
    use = db.session.scalar(select(BenefitUse))
    assert (use.donor_id, use.benefit_kind, use.mode) == (
        donor.id,
        "urban_public_transport",
        "online",
    )
    assert use.device_id and use.operator_id and use.used_at
    assert use.used_on == clock.local_today()


@pytest.mark.committed_db
def test_a_replayed_code_is_refused(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    _, gate = scheme.gate()
    _, other_gate = scheme.gate(name="杭州地铁")
    code = scheme.code(headers)
    assert scheme.verify(gate, code)["decision"] == "allow"
    again = scheme.verify(gate, code)
    assert (again["decision"], again["reason"]) == ("deny", "replayed")
    elsewhere = scheme.verify(other_gate, code)
    assert elsewhere["reason"] == "replayed"
    assert uses() == 1
    assert scheme.verify(gate, scheme.code(headers))["decision"] == "allow"


@pytest.mark.committed_db
def test_one_code_scanned_at_many_gates_at_once_is_admitted_once(app, client, sms):
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    gates = [scheme.gate(name=f"杭州公交{number}")[1] for number in range(8)]
    code = scheme.code(headers)
    barrier = threading.Barrier(len(gates))

    def scan(gate: dict[str, str]) -> str:
        with app.app_context(), app.test_client() as other:
            barrier.wait()
            answer = other.post("/api/v1/gate/verify", json={"code": code}, headers=gate)
            return answer.get_json()["reason"]

    with ThreadPoolExecutor(max_workers=len(gates)) as pool:
        reasons = sorted(pool.map(scan, gates))
    assert reasons == ["allowed"] + ["replayed"] * 7
    assert uses() == 1


def test_a_forged_code_is_refused(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    _, _, stranger = scheme.donor()
    _, gate = scheme.gate()
    code = scheme.code(headers)
    # Claims altered under a genuine signature, codes that are not codes, an unknown key.
    assert scheme.verify(gate, _tamper(code, bk="tpoz"))["reason"] == "code_invalid"
    assert scheme.verify(gate, _tamper(code, exp=2**40))["reason"] == "code_invalid"
    assert scheme.verify(gate, "not.a.code")["reason"] == "code_invalid"
    assert scheme.verify(gate, "x" * 500)["reason"] == "code_invalid"
    _, payload, signature = code.split(".")
    unknown_kid = base64.urlsafe_b64encode(
        b'{"alg":"EdDSA","kid":"evil","typ":"benefit+jwt"}'
    ).decode()
    assert scheme.verify(gate, f"{unknown_kid}.{payload}.{signature}")["reason"] == "code_invalid"
    assert uses() == 0


def test_a_certificate_token_is_not_a_benefit_code(client, sms):
    scheme = Scheme(client, sms)
    _, _, _, donations = scheme.holder()
    _, gate = scheme.gate()
    answer = scheme.verify(gate, donations[-1]["certificate"]["signed_token"])
    assert answer["reason"] == "code_invalid"


def test_an_expired_code_is_refused(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    _, gate = scheme.gate()
    code = scheme.code(headers)
    with clock.travelled(timedelta(minutes=2)):
        answer = scheme.verify(gate, code)
    assert (answer["decision"], answer["reason"]) == ("deny", "code_expired")
    assert answer["name"] is None
    assert uses() == 0


@pytest.mark.committed_db
def test_a_gate_of_another_benefit_kind_refuses_the_code(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    _, clinic = scheme.gate(
        name="杭州市第一人民医院", category="clinic", benefit_kind="outpatient_consultation_fee"
    )
    assert scheme.verify(clinic, scheme.code(headers))["decision"] == "allow"
    # A code naming only the parks benefit, signed by us, at the transit gate.
    _, transit = scheme.gate()
    parks_only = jwt.decode(scheme.code(headers), options={"verify_signature": False})
    code = keyring().sign({**parks_only, "bk": "p"}, TOKEN_TYPE)
    answer = scheme.verify(transit, code)
    assert (answer["decision"], answer["reason"]) == ("deny", "wrong_kind")


def test_a_gate_in_another_region_refuses_the_code(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    _, zibo = scheme.gate(name="淄博公交", region="shandong")
    answer = scheme.verify(zibo, scheme.code(headers))
    assert (answer["decision"], answer["reason"]) == ("deny", "wrong_region")


@pytest.mark.committed_db
def test_a_withdrawn_benefit_is_refused_even_inside_the_codes_minute(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers, donations = scheme.holder()
    _, gate = scheme.gate()
    code = scheme.code(headers)
    void = client.post(
        f"/api/v1/admin/donations/{donations[0]['id']}/void",
        json={"reason": "重复登记"},
        headers=scheme.admin,
    )
    assert void.status_code == 200
    answer = scheme.verify(gate, code)
    assert (answer["decision"], answer["reason"]) == ("deny", "not_held")
    assert uses() == 0


@pytest.mark.committed_db
def test_a_revoked_award_is_refused_at_the_gate(client, sms):
    scheme = Scheme(client, sms)
    donor, _, headers = scheme.donor()
    grant = scheme.award(donor.id, reason=NOT_ON_RECORD).get_json()
    _, gate = scheme.gate()
    code = scheme.code(headers)
    client.post(
        f"/api/v1/admin/awards/{grant['id']}/revoke", json={"reason": "误登"}, headers=scheme.admin
    )
    assert scheme.verify(gate, code)["reason"] == "not_held"


def test_a_revoked_gate_device_can_no_longer_verify(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    device, gate = scheme.gate()
    revoke = client.post(
        f"/api/v1/admin/gate-devices/{device['client_id']}/revoke", headers=scheme.admin
    )
    assert revoke.status_code == 200 and revoke.get_json()["active"] is False
    response = client.post("/api/v1/gate/verify", json={"code": scheme.code(headers)}, headers=gate)
    assert response.status_code == 401
    assert scheme.device_login(device).status_code == 401


@pytest.mark.committed_db
def test_a_gate_revoked_after_admitting_holders_is_refused_whatever_it_sends(client, sms):
    """Each outcome, admitted, refused by the code or replayed, first checks the device's login."""
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    device, gate = scheme.gate()
    used = scheme.code(headers)
    assert scheme.verify(gate, used)["decision"] == "allow"
    client.post(f"/api/v1/admin/gate-devices/{device['client_id']}/revoke", headers=scheme.admin)
    for code in (scheme.code(headers), used, _tamper(used, bk="x"), "not-a-code"):
        response = client.post("/api/v1/gate/verify", json={"code": code}, headers=gate)
        assert (response.status_code, response.get_json()["code"]) == (401, "token_revoked")
    assert uses() == 1


def test_a_gate_device_without_an_operator_is_refused(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    device, secret = auth.create_device(auth.GATE, "未登记闸机", "urban_public_transport")
    db.session.commit()
    token = client.post(
        "/api/v1/auth/device-token", json={"client_id": device.client_id, "client_secret": secret}
    ).get_json()["access_token"]
    response = client.post(
        "/api/v1/gate/verify", json={"code": scheme.code(headers)}, headers=bearer(token)
    )
    assert response.status_code == 403
    assert response.get_json()["code"] == "gate_not_registered"


def test_only_gates_verify(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    code = scheme.code(headers)
    assert (
        client.post("/api/v1/gate/verify", json={"code": code}, headers=headers).status_code == 403
    )
    assert client.post("/api/v1/gate/verify", json={"code": code}).status_code == 401


def test_bad_gate_input_gets_the_error_shape(client, sms):
    scheme = Scheme(client, sms)
    _, gate = scheme.gate()
    for body in ({}, {"code": ""}, {"code": 12}, {"code": "x" * 2000}, {"code": "a", "extra": 1}):
        response = client.post("/api/v1/gate/verify", json=body, headers=gate)
        assert response.status_code == 422, body
        assert response.get_json()["code"] == "validation_failed"
    assert uses() == 0

"""Profile: read, update, change mobile number, erasure (item 11)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from core.extensions import db
from core.models import AuditEntry
from tests.factories import bearer, last_code, mobile, register_donor, send_code
from tests.timetravel import later


def test_a_donor_reads_their_own_profile(client, sms):
    data = register_donor(client, sms, name="李强")
    response = client.get("/api/v1/me", headers=bearer(data["tokens"]["access_token"]))
    assert response.status_code == 200
    assert response.get_json()["name"] == "李强"
    assert "*" in response.get_json()["id_number"]


def test_a_donor_updates_city_and_self_reported_blood_group(client, sms):
    token = register_donor(client, sms)["tokens"]["access_token"]
    response = client.patch(
        "/api/v1/me",
        json={"city": "宁波市", "blood_group": {"abo": "B", "rhd": "positive"}},
        headers=bearer(token),
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["city"] == "宁波市"
    assert body["blood_group"] == {"abo": "B", "rhd": "positive", "source": "self_reported"}


def test_identity_fields_cannot_be_patched(client, sms):
    token = register_donor(client, sms)["tokens"]["access_token"]
    for field, value in (("name", "王五"), ("id_number", "x"), ("birth_date", "2000-01-01")):
        response = client.patch("/api/v1/me", json={field: value}, headers=bearer(token))
        assert response.status_code == 422
        assert field in response.get_json()["errors"]


def test_a_laboratory_blood_group_is_not_overwritten_by_the_donor(client, sms):
    data = register_donor(client, sms)
    db.session.execute(
        text("UPDATE donors SET abo='O', rhd='positive', blood_group_source='laboratory'")
    )
    db.session.commit()
    response = client.patch(
        "/api/v1/me",
        json={"blood_group": {"abo": "A", "rhd": "negative"}},
        headers=bearer(data["tokens"]["access_token"]),
    )
    assert response.get_json()["blood_group"]["abo"] == "O"


def test_changing_mobile_needs_a_code_sent_to_the_new_number(client, sms):
    data = register_donor(client, sms)
    token = data["tokens"]["access_token"]
    new_number = mobile()
    send_code(client, new_number)
    wrong = client.post(
        "/api/v1/me/mobile",
        json={
            "mobile": new_number,
            "code": "000000" if last_code(sms, new_number) != "000000" else "111111",
        },
        headers=bearer(token),
    )
    assert wrong.status_code == 400
    response = client.post(
        "/api/v1/me/mobile",
        json={"mobile": new_number, "code": last_code(sms, new_number)},
        headers=bearer(token),
    )
    assert response.status_code == 200
    assert response.get_json()["mobile"].endswith(new_number[-4:])
    old_number = data["plain"]["mobile"]
    assert sms[-1].to.endswith(old_number) and "更换" in sms[-1].body


def test_the_new_mobile_must_not_belong_to_another_donor(client, sms):
    first = register_donor(client, sms)
    second = register_donor(client, sms)
    taken = first["plain"]["mobile"]
    with later(timedelta(minutes=2)):
        send_code(client, taken)
        response = client.post(
            "/api/v1/me/mobile",
            json={"mobile": taken, "code": last_code(sms, taken)},
            headers=bearer(second["tokens"]["access_token"]),
        )
    assert response.status_code == 409
    assert response.get_json()["code"] == "mobile_taken"


def erase(client, sms, data):
    number = data["plain"]["mobile"]
    with later(timedelta(minutes=2)):
        send_code(client, number)
        return client.post(
            "/api/v1/me/erasure",
            json={"code": last_code(sms, number)},
            headers=bearer(data["tokens"]["access_token"]),
        )


def test_erasure_removes_identifying_fields_and_keeps_a_pseudonymous_record(client, sms):
    data = register_donor(client, sms, blood_group={"abo": "A", "rhd": "positive"})
    assert erase(client, sms, data).status_code == 204
    row = db.session.execute(
        text("SELECT name, id_number, mobile, mobile_hash, status, abo, birth_date FROM donors")
    ).one()
    assert (row.name, row.id_number, row.mobile, row.mobile_hash) == (None, None, None, None)
    assert row.status == "erased" and row.abo == "A" and row.birth_date is not None
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "donor.erased" in actions


def test_erasure_ends_every_login(client, sms):
    data = register_donor(client, sms)
    erase(client, sms, data)
    response = client.get("/api/v1/me", headers=bearer(data["tokens"]["access_token"]))
    assert response.status_code == 401


def test_erasure_needs_a_code(client, sms):
    data = register_donor(client, sms)
    response = client.post(
        "/api/v1/me/erasure", json={}, headers=bearer(data["tokens"]["access_token"])
    )
    assert response.status_code == 422
    assert db.session.execute(text("SELECT status FROM donors")).scalar() == "active"


def test_registering_again_after_erasure_takes_the_record_back(client, sms):
    data = register_donor(client, sms)
    erase(client, sms, data)
    again = register_donor(client, sms, id_number=data["plain"]["id_number"])
    assert again["donor"]["id"] == data["donor"]["id"]
    assert again["donor"]["status"] == "active"

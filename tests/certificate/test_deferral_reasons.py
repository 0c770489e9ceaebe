"""The deferral reasons staff may enter, discoverable by a client (issue 12 item 8)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from certificate.policy import donation_rules
from core import clock
from core.policy import policy_for
from tests.factories import bearer, donor_record, make_site, make_staff, staff_token

URL = "/api/v1/staff/deferral-reasons"


@pytest.fixture(autouse=True)
def fixed_day():
    """ "Today" is a fixed day, so the standard in force by default never depends on the run."""
    with clock.frozen_at(datetime(2026, 11, 20, 10, 0, tzinfo=clock.LOCAL_ZONE)):
        yield


@pytest.fixture
def staff(client):
    site = make_site()
    return site, bearer(staff_token(client, make_staff([site])))


def test_staff_list_the_reasons_of_the_standard_in_force_with_their_rules(client, staff):
    """Today the only way to learn `uri_cold` is to read a TOML file (issue 12 item 8)."""
    _, headers = staff
    body = client.get(URL, query_string={"per_page": 100}, headers=headers).get_json()
    standard = donation_rules(policy_for("zhejiang")).standard(date(2026, 11, 20))
    assert body["region"] == "zhejiang"
    assert (body["standard"]["id"], body["standard"]["effective_from"]) == (
        standard.id,
        standard.effective_from.isoformat(),
    )
    reasons = {item["code"]: item for item in body["items"]}
    assert list(reasons) == list(standard.deferrals)
    assert body["page"]["total"] == len(standard.deferrals)
    assert reasons["uri_cold"] == {
        "code": "uri_cold",
        "name_zh": "感冒、急性上呼吸道感染",
        "period": "P7D",
        "also_before": None,
        "anchor": "recovery",
        "applies_to": None,
        "source": standard.deferrals["uri_cold"].source,
    }
    assert "xzrcyy.com" in reasons["uri_cold"]["source"]
    assert reasons["antiplatelet_drug"]["applies_to"] == ["apheresis_platelets"]
    assert (reasons["menstruation"]["period"], reasons["menstruation"]["also_before"]) == (
        "P3D",
        "P3D",
    )
    assert (reasons["pregnancy"]["period"], reasons["pregnancy"]["anchor"]) == (None, "ongoing")


def test_the_list_is_paged(client, staff):
    _, headers = staff
    first = client.get(URL, query_string={"per_page": 5}, headers=headers).get_json()
    second = client.get(URL, query_string={"per_page": 5, "page": 2}, headers=headers).get_json()
    assert len(first["items"]) == 5 and len(second["items"]) == 5
    assert not {i["code"] for i in first["items"]} & {i["code"] for i in second["items"]}
    assert first["page"]["pages"] == -(-first["page"]["total"] // 5)


def test_a_listed_code_is_one_staff_may_record(client, sms, staff):
    site, headers = staff
    donor, _ = donor_record(client, sms)
    lookup = {"site_id": site.id, "id_number": donor.id_number}  # the donor is at the desk
    found = client.post("/api/v1/staff/donor-lookup", json=lookup, headers=headers)
    assert found.status_code == 200
    [reason] = client.get(URL, query_string={"per_page": 1}, headers=headers).get_json()["items"]
    response = client.post(
        "/api/v1/staff/deferrals",
        json={
            "site_id": site.id,
            "donor_id": donor.id,
            "reason_code": reason["code"],
            "anchor_date": "2026-11-19",
        },
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()


def test_the_reasons_are_those_of_the_standard_in_force_on_the_date_asked(client, staff):
    _, headers = staff
    first_day = client.get(URL, query_string={"on": "2012-07-01"}, headers=headers)
    assert first_day.get_json()["standard"]["id"] == "GB18467-2011"
    before = client.get(URL, query_string={"on": "2012-06-30"}, headers=headers)
    assert (before.status_code, before.get_json()["code"]) == (422, "standard_not_in_force")
    assert "on" in before.get_json()["errors"]
    elsewhere = client.get(URL, query_string={"region": "mars"}, headers=headers)
    assert (elsewhere.status_code, elsewhere.get_json()["code"]) == (422, "region_unknown")


def test_only_staff_and_admins_list_deferral_reasons(client, sms):
    _, data = donor_record(client, sms)
    assert client.get(URL, headers=bearer(data["tokens"]["access_token"])).status_code == 403
    assert client.get(URL).status_code == 401
    admin = bearer(staff_token(client, make_staff(admin=True)))
    assert client.get(URL, headers=admin).status_code == 200


def test_the_api_document_describes_the_reasons(client):
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"][URL]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"region", "on", "page", "per_page"}
    reason = spec["components"]["schemas"]["DeferralReason"]["properties"]
    assert {"code", "name_zh", "period", "anchor", "applies_to", "source"} <= set(reason)

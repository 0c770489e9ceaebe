"""The audit log administrators query: who read or changed which donor's data, when, and from
where (issue 17 item 6)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest

from core import audit, clock
from core.extensions import db
from tests.factories import bearer, look_up, make_site, make_staff, record, staff_token
from tests.factories.appointments import quick_donor
from tests.factories.family import admin_headers

pytestmark = pytest.mark.usefixtures("daytime")

ADDRESS = "203.0.113.7"


def desk(client):
    site = make_site()
    staff = make_staff([site])
    return site, staff, staff_token(client, staff)


def entries(client, headers, **query):
    response = client.get("/api/v1/admin/audit", query_string=query, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_an_admin_sees_a_staff_look_up_of_a_donor_with_its_address_and_request_id(client):
    site, staff, token = desk(client)
    donor, _ = quick_donor()
    response = client.post(
        "/api/v1/staff/donor-lookup",
        json={"site_id": site.id, "id_number": donor.id_number},
        headers={**bearer(token), "X-Request-ID": "req-7f3a"},
        environ_base={"REMOTE_ADDR": ADDRESS},
    )
    assert response.status_code == 200
    found = entries(client, admin_headers(client), donor_id=donor.id)
    looked = [entry for entry in found if entry["action"] == "donor.viewed_by_staff"]
    assert len(looked) == 1
    entry = looked[0]
    assert (entry["actor_type"], entry["actor_id"]) == ("staff", staff.id)
    assert (entry["target_type"], entry["target_id"]) == ("donor", str(donor.id))
    assert entry["client_address"] == ADDRESS
    assert entry["request_id"] == "req-7f3a"
    assert entry["at"].endswith("+08:00")


def test_staff_and_donors_may_not_read_the_audit_log(client):
    _, _, token = desk(client)
    _, donor_token = quick_donor()
    for headers in (bearer(token), bearer(donor_token)):
        for path in ("/api/v1/admin/audit", "/api/v1/admin/audit.csv"):
            response = client.get(path, headers=headers)
            assert response.status_code == 403
            assert response.get_json()["code"] == "forbidden"
    assert client.get("/api/v1/admin/audit").status_code == 401


def test_the_donor_filter_finds_entries_naming_the_donor_and_no_other_donors(client):
    site, staff, token = desk(client)
    donor, _ = quick_donor()
    other, _ = quick_donor()
    assert record(client, token, site, donor.id_number).status_code == 201
    look_up(client, token, site, other.id_number)
    found = entries(client, admin_headers(client), donor_id=donor.id, per_page=100)
    assert "donation.recorded" in {entry["action"] for entry in found}  # names it in details
    assert all(
        entry["target_id"] == str(donor.id) or (entry["details"] or {}).get("donor") == donor.id
        for entry in found
    )
    assert not any(entry["target_id"] == str(other.id) for entry in found)


def test_filters_by_actor_action_and_a_time_range_newest_first(client):
    site, staff, token = desk(client)
    _, colleague, _ = desk(client)
    donor, _ = quick_donor()
    moments = [clock.now() - timedelta(hours=hours) for hours in (5, 3, 1)]
    for moment in moments:
        with clock.frozen_at(moment):
            look_up(client, token, site, donor.id_number)
    admin = admin_headers(client)
    logins = entries(client, admin, actor_type="staff", actor_id=staff.id, action="staff.login")
    assert len(logins) == 1
    lookups = entries(client, admin, actor_id=staff.id, action="donor.viewed_by_staff")
    assert len(lookups) == 3
    assert {entry["actor_id"] for entry in lookups} == {staff.id}
    newest_first = [datetime.fromisoformat(entry["at"]) for entry in lookups]
    assert newest_first == sorted(newest_first, reverse=True)
    between = {
        "from": (moments[0] + timedelta(minutes=30)).isoformat(),  # in UTC
        "to": clock.to_local(moments[2] - timedelta(minutes=30)).isoformat(),  # in +08:00
    }
    middle = entries(client, admin, action="donor.viewed_by_staff", actor_id=staff.id, **between)
    assert len(middle) == 1
    assert entries(client, admin, actor_id=colleague.id, action="donor.viewed_by_staff") == []


@pytest.mark.parametrize(
    "query",
    [
        {"donor_id": "abc"},
        {"donor_id": "0"},
        {"actor_type": "robot"},
        {"actor_id": "-1"},
        {"from": "2026-12-01T08:00"},  # no time zone
        {"to": "yesterday"},
        {"action": "x" * 65},
        {"per_page": "1000"},
    ],
)
def test_junk_filters_are_refused_in_the_error_shape(client, query):
    response = client.get("/api/v1/admin/audit", query_string=query, headers=admin_headers(client))
    assert response.status_code == 422
    assert set(response.get_json()) == {"code", "status", "message", "errors"}


def test_a_range_ending_before_it_starts_is_refused(client):
    admin = admin_headers(client)
    query = {"from": "2026-12-02T00:00:00+08:00", "to": "2026-12-01T00:00:00+08:00"}
    for path in ("/api/v1/admin/audit", "/api/v1/admin/audit.csv"):
        response = client.get(path, query_string=query, headers=admin)
        assert response.status_code == 422
        assert response.get_json()["code"] == "audit_range_invalid"


def test_the_csv_export_carries_the_filtered_entries_in_formula_safe_cells(client):
    site, staff, token = desk(client)
    donor, _ = quick_donor()
    client.post(
        "/api/v1/staff/donor-lookup",
        json={"site_id": site.id, "id_number": donor.id_number},
        headers={**bearer(token), "X-Request-ID": "-2-3"},  # a spreadsheet would compute it
        environ_base={"REMOTE_ADDR": ADDRESS},
    )
    response = client.get(
        "/api/v1/admin/audit.csv",
        query_string={"donor_id": donor.id, "action": "donor.viewed_by_staff"},
        headers=admin_headers(client),
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 1
    assert rows[0]["client_address"] == ADDRESS
    assert rows[0]["request_id"] == "'-2-3"
    assert rows[0]["actor_id"] == str(staff.id)
    assert rows[0]["at"].endswith("+08:00")


def test_an_export_past_its_limit_is_refused_asking_for_a_narrower_filter(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_EXPORT_MAX_ROWS", 1)
    admin = admin_headers(client)
    admin_headers(client)  # two admin logins: two entries
    response = client.get("/api/v1/admin/audit.csv", headers=admin)
    assert response.status_code == 422
    assert response.get_json()["code"] == "audit_export_too_large"


def test_a_request_id_that_is_not_a_plain_token_is_not_kept(client):
    site, _, token = desk(client)
    donor, _ = quick_donor()
    for request_id in ("张伟 13912345678", "a" * 65):
        client.post(
            "/api/v1/staff/donor-lookup",
            json={"site_id": site.id, "id_number": donor.id_number},
            headers={**bearer(token), "X-Request-ID": request_id},
        )
    found = entries(client, admin_headers(client), donor_id=donor.id)
    assert [entry["request_id"] for entry in found] == ["a" * 64, None]  # newest first


def test_work_outside_a_request_is_recorded_without_an_address(app):
    entry = audit.record("test.background", actor=("system", None))
    db.session.flush()
    assert entry.client_address is None and entry.request_id is None


def test_an_admin_reading_a_donors_awards_is_audited(client):
    donor, _ = quick_donor()
    admin = admin_headers(client)
    assert client.get(f"/api/v1/admin/donors/{donor.id}/awards", headers=admin).status_code == 200
    found = entries(client, admin, donor_id=donor.id, action="donor.awards_viewed_by_staff")
    assert len(found) == 1

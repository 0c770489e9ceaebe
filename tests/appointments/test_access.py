"""Who may call what: every appointments route names its roles (object-level checks are in the
other modules: donors see their own rows, staff act only at sites they serve)."""

from __future__ import annotations

import pytest

from tests.factories import bearer, make_site, make_staff, register_donor, staff_token
from tests.sites.test_access import device_token

ROUTES = [
    ("GET", "/api/v1/me/appointments", {"donor"}),
    ("GET", "/api/v1/me/waitlist", {"donor"}),
    ("GET", "/api/v1/questionnaires/current", {"donor"}),
    ("GET", "/api/v1/me/checkin-code", {"donor"}),
    ("GET", "/api/v1/staff/appointments", {"staff", "admin"}),
    ("GET", "/api/v1/staff/visits", {"staff", "admin"}),
    ("GET", "/api/v1/admin/sites/{site}/schedule", {"admin"}),
    ("GET", "/api/v1/admin/sites/{site}/schedule-exceptions", {"admin"}),
]


@pytest.mark.parametrize("role", ["donor", "staff", "admin", "gate", "hospital"])
@pytest.mark.parametrize("method,path,allowed", ROUTES)
def test_role_matrix(client, sms, role, method, path, allowed):
    site = make_site()
    if role == "donor":
        token = register_donor(client, sms)["tokens"]["access_token"]
    elif role in ("staff", "admin"):
        token = staff_token(client, make_staff([site], admin=role == "admin"))
    else:
        token = device_token(client, role)
    response = client.open(path.format(site=site.id), method=method, headers=bearer(token))
    expected = 200 if role in allowed else 403
    assert response.status_code == expected, response.get_json()


@pytest.mark.parametrize(
    "method,path",
    [
        ("POST", "/api/v1/me/appointments"),
        ("GET", "/api/v1/me/checkin-code/qr.png"),
        ("POST", "/api/v1/staff/checkins"),
        ("PUT", "/api/v1/admin/sites/1/schedule"),
    ],
)
def test_without_a_token_nothing_is_answered(client, method, path):
    response = client.open(path, method=method, json={})
    assert response.status_code == 401


def test_the_public_routes_need_no_token(client):
    site = make_site()
    for path in (
        f"/api/v1/sites/{site.id}/slots",
        f"/api/v1/sites/{site.id}/days",
        "/api/v1/sites/search",
    ):
        assert client.get(path).status_code == 200, path


def test_the_routes_are_in_the_openapi_document(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/sites/{site_id}/slots",
        "/api/v1/me/appointments",
        "/api/v1/me/appointments/{booking_id}",
        "/api/v1/questionnaires/current",
        "/api/v1/me/questionnaire",
        "/api/v1/me/checkin-code",
        "/api/v1/staff/checkins",
        "/api/v1/staff/visits/{visit_id}/face-check",
        "/api/v1/staff/face-identify",
    ):
        assert path in paths, path


def test_after_the_demo_load_a_demo_donor_can_search_and_book(app, client):
    from sqlalchemy import select

    from core import auth
    from core.extensions import db
    from donors.models import Donor

    assert app.test_cli_runner().invoke(args=["demo", "load"]).exit_code == 0
    again = app.test_cli_runner().invoke(args=["demo", "load"])
    assert "already present; 0 new slots opened" in again.output
    found = client.get("/api/v1/sites/search", query_string={"city": "杭州市"}).get_json()
    assert found["items"], "the demo's Hangzhou sites have free places this week"
    site_id = found["items"][0]["site"]["id"]
    slots = client.get(f"/api/v1/sites/{site_id}/slots?free_only=true").get_json()["items"]
    donor = db.session.scalar(select(Donor).where(Donor.name == "李强"))
    token = auth.issue_tokens("donor", donor.id, auth.DONOR)["access_token"]
    db.session.commit()
    booked = client.post(
        "/api/v1/me/appointments", json={"slot_id": slots[0]["id"]}, headers=bearer(token)
    )
    assert booked.status_code == 201, booked.get_json()

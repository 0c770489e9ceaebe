"""The blood's journey: the station system reports a unit issued; its donor hears where."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import clock
from core.extensions import db
from notifications.models import OutboxMessage, UnitIssue
from tests.factories import bearer, donor_record
from tests.factories.notifications import desk, device_token, donor_who_gave, messages_to

HOSPITAL = "浙江大学医学院附属第一医院"


def issue(client, token, unit, issue_id="ISS-0001", **fields):
    body = {
        "din": unit,
        "issue_id": issue_id,
        "hospital": HOSPITAL,
        "component": "悬浮红细胞",
        "issued_at": clock.now().isoformat(),
        **fields,
    }
    return client.post("/api/v1/station/unit-issues", json=body, headers=bearer(token))


def test_the_donor_hears_which_hospital_received_the_unit(client, sms, daytime):
    site, token = desk(client)
    _, data, donation = donor_who_gave(client, sms, site, token, name="陈静")
    station = device_token(client, "station_system")
    response = issue(client, station, donation["din"])
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["hospital"] == HOSPITAL
    (text,) = [body for body in messages_to(sms, data) if HOSPITAL in body]
    assert text.startswith("【无偿献血】陈静，") and "捐献的血液" in text


def test_the_same_report_twice_tells_the_donor_once(client, sms, daytime):
    site, token = desk(client)
    _, data, donation = donor_who_gave(client, sms, site, token)
    station = device_token(client, "station_system")
    first = issue(client, station, donation["din"])
    again = issue(client, station, donation["din"])
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["id"] == again.get_json()["id"]
    assert len([body for body in messages_to(sms, data) if HOSPITAL in body]) == 1
    other = issue(client, station, donation["din"], issue_id="ISS-0002", component="血浆")
    assert other.status_code == 201
    assert len([body for body in messages_to(sms, data) if HOSPITAL in body]) == 2


def test_the_same_issue_for_another_hospital_is_a_conflict(client, sms, daytime):
    site, token = desk(client)
    _, _, donation = donor_who_gave(client, sms, site, token)
    station = device_token(client, "station_system")
    issue(client, station, donation["din"])
    clash = issue(client, station, donation["din"], hospital="杭州市第一人民医院")
    assert clash.status_code == 409 and clash.get_json()["code"] == "unit_issue_conflict"
    assert db.session.scalar(select(func.count()).select_from(UnitIssue)) == 1


def test_an_unknown_unit_is_404_and_writes_nothing(client, sms):
    from core.ids import make_din

    station = device_token(client, "station_system")
    din = make_din("W9999", 2026, 123)
    response = issue(client, station, f"{din.body}{din.flags}{din.check}")
    assert response.status_code == 404 and response.get_json()["code"] == "unit_unknown"
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


@pytest.mark.parametrize(
    "fields",
    [
        {"din": "not-a-din-at-all"},
        {"issue_id": ""},
        {"issue_id": "has spaces"},
        {"hospital": ""},
        {"issued_at": "2026-01-01T10:00:00"},
        {"extra": True},
    ],
)
def test_bad_reports_are_refused(client, sms, fields):
    site, token = desk(client)
    station = device_token(client, "station_system")
    from core.ids import make_din

    din = make_din(site.facility_code, 2026, 1)
    response = issue(client, station, f"{din.body}{din.flags}{din.check}", **fields)
    assert response.status_code == 422, response.get_json()


def test_an_issue_time_in_the_future_is_refused(client, sms, daytime):
    site, token = desk(client)
    _, _, donation = donor_who_gave(client, sms, site, token)
    station = device_token(client, "station_system")
    later = (clock.now() + timedelta(hours=2)).isoformat()
    response = issue(client, station, donation["din"], issued_at=later)
    assert response.status_code == 422 and response.get_json()["code"] == "issued_in_future"


@pytest.mark.parametrize("role", ["donor", "staff", "gate", "hospital"])
def test_only_the_station_system_reports_issues(client, sms, role):
    site, token = desk(client)
    if role == "donor":
        caller = donor_record(client, sms)[1]["tokens"]["access_token"]
    elif role == "staff":
        caller = token
    else:
        caller = device_token(client, role)
    response = issue(client, caller, "W000026000001000")
    assert response.status_code == 403

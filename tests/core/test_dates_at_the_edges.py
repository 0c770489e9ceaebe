"""Dates at the edges of the calendar are refused with a 422, and a rule the policies leave open
is an answer, never a 500 (issue 18, item 1).

Every date and time the API takes is from 1900-01-01 to 2200-12-31 (core.schemas.Date,
LocalDateTime): 9999-12-31 plus a day, or year 1 in UTC, no longer overflows halfway through a
rule. A date inside that range on which no donor health standard is in force asks a rule the
policies do not hold: 409 `policy_undecided`, naming the rule.
"""

from __future__ import annotations

from datetime import datetime

import marshmallow as ma
import pytest
from flask_babel import force_locale

from certificate.models import Donation
from core import clock
from core.extensions import db
from core.schemas import Date, LocalDateTime, StrictSchema
from donors.models import Deferral
from tests.core.test_errors import assert_error_shape
from tests.factories import bearer, donor_record, make_site, make_staff, record, staff_token

ENGLISH = {"Accept-Language": "en"}


@pytest.fixture(autouse=True)
def fixed_day():
    """A working morning, so "today" and the standard in force never depend on the run."""
    with clock.frozen_at(datetime(2026, 11, 20, 10, 0, tzinfo=clock.LOCAL_ZONE)):
        yield


@pytest.fixture
def donor(client, sms):
    row, data = donor_record(client, sms)
    return row, data, bearer(data["tokens"]["access_token"])


@pytest.fixture
def desk(client):
    site = make_site()
    return site, staff_token(client, make_staff([site]))


def test_eligibility_on_a_day_before_any_standard_is_409_policy_undecided(client, donor):
    _, _, headers = donor
    response = client.get("/api/v1/me/eligibility?on=2000-01-01", headers=headers)
    body = assert_error_shape(response, 409, "policy_undecided")
    assert body["errors"] == {"rule": "standard"}


def test_eligibility_on_year_1_is_422_naming_the_range(client, donor):
    _, _, headers = donor
    response = client.get("/api/v1/me/eligibility?on=0001-01-01", headers={**headers, **ENGLISH})
    body = assert_error_shape(response, 422, "validation_failed")
    assert body["errors"] == {"on": ["Must be a date from 1900-01-01 to 2200-12-31."]}


def test_a_sites_days_at_the_end_of_the_calendar_are_422(client):
    site = make_site()
    response = client.get(f"/api/v1/sites/{site.id}/days?from=9999-12-30&to=9999-12-31")
    body = assert_error_shape(response, 422, "validation_failed")
    assert set(body["errors"]) == {"from", "to"}
    last_week = client.get(f"/api/v1/sites/{site.id}/days?from=2200-12-25&to=2200-12-31")
    assert last_week.status_code == 200
    assert len(last_week.get_json()["items"]) == 7


def test_a_deferral_anchored_on_9999_12_31_is_422_and_records_nothing(client, donor, desk):
    row, _, _ = donor
    site, token = desk
    body = {
        "site_id": site.id,
        "donor_id": row.id,
        "reason_code": "uri_cold",
        "anchor_date": "9999-12-31",
    }
    response = client.post("/api/v1/staff/deferrals", json=body, headers=bearer(token))
    assert_error_shape(response, 422, "validation_failed")
    assert set(response.get_json()["errors"]) == {"anchor_date"}
    assert db.session.scalar(db.select(db.func.count()).select_from(Deferral)) == 0


@pytest.mark.parametrize("offset", ["+08:00", "+14:00", "-12:00"])
def test_a_donation_collected_in_year_1_is_422_and_records_nothing(client, donor, desk, offset):
    _, data, _ = donor
    site, token = desk
    response = record(
        client, token, site, data["plain"]["id_number"], collected_at=f"0001-01-01T00:00{offset}"
    )
    assert_error_shape(response, 422, "validation_failed")
    assert set(response.get_json()["errors"]) == {"collected_at"}
    assert db.session.scalar(db.select(db.func.count()).select_from(Donation)) == 0


class Dates(StrictSchema):
    day = Date()
    at = LocalDateTime()


@pytest.mark.parametrize(
    "field, value",
    [
        ("day", "1899-12-31"),
        ("day", "2201-01-01"),
        ("at", "1899-12-31T23:59:59+08:00"),
        ("at", "9999-12-31T23:59:59-12:00"),
    ],
)
def test_one_day_past_either_end_is_refused(app, field, value):
    with pytest.raises(ma.ValidationError) as refused, force_locale("zh"):
        Dates().load({field: value})
    assert list(refused.value.messages) == [field]


def test_both_ends_are_taken(app):
    loaded = Dates().load({"day": "1900-01-01", "at": "2200-12-31T23:59:59+08:00"})
    assert loaded["day"].isoformat() == "1900-01-01"
    assert loaded["at"].tzinfo is not None
    assert Dates().load({"day": "2200-12-31"})["day"].year == 2200

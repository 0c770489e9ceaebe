"""Staff defer only donors their site serves now (issue 18 item 7).

Any staff member could defer any donor, permanently, by sequential id, and a 404 told which ids
exist. A deferral now needs the donor at the staff member's site: a visit there (open or today's),
a booking there, a recent donation there, or a look-up by ID number at its desk today. Any other
id gets exactly the answer an unknown id gets, and deferrals are limited per staff member.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import clock
from core.extensions import db
from donors.models import Deferral
from tests.factories import bearer, look_up, make_site, make_staff, record, staff_token
from tests.factories.appointments import in_days, open_day, quick_donor

# "Today" decides which look-ups and visits count: every test runs at 10:00 of a fixed day.
pytestmark = pytest.mark.usefixtures("daytime")

PERMANENT = {"reason_code": "tattoo_or_blood_exposure_injury", "permanent": True}


def defer(client, token, site, donor_id, **fields):
    body = {"site_id": site.id, "donor_id": donor_id, **PERMANENT, **fields}
    return client.post("/api/v1/staff/deferrals", json=body, headers=bearer(token))


def deferrals() -> int:
    return db.session.scalar(select(func.count()).select_from(Deferral))


def desk(client):
    site = make_site()
    return site, staff_token(client, make_staff([site]))


def test_a_donor_never_at_the_site_is_answered_as_an_unknown_id(client):
    site, staff = desk(client)
    donor, _ = quick_donor()
    stranger = defer(client, staff, site, donor.id)
    nobody = defer(client, staff, site, donor.id + 1000)
    assert stranger.status_code == nobody.status_code == 404
    assert stranger.get_json() == nobody.get_json()
    assert stranger.get_json()["code"] == "donor_not_found"
    assert deferrals() == 0


def test_a_look_up_at_the_sites_desk_lets_its_staff_defer_that_day(client):
    site, staff = desk(client)
    elsewhere, other_staff = desk(client)
    donor, _ = quick_donor()
    look_up(client, other_staff, elsewhere, donor.id_number)  # at another site's desk
    assert defer(client, staff, site, donor.id).status_code == 404
    with clock.travelled(-timedelta(days=1)):
        look_up(client, staff, site, donor.id_number)  # yesterday
    assert defer(client, staff, site, donor.id).status_code == 404
    look_up(client, staff, site, donor.id_number)
    assert defer(client, staff, site, donor.id).status_code == 201
    assert deferrals() == 1


def test_a_visit_open_or_of_today_lets_the_sites_staff_defer(client):
    site, staff = desk(client)
    colleague = staff_token(client, make_staff([site]))
    donor, _ = quick_donor()
    with clock.travelled(-timedelta(days=1)):
        visit = client.post(
            "/api/v1/staff/checkins",
            json={"site_id": site.id, "id_number": donor.id_number},
            headers=bearer(staff),
        ).get_json()
    assert defer(client, colleague, site, donor.id).status_code == 201  # yesterday's, still open
    close = f"/api/v1/staff/visits/{visit['id']}/close"
    outcome = {"outcome": "deferred_at_screening"}
    assert client.post(close, json=outcome, headers=bearer(staff)).status_code == 200
    assert defer(client, colleague, site, donor.id).status_code == 404  # closed, and not today
    elsewhere, other_staff = desk(client)
    assert defer(client, other_staff, elsewhere, donor.id).status_code == 404


def test_a_booking_there_lets_the_sites_staff_defer_until_it_is_cancelled(client):
    site, staff = desk(client)
    donor, token = quick_donor()
    slots = open_day(site, in_days(3))
    booked = client.post(
        "/api/v1/me/appointments", json={"slot_id": slots[0].id}, headers=bearer(token)
    )
    assert booked.status_code == 201, booked.get_json()
    elsewhere, other_staff = desk(client)
    assert defer(client, other_staff, elsewhere, donor.id).status_code == 404
    temporary = {"reason_code": "uri_cold", "permanent": False, "anchor_date": str(in_days(0))}
    assert defer(client, staff, site, donor.id, **temporary).status_code == 201
    cancelled = client.delete(
        f"/api/v1/me/appointments/{booked.get_json()['id']}", headers=bearer(token)
    )
    assert cancelled.status_code == 200, cancelled.get_json()
    assert defer(client, staff, site, donor.id).status_code == 404


def test_a_recent_donation_there_lets_the_sites_staff_defer(app, client):
    # Test results and post-donation information come after the donor has left.
    site, staff = desk(client)
    donor, _ = quick_donor()
    days = app.config["DEFERRAL_AFTER_DONATION_DAYS"]
    with clock.travelled(-timedelta(days=days + 1)):
        assert record(client, staff, site, donor.id_number).status_code == 201
    assert defer(client, staff, site, donor.id).status_code == 404  # too long ago
    recent, _ = quick_donor()
    with clock.travelled(-timedelta(days=days)):
        assert record(client, staff, site, recent.id_number).status_code == 201
    assert defer(client, staff, site, recent.id).status_code == 201


def test_an_administrator_too_defers_only_a_donor_at_the_site(client):
    site = make_site()
    admin = staff_token(client, make_staff(admin=True))
    donor, _ = quick_donor()
    assert defer(client, admin, site, donor.id).status_code == 404
    look_up(client, admin, site, donor.id_number)
    assert defer(client, admin, site, donor.id).status_code == 201


def test_recording_and_lifting_deferrals_share_one_limit_per_staff_member(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "DEFERRAL_RATE_LIMIT", "3/hour")
    site, staff = desk(client)
    colleague = staff_token(client, make_staff([site]))
    donor, _ = quick_donor()
    look_up(client, staff, site, donor.id_number)
    assert defer(client, staff, site, donor.id + 1000).status_code == 404  # a guess counts too
    made = defer(client, staff, site, donor.id)
    assert made.status_code == 201
    path = f"/api/v1/staff/deferrals/{made.get_json()['id']}"
    assert client.delete(path, headers=bearer(staff)).status_code == 200
    limited = defer(client, staff, site, donor.id)
    assert limited.status_code == 429 and limited.get_json()["code"] == "rate_limited"
    assert defer(client, colleague, site, donor.id).status_code == 201


def test_look_ups_by_id_number_are_limited_per_staff_member(app, client, monkeypatch):
    # A stolen staff token must not turn a list of ID numbers into a list of donors.
    monkeypatch.setitem(app.config, "DONOR_LOOKUP_RATE_LIMIT", "2/hour")
    site, staff = desk(client)
    colleague = staff_token(client, make_staff([site]))
    donor, _ = quick_donor()
    look_up(client, staff, site, donor.id_number)
    look_up(client, staff, site, donor.id_number)
    limited = client.post(
        "/api/v1/staff/donor-lookup",
        json={"site_id": site.id, "id_number": donor.id_number},
        headers=bearer(staff),
    )
    assert limited.status_code == 429 and limited.get_json()["code"] == "rate_limited"
    look_up(client, colleague, site, donor.id_number)


def test_another_sites_donation_is_answered_as_an_unknown_one(client):
    site, staff = desk(client)
    other_site, other_staff = desk(client)
    donor, _ = quick_donor()
    made = record(client, staff, site, donor.id_number)
    assert made.status_code == 201
    donation_id = made.get_json()["id"]
    own = client.get(f"/api/v1/staff/donations/{donation_id}", headers=bearer(staff))
    assert own.status_code == 200
    other = client.get(f"/api/v1/staff/donations/{donation_id}", headers=bearer(other_staff))
    unknown = client.get(f"/api/v1/staff/donations/{donation_id + 999}", headers=bearer(staff))
    assert other.status_code == unknown.status_code == 404
    assert other.get_json() == unknown.get_json()

"""Staff see today's bookings and visits at their sites, paged, with counts by kind and status."""

from __future__ import annotations

from datetime import datetime, time

from appointments import directory
from core import clock
from tests.factories import bearer, make_site, make_staff, staff_token
from tests.factories.appointments import open_day, quick_donor


def today_at(hour: int):
    return clock.frozen_at(datetime.combine(clock.local_today(), time(hour), clock.LOCAL_ZONE))


def busy_site(client, bookings=3, platelets=1):
    """A site with bookings today: whole blood and platelets, one of them checked in."""
    site = make_site()
    tokens = []
    with today_at(7):
        slots = open_day(site, clock.local_today(), {"whole_blood": 2, "apheresis_platelets": 1})
        whole = [slot for slot in slots if slot.kind == "whole_blood"]
        plate = [slot for slot in slots if slot.kind == "apheresis_platelets"]
        for index in range(bookings):
            donor, token = quick_donor()
            client.post(
                "/api/v1/me/appointments",
                json={"slot_id": whole[index].id},
                headers=bearer(token),
            )
            tokens.append((donor, token))
        for index in range(platelets):
            donor, token = quick_donor()
            client.post(
                "/api/v1/me/appointments", json={"slot_id": plate[index].id}, headers=bearer(token)
            )
            tokens.append((donor, token))
    return site, tokens


def test_todays_bookings_at_my_site_with_counts(client):
    site, donors = busy_site(client)
    staff = staff_token(client, make_staff([site]))
    with today_at(8):
        client.post(
            "/api/v1/staff/checkins",
            json={"site_id": site.id, "id_number": donors[0][0].id_number},
            headers=bearer(staff),
        )
        response = client.get("/api/v1/staff/appointments?per_page=2", headers=bearer(staff))
    assert response.status_code == 200
    body = response.get_json()
    assert body["day"] == clock.local_today().isoformat()
    assert body["page"]["total"] == 4 and len(body["items"]) == 2
    assert body["counts"]["by_kind"] == {"whole_blood": 3, "apheresis_platelets": 1}
    assert body["counts"]["by_status"] == {"booked": 3, "checked_in": 1}
    assert body["counts"]["by_kind_and_status"]["whole_blood"] == {"booked": 2, "checked_in": 1}
    item = body["items"][0]
    assert item["donor"]["name"].endswith("*") and "*" in item["donor"]["id_number"]


def test_staff_see_only_their_sites(client):
    mine, _ = busy_site(client, bookings=1, platelets=0)
    theirs, _ = busy_site(client, bookings=2, platelets=0)
    staff = staff_token(client, make_staff([mine]))
    body = client.get("/api/v1/staff/appointments", headers=bearer(staff)).get_json()
    assert {item["site_id"] for item in body["items"]} == {mine.id}
    assert body["counts"]["total"] == 1
    other = client.get(f"/api/v1/staff/appointments?site_id={theirs.id}", headers=bearer(staff))
    assert other.status_code == 403 and other.get_json()["code"] == "site_not_served"
    admin = staff_token(client, make_staff(admin=True))
    every = client.get("/api/v1/staff/appointments", headers=bearer(admin)).get_json()
    assert every["counts"]["total"] == 3


def test_filters_by_status_and_kind(client):
    site, _ = busy_site(client)
    staff = staff_token(client, make_staff([site]))
    platelets = client.get(
        "/api/v1/staff/appointments?kind=apheresis_platelets", headers=bearer(staff)
    ).get_json()
    assert [item["kind"] for item in platelets["items"]] == ["apheresis_platelets"]
    none = client.get("/api/v1/staff/appointments?status=no_show", headers=bearer(staff))
    assert none.get_json()["items"] == []


def test_todays_visits_with_counts(client):
    site, donors = busy_site(client, bookings=1, platelets=0)
    walk_in, _ = quick_donor()
    staff = staff_token(client, make_staff([site]))
    with today_at(8):
        for donor in (donors[0][0], walk_in):
            client.post(
                "/api/v1/staff/checkins",
                json={"site_id": site.id, "id_number": donor.id_number},
                headers=bearer(staff),
            )
        body = client.get("/api/v1/staff/visits", headers=bearer(staff)).get_json()
    assert body["page"]["total"] == 2
    assert body["counts"]["by_kind"] == {"whole_blood": 1, "walk_in": 1}
    assert body["counts"]["by_status"] == {"open": 2}


def test_the_functions_other_packages_call(client):
    site, donors = busy_site(client, bookings=2, platelets=0)
    donor = donors[0][0]
    info = directory.active_booking(donor.id)
    assert info.site_id == site.id and info.status == "booked" and info.kind == "whole_blood"
    assert directory.active_booking(quick_donor()[0].id) is None
    on_day = list(directory.bookings_on(clock.local_today()))
    assert {item.donor_id for item in on_day} == {donor.id, donors[1][0].id}
    assert all(item.site_address == site.address for item in on_day)
    with today_at(7):
        free = directory.free_places_near(site.city, clock.local_today(), clock.local_today())
    by_kind = {place.kind: place.free for place in free if place.site_id == site.id}
    # 09:00-11:00 in four slots: 8 whole-blood places less 2 booked; 4 platelet places.
    assert by_kind == {"whole_blood": 6, "apheresis_platelets": 4}

"""Waiting lists: a full day's freed place is held for the first in line, for a limited time,
then passes on; nobody else can take a held place."""

from __future__ import annotations

from datetime import timedelta

from appointments import waitlist
from appointments.models import Slot
from appointments.rules import booking_rules
from core import clock
from core.extensions import db
from tests.factories import bearer
from tests.factories.appointments import open_day, quick_donor, site_with_day


def book(client, token, slot_id):
    return client.post("/api/v1/me/appointments", json={"slot_id": slot_id}, headers=bearer(token))


def join(client, token, site, day, kind="whole_blood"):
    return client.post(
        "/api/v1/me/waitlist",
        json={"site_id": site.id, "day": day.isoformat(), "kind": kind},
        headers=bearer(token),
    )


def entries(client, token):
    return client.get("/api/v1/me/waitlist", headers=bearer(token)).get_json()["items"]


def full_day(client, places_per_slot=1):
    """A day whose every whole-blood place is booked; returns the site, slots and bookers."""
    site, slots = site_with_day(whole_blood=places_per_slot)
    bookers = []
    for slot in slots:
        for _ in range(places_per_slot):
            _, token = quick_donor()
            booking = book(client, token, slot.id).get_json()
            bookers.append((token, booking))
    return site, slots, bookers


def held(slot_id: int) -> int:
    return db.session.get(Slot, slot_id, populate_existing=True).held


def test_a_day_with_free_places_has_no_waiting_list(client):
    site, slots = site_with_day()
    _, token = quick_donor()
    response = join(client, token, site, slots[0].day)
    assert response.status_code == 409
    assert response.get_json()["code"] == "waitlist_places_available"


def test_donors_join_a_full_day_in_order(client):
    site, slots, _ = full_day(client)
    _, first = quick_donor()
    _, second = quick_donor()
    assert join(client, first, site, slots[0].day).get_json()["position"] == 1
    answer = join(client, second, site, slots[0].day)
    assert answer.status_code == 201
    assert answer.get_json()["position"] == 2 and answer.get_json()["status"] == "waiting"
    again = join(client, first, site, slots[0].day)
    assert again.status_code == 409 and again.get_json()["code"] == "waitlist_already_joined"


def test_a_kind_not_offered_that_day_has_no_list(client):
    site, slots, _ = full_day(client)
    _, token = quick_donor()
    response = join(client, token, site, slots[0].day, kind="apheresis_platelets")
    assert response.status_code == 409 and response.get_json()["code"] == "waitlist_not_offered"


def test_a_cancelled_place_is_held_for_the_first_in_line_who_takes_it(client):
    site, slots, bookers = full_day(client)
    _, first = quick_donor()
    _, second = quick_donor()
    join(client, first, site, slots[0].day)
    join(client, second, site, slots[0].day)
    token, booking = bookers[0]
    client.delete(f"/api/v1/me/appointments/{booking['id']}", headers=bearer(token))
    assert held(slots[0].id) == 1
    # Held: nobody else can book it, not even the donor who just cancelled.
    assert book(client, token, slots[0].id).get_json()["code"] == "slot_full"
    offer = entries(client, first)[0]
    assert offer["status"] == "offered" and offer["offer"]["slot_id"] == slots[0].id
    assert entries(client, second)[0]["position"] == 2
    accepted = client.post(f"/api/v1/me/waitlist/{offer['id']}/accept", headers=bearer(first))
    assert accepted.status_code == 201, accepted.get_json()
    assert accepted.get_json()["status"] == "booked"
    assert held(slots[0].id) == 0
    assert entries(client, first)[0]["status"] == "accepted"
    assert entries(client, second)[0]["position"] == 1


def test_an_offer_not_taken_in_time_passes_to_the_next_in_line(app, client, daytime):
    site, slots, bookers = full_day(client)
    _, first = quick_donor()
    _, second = quick_donor()
    first_entry = join(client, first, site, slots[0].day).get_json()
    join(client, second, site, slots[0].day)
    token, booking = bookers[0]
    client.delete(f"/api/v1/me/appointments/{booking['id']}", headers=bearer(token))
    hold = booking_rules(site.region).offer_hold
    with clock.travelled(hold + timedelta(seconds=1)):
        # Shown expired at once, before any sweep has run.
        assert entries(client, first)[0]["status"] == "expired"
        late = client.post(f"/api/v1/me/waitlist/{first_entry['id']}/accept", headers=bearer(first))
        assert late.status_code == 409 and late.get_json()["code"] == "offer_expired"
        result = app.test_cli_runner().invoke(args=["appointments", "sweep"])
        assert result.exit_code == 0, result.output
        assert "offers expired 1" in result.output
        assert entries(client, first)[0]["status"] == "expired"
        assert entries(client, second)[0]["status"] == "offered"
    assert held(slots[0].id) == 1


def test_declining_passes_the_place_on_at_once(client):
    site, slots, bookers = full_day(client)
    _, first = quick_donor()
    _, second = quick_donor()
    entry = join(client, first, site, slots[0].day).get_json()
    join(client, second, site, slots[0].day)
    token, booking = bookers[1]
    client.delete(f"/api/v1/me/appointments/{booking['id']}", headers=bearer(token))
    left = client.delete(f"/api/v1/me/waitlist/{entry['id']}", headers=bearer(first))
    assert left.status_code == 200 and left.get_json()["status"] == "left"
    offer = entries(client, second)[0]
    assert offer["status"] == "offered" and offer["offer"]["slot_id"] == slots[1].id


def test_accepting_an_offer_moves_an_existing_booking(client):
    site, slots, bookers = full_day(client)
    other_slots = open_day(site, slots[0].day + timedelta(days=1))
    _, token = quick_donor()
    current = book(client, token, other_slots[0].id).get_json()
    entry = join(client, token, site, slots[0].day).get_json()
    cancelling_token, booking = bookers[2]
    client.delete(f"/api/v1/me/appointments/{booking['id']}", headers=bearer(cancelling_token))
    accepted = client.post(f"/api/v1/me/waitlist/{entry['id']}/accept", headers=bearer(token))
    assert accepted.status_code == 201
    assert accepted.get_json()["day"] == slots[0].day.isoformat()
    old = client.get(f"/api/v1/me/appointments/{current['id']}", headers=bearer(token))
    assert old.get_json()["status"] == "rescheduled"
    assert db.session.get(Slot, other_slots[0].id, populate_existing=True).booked == 0


def test_another_donor_cannot_take_or_leave_my_entry(client):
    site, slots, bookers = full_day(client)
    _, mine = quick_donor()
    _, theirs = quick_donor()
    entry = join(client, mine, site, slots[0].day).get_json()
    path = f"/api/v1/me/waitlist/{entry['id']}"
    assert client.post(path + "/accept", headers=bearer(theirs)).status_code == 404
    assert client.delete(path, headers=bearer(theirs)).status_code == 404
    assert entries(client, mine)[0]["status"] == "waiting"


def test_a_donor_waits_on_a_limited_number_of_lists(client):
    _, token = quick_donor()
    limit = booking_rules("zhejiang").max_waitlist_entries
    for _ in range(limit):
        site, slots, _ = full_day(client)
        assert join(client, token, site, slots[0].day).status_code == 201
    site, slots, _ = full_day(client)
    response = join(client, token, site, slots[0].day)
    assert response.status_code == 409 and response.get_json()["code"] == "waitlist_limit"


def test_a_freed_place_goes_to_the_list_before_any_later_booker(app, client):
    site, slots, bookers = full_day(client)
    donor, _ = quick_donor()
    waitlist.join_waitlist(donor, site.id, slots[0].day, "whole_blood")
    token, booking = bookers[0]
    client.delete(f"/api/v1/me/appointments/{booking['id']}", headers=bearer(token))
    _, latecomer = quick_donor()
    listed = client.get(
        f"/api/v1/sites/{site.id}/slots?from={slots[0].day}&to={slots[0].day}&free_only=true"
    ).get_json()
    assert listed["items"] == []
    assert book(client, latecomer, slots[0].id).get_json()["code"] == "slot_full"

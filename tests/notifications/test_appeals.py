"""Low-stock appeals: the right donors, most likely first, once a period, in waves (issue 7)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core import clock
from core.extensions import db
from notifications.appeals import advance_appeals
from notifications.models import OutboxMessage
from tests.factories import bearer, donor_record, record
from tests.factories.appointments import in_days, open_day, quick_donor, slots_on
from tests.factories.notifications import admin_token, desk, messages_to

O_NEG = {"abo": "O", "rhd": "negative"}


def appeal_body(**fields):
    return {
        "abo": "O",
        "rhd": "negative",
        "city": "杭州市",
        "ends_on": (clock.local_today() + timedelta(days=10)).isoformat(),
        **fields,
    }


def declare(client, token, **fields):
    response = client.post(
        "/api/v1/admin/stock-appeals", json=appeal_body(**fields), headers=bearer(token)
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def appealed_donors() -> list[int]:
    return list(
        db.session.scalars(
            select(OutboxMessage.donor_id)
            .where(OutboxMessage.template == "appeal", OutboxMessage.status != "skipped")
            .order_by(OutboxMessage.id)
        )
    )


def regular(client, sms, site, token, times: int, **fields):
    """A donor who gave `times` times, 400 days apart, recorded by staff on each day."""
    donor, data = donor_record(client, sms, blood_group=O_NEG, city="杭州市", **fields)
    for n in range(times):
        with clock.travelled(-timedelta(days=400 * (n + 1))):
            response = record(client, token, site, data["plain"]["id_number"])
        assert response.status_code == 201, response.get_json()
    return donor, data


def test_an_appeal_tells_eligible_donors_of_the_group_near_the_city(client, sms, daytime):
    site, token = desk(client)
    admin = admin_token(client)
    wanted, data = regular(client, sms, site, token, 1)
    other_group, _ = donor_record(
        client, sms, blood_group={"abo": "A", "rhd": "positive"}, city="杭州市"
    )
    other_city, _ = donor_record(client, sms, blood_group=O_NEG, city="温州市")
    # GB 18467-2011: whole blood again only after 6 months, so a donor who gave today is not asked.
    just_gave, recent = donor_record(client, sms, blood_group=O_NEG, city="杭州市")
    assert record(client, token, site, recent["plain"]["id_number"]).status_code == 201
    appeal = declare(client, admin)
    assert appealed_donors() == [wanted.id]
    assert appeal["notified"] == 1 and appeal["waves"] == 1
    (text,) = [body for body in messages_to(sms, data) if "库存偏紧" in body]
    assert "杭州市O型RhD阴性血库存偏紧" in text and "消息设置" in text


def test_most_likely_donors_come_first_and_waves_respect_the_cap(client, sms, daytime):
    site, token = desk(client)
    admin = admin_token(client)
    once, _ = regular(client, sms, site, token, 1)
    thrice, _ = regular(client, sms, site, token, 3)
    never, _ = donor_record(client, sms, blood_group=O_NEG, city="杭州市")
    twice, _ = regular(client, sms, site, token, 2)
    declare(client, admin, max_wave=2)
    assert appealed_donors() == [thrice.id, twice.id]
    with clock.travelled(timedelta(hours=4, minutes=1)):
        advance_appeals()
        db.session.commit()
    assert appealed_donors() == [thrice.id, twice.id, once.id, never.id]


def test_a_wave_is_no_larger_than_the_free_places_near_the_city(client, sms, daytime):
    site, token = desk(client)
    admin = admin_token(client)
    for times in (3, 2, 1):
        regular(client, sms, site, token, times)
    # One whole-blood place in the city; the platelet places do not count for a whole-blood appeal.
    day = in_days(3)
    open_day(site, day, {"whole_blood": 1, "apheresis_platelets": 3}, closes="09:30")
    declare(client, admin)
    assert len(appealed_donors()) == 1
    (place,) = slots_on(site, day, "whole_blood")
    _, booker = quick_donor()
    booked = client.post(
        "/api/v1/me/appointments", json={"slot_id": place.id}, headers=bearer(booker)
    )
    assert booked.status_code == 201, booked.get_json()
    with clock.travelled(timedelta(hours=4, minutes=1)):
        assert advance_appeals() == 0


def test_a_donor_hears_at_most_one_appeal_per_period(client, sms, daytime):
    # policies/national.toml appeals.once_per = "P30D" (operational choice, not a regulation).
    site, token = desk(client)
    admin = admin_token(client)
    donor, _ = regular(client, sms, site, token, 1)
    declare(client, admin)
    declare(client, admin)
    assert appealed_donors() == [donor.id]


def test_opted_out_donors_are_not_asked(client, sms, daytime):
    site, token = desk(client)
    admin = admin_token(client)
    donor, data = regular(client, sms, site, token, 1)
    client.patch(
        "/api/v1/me/notification-preferences",
        json={"appeals": False},
        headers=bearer(data["tokens"]["access_token"]),
    )
    assert declare(client, admin)["notified"] == 0


def test_a_closed_appeal_sends_no_more_waves(client, sms, daytime):
    site, token = desk(client)
    admin = admin_token(client)
    regular(client, sms, site, token, 2)
    regular(client, sms, site, token, 1)
    appeal = declare(client, admin, max_wave=1)
    closed = client.post(f"/api/v1/admin/stock-appeals/{appeal['id']}/close", headers=bearer(admin))
    assert closed.get_json()["status"] == "closed"
    with clock.travelled(timedelta(hours=5)):
        assert advance_appeals() == 0
    listed = client.get("/api/v1/admin/stock-appeals?status=closed", headers=bearer(admin))
    assert [item["id"] for item in listed.get_json()["items"]] == [appeal["id"]]


def test_only_admins_declare_appeals_and_bad_input_changes_nothing(client, sms):
    site, token = desk(client)
    staff = client.post("/api/v1/admin/stock-appeals", json=appeal_body(), headers=bearer(token))
    assert staff.status_code == 403
    admin = admin_token(client)
    for bad in (
        appeal_body(abo="Z"),
        appeal_body(ends_on="2000-01-01"),
        appeal_body(kind="bone_marrow"),
        appeal_body(max_wave=0),
        appeal_body(region="atlantis"),
        {**appeal_body(), "extra": 1},
    ):
        response = client.post("/api/v1/admin/stock-appeals", json=bad, headers=bearer(admin))
        assert response.status_code == 422, (bad, response.get_json())
    listed = client.get("/api/v1/admin/stock-appeals", headers=bearer(admin)).get_json()
    assert listed["page"]["total"] == 0

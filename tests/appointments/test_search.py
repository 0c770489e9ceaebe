"""Public search: sites by city, by distance from a point, and by days with free places."""

from __future__ import annotations

import pytest

from appointments.schedule import distance_km
from tests.factories import bearer, make_site
from tests.factories.appointments import in_days, open_day, quick_donor, slots_on

# Hangzhou: 武林广场 and 西湖文化广场 are about 0.8 km apart; Ningbo is about 140 km away.
WULIN = (30.2741, 120.1650)
CULTURE_SQUARE = (30.2810, 120.1630)
NINGBO = (29.8750, 121.5440)


def place(name, city, point, **capacity):
    site = make_site(name=name, city=city, latitude=point[0], longitude=point[1])
    open_day(site, in_days(2), capacity or None)
    return site


def search(client, **params):
    response = client.get("/api/v1/sites/search", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_haversine_distance_is_right_at_city_scale():
    assert distance_km(*WULIN, *CULTURE_SQUARE) == pytest.approx(0.79, abs=0.05)
    assert distance_km(*WULIN, *NINGBO) == pytest.approx(140, abs=10)


def test_sites_near_a_point_come_nearest_first_within_the_radius(client):
    wulin = place("武林献血屋", "杭州市", WULIN)
    square = place("西湖文化广场献血车", "杭州市", CULTURE_SQUARE)
    place("宁波血站", "宁波市", NINGBO)
    found = search(client, lat=CULTURE_SQUARE[0], lng=CULTURE_SQUARE[1], radius_km=5)
    assert [item["site"]["id"] for item in found["items"]] == [square.id, wulin.id]
    assert found["items"][0]["distance_km"] == 0
    assert found["items"][1]["distance_km"] == pytest.approx(0.79, abs=0.05)


def test_sites_by_city(client):
    place("武林献血屋", "杭州市", WULIN)
    ningbo = place("宁波血站", "宁波市", NINGBO)
    found = search(client, city="宁波市")
    assert [item["site"]["id"] for item in found["items"]] == [ningbo.id]
    assert found["items"][0]["distance_km"] is None
    assert found["items"][0]["free_places"] == 8  # four 30-minute slots of 2 places


def test_a_full_site_or_day_is_not_offered(client):
    full = place("武林献血屋", "杭州市", WULIN, whole_blood=1)
    for slot_index in range(4):
        _, token = quick_donor()
        slot = slots_on(full, in_days(2))[slot_index]
        client.post("/api/v1/me/appointments", json={"slot_id": slot.id}, headers=bearer(token))
    free = place("西湖文化广场献血车", "杭州市", CULTURE_SQUARE)
    found = search(client, city="杭州市", **{"from": in_days(2), "to": in_days(2)})
    assert [item["site"]["id"] for item in found["items"]] == [free.id]
    later = search(client, city="杭州市", **{"from": in_days(3), "to": in_days(5)})
    assert later["items"] == []


def test_search_by_kind(client):
    place("武林献血屋", "杭州市", WULIN, whole_blood=2)
    platelets = place("西湖文化广场献血车", "杭州市", CULTURE_SQUARE, apheresis_platelets=1)
    found = search(client, city="杭州市", kind="apheresis_platelets")
    assert [item["site"]["id"] for item in found["items"]] == [platelets.id]
    assert found["items"][0]["free_by_kind"] == {"apheresis_platelets": 4}


def test_half_a_point_is_refused(client):
    response = client.get("/api/v1/sites/search", query_string={"lat": 30.2})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"lng": ["请同时提供纬度和经度。"]}


@pytest.mark.parametrize(
    "params", [{"lat": 91, "lng": 120}, {"lat": "x", "lng": 1}, {"radius_km": 0}, {"kind": ""}]
)
def test_bad_search_input_is_refused(client, params):
    assert client.get("/api/v1/sites/search", query_string=params).status_code == 422

"""Sites: admin create, update, list; public list (item 9)."""

from __future__ import annotations

from tests.factories import bearer, make_site, make_staff, staff_token

NEW_SITE = {
    "facility_code": "W4401",
    "name": "杭州市武林献血屋",
    "kind": "donation_house",
    "address": "浙江省杭州市拱墅区武林广场1号",
    "city": "杭州市",
    "latitude": 30.27,
    "longitude": 120.16,
    "opening_hours": [{"weekday": 1, "opens": "08:30", "closes": "17:30"}],
}


def admin_headers(client):
    return bearer(staff_token(client, make_staff(admin=True)))


def test_an_admin_creates_a_site(client):
    response = client.post("/api/v1/admin/sites", json=NEW_SITE, headers=admin_headers(client))
    assert response.status_code == 201
    body = response.get_json()
    assert body["facility_code"] == "W4401"
    assert body["region"] == "zhejiang"
    assert body["created_at"].endswith("+08:00")


def test_a_facility_code_must_follow_isbt_128(client):
    headers = admin_headers(client)
    for bad in ("W440", "O1234", "12345", "W44011", "w4401"):
        response = client.post(
            "/api/v1/admin/sites", json={**NEW_SITE, "facility_code": bad}, headers=headers
        )
        assert response.status_code == 422, bad
        assert "facility_code" in response.get_json()["errors"]


def test_a_facility_code_is_unique(client):
    headers = admin_headers(client)
    client.post("/api/v1/admin/sites", json=NEW_SITE, headers=headers)
    response = client.post("/api/v1/admin/sites", json=NEW_SITE, headers=headers)
    assert response.status_code == 409
    assert response.get_json()["code"] == "facility_code_taken"


def test_opening_hours_must_open_before_closing(client):
    bad = {**NEW_SITE, "opening_hours": [{"weekday": 1, "opens": "18:00", "closes": "08:00"}]}
    response = client.post("/api/v1/admin/sites", json=bad, headers=admin_headers(client))
    assert response.status_code == 422


def test_an_admin_updates_and_deactivates_a_site(client):
    site = make_site()
    headers = admin_headers(client)
    response = client.patch(
        f"/api/v1/admin/sites/{site.id}", json={"name": "新名称", "active": False}, headers=headers
    )
    assert response.status_code == 200
    assert response.get_json()["name"] == "新名称"
    assert client.get(f"/api/v1/sites/{site.id}").status_code == 404
    listed = client.get("/api/v1/admin/sites?include_inactive=true", headers=headers).get_json()
    assert [item["id"] for item in listed["items"]] == [site.id]


def test_the_public_list_is_paged_and_filtered_by_city(client):
    for _ in range(3):
        make_site(city="杭州市")
    make_site(city="宁波市")
    make_site(city="杭州市", active=False)
    page = client.get("/api/v1/sites?city=杭州市&per_page=2").get_json()
    assert page["page"] == {"page": 1, "per_page": 2, "total": 3, "pages": 2}
    assert len(page["items"]) == 2
    second = client.get("/api/v1/sites?city=杭州市&per_page=2&page=2").get_json()
    assert len(second["items"]) == 1
    assert {item["city"] for item in page["items"] + second["items"]} == {"杭州市"}


def test_per_page_is_capped(client):
    response = client.get("/api/v1/sites?per_page=1000")
    assert response.status_code == 422


def test_anyone_reads_one_site(client):
    site = make_site()
    response = client.get(f"/api/v1/sites/{site.id}")
    assert response.status_code == 200
    assert response.get_json()["facility_code"] == site.facility_code


def test_a_site_in_a_region_without_a_policy_is_refused_on_create(client):
    # Issue 18 item 10: a site's pages read its region's policy; `nowhere` made them fail.
    headers = admin_headers(client)
    response = client.post(
        "/api/v1/admin/sites", json={**NEW_SITE, "region": "nowhere"}, headers=headers
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "region_unknown" and list(body["errors"]) == ["region"]
    assert client.get("/api/v1/admin/sites", headers=headers).get_json()["items"] == []


def test_a_site_cannot_be_moved_to_a_region_without_a_policy(client):
    site = make_site(region="shandong")
    headers = admin_headers(client)
    response = client.patch(
        f"/api/v1/admin/sites/{site.id}", json={"region": "nowhere"}, headers=headers
    )
    assert (response.status_code, response.get_json()["code"]) == (422, "region_unknown")
    assert client.get(f"/api/v1/sites/{site.id}").get_json()["region"] == "shandong"
    assert client.get(f"/api/v1/sites/{site.id}/days").status_code == 200
    moved = client.patch(
        f"/api/v1/admin/sites/{site.id}", json={"region": "zhejiang"}, headers=headers
    )
    assert moved.status_code == 200 and moved.get_json()["region"] == "zhejiang"


def test_a_new_site_is_in_the_services_default_region(app, client):
    app.config["DEFAULT_REGION"] = "shandong"
    try:
        response = client.post("/api/v1/admin/sites", json=NEW_SITE, headers=admin_headers(client))
    finally:
        app.config["DEFAULT_REGION"] = "zhejiang"
    assert response.status_code == 201 and response.get_json()["region"] == "shandong"

"""The souvenir store (issue 14 item 5): a redemption moves points and stock in one transaction
(rewards/store.py), cancelling refunds both, staff hand a pick-up order over by scanning the
donor's short-lived code; under 50 concurrent redemptions exactly one gets the last item and no
balance goes negative."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from core import clock
from core.extensions import db
from rewards import points
from rewards.models import Redemption, StoreItem
from tests.factories import bearer, last_code, make_site, send_code
from tests.factories.points import Store
from tests.timetravel import later


@pytest.fixture
def shop(client, sms):
    return Store(client, sms)


def stock(item_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(select(StoreItem.stock).where(StoreItem.id == item_id))


def test_a_redemption_spends_the_points_and_takes_the_stock_once_per_key(shop):
    donor, data, headers = shop.donor()
    shop.grant(donor.id, 250)
    item = shop.item(price=100, stock=3)
    first = shop.redeem(headers, item, quantity=2, key="redeem-same-0001")
    assert first.status_code == 201, first.get_json()
    again = shop.redeem(headers, item, quantity=2, key="redeem-same-0001")
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == first.get_json()
    assert first.get_json()["status"] == "placed"
    assert shop.balance(headers)["points"] == 50
    assert stock(item["id"]) == 1
    assert shop.ledger(headers)[0]["cause"] == "redemption"


def test_a_redemption_the_balance_does_not_cover_changes_nothing(shop):
    donor, data, headers = shop.donor()
    shop.grant(donor.id, 99)
    item = shop.item(price=100)
    refused = shop.redeem(headers, item)
    assert refused.status_code == 409 and refused.get_json()["code"] == "points_insufficient"
    assert shop.balance(headers)["points"] == 99 and stock(item["id"]) == 10
    assert shop.client.get("/api/v1/me/redemptions", headers=headers).get_json()["items"] == []


def test_an_item_out_of_stock_or_retired_is_refused(shop):
    donor, data, headers = shop.donor()
    shop.grant(donor.id, 500)
    empty = shop.item(stock=0)
    assert shop.redeem(headers, empty).get_json()["code"] == "out_of_stock"
    retired = shop.item()
    shop.client.post(f"/api/v1/admin/store/items/{retired['id']}/retire", headers=shop.admin)
    assert shop.redeem(headers, retired).get_json()["code"] == "store_item_retired"
    assert shop.balance(headers)["points"] == 500


def test_cancelling_refunds_the_points_and_restores_the_stock(shop):
    donor, data, headers = shop.donor()
    shop.grant(donor.id, 100)
    item = shop.item(price=100, stock=1)
    order = shop.redeem(headers, item).get_json()
    cancelled = shop.client.post(
        f"/api/v1/me/redemptions/{order['id']}/cancel", json={}, headers=headers
    )
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert shop.balance(headers)["points"] == 100 and stock(item["id"]) == 1
    assert [row["cause"] for row in shop.ledger(headers)[:2]] == ["refund", "redemption"]
    twice = shop.client.post(
        f"/api/v1/me/redemptions/{order['id']}/cancel", json={}, headers=headers
    )
    assert twice.status_code == 409 and shop.balance(headers)["points"] == 100


def test_staff_hand_over_a_pickup_order_by_scanning_the_donors_code(shop, client):
    donor, data, headers = shop.donor()
    shop.grant(donor.id, 100)
    order = shop.redeem(headers, shop.item()).get_json()
    staff = bearer(shop.staff)
    ready = client.post(f"/api/v1/staff/redemptions/{order['id']}/ready", headers=staff)
    assert ready.get_json()["status"] == "ready_at_site"
    shown = client.get(f"/api/v1/me/redemptions/{order['id']}/code", headers=headers).get_json()
    code = {"code": shown["code"]}
    with clock.travelled(timedelta(seconds=121)):
        late = client.post("/api/v1/staff/redemptions/handover", json=code, headers=staff)
        assert late.get_json()["code"] == "redemption_code_expired"
    forged = client.post(
        "/api/v1/staff/redemptions/handover",
        json={"code": code["code"][:-4] + "AAAA"},
        headers=staff,
    )
    assert forged.get_json()["code"] == "redemption_code_invalid"
    handed = client.post("/api/v1/staff/redemptions/handover", json=code, headers=staff)
    assert handed.status_code == 200, handed.get_json()
    assert handed.get_json()["status"] == "collected" and handed.get_json()["donor_name"] == "张*"
    again = client.post("/api/v1/staff/redemptions/handover", json=code, headers=staff)
    assert again.status_code == 409


def test_staff_list_the_orders_to_pick_up_at_their_site_and_no_other(shop, client):
    donor, data, headers = shop.donor()
    shop.grant(donor.id, 200)
    first = shop.redeem(headers, shop.item()).get_json()
    second = shop.redeem(headers, shop.item()).get_json()
    staff = bearer(shop.staff)
    client.post(f"/api/v1/staff/redemptions/{second['id']}/ready", headers=staff)
    path = f"/api/v1/staff/sites/{shop.site.id}/redemptions"
    listed = client.get(path, headers=staff).get_json()
    assert [order["id"] for order in listed["items"]] == [second["id"], first["id"]]
    placed = client.get(path, query_string={"status": "placed"}, headers=staff).get_json()
    assert [order["id"] for order in placed["items"]] == [first["id"]]
    other = make_site()
    refused = client.get(f"/api/v1/staff/sites/{other.id}/redemptions", headers=staff)
    assert (refused.status_code, refused.get_json()["code"]) == (403, "site_not_served")


def test_another_donors_order_is_unknown(shop):
    donor, data, headers = shop.donor()
    other, other_data, other_headers = shop.donor()
    shop.grant(donor.id, 100)
    order = shop.redeem(headers, shop.item()).get_json()
    seen = shop.client.get(f"/api/v1/me/redemptions/{order['id']}/code", headers=other_headers)
    assert seen.status_code == 404


def _race(app, shop, donors_headers, item, count=50):
    def attempt(n):
        with app.app_context(), app.test_client() as other:
            headers = donors_headers[n % len(donors_headers)]
            response = other.post(
                "/api/v1/me/redemptions",
                json={"item_id": item["id"], "quantity": 1, "site_id": shop.site.id},
                headers={**headers, "Idempotency-Key": f"race-{n:08d}"},
            )
            return response.status_code, response.get_json()[
                "code"
            ] if response.status_code != 201 else None

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(attempt, range(count)))


@pytest.mark.committed_db
def test_fifty_donors_racing_for_the_last_item_get_one_between_them(app, client, sms):
    # rewards/store.py: a conditional stock UPDATE under each donor's points lock.
    shop = Store(client, sms)
    item = shop.item(price=10, stock=1)
    donors = []
    for _ in range(10):
        donor, data, headers = shop.donor()
        assert shop.grant(donor.id, 10).status_code == 201
        donors.append((donor, headers))
    answers = _race(app, shop, [headers for _, headers in donors], item)
    assert sorted(status for status, _ in answers).count(201) == 1
    # the winner's own later tries find their points spent; everyone else finds no stock
    assert {code for status, code in answers if status != 201} <= {
        "out_of_stock",
        "points_insufficient",
    }
    assert stock(item["id"]) == 0
    balances = [points.balance_of(donor.id) for donor, _ in donors]
    assert sorted(balances) == [0] + [10] * 9


@pytest.mark.committed_db
def test_one_donor_racing_themself_spends_their_points_once(app, client, sms):
    # rewards/points.py: the balance check holds under the donor's points lock.
    shop = Store(client, sms)
    item = shop.item(price=100, stock=50)
    donor, data, headers = shop.donor()
    assert shop.grant(donor.id, 100).status_code == 201
    answers = _race(app, shop, [headers], item)
    assert [status for status, _ in answers].count(201) == 1
    assert {code for status, code in answers if status != 201} == {"points_insufficient"}
    assert points.balance_of(donor.id) == 0
    assert stock(item["id"]) == 49


def test_erasing_a_donor_cancels_their_open_orders_and_drops_their_delivery_address(shop, client):
    # README "Privacy": an erasure reaches every package in its transaction.
    donor, data, headers = shop.donor()
    shop.grant(donor.id, 400)
    badge = shop.item(stock=3)
    mug = shop.item(fulfilment="delivery", site_ids=[], stock=3)
    open_order = shop.redeem(headers, badge).get_json()
    posted = shop.redeem(headers, mug, delivery_address="浙江省杭州市西湖区某路1号").get_json()
    shipped = client.post(
        f"/api/v1/admin/redemptions/{posted['id']}/ship", json={}, headers=shop.admin
    )
    assert shipped.status_code == 200, shipped.get_json()
    with later(timedelta(minutes=2)):
        send_code(client, data["plain"]["mobile"])
        erased = client.post(
            "/api/v1/me/erasure",
            json={"code": last_code(shop.sms, data["plain"]["mobile"])},
            headers=headers,
        )
    assert erased.status_code == 204, erased.get_json()
    orders = {row.id: row for row in db.session.scalars(select(Redemption))}
    assert (orders[open_order["id"]].status, orders[open_order["id"]].cancel_reason) == (
        "cancelled",
        "donor_erased",
    )
    assert orders[posted["id"]].status == "shipped"
    assert orders[posted["id"]].delivery_address is None
    assert stock(badge["id"]) == 3

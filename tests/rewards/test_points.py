"""Points as a ledger (issue 14 item 4): what earns them and how much is the policy's `[points]`
section (policies/national.toml: an operational setting, not a regulation); every change is a row
with its cause, the balance their sum; points expire P24M after they were earned, the oldest
first, with a reminder P30D before."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core import clock
from core.extensions import db
from core.models import AuditEntry
from notifications.models import OutboxMessage
from rewards import points
from rewards.models import EXPIRY, PointsEntry
from tests.factories import bearer
from tests.factories.notifications import admin_token
from tests.factories.points import Store

DAY = timedelta(days=1)


@pytest.fixture
def shop(client, sms, app, monkeypatch):
    # Tests here move the clock by months; the tokens must outlive the move.
    monkeypatch.setitem(app.config, "JWT_ACCESS_TOKEN_EXPIRES", timedelta(days=1000))
    return Store(client, sms)


def test_a_recorded_donation_earns_its_points_by_volume_with_its_cause(shop):
    # [points.donations.whole_blood]: 10 points per 100 ml, so 400 ml earns 40.
    donor, data, headers = shop.donor()
    donation = shop.give(data, 1)[0]
    assert shop.balance(headers)["points"] == 40
    [row] = shop.ledger(headers)
    assert (row["amount"], row["cause"], row["cause_id"]) == (40, "donation", donation["id"])


def test_platelets_earn_per_therapeutic_unit(shop):
    # [points.donations.apheresis_platelets]: 40 points a unit, so a double unit earns 80.
    donor, data, headers = shop.donor()
    shop.give(data, 1, kind="apheresis_platelets", volume_ml=500, units=2)
    assert shop.balance(headers)["points"] == 80


def test_voiding_a_donation_reverses_its_points_in_a_row_of_its_own(shop, client):
    donor, data, headers = shop.donor()
    donation = shop.give(data, 1)[0]
    response = client.post(
        f"/api/v1/admin/donations/{donation['id']}/void",
        json={"reason": "血袋标签录入错误"},
        headers=bearer(admin_token(client)),
    )
    assert response.status_code == 200, response.get_json()
    assert shop.balance(headers)["points"] == 0
    causes = [(row["cause"], row["amount"]) for row in shop.ledger(headers)]
    assert causes == [("donation_voided", -40), ("donation", 40)]


def test_voiding_takes_back_only_what_is_left_of_the_donations_points(shop, client):
    # rewards/points.py: points of a voided donation already spent stay spent.
    donor, data, headers = shop.donor()
    donation = shop.give(data, 1)[0]
    assert shop.grant(donor.id, -30, "兑换线下纪念品").status_code == 201
    client.post(
        f"/api/v1/admin/donations/{donation['id']}/void",
        json={"reason": "血袋标签录入错误"},
        headers=bearer(admin_token(client)),
    )
    assert shop.balance(headers)["points"] == 0
    assert shop.ledger(headers)[0]["amount"] == -10


def test_a_signed_health_form_earns_points_once_in_the_policys_period(shop, client):
    # [points] per_health_form = 5, health_form_once_per = "P30D".
    donor, data, headers = shop.donor()
    form = client.get("/api/v1/questionnaires/current", headers=headers).get_json()
    body = {
        "version": form["version"],
        "answers": [{"code": q["code"], "answer": False} for q in form["questions"]],
        "consent": True,
    }
    for _ in range(2):
        assert (
            client.post("/api/v1/me/questionnaire", json=body, headers=headers).status_code == 201
        )
    assert shop.balance(headers)["points"] == 5
    with clock.travelled(timedelta(days=30)):
        assert (
            client.post("/api/v1/me/questionnaire", json=body, headers=headers).status_code == 201
        )
        assert shop.balance(headers)["points"] == 10


def test_volunteer_hours_earn_points_with_a_reason_and_are_audited(shop, client):
    # [points] per_volunteer_hour = 10: 150 minutes earn 25.
    donor, data, headers = shop.donor()
    response = client.post(
        f"/api/v1/admin/donors/{donor.id}/volunteer-hours",
        json={"served_on": clock.local_today().isoformat(), "minutes": 150, "reason": "献血屋引导"},
        headers=shop.admin,
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["entry"]["amount"] == 25
    assert shop.balance(headers)["points"] == 25
    audit = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "points.volunteer_hours")
    )
    assert audit.target_id == str(donor.id) and audit.details["reason"] == "献血屋引导"


def test_an_adjustment_needs_a_reason_and_never_takes_the_balance_below_zero(shop):
    donor, data, headers = shop.donor()
    assert shop.grant(donor.id, 20).status_code == 201
    refused = shop.grant(donor.id, -21)
    assert refused.status_code == 409 and refused.get_json()["code"] == "points_insufficient"
    assert (
        shop.client.post(
            f"/api/v1/admin/donors/{donor.id}/points-adjustments",
            json={"points": 5},
            headers=shop.admin,
        ).status_code
        == 422
    )
    assert shop.grant(donor.id, -20).status_code == 201
    assert shop.balance(headers)["points"] == 0
    actions = db.session.scalars(
        select(AuditEntry.details).where(AuditEntry.action == "points.adjusted")
    ).all()
    assert [d["points"] for d in actions] == [20, -20]


def test_points_expire_24_months_after_earning_the_oldest_spent_first(shop):
    # [points] expire_after = "P24M"; spending consumes the lots that expire first.
    donor, data, headers = shop.donor()
    start = clock.now()
    with clock.frozen_at(start):
        assert shop.grant(donor.id, 50).status_code == 201
    with clock.frozen_at(start + 31 * DAY):
        assert shop.grant(donor.id, 30).status_code == 201
        assert shop.grant(donor.id, -60).status_code == 201  # 50 of the first lot, 10 of the next
    first_gone = clock.local_today().replace(year=clock.local_today().year + 2)
    with clock.frozen_at(start + (first_gone - clock.local_today()).days * DAY):
        assert points.expire_points(clock.local_today()) == 1  # the first lot: nothing left
        balance = points.balance(donor)
        assert (balance.points, balance.next_expiry_points) == (20, 20)
    with clock.frozen_at(start + 800 * DAY):
        assert points.expire_points(clock.local_today()) == 1
        assert points.expire_points(clock.local_today()) == 0  # once per lot
    expiries = db.session.scalars(
        select(PointsEntry.amount).where(
            PointsEntry.donor_id == donor.id, PointsEntry.cause == EXPIRY
        )
    ).all()
    assert sorted(expiries) == [-20, 0]
    assert points.balance_of(donor.id) == 0
    assert shop.ledger(headers)[0]["cause"] == "expiry"


def test_a_reminder_goes_30_days_before_points_expire_once_per_lot(shop, client):
    # [points] warn_before = "P30D"; a reminder respects the donor's opt-outs.
    donor, data, headers = shop.donor()
    other, other_data, other_headers = shop.donor()
    start = clock.now()
    with clock.frozen_at(start):
        shop.grant(donor.id, 50)
        shop.grant(other.id, 50)
    client.patch(
        "/api/v1/me/notification-preferences", json={"reminders": False}, headers=other_headers
    )
    expires_on = points.lots_of(donor.id)[0].entry.expires_on
    assert points.lots_to_warn(expires_on - timedelta(days=31)) == []
    warn_day = expires_on - timedelta(days=30)
    from wiring import warn_of_expiring_points

    assert warn_of_expiring_points(warn_day) == 2
    assert warn_of_expiring_points(warn_day) == 2  # the same keys: nothing new
    rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "points_expiring")
    ).all()
    by_donor = {row.donor_id: row for row in rows}
    assert len(rows) == 2
    assert by_donor[donor.id].status == "pending" and "50献血积分" in by_donor[donor.id].body
    assert by_donor[other.id].status_reason == "opted_out"


def test_the_monthly_report_counts_points_issued_spent_and_expired(shop):
    donor, data, headers = shop.donor()
    shop.give(data, 1)
    shop.grant(donor.id, -15)
    month = clock.local_today().strftime("%Y-%m")
    report = shop.client.get(f"/api/v1/admin/points/report?month={month}", headers=shop.admin)
    assert report.status_code == 200, report.get_json()
    body = report.get_json()
    assert (body["issued"], body["adjusted_down"], body["expired"]) == (40, 15, 0)
    csv = shop.client.get(f"/api/v1/admin/points/report.csv?month={month}", headers=shop.admin)
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert f"{month},40,0,0,0,0,0,15" in csv.get_data(as_text=True)
    bad = shop.client.get("/api/v1/admin/points/report?month=2026-13", headers=shop.admin)
    assert bad.status_code == 422

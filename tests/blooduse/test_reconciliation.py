"""A hospital's months of reductions (issue 15 item 5): JSON and CSV for the hospital and the
station's administrators, confirmation once the month is over, and reversal after it by an
administrator only."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import func, select

from blooduse.models import BloodUseEntry, HospitalMonth
from core import clock
from core.extensions import db
from tests.factories import bearer, make_staff, staff_token
from tests.factories.cycles import donations, whole_blood
from tests.factories.hospitals import hospital_cashier
from tests.factories.settlements import bill, local, patient_donor, relative_of, reverse, settle

OCTOBER = date(2026, 10, 20)
NOVEMBER = date(2026, 11, 2)


@pytest.fixture
def admin(client):
    return bearer(staff_token(client, make_staff(admin=True)))


@pytest.fixture
def october(client):
    """Two bills settled in October 2026 at one hospital (one for a relative) and one reversed."""
    donor = patient_donor()
    donations(donor, *whole_blood(200), start=date(2024, 5, 1))
    spouse = relative_of(donor, "spouse")
    hospital, desk = hospital_cashier(client)
    with clock.frozen_at(local(OCTOBER)):
        own = bill(donor.id_number, 300, fee_cents=30_000, bill_number="=HYPERLINK(1)")
        for body in (own, bill(spouse.id_number, 200, fee_cents=25_000)):
            assert settle(client, desk, body).status_code == 201
        cancelled = bill(donor.id_number, 100, fee_cents=9_900)
        assert settle(client, desk, cancelled).status_code == 201
        assert reverse(client, desk, cancelled["bill_number"]).status_code == 200
    return hospital, desk, donor, own


def test_the_month_lists_each_bill_masked_and_totals_the_bills_still_settled(client, october):
    hospital, desk, donor, own = october
    with clock.frozen_at(local(NOVEMBER)):
        month = client.get("/api/v1/hospital/months/2026-10?per_page=2", headers=desk).get_json()
    assert (month["month"], month["hospital_id"], month["over"]) == ("2026-10", hospital.id, True)
    assert month["totals"] == {
        "bills": 2,
        "volume_ml": 500,
        "covered_ml": 500,
        "fee_cents": 55_000,
        "reduction_cents": 55_000,
    }
    assert month["confirmation"] is None
    assert month["page"]["total"] == 3 and len(month["items"]) == 2
    first, second = month["items"]
    assert (first["bill_number"], first["patient"], first["status"]) == (
        "=HYPERLINK(1)",
        "陈**",
        "settled",
    )
    assert first["patient_id_number"] == donor.id_number[:6] + "*" * 8 + donor.id_number[-4:]
    assert second["patient"] == "林**" and "2x" in second["rule"]
    rest = client.get("/api/v1/hospital/months/2026-10?page=2&per_page=2", headers=desk)
    assert [item["status"] for item in rest.get_json()["items"]] == ["reversed"]


def test_the_months_csv_is_formula_safe(client, october):
    # core/spreadsheet.py (OWASP CSV injection): a bill number is the hospital's text.
    _, desk, _, _ = october
    answer = client.get("/api/v1/hospital/months/2026-10.csv", headers=desk)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["settled_on", "bill_number", "status", "patient"]
    assert rows[1][1] == "'=HYPERLINK(1)" and rows[1][3] == "陈**"
    assert len(rows) == 4


def test_a_month_not_yet_over_cannot_be_confirmed(client, october):
    _, desk, _, _ = october
    with clock.frozen_at(local(date(2026, 10, 31), 23)):
        refused = client.post("/api/v1/hospital/months/2026-10/confirm", headers=desk)
    assert (refused.status_code, refused.get_json()["code"]) == (409, "month_not_over")
    assert db.session.scalar(select(func.count()).select_from(HospitalMonth)) == 0


def test_a_confirmed_month_is_frozen_and_its_bills_reversed_only_by_an_administrator(
    client, october, admin
):
    # Issue 15 item 5: after confirmation a bill cannot be reversed without an administrator.
    hospital, desk, _, own = october
    with clock.frozen_at(local(NOVEMBER)):
        confirmed = client.post("/api/v1/hospital/months/2026-10/confirm", headers=desk)
        assert confirmed.status_code == 201, confirmed.get_json()
        assert (confirmed.get_json()["bills"], confirmed.get_json()["reduction_cents"]) == (
            2,
            55_000,
        )
        twice = client.post("/api/v1/hospital/months/2026-10/confirm", headers=desk)
        assert (twice.status_code, twice.get_json()["code"]) == (409, "month_already_confirmed")
        refused = reverse(client, desk, own["bill_number"])
        assert (refused.status_code, refused.get_json()["code"]) == (409, "month_confirmed")
        listed = client.get(f"/api/v1/admin/hospitals/{hospital.id}/months/2026-10", headers=admin)
        item = next(i for i in listed.get_json()["items"] if i["bill_number"] == own["bill_number"])
        undone = client.post(
            f"/api/v1/admin/blood-fee-reductions/{item['id']}/reverse",
            json={"reason": "医院申请更正，已核对"},
            headers=admin,
        )
    assert undone.status_code == 200, undone.get_json()
    assert undone.get_json()["status"] == "reversed"
    restored = db.session.scalar(
        select(func.sum(BloodUseEntry.amount_ml)).where(BloodUseEntry.cause == "restore")
    )
    assert restored == 400  # the October reversal (100) and this one (300)
    frozen = db.session.scalar(select(HospitalMonth))
    assert (frozen.bills, frozen.reduction_cents) == (2, 55_000)  # as confirmed


def test_administrators_read_any_hospitals_month_and_cashiers_only_their_own(
    client, october, admin
):
    hospital, _, _, _ = october
    _, stranger = hospital_cashier(client)
    theirs = client.get("/api/v1/hospital/months/2026-10", headers=stranger).get_json()
    assert theirs["page"]["total"] == 0 and theirs["totals"]["bills"] == 0
    listed = client.get(f"/api/v1/admin/hospitals/{hospital.id}/months/2026-10", headers=admin)
    assert listed.get_json()["page"]["total"] == 3
    as_csv = client.get(f"/api/v1/admin/hospitals/{hospital.id}/months/2026-10.csv", headers=admin)
    assert as_csv.status_code == 200 and as_csv.get_data(as_text=True).count("\r\n") == 4


@pytest.mark.parametrize("month", ["2026-13", "2026-1x", "26-10-1"])
def test_a_month_not_written_yyyy_mm_names_nothing(client, month):
    _, desk = hospital_cashier(client)
    answer = client.get(f"/api/v1/hospital/months/{month}", headers=desk)
    assert answer.status_code == 404

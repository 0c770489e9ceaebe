"""Corrections: void with a reason, record anew; nothing is deleted or edited in place."""

from __future__ import annotations

from fractions import Fraction

from sqlalchemy import select

from certificate.models import Donation, DonorTotals
from core.extensions import db
from core.models import AuditEntry
from tests.factories import bearer, donor_record, make_site, make_staff, record, staff_token


def setup(client, sms):
    site = make_site()
    staff = staff_token(client, make_staff([site]))
    admin = staff_token(client, make_staff(admin=True))
    donor, data = donor_record(client, sms)
    donation = record(client, staff, site, data["plain"]["id_number"]).get_json()
    return donor, data, donation, bearer(admin), bearer(staff)


def test_an_admin_voids_a_donation_and_everything_follows(client, sms):
    donor, data, donation, admin, _ = setup(client, sms)
    response = client.post(
        f"/api/v1/admin/donations/{donation['id']}/void",
        json={"reason": "血袋标签录入错误"},
        headers=admin,
    )
    assert response.status_code == 200
    assert response.get_json()["status"] == "voided"
    number = donation["certificate"]["number"]
    assert client.get(f"/v/{number}").get_json()["status"] == "voided"
    totals = db.session.get(DonorTotals, donor.id)
    assert (totals.donations, totals.award_counts) == (0, 0)
    mine = client.get(
        f"/api/v1/me/certificates/{number}", headers=bearer(data["tokens"]["access_token"])
    )
    assert mine.get_json()["status"] == "voided"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "donation.voided"))
    assert entry.details["reason"] == "血袋标签录入错误"
    assert db.session.get(Donation, donation["id"]) is not None


def test_staff_cannot_void(client, sms):
    _, _, donation, _, staff = setup(client, sms)
    response = client.post(
        f"/api/v1/admin/donations/{donation['id']}/void", json={"reason": "试试"}, headers=staff
    )
    assert response.status_code == 403


def test_voiding_twice_is_a_conflict(client, sms):
    _, _, donation, admin, _ = setup(client, sms)
    path = f"/api/v1/admin/donations/{donation['id']}/void"
    client.post(path, json={"reason": "错误"}, headers=admin)
    again = client.post(path, json={"reason": "错误"}, headers=admin)
    assert again.status_code == 409


def test_a_correction_is_a_new_record_pointing_to_the_old(client, sms):
    donor, _, donation, admin, _ = setup(client, sms)
    response = client.post(
        f"/api/v1/admin/donations/{donation['id']}/correction",
        json={"reason": "实际采集300毫升", "volume_ml": 300},
        headers=admin,
    )
    assert response.status_code == 201, response.get_json()
    corrected = response.get_json()
    assert corrected["id"] != donation["id"]
    assert corrected["replaces_id"] == donation["id"]
    assert corrected["volume_ml"] == 300
    assert corrected["din"] == donation["din"]
    assert corrected["certificate"]["number"] != donation["certificate"]["number"]
    assert db.session.get(Donation, donation["id"]).status == "voided"
    # POLICY.md "Decisions (2026-11-30)": 300 ml of whole blood counts 1.5.
    totals = db.session.get(DonorTotals, donor.id)
    assert (totals.donations, totals.award_counts) == (1, Fraction(3, 2))

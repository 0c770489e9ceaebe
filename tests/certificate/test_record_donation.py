"""Recording a donation issues its certificate in the same transaction (certificates issue)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from certificate.events import donation_recorded
from certificate.models import Certificate, Donation, DonorTotals
from core import clock
from core.extensions import db
from core.models import AuditEntry
from tests.factories import bearer, donor_record, make_site, make_staff, record, staff_token


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def setup_site(client):
    site = make_site()
    return site, staff_token(client, make_staff([site]))


def test_recording_creates_donation_certificate_and_totals(client, sms):
    site, token = setup_site(client)
    donor, data = donor_record(client, sms)
    response = record(client, token, site, data["plain"]["id_number"])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["kind"] == "whole_blood" and body["volume_ml"] == 400
    assert body["certificate"]["number"]
    assert body["certificate"]["status"] == "valid"
    assert body["din"].startswith(site.facility_code)
    totals = db.session.get(DonorTotals, donor.id)
    # National award rules: 200 ml of whole blood = 1 count, so 400 ml = 2.
    assert (totals.donations, totals.award_counts) == (1, 2)
    assert totals.by_kind["whole_blood"]["volume_ml"] == 400


def test_a_scanned_din_is_validated(client, sms):
    site, token = setup_site(client)
    _, data = donor_record(client, sms)
    bad = record(client, token, site, data["plain"]["id_number"], din="G123498654321A")
    assert bad.status_code == 422
    assert bad.get_json()["errors"]["din"] == ["献血条码校验位不正确。"]
    good = record(client, token, site, data["plain"]["id_number"], din="=G12349865432177")
    assert good.status_code == 201
    assert good.get_json()["din"] == "G123498654321 77 H"


def test_a_din_is_recorded_once(client, sms):
    site, token = setup_site(client)
    _, first = donor_record(client, sms)
    _, second = donor_record(client, sms)
    assert (
        record(client, token, site, first["plain"]["id_number"], din="G123498654321H").status_code
        == 201
    )
    again = record(client, token, site, second["plain"]["id_number"], din="G123498654321H")
    assert again.status_code == 409
    assert again.get_json()["code"] == "din_taken"


def test_a_retry_with_the_same_key_returns_the_first_result_and_records_once(client, sms):
    site, token = setup_site(client)
    _, data = donor_record(client, sms)
    when = clock.now().isoformat()
    first = record(
        client, token, site, data["plain"]["id_number"], key="retry-key-0001", collected_at=when
    )
    second = record(
        client, token, site, data["plain"]["id_number"], key="retry-key-0001", collected_at=when
    )
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert count(Donation) == 1 and count(Certificate) == 1


def test_the_same_key_with_a_different_body_is_refused(client, sms):
    site, token = setup_site(client)
    _, data = donor_record(client, sms)
    record(client, token, site, data["plain"]["id_number"], key="retry-key-0002")
    other = record(
        client, token, site, data["plain"]["id_number"], key="retry-key-0002", volume_ml=200
    )
    assert other.status_code == 422
    assert other.get_json()["code"] == "idempotency_key_reused"


def test_the_idempotency_key_is_required(client, sms):
    site, token = setup_site(client)
    _, data = donor_record(client, sms)
    response = client.post(
        "/api/v1/staff/donations",
        json={
            "site_id": site.id,
            "donor": {"id_number": data["plain"]["id_number"]},
            "kind": "whole_blood",
            "volume_ml": 400,
            "collected_at": clock.now().isoformat(),
        },
        headers=bearer(token),
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "idempotency_key_required"


@pytest.mark.committed_db
def test_concurrent_retries_record_once(app, client, sms):
    site, token = setup_site(client)
    _, data = donor_record(client, sms)
    when = clock.now().isoformat()

    def attempt(_):
        with app.app_context(), app.test_client() as other:
            return record(
                other,
                token,
                site,
                data["plain"]["id_number"],
                key="concurrent-key-1",
                collected_at=when,
            )

    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(attempt, range(4)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.get_json()["certificate"]["number"] for r in responses}) == 1
    db.session.expire_all()
    assert count(Donation) == 1


def test_volumes_come_from_the_policy(client, sms):
    site, token = setup_site(client)
    _, data = donor_record(client, sms)
    # GB 18467-2011: whole blood 200, 300 or 400 ml per donation.
    response = record(client, token, site, data["plain"]["id_number"], volume_ml=450)
    assert response.status_code == 422
    assert response.get_json()["code"] == "amount_not_allowed"


def test_platelets_are_measured_in_therapeutic_units_with_their_collected_volume(client, sms):
    # GB 18467-2011: 1-2 therapeutic units; POLICY.md "Decisions (2026-11-30)": staff record
    # the collected volume from the apheresis device with the units.
    site, token = setup_site(client)
    _, data = donor_record(client, sms)
    id_number = data["plain"]["id_number"]
    wrong = record(client, token, site, id_number, kind="apheresis_platelets")
    assert wrong.status_code == 422
    no_volume = record(
        client, token, site, id_number, kind="apheresis_platelets", volume_ml=None, units=2
    )
    assert no_volume.status_code == 422
    assert no_volume.get_json()["code"] == "volume_required"
    assert "volume_ml" in no_volume.get_json()["errors"]
    right = record(
        client, token, site, id_number, kind="apheresis_platelets", volume_ml=520, units=2
    )
    assert right.status_code == 201, right.get_json()
    body = right.get_json()
    assert (body["units"], body["volume_ml"]) == (2, 520)
    # The certificate and the award counts are in units; the volume is kept beside them.
    claims = client.get(f"/v/{body['certificate']['number']}").get_json()["certificate"]
    assert (claims["amount"], claims["unit"]) == (2, "unit")
    card = client.get("/api/v1/me/card", headers=bearer(data["tokens"]["access_token"]))
    assert card.get_json()["award_counts"] == 2
    assert card.get_json()["by_kind"]["apheresis_platelets"] == {
        "donations": 1,
        "units": 2,
        "volume_ml": 520,
    }


def test_an_ineligible_donor_needs_an_override_reason_which_is_audited(client, sms):
    site, token = setup_site(client)
    _, data = donor_record(client, sms)
    record(client, token, site, data["plain"]["id_number"])
    # GB 18467-2011: whole blood -> whole blood at least 6 months apart.
    refused = record(client, token, site, data["plain"]["id_number"], volume_ml=200)
    assert refused.status_code == 409
    assert refused.get_json()["code"] == "donor_not_eligible"
    [reason] = refused.get_json()["errors"]["eligibility"]
    assert reason["code"] == "interval"
    overridden = record(
        client,
        token,
        site,
        data["plain"]["id_number"],
        volume_ml=200,
        override_reason="医生评估后同意（演示）",
    )
    assert overridden.status_code == 201
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "donation.eligibility_overridden" in actions


def test_staff_cannot_record_at_a_site_they_do_not_serve(client, sms):
    _, token = setup_site(client)
    other_site = make_site()
    _, data = donor_record(client, sms)
    response = record(client, token, other_site, data["plain"]["id_number"])
    assert response.status_code == 403
    assert count(Donation) == 0


def test_a_failing_listener_rolls_everything_back(client, sms):
    site, token = setup_site(client)
    donor, data = donor_record(client, sms)

    def broken_listener(sender, donation):
        raise RuntimeError("listener failed")

    donation_recorded.connect(broken_listener)
    try:
        response = record(client, token, site, data["plain"]["id_number"])
    finally:
        donation_recorded.disconnect(broken_listener)
    assert response.status_code == 500
    assert (count(Donation), count(Certificate), count(DonorTotals)) == (0, 0, 0)


def test_listeners_see_the_donation_inside_the_transaction(client, sms):
    site, token = setup_site(client)
    _, data = donor_record(client, sms)
    seen = []

    def listener(sender, donation):
        seen.append((donation.id, donation.certificate.number))

    donation_recorded.connect(listener)
    try:
        response = record(client, token, site, data["plain"]["id_number"])
    finally:
        donation_recorded.disconnect(listener)
    assert seen == [(response.get_json()["id"], response.get_json()["certificate"]["number"])]


def test_a_collection_time_in_the_future_is_refused(client, sms):
    site, token = setup_site(client)
    _, data = donor_record(client, sms)
    later = (clock.now() + timedelta(hours=2)).isoformat()
    response = record(client, token, site, data["plain"]["id_number"], collected_at=later)
    assert response.status_code == 422


def test_plasma_is_not_recorded_because_it_is_not_offered(client, sms):
    # POLICY.md "Decisions (2026-11-30)": plasma-only apheresis is not collected by the
    # stations this service serves; recording it is refused with kind_not_offered, even with an
    # override reason.
    site, token = setup_site(client)
    _, data = donor_record(client, sms)
    response = record(
        client,
        token,
        site,
        data["plain"]["id_number"],
        kind="apheresis_plasma",
        override_reason="医生同意",
    )
    assert response.status_code == 422
    assert response.get_json()["code"] == "kind_not_offered"
    assert response.get_json()["errors"]["kind"] == ["本地血站不开展此类献血。"]
    assert count(Donation) == 0


@pytest.mark.committed_db
def test_concurrent_first_donations_of_the_year_get_distinct_dins(app, client, sms):
    site, token = setup_site(client)
    donors = [donor_record(client, sms)[1]["plain"]["id_number"] for _ in range(6)]
    when = clock.now().isoformat()

    def attempt(id_number):
        with app.app_context(), app.test_client() as other:
            return record(other, token, site, id_number, collected_at=when)

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(attempt, donors))
    assert [r.status_code for r in responses] == [201] * 6, [r.get_json() for r in responses]
    assert len({r.get_json()["din"] for r in responses}) == 6

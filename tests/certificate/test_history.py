"""Imported history for registered donors (issue 12 item 6): a hint on the card, no details
before the claim, a claim at a site after staff check the ID card, and the hidden donations
still counted for intervals."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from certificate import history
from certificate.models import Certificate, DonorTotals
from core import clock, limits
from core.errors import ApiError
from core.extensions import db
from core.models import AuditEntry
from tests.factories import (
    bearer,
    donor_record,
    make_site,
    make_staff,
    record,
    resident_id,
    staff_token,
)
from tests.factories.history import fresh_din, history_row, import_history


def card(client, headers, **extra):
    response = client.get("/api/v1/me/card", headers={**headers, **extra})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def certificates(donor_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Certificate).where(Certificate.donor_id == donor_id)
    )


def claims_audited() -> list[AuditEntry]:
    return list(
        db.session.scalars(select(AuditEntry).where(AuditEntry.action == "donor.history_claimed"))
    )


@pytest.fixture
def imported(app, client, sms, tmp_path):
    """A registered donor whose two earlier whole-blood donations came in by import."""
    person = resident_id(birth="19850505")
    rows = [
        history_row(person, clock.local_today() - timedelta(days=900), facility="W3301"),
        history_row(person, clock.local_today() - timedelta(days=500), facility="W3301"),
    ]
    import_history(app, tmp_path, *rows)
    donor, data = donor_record(client, sms, id_number=person, name="王小明")
    return donor, bearer(data["tokens"]["access_token"]), rows


@pytest.fixture
def site_staff(client):
    site = make_site()
    return site, bearer(staff_token(client, make_staff([site])))


def claim_at(client, staff, site, id_number, **body):
    return client.post(
        "/api/v1/staff/history-claims",
        json={"site_id": site.id, "id_number": id_number, "id_card_checked": True, **body},
        headers=staff,
    )


def test_the_card_says_records_were_found_and_how_to_confirm_them_but_nothing_of_them(
    client, imported
):
    """Issue 12 item 6: "no details before the claim" (no count, dates, sites or amounts)."""
    _, headers, rows = imported
    shown = card(client, headers)
    hint = shown["history_to_confirm"]
    assert hint["message"] == "我们找到了可能属于您的以往献血记录，确认后即可显示并计入累计。"
    assert [(way["way"], way["path"]) for way in hint["ways"]] == [
        ("donation_number", "/api/v1/me/history-claims"),
        ("id_card_at_site", None),
    ]
    assert (shown["donations"], shown["award_counts"], shown["by_kind"]) == (0, 0, {})
    assert shown["last_donation_date"] is None and shown["latest_certificate"] is None
    text = json.dumps(shown, ensure_ascii=False)
    for row in rows:
        assert row["din"][:13] not in text and row["donation_date"] not in text
    assert "W3301" not in json.dumps(hint)
    said = [hint["message"], *(way["message"] for way in hint["ways"])]
    assert not any(character.isdigit() for sentence in said for character in sentence)
    english = card(client, headers, **{"Accept-Language": "en"})["history_to_confirm"]
    assert english["ways"][1]["message"].startswith("Or bring your ID card")


def test_the_hint_goes_once_the_donor_proves_a_donation_number(client, imported):
    donor, headers, rows = imported
    claimed = client.post(
        "/api/v1/me/history-claims", json={"din": rows[1]["din"]}, headers=headers
    )
    assert claimed.get_json() == {"claimed_donations": 2}
    shown = card(client, headers)
    assert shown["history_to_confirm"] is None
    assert (shown["donations"], shown["award_counts"]) == (2, 4)


def test_a_donor_with_no_imported_history_sees_no_hint(client, sms):
    _, data = donor_record(client, sms)
    assert card(client, bearer(data["tokens"]["access_token"]))["history_to_confirm"] is None


def test_staff_confirm_the_records_after_checking_the_id_card(client, imported, site_staff):
    """Issue 12 item 6: as the donor's own claim does, audited with the staff and the site."""
    donor, headers, _ = imported
    site, staff = site_staff
    response = claim_at(client, staff, site, donor.id_number)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["claimed_donations"] == 2
    assert body["donor"]["id_number"] != donor.id_number and "*" in body["donor"]["id_number"]
    assert certificates(donor.id) == 2
    totals = db.session.get(DonorTotals, donor.id)
    assert (totals.donations, totals.award_counts) == (2, 4)
    page = client.get("/api/v1/me/certificates", headers=headers).get_json()
    assert page["page"]["total"] == 2
    assert card(client, headers)["history_to_confirm"] is None
    [entry] = claims_audited()
    assert (entry.actor_type, entry.target_id) == ("staff", str(donor.id))
    assert entry.details == {"count": 2, "site": site.id, "proof": "id_card_checked"}


def test_confirming_at_a_site_again_changes_nothing(client, imported, site_staff):
    donor, _, _ = imported
    site, staff = site_staff
    first = claim_at(client, staff, site, donor.id_number).get_json()
    again = claim_at(client, staff, site, donor.id_number)
    assert (again.status_code, again.get_json()) == (200, first)
    assert certificates(donor.id) == 2
    assert len(claims_audited()) == 1


def test_a_site_confirms_what_the_donor_already_claimed_without_a_second_claim(
    client, imported, site_staff
):
    donor, headers, rows = imported
    client.post("/api/v1/me/history-claims", json={"din": rows[0]["din"]}, headers=headers)
    site, staff = site_staff
    response = claim_at(client, staff, site, donor.id_number)
    assert response.get_json()["claimed_donations"] == 2
    assert certificates(donor.id) == 2
    assert [entry.actor_type for entry in claims_audited()] == ["donor"]


@pytest.mark.parametrize(
    "change,status,code",
    [
        ({"id_card_checked": False}, 422, "validation_failed"),
        ({"id_card_checked": None}, 422, "validation_failed"),
        ({"site_id": "other"}, 403, "site_not_served"),
    ],
    ids=["not_checked", "not_said", "site_not_served"],
)
def test_a_site_claim_needs_the_id_card_checked_at_a_site_served(
    client, imported, site_staff, change, status, code
):
    donor, _, _ = imported
    site, staff = site_staff
    if change.get("site_id") == "other":
        change = {"site_id": make_site().id}
    response = claim_at(client, staff, site, donor.id_number, **change)
    assert (response.status_code, response.get_json()["code"]) == (status, code)
    if "id_card_checked" in change:
        assert "id_card_checked" in response.get_json()["errors"]
    db.session.refresh(donor)
    assert donor.history_claimed_at is None and certificates(donor.id) == 0


def test_a_site_claim_refuses_unknown_unregistered_and_historyless_donors(
    app, client, sms, site_staff, tmp_path
):
    site, staff = site_staff
    unknown = claim_at(client, staff, site, resident_id())
    assert (unknown.status_code, unknown.get_json()["code"]) == (404, "donor_not_found")

    pending = resident_id(birth="19700303")
    import_history(app, tmp_path, history_row(pending, clock.local_today() - timedelta(days=400)))
    not_registered = claim_at(client, staff, site, pending)
    assert not_registered.status_code == 409
    assert not_registered.get_json()["code"] == "history_donor_not_registered"

    _, data = donor_record(client, sms)
    nothing = claim_at(client, staff, site, data["plain"]["id_number"])
    assert (nothing.status_code, nothing.get_json()["code"]) == (404, "history_not_found")
    assert claims_audited() == []


def test_donors_may_not_claim_at_a_site(client, imported, site_staff):
    donor, headers, _ = imported
    site, _ = site_staff
    response = claim_at(client, headers, site, donor.id_number)
    assert response.status_code == 403


def test_hidden_imported_donations_count_for_intervals_but_nowhere_the_donor_sees(
    app, client, sms, tmp_path, daytime
):
    """Issue 12 item 6: unclaimed imported donations are real donations, so the six months
    after a whole-blood donation (GB 18467-2011, POLICY.md §1.5) run from them; the donor's
    totals, certificates and three-frees progress leave them out until the claim."""
    person = resident_id(birth="19880808")
    recent = clock.local_today() - timedelta(days=30)
    import_history(app, tmp_path, history_row(person, recent))
    donor, data = donor_record(client, sms, id_number=person, name="王小明")
    headers = bearer(data["tokens"]["access_token"])

    kinds = client.get("/api/v1/me/eligibility", headers=headers).get_json()["kinds"]
    whole_blood = next(item for item in kinds if item["kind"] == "whole_blood")
    assert whole_blood["allowed"] is False
    assert [reason["code"] for reason in whole_blood["reasons"]] == ["interval"]
    site = make_site()
    refused = record(client, staff_token(client, make_staff([site])), site, person)
    assert (refused.status_code, refused.get_json()["code"]) == (409, "donor_not_eligible")

    shown = card(client, headers)
    assert (shown["donations"], shown["award_counts"]) == (0, 0)
    assert client.get("/api/v1/me/certificates", headers=headers).get_json()["page"]["total"] == 0
    benefits = client.get("/api/v1/me/benefits", headers=headers).get_json()
    counted = [
        route["counted"]
        for region in benefits["regions"]
        for route in region["routes"]
        if route["route"] == "region_donation_count"
    ]
    assert counted and set(counted) == {0}


def test_a_later_import_for_a_donor_who_claimed_shows_at_once_with_its_certificate(
    app, client, imported, tmp_path
):
    """Once the donor proved the history theirs, the station's next export needs no new claim:
    its donations come with certificates and in the totals, never visible but uncounted."""
    donor, headers, rows = imported
    client.post("/api/v1/me/history-claims", json={"din": rows[0]["din"]}, headers=headers)
    later = history_row(donor.id_number, clock.local_today() - timedelta(days=300))
    import_history(app, tmp_path, later)
    shown = card(client, headers)
    assert shown["history_to_confirm"] is None
    assert (shown["donations"], shown["award_counts"]) == (3, 6)
    page = client.get("/api/v1/me/certificates", headers=headers).get_json()
    assert page["page"]["total"] == 3 and certificates(donor.id) == 3


def claim(client, headers, din):
    return client.post("/api/v1/me/history-claims", json={"din": din}, headers=headers)


def failed_claims_audited() -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "donor.history_claim_failed")
    )


@pytest.mark.committed_db
def test_parallel_guesses_at_a_donation_number_are_checked_only_within_the_limit(app, imported):
    # Issue 18 item 5: 40 parallel guesses got 12 evaluated against a limit of 5.
    _, headers, _ = imported
    guesses = [fresh_din() for _ in range(40)]

    def guess(din):
        with app.app_context(), app.test_client() as other:
            return claim(other, headers, din).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(guess, guesses))
    limit = limits.windows(history.HISTORY_CLAIM)[0].amount
    assert sorted(answers) == [422] * limit + [429] * (40 - limit)
    db.session.expire_all()
    assert failed_claims_audited() == limit


def test_the_right_number_after_wrong_ones_claims_and_the_limit_returns_a_day_later(
    client, app, imported, time_machine
):
    donor, headers, rows = imported
    (window,) = limits.windows(history.HISTORY_CLAIM)
    time_machine.move_to(clock.now(), tick=False)
    for _ in range(window.amount - 1):
        assert claim(client, headers, fresh_din()).status_code == 422
    assert claim(client, headers, rows[0]["din"]).status_code == 200
    # the right number gave its count back: one more wrong number is still checked
    assert claim(client, headers, fresh_din()).status_code == 422
    refused = claim(client, headers, fresh_din())
    assert refused.status_code == 429
    assert refused.get_json()["code"] == "history_claim_too_many"
    assert int(refused.headers["Retry-After"]) == window.get_expiry() == 24 * 3600
    time_machine.shift(window.get_expiry())  # past the access token's life: ask directly
    with pytest.raises(ApiError) as a_day_later:
        history.claim_history(donor, fresh_din())
    assert a_day_later.value.code == "history_claim_failed"


def test_a_malformed_donation_number_is_not_a_guess(client, app, imported):
    _, headers, _ = imported
    for _ in range(limits.windows(history.HISTORY_CLAIM)[0].amount + 2):
        assert claim(client, headers, "not-a-din").status_code == 422
    assert claim(client, headers, fresh_din()).get_json()["code"] == "history_claim_failed"

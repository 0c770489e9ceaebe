"""The import of earlier use (issue 15, item 8): bills a station's old system already reduced,
loaded by CSV with a row-level report and safe to re-run, so each pool is right on day one.
Each imported bill draws its used ml from the donor's windows as they stood on its transfusion
date (POLICY.md §3.2: 5x the 200 ml donated, 1000 ml, for 5 years; the spouse 2x, 400 ml; one
window per donation, the soonest-ending first: Decisions 2026-11-30); a bill the windows cannot
absorb is refused whole."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from blooduse.entitlement import entitlement
from blooduse.models import BloodFeeReduction, BloodUseEntry
from core.extensions import db
from core.models import AuditEntry
from donors.models import FamilyLink
from tests.factories import bearer, resident_id
from tests.factories.claims import (
    claimant,
    days_ago,
    export,
    legacy_row,
    relative,
    settled_at_cashier,
    upload,
)
from tests.factories.hospitals import make_hospital
from tests.factories.notifications import admin_token

pytestmark = pytest.mark.usefixtures("daytime")


@pytest.fixture
def admin(client):
    return bearer(admin_token(client))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def outcomes(report) -> list[tuple[str, str | None]]:
    return [(row["outcome"], row["reason"]) for row in report["rows"]]


def test_an_imported_bill_draws_its_used_ml_from_the_donors_windows(client, sms, admin):
    donor, data, _headers = claimant(client, sms)
    number = data["plain"]["id_number"]
    response = upload(client, admin, export(legacy_row(number, used_ml=300)))
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert (report["imported"], report["skipped"], report["refused"]) == (1, 0, 0)
    [reduction] = db.session.scalars(select(BloodFeeReduction)).all()
    assert (reduction.channel, reduction.status) == ("import", "imported")
    assert (reduction.covered_ml, reduction.reduction_cents) == (300, 40000)  # the file's amounts
    assert report["rows"][0]["reduction_id"] == reduction.id
    assert entitlement(donor, days_ago(0)).remaining_ml == 700
    assert db.session.scalars(select(AuditEntry.action)).all().count("blood_use.imported") == 1


def test_running_the_same_file_again_imports_nothing_twice(client, sms, admin):
    donor, data, _headers = claimant(client, sms)
    number = data["plain"]["id_number"]
    file = export(legacy_row(number), legacy_row(number, used_ml=100))
    assert upload(client, admin, file).get_json()["imported"] == 2
    again = upload(client, admin, file).get_json()
    assert (again["imported"], again["skipped"]) == (0, 2)
    assert outcomes(again) == [("skipped", "already_imported")] * 2
    assert count(BloodFeeReduction) == 2
    assert entitlement(donor, days_ago(0)).remaining_ml == 1000 - 300


def test_a_bill_the_windows_cannot_absorb_is_refused_whole(client, sms, admin):
    # 1000 ml in the window: a bill of 1200 ml used is refused, not imported in part.
    donor, data, _headers = claimant(client, sms)
    number = data["plain"]["id_number"]
    report = upload(
        client,
        admin,
        export(
            legacy_row(number, volume_ml=1200, used_ml=1200),
            legacy_row(number, volume_ml=800, used_ml=800),
        ),
    ).get_json()
    assert outcomes(report) == [("refused", "exceeds_entitlement"), ("imported", None)]
    assert report["rows"][0]["column"] == "used_ml"
    assert count(BloodFeeReduction) == 1
    assert entitlement(donor, days_ago(0)).remaining_ml == 200


def test_a_use_before_the_donation_has_no_window_to_draw_on(client, sms, admin):
    # A donation's window starts on its own date (Decisions: a window per donation).
    _donor, data, _headers = claimant(client, sms, given_days_ago=10)
    report = upload(client, admin, export(legacy_row(data["plain"]["id_number"]))).get_json()
    assert outcomes(report) == [("refused", "exceeds_entitlement")]
    assert count(BloodUseEntry) == 0


def test_a_relative_draws_on_the_relatives_pool_and_an_unlinked_one_is_refused(client, sms, admin):
    # POLICY.md §3.2: the spouse's 2x is 400 ml; a relative the donor never linked is refused,
    # and no link is made by the import.
    donor, data, _headers = claimant(client, sms)
    spouse = relative(donor, "spouse")
    number = data["plain"]["id_number"]
    stranger = resident_id(birth="19600303")
    report = upload(
        client,
        admin,
        export(
            legacy_row(number, patient_id_number=spouse.id_number, relation="spouse"),
            legacy_row(number, patient_id_number=stranger, relation="parent"),
            legacy_row(number, patient_id_number=spouse.id_number, relation="parent"),
        ),
    ).get_json()
    assert outcomes(report) == [
        ("imported", None),
        ("refused", "relative_not_linked"),
        ("refused", "relation_mismatch"),
    ]
    assert count(FamilyLink) == 1
    assert entitlement(donor, days_ago(0), spouse).remaining_ml == 200
    assert entitlement(donor, days_ago(0)).remaining_ml == 1000


def test_bad_rows_are_refused_with_their_reason_and_column_while_good_rows_load(client, sms, admin):
    _donor, data, _headers = claimant(client, sms)
    number = data["plain"]["id_number"]
    wrong_check = number[:-1] + ("0" if number[-1] != "0" else "1")
    report = upload(
        client,
        admin,
        export(
            legacy_row(wrong_check),
            legacy_row(resident_id()),
            legacy_row(number, transfused_on="2026-13-01"),
            legacy_row(number, transfused_on=days_ago(-1).isoformat()),
            legacy_row(number, fee_cents="八百"),
            legacy_row(number, hospital_code="NOPE"),
            legacy_row(number, bill_number=""),
            legacy_row(number),
        ),
    ).get_json()
    assert [(row["line"], row["reason"], row["column"]) for row in report["rows"]] == [
        (2, "id_number_checksum", "donor_id_number"),
        (3, "donor_unknown", "donor_id_number"),
        (4, "transfused_on_invalid", "transfused_on"),
        (5, "transfused_on_invalid", "transfused_on"),
        (6, "amount_invalid", "fee_cents"),
        (7, "hospital_unknown", "hospital_code"),
        (8, "bill_number_missing", "bill_number"),
        (9, None, None),
    ]
    assert (report["imported"], report["refused"]) == (1, 7)
    assert all(row["message"] for row in report["rows"][:-1])
    assert number not in str(report)  # the report names lines, never ID numbers


def test_a_bill_already_settled_at_a_cashier_is_skipped(client, sms, admin):
    # Issue 15 item 7: a bill is reduced once whichever channel comes first; the import names
    # the hospital by code or by its registered name, keyed as the cashier keyed it.
    donor, data, _headers = claimant(client, sms)
    hospital = make_hospital()
    settled_at_cashier(hospital, donor, "ZY1")
    settled_at_cashier(hospital, donor, "ZY2")
    number = data["plain"]["id_number"]
    report = upload(
        client,
        admin,
        export(
            legacy_row(number, hospital_code=hospital.code, bill_number="ZY1"),
            legacy_row(number, hospital_name=hospital.name, bill_number="ZY2"),
        ),
    ).get_json()
    assert outcomes(report) == [("skipped", "already_reduced")] * 2


def test_a_gbk_file_is_refused_before_any_row_and_a_bom_is_welcome(client, sms, admin):
    _donor, data, _headers = claimant(client, sms)
    row = legacy_row(data["plain"]["id_number"])
    refused = upload(client, admin, export(row, encoding="gbk"))
    assert (refused.status_code, refused.get_json()["code"]) == (422, "import_file_gbk")
    assert count(BloodFeeReduction) == 0
    assert upload(client, admin, export(row, bom=True)).get_json()["imported"] == 1


def test_a_file_without_the_needed_columns_is_refused(client, admin):
    response = upload(client, admin, b"id_number,amount\n1,2\n")
    assert (response.status_code, response.get_json()["code"]) == (422, "import_columns_missing")

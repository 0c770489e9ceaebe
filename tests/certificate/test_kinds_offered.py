"""A kind the policy lists as not offered (plasma-only apheresis) is never allowed, recorded,
booked or imported.

POLICY.md "Decisions (2026-11-30)": plasma-only collection is the plasma stations' regime; the
blood stations this service serves do not collect it. Eligibility answers kind_not_offered.
"""

from __future__ import annotations

import csv

from certificate.eligibility import check_eligibility
from certificate.policy import donation_rules
from core.ids import make_din
from core.policy import PolicyError, policy_for
from tests.factories import (
    ENGLISH_COMMAND_LINE,
    bearer,
    donor_record,
    make_site,
    make_staff,
    resident_id,
    staff_token,
)
from tests.factories.appointments import in_days
from tests.factories.policies import POLICIES, edit, load_policies


def test_plasma_is_listed_as_not_offered_with_the_decision_as_source():
    plasma = donation_rules(load_policies(POLICIES)["zhejiang"]).kind("apheresis_plasma")
    assert plasma.offered is False
    assert "Decisions (2026-11-30)" in plasma.source


def test_a_donor_with_no_history_is_not_told_plasma_is_allowed(app, client, sms):
    donor, data = donor_record(client, sms)
    result = check_eligibility(donor, "apheresis_plasma", in_days(1), policy_for("zhejiang"))
    assert (result.allowed, result.earliest_date) == (False, None)
    assert [reason.code for reason in result.reasons] == ["kind_not_offered"]
    listed = client.get("/api/v1/me/eligibility", headers=bearer(data["tokens"]["access_token"]))
    plasma = next(k for k in listed.get_json()["kinds"] if k["kind"] == "apheresis_plasma")
    assert plasma["reasons"] == [
        {"code": "kind_not_offered", "message": "本地血站不开展此类献血。", "until": None}
    ]


def test_slots_for_plasma_are_not_opened(client):
    site = make_site()
    admin = bearer(staff_token(client, make_staff(admin=True)))
    session = {"opens": "08:30", "closes": "11:30", "slot_minutes": 30}
    weekly = client.put(
        f"/api/v1/admin/sites/{site.id}/schedule",
        json={
            "sessions": [{**session, "weekday": 1, "capacity": {"apheresis_plasma": 2}}],
            "public_holidays": "open",
        },
        headers=admin,
    )
    assert weekly.status_code == 422
    assert weekly.get_json()["errors"]["sessions"]["0"]["capacity"] == ["本地血站不开展此类献血。"]
    dated = client.post(
        f"/api/v1/admin/sites/{site.id}/schedule-exceptions",
        json={
            "day": in_days(3).isoformat(),
            "closed": False,
            "sessions": [{**session, "capacity": {"apheresis_plasma": 2}}],
            "reason": "测试开放",
        },
        headers=admin,
    )
    assert dated.status_code == 422
    assert dated.get_json()["errors"]["sessions"]["0"]["capacity"] == ["本地血站不开展此类献血。"]


def test_an_imported_plasma_row_is_rejected_with_its_reason(app, tmp_path):
    made = make_din("W3301", 2020, 1)
    path = tmp_path / "history.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id_number", "name", "din", "kind", "volume_ml", "units", "donation_date"])
        writer.writerow(
            [
                resident_id(),
                "王小明",
                made.body + made.check,
                "apheresis_plasma",
                "400",
                "",
                "2020-03-01",
            ]
        )
    result = app.test_cli_runner().invoke(
        args=["certificate", "import", str(path)], env=ENGLISH_COMMAND_LINE
    )
    assert "loaded 0" in result.output and "rejected 1" in result.output
    assert "Line 2: This kind of donation is not offered here." in result.output


def test_an_offered_kind_still_needs_its_amounts_and_intervals(policy_dir):
    # The loader's checks apply again the moment a region offers plasma.
    edit(policy_dir / "national.toml", "offered = false", "offered = true")
    try:
        load_policies(policy_dir)
    except PolicyError as error:
        assert "apheresis_plasma" in error.key or "apheresis_plasma" in error.problem
    else:
        raise AssertionError("an offered kind without amounts or intervals was accepted")

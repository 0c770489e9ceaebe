"""Claims after the fact (issue 15, item 7): a donor claims a paid bill's reduction for themself
or a verified relative, with the bill and the discharge summary; station staff approve the
computed reduction or reject it with a reason, then record the payout once; a bill is reduced
once, whether at the cashier or by claim. The donors here gave 200 ml of whole blood a year ago
in Zhejiang: POLICY.md §3.2 gives them 5x the volume (1000 ml) for 5 years, and their spouse,
parents and children 2x (400 ml), one window per donation (Decisions 2026-11-30)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from blooduse.entitlement import entitlement
from blooduse.models import BloodFeeReduction, BloodUseEntry
from core.extensions import db
from core.models import AuditEntry
from donors.models import DonorDocument
from tests.factories import bearer
from tests.factories.claims import (
    JPEG,
    PDF,
    claimant,
    days_ago,
    relative,
    settled_at_cashier,
    submit,
)
from tests.factories.hospitals import make_hospital
from tests.factories.notifications import admin_token, messages_to

pytestmark = pytest.mark.usefixtures("daytime")


@pytest.fixture
def admin(client):
    return bearer(admin_token(client))


def used_ml(donor_id: int) -> int:
    total = db.session.scalar(
        select(func.coalesce(func.sum(BloodUseEntry.amount_ml), 0)).where(
            BloodUseEntry.donor_id == donor_id
        )
    )
    return -int(total)


def decide(client, admin, claim_id: int, action: str, **body):
    return client.post(
        f"/api/v1/admin/blood-fee-claims/{claim_id}/{action}", json=body or None, headers=admin
    )


def test_a_claim_shows_what_would_be_granted_now_and_draws_nothing_until_approved(client, sms):
    # POLICY.md §3.2: 5x the 200 ml donated covers the whole 400 ml bill, so the whole fee.
    donor, _data, headers = claimant(client, sms)
    response = submit(client, headers)
    assert response.status_code == 201, response.get_json()
    claim = response.get_json()
    assert claim["status"] == "submitted" and claim["estimate"] is True
    assert (claim["volume_ml"], claim["covered_ml"], claim["reduction_cents"]) == (400, 400, 80000)
    assert claim["patient"]["kind"] == "self"
    [window] = claim["windows"]
    assert window["multiple"] == 5 and "5x" in window["rule"]
    assert {item["kind"] for item in claim["documents"]} == {"bill", "discharge_summary"}
    assert used_ml(donor.id) == 0  # nothing held while it waits for review


def test_an_approved_claim_draws_the_computed_reduction_from_the_pool(client, sms, admin):
    # POLICY.md §3.2 and Decisions: 1000 ml in the donation's window; 400 ml drawn leaves 600.
    donor, data, headers = claimant(client, sms)
    claim = submit(client, headers).get_json()
    response = decide(client, admin, claim["id"], "approve")
    assert response.status_code == 200, response.get_json()
    approved = response.get_json()
    assert approved["status"] == "approved" and approved["estimate"] is False
    assert approved["reduction_cents"] == 80000 and approved["donor_name"] == "张*"
    assert used_ml(donor.id) == 400
    assert entitlement(donor, days_ago(0)).remaining_ml == 600
    assert any("已审核通过" in text and "800.00元" in text for text in messages_to(sms, data))
    # A second bill of 800 ml is covered for the 600 ml left: the fee in proportion.
    second = submit(
        client, headers, components='[{"component": "red_cells", "volume_ml": 800}]'
    ).get_json()
    assert (second["covered_ml"], second["reduction_cents"]) == (600, 80000 * 600 // 800)


def test_approval_computes_again_and_is_refused_when_the_pool_was_used_meanwhile(
    client, sms, admin
):
    # Nothing is reserved at submission: two claims for the whole 1000 ml, one is approved.
    donor, _data, headers = claimant(client, sms)
    whole = '[{"component": "red_cells", "volume_ml": 1000}]'
    first = submit(client, headers, components=whole).get_json()
    second = submit(client, headers, components=whole).get_json()
    assert decide(client, admin, first["id"], "approve").status_code == 200
    refused = decide(client, admin, second["id"], "approve")
    assert refused.status_code == 409
    assert refused.get_json()["code"] == "no_entitlement"
    assert refused.get_json()["errors"]["reason"]["code"] == "nothing_remains"
    still = client.get(f"/api/v1/me/blood-fee-claims/{second['id']}", headers=headers)
    assert still.get_json()["status"] == "submitted"
    assert used_ml(donor.id) == 1000


def test_a_rejected_claim_changes_nothing_and_the_bill_may_be_claimed_again(client, sms, admin):
    donor, data, headers = claimant(client, sms)
    claim = submit(client, headers, bill_number="ZY-2026-0042").get_json()
    response = decide(client, admin, claim["id"], "reject", reason="票据照片不清晰")
    assert response.status_code == 200, response.get_json()
    mine = client.get(f"/api/v1/me/blood-fee-claims/{claim['id']}", headers=headers).get_json()
    assert (mine["status"], mine["reject_reason"]) == ("rejected", "票据照片不清晰")
    assert used_ml(donor.id) == 0
    assert entitlement(donor, days_ago(0)).remaining_ml == 1000
    assert any("未获通过" in text and "票据照片不清晰" in text for text in messages_to(sms, data))
    assert decide(client, admin, claim["id"], "approve").status_code == 409  # decided
    assert submit(client, headers, bill_number="ZY-2026-0042").status_code == 201


def test_a_payout_is_recorded_once_and_only_after_approval(client, sms, admin):
    _donor, data, headers = claimant(client, sms)
    claim = submit(client, headers).get_json()
    payout = {"amount_cents": 80000, "method": "bank_transfer", "reference": "TX20261201001"}
    early = decide(client, admin, claim["id"], "payout", **payout)
    assert (early.status_code, early.get_json()["code"]) == (409, "claim_not_approved")
    decide(client, admin, claim["id"], "approve")
    too_much = decide(client, admin, claim["id"], "payout", **{**payout, "amount_cents": 80001})
    assert (too_much.status_code, too_much.get_json()["code"]) == (422, "payout_exceeds_approved")
    paid = decide(client, admin, claim["id"], "payout", **payout)
    assert paid.status_code == 200, paid.get_json()
    again = decide(client, admin, claim["id"], "payout", **payout)
    assert (again.status_code, again.get_json()["code"]) == (409, "claim_already_paid")
    mine = client.get(f"/api/v1/me/blood-fee-claims/{claim['id']}", headers=headers).get_json()
    assert (mine["status"], mine["payout_cents"], mine["payout_method"]) == (
        "paid",
        80000,
        "bank_transfer",
    )
    assert mine["payout_reference"] == "TX20261201001"
    texts = messages_to(sms, data)
    assert sum("已支付800.00元" in text for text in texts) == 1


def test_a_claim_for_a_bill_already_settled_at_the_cashier_is_refused(client, sms):
    # Issue 15 item 7: "a bill is reduced once, whether settled at the hospital or claimed".
    # The claim names the hospital by its registered name: it is keyed by the hospital's code.
    donor, _data, headers = claimant(client, sms)
    hospital = make_hospital()
    settled_at_cashier(hospital, donor, "ZY20260001")
    for number in ("ZY20260001", " zy 20260001 "):
        response = submit(client, headers, bill_number=number, hospital_name=f" {hospital.name}")
        assert response.status_code == 409, response.get_json()
        assert response.get_json()["code"] == "bill_already_reduced"
    assert db.session.scalar(select(func.count()).select_from(BloodFeeReduction)) == 1


def test_the_same_bill_is_claimed_once(client, sms):
    _donor, _data, headers = claimant(client, sms)
    assert submit(client, headers, bill_number="ZY777").status_code == 201
    again = submit(client, headers, bill_number="ZY777")
    assert (again.status_code, again.get_json()["code"]) == (409, "bill_already_reduced")


def test_a_verified_relative_draws_on_the_relatives_pool_and_a_declared_one_is_refused(
    client, sms, admin
):
    # POLICY.md §3.2: spouse, 2x the 200 ml volume for 5 years: 400 ml of a 600 ml bill.
    donor, _data, headers = claimant(client, sms)
    declared = relative(donor, verified=False)
    refused = submit(client, headers, link_id=str(declared.id))
    assert (refused.status_code, refused.get_json()["code"]) == (409, "relative_not_verified")
    spouse = relative(donor, "spouse")
    six_hundred = '[{"component": "red_cells", "volume_ml": 600}]'
    response = submit(client, headers, link_id=str(spouse.id), components=six_hundred)
    assert response.status_code == 201, response.get_json()
    claim = response.get_json()
    assert claim["patient"] == {
        "kind": "relative",
        "link_id": spouse.id,
        "relation": "spouse",
        "relation_name": "配偶",
    }
    assert (claim["covered_ml"], claim["reduction_cents"]) == (400, 80000 * 400 // 600)
    assert decide(client, admin, claim["id"], "approve").status_code == 200
    assert entitlement(donor, days_ago(0), spouse).remaining_ml == 0
    assert entitlement(donor, days_ago(0)).remaining_ml == 1000  # the donor's own pool apart


def test_another_donors_relative_is_as_unknown_as_none(client, sms):
    # DESIGN.md: every query that returns a donor's data is scoped to the caller.
    other, _other_data, _other_headers = claimant(client, sms)
    _donor, _data, headers = claimant(client, sms)
    link = relative(other)
    response = submit(client, headers, link_id=str(link.id))
    assert (response.status_code, response.get_json()["code"]) == (404, "relative_unknown")


def test_a_transfusion_in_the_future_is_refused(client, sms):
    _donor, _data, headers = claimant(client, sms)
    response = submit(client, headers, transfused_on=days_ago(-1).isoformat(), discharged_on=None)
    assert response.status_code == 422
    assert response.get_json()["code"] == "transfused_in_future"


def test_a_claim_that_nothing_would_cover_is_refused_at_submission(client, sms):
    # A donation given after the transfusion gives it nothing (its window starts on its day).
    _donor, _data, headers = claimant(client, sms, given_days_ago=2)
    response = submit(client, headers)
    assert (response.status_code, response.get_json()["code"]) == (409, "no_entitlement")


def test_documents_are_type_checked_and_a_refused_claim_keeps_nothing(client, sms):
    _donor, _data, headers = claimant(client, sms)
    response = submit(client, headers, bill_photo=b"GIF89a not a bill")
    assert response.status_code == 422
    assert response.get_json()["code"] == "document_type_not_allowed"
    assert db.session.scalar(select(func.count()).select_from(DonorDocument)) == 0
    assert db.session.scalar(select(func.count()).select_from(BloodFeeReduction)) == 0
    missing = client.post(
        "/api/v1/me/blood-fee-claims",
        data={"bill_number": "X1", "bill_photo": "text, not a file"},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert missing.status_code == 422


def test_a_donor_sees_only_their_own_claims(client, sms):
    # DESIGN.md: a donor sees only their own rows; another's id answers as an unknown one.
    _donor, _data, headers = claimant(client, sms)
    _other, _other_data, other_headers = claimant(client, sms)
    mine = submit(client, headers).get_json()
    submit(client, other_headers)
    listed = client.get("/api/v1/me/blood-fee-claims", headers=headers).get_json()
    assert [item["id"] for item in listed["items"]] == [mine["id"]]
    assert listed["page"]["total"] == 1
    response = client.get(f"/api/v1/me/blood-fee-claims/{mine['id']}", headers=other_headers)
    assert (response.status_code, response.get_json()["code"]) == (404, "claim_unknown")


def test_staff_list_claims_by_status_and_read_each_document_audited(client, sms, admin):
    # PIPL (DESIGN.md "Security and privacy"): every staff look at a donor's document is logged.
    _donor, _data, headers = claimant(client, sms)
    claim = submit(client, headers).get_json()
    listed = client.get("/api/v1/admin/blood-fee-claims?status=submitted", headers=admin)
    assert [item["id"] for item in listed.get_json()["items"]] == [claim["id"]]
    assert listed.get_json()["items"][0]["donor_name"] == "张*"
    paid = client.get("/api/v1/admin/blood-fee-claims?status=paid", headers=admin)
    assert paid.get_json()["items"] == []
    by_kind = {item["kind"]: item for item in claim["documents"]}
    for kind, content, content_type in (
        ("bill", JPEG, "image/jpeg"),
        ("discharge_summary", PDF, "application/pdf"),
    ):
        url = f"/api/v1/admin/blood-fee-claims/{claim['id']}/documents/{by_kind[kind]['id']}"
        response = client.get(url, headers=admin)
        assert response.status_code == 200
        assert (response.data, response.mimetype) == (content, content_type)
        assert client.get(url, headers=headers).status_code == 403  # not for donors
    looks = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "blood_fee_claim.document_viewed")
    ).all()
    assert len(looks) == 2
    other = client.get(
        f"/api/v1/admin/blood-fee-claims/{claim['id']}/documents/999999", headers=admin
    )
    assert other.status_code == 404

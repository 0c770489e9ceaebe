"""Family links (issue 15 item 1): a donor declares relatives from the region's list; a hospital
(from documents it saw) or the station (from an upload) verifies them, audited with who and the
document type; the relative is shown only masked, and only to the donor who declared them.

Rules cited: POLICY.md §3.2 (Zhejiang: spouse, parents, children; siblings, grandparents and the
spouse's parents as extended relatives) and §3.4 (Shandong's beneficiaries, children's spouses
among them); DESIGN.md "every query that returns a donor's data is scoped to the caller"; the
issue: "Removing a link ends its future use, not settled use."
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.test import encode_multipart

from blooduse import bills
from blooduse.entitlement import entitlement, plan_draws
from blooduse.ledger import record_draws
from blooduse.models import AT_HOSPITAL, RELATIVES_POOL, SETTLED, BloodFeeReduction, BloodUseEntry
from core import clock
from core.extensions import db
from core.models import AuditEntry
from core.policy import policy_for
from donors.models import DonorDocument, FamilyLink
from tests.factories import (
    bearer,
    donor_record,
    record,
    register_donor,
    request_erasure,
    resident_id,
)
from tests.factories.family import (
    PDF,
    PNG,
    admin_headers,
    declare_link,
    upload_proof,
    verified_link,
)
from tests.factories.hospitals import cashier, hospital_cashier, make_hospital
from tests.factories.notifications import desk
from tests.timetravel import later


def headers_of(data) -> dict[str, str]:
    return bearer(data["tokens"]["access_token"])


@pytest.fixture
def donor(client, sms):
    """A registered Zhejiang donor: (row, registration data, auth headers)."""
    row, data = donor_record(client, sms)
    return row, data, headers_of(data)


def my_links(client, headers) -> list[dict]:
    response = client.get("/api/v1/me/family", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def audits(action: str, link_id: int) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == action, AuditEntry.target_id == str(link_id)
            )
        )
    )


# ---------------------------------------------------------------- declaring


def test_a_declared_relative_is_shown_to_the_donor_masked_with_the_regions_name_for_the_relation(
    client, donor
):
    """POLICY.md §3.2 (spouse, parents, children); DESIGN.md: the donor sees the relative masked."""
    _, _, headers = donor
    mother = resident_id("19650101", "360426", male=False)
    link = declare_link(client, headers, "parent", name="王秀英", id_number=mother)
    (shown,) = my_links(client, headers)
    assert shown["id"] == link["id"]
    assert (shown["relation"], shown["relation_name"]) == ("parent", "父母")
    assert shown["name"] == "王**"
    assert shown["id_number"] == f"360426********{mother[-4:]}"
    assert shown["status"] == "declared"
    assert (shown["has_document"], shown["verified_by"], shown["document_type"]) == (
        False,
        None,
        None,
    )
    assert "王秀英" not in str(shown) and mother not in str(shown)
    row = db.session.get(FamilyLink, link["id"])
    assert (row.name, row.id_number) == ("王秀英", mother)  # kept, encrypted


def test_the_relation_must_be_one_of_the_donors_regions_list(client, donor):
    """POLICY.md §3.4: Shandong names children's spouses among the beneficiaries; Zhejiang's list
    (§3.2) does not, so a Zhejiang donor cannot declare one and a Shandong donor can."""
    row, _, headers = donor
    refused = client.post(
        "/api/v1/me/family",
        json={"relation": "child_spouse", "name": "刘洋", "id_number": resident_id()},
        headers=headers,
    )
    assert refused.status_code == 422
    assert refused.get_json()["code"] == "relation_unknown"
    assert list(refused.get_json()["errors"]) == ["relation"]
    row.region = "shandong"
    db.session.commit()
    link = declare_link(client, headers, "child_spouse", name="刘洋")
    assert link["relation_name"] == "子女的配偶"


def test_a_region_without_free_blood_use_rules_refuses_with_blood_use_not_offered(
    app, client, donor, monkeypatch
):
    """The donor's region decides the relations; a region whose policy has no [blood_use] offers
    no family links (blooduse/messages.py: blood_use_not_offered)."""
    row, _, headers = donor
    zhejiang = policy_for("zhejiang")
    bare = dataclasses.replace(
        zhejiang,
        code="jiangsu",
        sections={k: v for k, v in zhejiang.sections.items() if k != "blood_use"},
    )
    monkeypatch.setitem(app.extensions["policies"], "jiangsu", bare)
    row.region = "jiangsu"
    db.session.commit()
    response = client.post(
        "/api/v1/me/family",
        json={"relation": "spouse", "name": "李娜", "id_number": resident_id()},
        headers=headers,
    )
    assert response.status_code == 409
    assert response.get_json()["code"] == "blood_use_not_offered"
    assert db.session.scalar(select(func.count()).select_from(FamilyLink)) == 0


def test_the_donors_own_id_number_is_refused_as_a_relative(client, donor):
    """A relative is someone else: the donor's own right is the donor pool (POLICY.md §3.2)."""
    _, data, headers = donor
    response = client.post(
        "/api/v1/me/family",
        json={"relation": "child", "name": "张伟", "id_number": data["plain"]["id_number"]},
        headers=headers,
    )
    assert (response.status_code, response.get_json()["code"]) == (422, "family_link_self")
    assert list(response.get_json()["errors"]) == ["id_number"]


def test_an_id_number_with_a_wrong_check_digit_is_refused(client, donor):
    """POLICY.md §6: the check character is ISO 7064 MOD 11-2 (donors.identity)."""
    _, _, headers = donor
    good = resident_id()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    response = client.post(
        "/api/v1/me/family",
        json={"relation": "spouse", "name": "李娜", "id_number": bad},
        headers=headers,
    )
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["id_number"]
    assert db.session.scalar(select(func.count()).select_from(FamilyLink)) == 0


def test_the_same_relative_twice_is_refused_while_the_first_link_stands(client, donor):
    """One relative, one link: a second would draw on the same right twice (POLICY.md §3.2)."""
    _, _, headers = donor
    first = declare_link(client, headers, "spouse")
    again = client.post(
        "/api/v1/me/family",
        json={"relation": "spouse", "name": "李娜", "id_number": first["plain"]["id_number"]},
        headers=headers,
    )
    assert again.status_code == 409
    assert again.get_json()["code"] == "family_link_duplicate"
    assert client.delete(f"/api/v1/me/family/{first['id']}", headers=headers).status_code == 204
    declare_link(client, headers, "spouse", id_number=first["plain"]["id_number"])


def test_links_past_the_operational_limit_are_refused(app, client, donor, monkeypatch):
    """FAMILY_LINKS_MAX (donors/settings.py, operational): removed links do not count."""
    monkeypatch.setitem(app.config, "FAMILY_LINKS_MAX", 2)
    _, _, headers = donor
    first = declare_link(client, headers, "spouse")
    declare_link(client, headers, "child")
    over = client.post(
        "/api/v1/me/family",
        json={"relation": "child", "name": "张小明", "id_number": resident_id("20150101")},
        headers=headers,
    )
    assert over.status_code == 409
    assert over.get_json()["code"] == "family_link_limit"
    client.delete(f"/api/v1/me/family/{first['id']}", headers=headers)
    declare_link(client, headers, "child", name="张小明")


# ---------------------------------------------------------------- removing


def test_removing_a_link_ends_its_future_use_and_it_is_shown_as_removed(client, donor, daytime):
    """The issue: "Removing a link ends its future use, not settled use"; only a verified link
    is used (blooduse.entitlement)."""
    row, _, headers = donor
    link = verified_link(client, headers, "spouse")
    today = clock.local_today()
    assert entitlement(row, today, db.session.get(FamilyLink, link["id"])).refused is None
    assert client.delete(f"/api/v1/me/family/{link['id']}", headers=headers).status_code == 204
    (shown,) = my_links(client, headers)
    assert shown["status"] == "removed" and shown["removed_at"]
    assert shown["verified_by"] == "station"  # how it was verified stays told
    row_link = db.session.get(FamilyLink, link["id"])
    assert entitlement(row, today, row_link).refused == "link_not_verified"
    assert client.delete(f"/api/v1/me/family/{link['id']}", headers=headers).status_code == 204
    assert len(audits("family_link.removed", link["id"])) == 1


def test_a_removed_link_cannot_be_verified_or_given_a_document(client, donor):
    """Removal ends the link: nothing verifies it again (a new declaration is needed)."""
    _, _, headers = donor
    link = declare_link(client, headers)
    assert upload_proof(client, headers, link["id"]).status_code == 200
    client.delete(f"/api/v1/me/family/{link['id']}", headers=headers)
    verify = client.post(
        f"/api/v1/admin/family-links/{link['id']}/verify",
        json={"document_type": "marriage_certificate"},
        headers=admin_headers(client),
    )
    assert (verify.status_code, verify.get_json()["code"]) == (409, "family_link_removed")
    upload = upload_proof(client, headers, link["id"])
    assert (upload.status_code, upload.get_json()["code"]) == (409, "family_link_removed")


# ---------------------------------------------------------------- documents


def test_an_upload_replaces_the_links_document_and_the_old_one_is_deleted(client, donor):
    """donors.documents.store_document(purpose="family_link"): one proof per link."""
    row, _, headers = donor
    link = declare_link(client, headers)
    first = upload_proof(client, headers, link["id"], PNG)
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["has_document"] is True
    first_id = db.session.get(FamilyLink, link["id"]).document_id
    second = upload_proof(client, headers, link["id"], PDF)
    assert second.status_code == 200
    db.session.expire_all()
    kept = db.session.get(FamilyLink, link["id"]).document_id
    assert kept != first_id
    assert db.session.get(DonorDocument, first_id) is None
    document = db.session.get(DonorDocument, kept)
    assert (document.purpose, document.content_type, document.donor_id) == (
        "family_link",
        "application/pdf",
        row.id,
    )


def test_an_upload_that_is_no_photo_or_pdf_is_refused(client, donor):
    """Checked from the bytes (donors/documents.py): JPEG, PNG or PDF only."""
    _, _, headers = donor
    link = declare_link(client, headers)
    response = upload_proof(client, headers, link["id"], b"MZ\x90\x00 not a photo")
    assert response.status_code == 422
    assert response.get_json()["code"] == "document_type_not_allowed"
    boundary, body = encode_multipart({"file": "户口簿"})  # a text field, not a file
    text = client.post(
        f"/api/v1/me/family/{link['id']}/document",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=headers,
    )
    assert (text.status_code, list(text.get_json()["errors"])) == (422, ["file"])
    assert my_links(client, headers)[0]["has_document"] is False


def test_a_phone_photo_larger_than_a_json_body_uploads_and_one_past_the_document_limit_does_not(
    app, client, donor, monkeypatch
):
    """DOCUMENT_MAX_BYTES (a phone photo is 2-4 MB) above the 1 MB body limit of JSON requests."""
    _, _, headers = donor
    link = declare_link(client, headers)
    photo = PNG + b"\x00" * (3 * 1024 * 1024)
    assert upload_proof(client, headers, link["id"], photo).status_code == 200
    monkeypatch.setitem(app.config, "DOCUMENT_MAX_BYTES", 1024 * 1024)
    refused = upload_proof(client, headers, link["id"], photo)
    assert (refused.status_code, refused.get_json()["code"]) == (422, "document_too_large")
    monkeypatch.setitem(app.config, "DOCUMENT_REQUEST_MAX_BYTES", 1024 * 1024)
    assert upload_proof(client, headers, link["id"], photo).status_code == 413


# ---------------------------------------------------------------- the station


def test_the_station_lists_declared_links_masked_with_whether_a_document_was_uploaded(
    client, donor
):
    """DESIGN.md: staff see what they review, masked."""
    _, _, headers = donor
    with_proof = declare_link(client, headers, "spouse", name="李娜")
    without = declare_link(client, headers, "child", name="张小明")
    upload_proof(client, headers, with_proof["id"])
    verified_link(client, headers, "parent")
    admin = admin_headers(client)
    page = client.get("/api/v1/admin/family-links?status=declared", headers=admin).get_json()
    listed = {item["id"]: item for item in page["items"]}
    assert set(listed) == {with_proof["id"], without["id"]}
    assert listed[with_proof["id"]]["has_document"] is True
    assert listed[without["id"]]["has_document"] is False
    assert listed[with_proof["id"]]["name"] == "李*"
    assert listed[with_proof["id"]]["donor_name"] == "张*"
    assert "李娜" not in str(page) and with_proof["plain"]["id_number"] not in str(page)
    assert page["page"]["total"] == 2


def test_the_station_reads_the_proof_with_its_content_type_and_each_read_is_audited(client, donor):
    """DESIGN.md: log every staff access to sensitive personal information."""
    _, _, headers = donor
    link = declare_link(client, headers)
    upload_proof(client, headers, link["id"], PDF)
    admin = admin_headers(client)
    response = client.get(f"/api/v1/admin/family-links/{link['id']}/document", headers=admin)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data == PDF
    assert response.headers["Cache-Control"] == "no-store"
    (read,) = audits("family_link.document_read", link["id"])
    assert read.actor_type == "staff"
    none_yet = declare_link(client, headers, "child")
    missing = client.get(f"/api/v1/admin/family-links/{none_yet['id']}/document", headers=admin)
    assert (missing.status_code, missing.get_json()["code"]) == (404, "family_link_no_document")


def test_the_station_verifies_only_from_an_upload_and_the_verification_is_audited(client, donor):
    """The issue: an administrator verifies from an upload, audited with who and what document
    type; the donor reads the station (no person) and the document."""
    _, _, headers = donor
    link = declare_link(client, headers, "spouse")
    admin = admin_headers(client)
    verify = f"/api/v1/admin/family-links/{link['id']}/verify"
    no_proof = client.post(verify, json={"document_type": "marriage_certificate"}, headers=admin)
    assert (no_proof.status_code, no_proof.get_json()["code"]) == (409, "family_link_no_document")
    upload_proof(client, headers, link["id"])
    unknown_type = client.post(verify, json={"document_type": "passport"}, headers=admin)
    assert unknown_type.status_code == 422
    done = client.post(verify, json={"document_type": "marriage_certificate"}, headers=admin)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "verified"
    (entry,) = audits("family_link.verified", link["id"])
    assert entry.actor_type == "staff" and entry.actor_id is not None
    assert entry.details["document_type"] == "marriage_certificate"
    row = db.session.get(FamilyLink, link["id"])
    assert (row.verified_by_type, row.verified_by_id) == ("staff", entry.actor_id)
    (shown,) = my_links(client, headers)
    assert (shown["verified_by"], shown["verified_by_name"]) == ("station", None)
    assert (shown["document_type"], shown["document_type_name"]) == (
        "marriage_certificate",
        "结婚证",
    )
    twice = client.post(verify, json={"document_type": "marriage_certificate"}, headers=admin)
    assert (twice.status_code, twice.get_json()["code"]) == (409, "family_link_already_verified")
    assert len(audits("family_link.verified", link["id"])) == 1


def test_a_rejected_upload_shows_the_reason_to_the_donor_and_a_new_upload_declares_again(
    client, donor
):
    """The station rejects an unreadable proof with a reason the donor reads (issue 15 item 1)."""
    _, _, headers = donor
    link = declare_link(client, headers)
    upload_proof(client, headers, link["id"])
    admin = admin_headers(client)
    reject = client.post(
        f"/api/v1/admin/family-links/{link['id']}/reject",
        json={"reason": "照片模糊，请重新拍摄户口簿首页和本人页"},
        headers=admin,
    )
    assert reject.status_code == 200, reject.get_json()
    (shown,) = my_links(client, headers)
    assert shown["status"] == "rejected"
    assert shown["reject_reason"] == "照片模糊，请重新拍摄户口簿首页和本人页"
    verify = client.post(
        f"/api/v1/admin/family-links/{link['id']}/verify",
        json={"document_type": "household_register"},
        headers=admin,
    )
    assert (verify.status_code, verify.get_json()["code"]) == (409, "family_link_rejected")
    assert upload_proof(client, headers, link["id"]).status_code == 200
    (shown,) = my_links(client, headers)
    assert (shown["status"], shown["reject_reason"]) == ("declared", None)
    assert len(audits("family_link.rejected", link["id"])) == 1


def test_a_donor_cannot_use_the_stations_routes(client, donor):
    """Every route names the roles it accepts (DESIGN.md)."""
    _, _, headers = donor
    link = declare_link(client, headers)
    assert client.get("/api/v1/admin/family-links", headers=headers).status_code == 403
    assert (
        client.post(
            f"/api/v1/admin/family-links/{link['id']}/verify",
            json={"document_type": "household_register"},
            headers=headers,
        ).status_code
        == 403
    )


# ---------------------------------------------------------------- hospitals


def test_a_hospital_verifies_the_link_of_the_relative_it_treats_audited_with_the_hospital(
    client, donor
):
    """The issue: a hospital verifies from documents it has seen; audited with the hospital and
    the document type; the donor reads the hospital's name."""
    _, _, headers = donor
    hospital, cashier_headers = hospital_cashier(client)
    link = declare_link(client, headers, "child", name="张小明", id_number=resident_id("20100606"))
    response = client.post(
        f"/api/v1/hospital/family-links/{link['id']}/verify",
        json={
            "document_type": "birth_certificate",
            "patient_id_number": link["plain"]["id_number"],
        },
        headers=cashier_headers,
    )
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert set(answer) == {
        "id",
        "relation",
        "relation_name",
        "status",
        "verified_at",
        "document_type",
    }
    assert (answer["status"], answer["relation_name"]) == ("verified", "子女")
    (entry,) = audits("family_link.verified", link["id"])
    assert (entry.actor_type, entry.actor_id) == ("hospital", hospital.id)
    assert entry.details["document_type"] == "birth_certificate"
    (shown,) = my_links(client, headers)
    assert (shown["verified_by"], shown["verified_by_name"]) == ("hospital", hospital.name)
    assert shown["document_type_name"] == "出生医学证明"


def test_a_hospital_finds_no_link_whose_relative_is_not_its_patient(client, donor):
    """Scoped to the caller (DESIGN.md): a link is known to a hospital only through the patient
    it names; any other patient gets the answer an unknown id gets."""
    _, _, headers = donor
    _, cashier_headers = hospital_cashier(client)
    link = declare_link(client, headers)
    other = client.post(
        f"/api/v1/hospital/family-links/{link['id']}/verify",
        json={"document_type": "household_register", "patient_id_number": resident_id()},
        headers=cashier_headers,
    )
    unknown = client.post(
        "/api/v1/hospital/family-links/999999/verify",
        json={"document_type": "household_register", "patient_id_number": resident_id()},
        headers=cashier_headers,
    )
    assert (other.status_code, other.get_json()) == (unknown.status_code, unknown.get_json())
    assert other.status_code == 404
    assert db.session.get(FamilyLink, link["id"]).status == "declared"


def test_a_hospital_may_verify_a_link_the_station_rejected_but_not_a_removed_one(client, donor):
    """The originals a cashier sees outweigh a blurred photo; removal ends the link."""
    _, _, headers = donor
    hospital = make_hospital()
    cashier_headers = cashier(client, hospital)
    rejected = declare_link(client, headers, "spouse")
    upload_proof(client, headers, rejected["id"])
    client.post(
        f"/api/v1/admin/family-links/{rejected['id']}/reject",
        json={"reason": "看不清"},
        headers=admin_headers(client),
    )
    removed = declare_link(client, headers, "parent")
    client.delete(f"/api/v1/me/family/{removed['id']}", headers=headers)
    for link, expected in ((rejected, 200), (removed, 409)):
        response = client.post(
            f"/api/v1/hospital/family-links/{link['id']}/verify",
            json={
                "document_type": "household_register",
                "patient_id_number": link["plain"]["id_number"],
            },
            headers=cashier_headers,
        )
        assert response.status_code == expected, response.get_json()


def test_a_hospital_device_bound_to_no_hospital_is_refused(client, donor):
    """blooduse.hospitals.cashier_of: a hospital token acts only for the hospital it is bound to."""
    from tests.factories.notifications import device_token

    _, _, headers = donor
    link = declare_link(client, headers)
    response = client.post(
        f"/api/v1/hospital/family-links/{link['id']}/verify",
        json={
            "document_type": "household_register",
            "patient_id_number": link["plain"]["id_number"],
        },
        headers=bearer(device_token(client, "hospital")),
    )
    assert (response.status_code, response.get_json()["code"]) == (403, "hospital_not_registered")


# ---------------------------------------------------------------- scoped to the caller


def test_a_relative_who_is_a_donor_sees_no_link_that_names_them(client, sms, donor):
    """The issue: "A relative can see nothing of the donor"; DESIGN.md: scoped to the caller."""
    _, _, headers = donor
    relative_id = resident_id("19920315", male=False)
    link = verified_link(client, headers, "spouse", id_number=relative_id)
    relative = register_donor(client, sms, name="李娜", id_number=relative_id)
    theirs = headers_of(relative)
    assert my_links(client, theirs) == []
    assert client.delete(f"/api/v1/me/family/{link['id']}", headers=theirs).status_code == 404
    assert upload_proof(client, theirs, link["id"]).status_code == 404
    me = client.get("/api/v1/me", headers=theirs).get_json()
    assert "family" not in str(me) and "张" not in str(me)
    assert db.session.get(FamilyLink, link["id"]).status == "verified"


def test_another_donors_link_is_unknown_to_a_donor(client, sms, donor):
    """DESIGN.md: object-level checks; another donor's id answers as an unknown one."""
    _, _, headers = donor
    link = declare_link(client, headers)
    stranger = headers_of(register_donor(client, sms))
    theirs = client.delete(f"/api/v1/me/family/{link['id']}", headers=stranger)
    unknown = client.delete("/api/v1/me/family/999999", headers=stranger)
    assert (theirs.status_code, theirs.get_json()) == (404, unknown.get_json())
    assert db.session.get(FamilyLink, link["id"]).status == "declared"


# ---------------------------------------------------------------- erasure


def test_erasure_removes_the_links_erases_the_relatives_and_proofs_and_keeps_settled_use(
    client, sms, daytime
):
    """PIPL erasure (DESIGN.md "delete on request") reaches family links (wiring: donor_erased);
    a reduction settled under a link keeps its rows (the issue: settled use stays)."""
    site, staff = desk(client)
    row, data = donor_record(client, sms)
    headers = headers_of(data)
    with clock.travelled(-timedelta(days=30)):
        assert record(client, staff, site, data["plain"]["id_number"]).status_code == 201
    link = verified_link(client, headers, "spouse")
    pending = declare_link(client, headers, "child", name="张小明")
    upload_proof(client, headers, pending["id"])
    hospital = make_hospital()
    link_row = db.session.get(FamilyLink, link["id"])
    found = entitlement(row, clock.local_today(), link_row)
    draws = plan_draws(found, 300)
    assert draws  # 400 ml given: 2x for relatives in its first 5 years (POLICY.md §3.2)
    reduction = BloodFeeReduction(
        channel=AT_HOSPITAL,
        status=SETTLED,
        bill_key=bills.bill_key("ZY-0001", hospital.code),
        bill_number="ZY-0001",
        hospital_id=hospital.id,
        hospital_name=hospital.name,
        donor_id=row.id,
        family_link_id=link_row.id,
        region="zhejiang",
        transfused_on=clock.local_today(),
        components=[{"component": "red_cells", "volume_ml": 300}],
        volume_ml=300,
        fee_cents=66000,
        covered_ml=300,
        reduction_cents=66000,
        created_by_type="device",
    )
    db.session.add(reduction)
    db.session.flush()
    record_draws(reduction, RELATIVES_POOL, draws)
    db.session.commit()
    with later(timedelta(minutes=2)):
        request_erasure(client, sms, data)
    db.session.expire_all()
    links = db.session.scalars(select(FamilyLink).where(FamilyLink.donor_id == row.id)).all()
    assert {item.status for item in links} == {"removed"}
    assert all(
        (item.name, item.id_number, item.id_number_hash, item.document_id) == (None,) * 4
        for item in links
    )
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(DonorDocument)
            .where(DonorDocument.donor_id == row.id, DonorDocument.purpose == "family_link")
        )
        == 0
    )
    assert db.session.get(BloodFeeReduction, reduction.id).family_link_id == link_row.id
    entries = db.session.scalars(
        select(BloodUseEntry).where(BloodUseEntry.reduction_id == reduction.id)
    ).all()
    assert sum(entry.amount_ml for entry in entries) == -300

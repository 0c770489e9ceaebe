"""Care for admitted donors (issue 15 item 6): a hospital reports an admission; a donor admitted,
or the donor of an admitted verified relative, is told once of the free blood use this hospital's
cashier settles (POLICY.md §3.2; Decisions 2026-11-30 for where it is settled directly). The
hospital's answer never says whether the patient is a donor."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from blooduse.models import Admission
from core import clock
from core.extensions import db
from donors import family
from notifications.models import OutboxMessage
from tests.factories import bearer, request_erasure, resident_id
from tests.factories.admissions import admit, family_link
from tests.factories.hospitals import hospital_cashier
from tests.factories.notifications import (
    admin_token,
    auth_headers,
    desk,
    donor_who_gave,
    local,
    messages_to,
    send_due,
)
from tests.timetravel import later

CARE = "住院"  # every message of care says the donor or their relative was admitted


def care_to(sms, data) -> list[str]:
    return [body for body in messages_to(sms, data) if CARE in body]


def admissions() -> list[Admission]:
    return list(db.session.scalars(select(Admission).order_by(Admission.id)))


def care_rows() -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.template.like("admission_care%"))
            .order_by(OutboxMessage.id)
        )
    )


def test_an_admitted_donor_is_told_once_of_the_unlimited_right_the_cashier_settles(
    client, sms, daytime
):
    # POLICY.md §3.2: whole blood of 400 ml in all gives the donor free use for life, unlimited.
    site, token = desk(client)
    _, data, _ = donor_who_gave(client, sms, site, token, name="陈静")
    hospital, cashier = hospital_cashier(client)
    response = admit(client, cashier, data["plain"]["id_number"])
    assert response.status_code == 202, response.get_json()
    (text,) = care_to(sms, data)
    assert text.startswith("【无偿献血】陈静，")
    assert f"在{hospital.name}住院" in text and "终身免费用血、不限量" in text
    assert "收费处直接减免" in text
    (row,) = care_rows()
    assert row.key == f"admission_care:{response.get_json()['id']}:{data['donor']['id']}"
    assert row.category == "care"


def test_a_donor_below_the_lifetime_threshold_is_told_what_remains(client, sms, daytime):
    # POLICY.md §3.2: whole blood under 400 ml gives 5x the volume for 5 years (per donation,
    # Decisions 2026-11-30): 200 ml gives 1000 ml.
    site, token = desk(client)
    _, data, _ = donor_who_gave(client, sms, site, token)  # another donor, not admitted
    _, small, _ = _donor_of_200_ml(client, sms, site, token)
    _, cashier = hospital_cashier(client)
    assert admit(client, cashier, small["plain"]["id_number"]).status_code == 202
    (text,) = care_to(sms, small)
    assert "目前尚可免费用血1000毫升" in text and "不限量" not in text
    assert care_to(sms, data) == []


def _donor_of_200_ml(client, sms, site, token):
    from tests.factories import donor_record, record

    donor, data = donor_record(client, sms)
    response = record(client, token, site, data["plain"]["id_number"], volume_ml=200)
    assert response.status_code == 201, response.get_json()
    return donor, data, response.get_json()


def test_the_same_admission_reported_again_answers_the_same_and_tells_no_one_twice(
    client, sms, daytime
):
    # Issue 15 item 6: once per admission.
    site, token = desk(client)
    _, data, _ = donor_who_gave(client, sms, site, token)
    _, cashier = hospital_cashier(client)
    admitted_at = clock.now() - timedelta(hours=2)
    first = admit(client, cashier, data["plain"]["id_number"], admitted_at=admitted_at)
    again = admit(
        client,
        cashier,
        data["plain"]["id_number"],
        admitted_at=clock.to_local(admitted_at).isoformat(),  # the same moment, another offset
    )
    assert (first.status_code, again.status_code) == (202, 202)
    assert first.get_json() == again.get_json()
    assert len(care_to(sms, data)) == 1
    assert len(care_rows()) == 1
    assert db.session.scalar(select(func.count()).select_from(Admission)) == 1


def test_a_verified_relatives_donor_is_told_naming_the_relation_not_the_relative(
    client, sms, daytime
):
    # POLICY.md §3.2: spouse, parents and children: 2x the volume for 5 years; 200 ml gives 400.
    site, token = desk(client)
    donor, data, _ = _donor_of_200_ml(client, sms, site, token)
    _, relative = family_link(donor, relation="spouse", name="王芳")
    hospital, cashier = hospital_cashier(client)
    response = admit(client, cashier, relative)
    assert response.status_code == 202
    (text,) = care_to(sms, data)
    assert f"您的配偶在{hospital.name}住院" in text
    assert "目前尚可免费用血400毫升" in text
    assert "王芳" not in text and relative not in text
    (row,) = care_rows()
    assert row.template == "admission_care_relative" and row.donor_id == donor.id


def test_a_declared_relative_not_yet_verified_tells_no_one(client, sms, daytime):
    # Issue 15 item 1: only a verified link is used.
    site, token = desk(client)
    donor, data, _ = donor_who_gave(client, sms, site, token)
    _, relative = family_link(donor, verified=False)
    _, cashier = hospital_cashier(client)
    assert admit(client, cashier, relative).status_code == 202
    assert care_to(sms, data) == [] and care_rows() == []


def test_a_removed_link_tells_no_one(client, sms, daytime):
    # Issue 15 item 1: removing a link ends its future use.
    site, token = desk(client)
    donor, data, _ = donor_who_gave(client, sms, site, token)
    link, relative = family_link(donor)
    family.remove_link(donor, link)  # as DELETE /me/family/{id} does
    db.session.commit()
    _, cashier = hospital_cashier(client)
    assert admit(client, cashier, relative).status_code == 202
    assert care_rows() == []


def test_an_extended_relative_of_a_donor_below_gold_tells_no_one(client, sms, daytime):
    # POLICY.md §3.2: siblings only once the donor reached the national gold standard.
    site, token = desk(client)
    donor, data, _ = donor_who_gave(client, sms, site, token)
    _, relative = family_link(donor, relation="sibling")
    _, cashier = hospital_cashier(client)
    assert admit(client, cashier, relative).status_code == 202
    assert care_rows() == []


def test_a_patient_who_is_no_donor_gets_the_same_answer_and_no_one_is_told(client, sms, daytime):
    # Issue 15 item 6: the hospital learns the register only from the entitlement look-up.
    site, token = desk(client)
    _, data, _ = donor_who_gave(client, sms, site, token)
    _, cashier = hospital_cashier(client)
    donor_answer = admit(client, cashier, data["plain"]["id_number"])
    stranger = admit(client, cashier, resident_id(birth="19850505"))
    assert donor_answer.status_code == stranger.status_code == 202
    assert set(donor_answer.get_json()) == set(stranger.get_json()) == {"id", "admitted_at"}
    assert set(donor_answer.headers.keys()) == set(stranger.headers.keys())
    assert len(care_rows()) == 1  # the donor's only


def test_a_donor_who_turned_reminders_off_is_not_told(client, sms, daytime):
    # Issue 15 item 6: respecting opt-outs (the care note is turned off with the reminders).
    site, token = desk(client)
    _, data, _ = donor_who_gave(client, sms, site, token)
    off = client.patch(
        "/api/v1/me/notification-preferences",
        json={"reminders": False},
        headers=auth_headers(data),
    )
    assert off.status_code == 200
    _, cashier = hospital_cashier(client)
    assert admit(client, cashier, data["plain"]["id_number"]).status_code == 202
    assert care_to(sms, data) == []
    (row,) = care_rows()
    assert (row.status, row.status_reason) == ("skipped", "opted_out")


def test_an_admission_reported_in_the_quiet_hours_is_told_in_the_morning(client, sms):
    # Issue 15 item 6: not urgent, so it waits out the quiet hours (NOTIFY_QUIET_HOURS).
    day = clock.local_today() - timedelta(days=2)
    site, token = desk(client)
    with clock.frozen_at(local(day, 10)):
        _, data, _ = donor_who_gave(client, sms, site, token)
    with clock.frozen_at(local(day, 22, 30)):
        _, cashier = hospital_cashier(client)
        response = admit(client, cashier, data["plain"]["id_number"])
        assert response.status_code == 202
    assert care_to(sms, data) == []
    (row,) = care_rows()
    assert row.not_before == local(day + timedelta(days=1), 8)
    with clock.frozen_at(local(day, 23, 30)):
        send_due()
    assert care_to(sms, data) == []
    with clock.frozen_at(row.not_before):
        send_due()
    assert len(care_to(sms, data)) == 1


def test_another_hospitals_admission_of_the_same_patient_is_its_own(client, sms, daytime):
    # Issue 15 item 3: a hospital's data is scoped to it; one's report neither returns nor
    # changes another's.
    site, token = desk(client)
    _, data, _ = donor_who_gave(client, sms, site, token)
    first_hospital, first = hospital_cashier(client)
    second_hospital, second = hospital_cashier(client, name="杭州市第一人民医院")
    admitted_at = clock.now() - timedelta(hours=1)
    ours = admit(client, first, data["plain"]["id_number"], admitted_at=admitted_at)
    theirs = admit(client, second, data["plain"]["id_number"], admitted_at=admitted_at, ward="骨科")
    assert ours.get_json()["id"] != theirs.get_json()["id"]
    rows = {row.id: row for row in db.session.scalars(select(Admission))}
    assert rows[ours.get_json()["id"]].hospital_id == first_hospital.id
    assert rows[ours.get_json()["id"]].ward == "心血管内科三病区"
    assert rows[theirs.get_json()["id"]].hospital_id == second_hospital.id
    texts = care_to(sms, data)
    assert len(texts) == 2
    assert any(first_hospital.name in t for t in texts)
    assert any(second_hospital.name in t for t in texts)


def test_a_donation_the_hospital_cannot_settle_directly_is_not_told(client, sms, daytime):
    # Decisions 2026-11-30: a donation follows its own region's rules and is settled directly
    # only where the policy lists an agreement; Zhejiang lists none.
    site, token = desk(client)
    _, data, _ = donor_who_gave(client, sms, site, token)
    _, elsewhere = hospital_cashier(client, region="shandong", name="山东省立医院")
    assert admit(client, elsewhere, data["plain"]["id_number"]).status_code == 202
    assert care_rows() == []


def test_an_admission_far_in_the_future_is_refused_and_stores_nothing(client, sms, daytime):
    # Issue 15 item 6: an admission that has not happened is a mistake, not a report.
    site, token = desk(client)
    _, data, _ = donor_who_gave(client, sms, site, token)
    _, cashier = hospital_cashier(client)
    response = admit(
        client, cashier, data["plain"]["id_number"], admitted_at=clock.now() + timedelta(days=1)
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "admitted_in_future" and set(body["errors"]) == {"admitted_at"}
    assert db.session.scalar(select(func.count()).select_from(Admission)) == 0
    assert care_rows() == []
    # a clock a little ahead of ours (HOSPITAL_ADMISSION_CLOCK_SKEW) is not a mistake
    ahead = admit(
        client, cashier, data["plain"]["id_number"], admitted_at=clock.now() + timedelta(minutes=2)
    )
    assert ahead.status_code == 202


def test_unparsable_reports_are_refused_in_the_one_error_shape(client, sms, daytime):
    _, cashier = hospital_cashier(client)
    good = resident_id()
    for body in (
        {"id_number": good[:-1] + ("0" if good[-1] != "0" else "1")},  # a wrong check digit
        {"admitted_at": "2026-11-30T10:00:00"},  # no offset
        {"admitted_at": "yesterday"},
        {"ward": "   "},
        {"ward": "病" * 65},
        {"extra": 1},
    ):
        response = admit(client, cashier, body.pop("id_number", good), **body)
        assert response.status_code == 422, (body, response.get_json())
        assert {"code", "status", "message", "errors"} <= set(response.get_json())
    missing = client.post("/api/v1/hospital/admissions", json={}, headers=cashier)
    assert missing.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Admission)) == 0


def test_reports_are_limited_per_device(app, client, sms, daytime, monkeypatch):
    monkeypatch.setitem(app.config, "HOSPITAL_ADMISSION_LIMIT_PER_DEVICE", "2/hour")
    hospital, cashier = hospital_cashier(client)
    for _ in range(2):
        assert admit(client, cashier, resident_id()).status_code == 202
    limited = admit(client, cashier, resident_id())
    assert limited.status_code == 429 and limited.get_json()["code"] == "rate_limited"
    from tests.factories.hospitals import cashier as another_cashier

    assert admit(client, another_cashier(client, hospital), resident_id()).status_code == 202


def test_only_a_hospitals_device_reports_admissions(client, sms, daytime):
    site, token = desk(client)
    _, data, _ = donor_who_gave(client, sms, site, token)
    response = admit(client, bearer(token), data["plain"]["id_number"])
    assert response.status_code == 403
    assert care_rows() == []


def test_the_care_notes_wait_out_the_night_can_be_turned_off_and_are_never_capped(client):
    # Issue 15 item 6: respecting opt-outs and quiet hours; urgent category not needed.
    body = client.get(
        "/api/v1/admin/notifications/templates", headers=bearer(admin_token(client))
    ).get_json()
    by_code = {item["code"]: item for item in body["items"]}
    for code in ("admission_care", "admission_care_relative"):
        assert by_code[code]["category"] == "care"
        assert by_code[code]["can_opt_out"] and not by_code[code]["capped"]
        assert not by_code[code]["urgent"]


def test_an_erased_donors_admissions_no_longer_name_them_or_their_relatives(client, sms, daytime):
    # PIPL erasure (DESIGN.md "delete on request", wiring: donor_erased): the hospital's
    # admissions stay, without the donor or the links to their relatives.
    site, token = desk(client)
    donor, data, _ = _donor_of_200_ml(client, sms, site, token)
    _, relative = family_link(donor, relation="spouse", name="王芳")
    _, cashier = hospital_cashier(client)
    assert admit(client, cashier, data["plain"]["id_number"]).status_code == 202
    assert admit(client, cashier, relative).status_code == 202
    assert {(row.donor_id is None, row.family_link_id is None) for row in admissions()} == {
        (False, True),
        (True, False),
    }
    with later(timedelta(minutes=2)):
        request_erasure(client, sms, data)
    db.session.expire_all()
    assert [(row.donor_id, row.family_link_id) for row in admissions()] == [(None, None)] * 2

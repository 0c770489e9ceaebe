"""The health form: questions from the policy, answers that defer give a date from the
GB 18467-2011 rule they name, and a signed consent record that never changes."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from appointments.models import QuestionnaireResponse
from appointments.questionnaire import canonical
from core import clock
from core.errors import message_for
from core.extensions import db
from core.policy import Period, PolicyError
from tests.factories import bearer
from tests.factories.appointments import quick_donor, site_with_day
from tests.factories.policies import load_policies


def form(client, token):
    response = client.get("/api/v1/questionnaires/current", headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def all_no(form_body, **yes):
    """Answers to every question: no, except those given as code=date-or-None."""
    answers = []
    for question in form_body["questions"]:
        if question["code"] in yes:
            day = yes[question["code"]]
            answers.append(
                {"code": question["code"], "answer": True, "date": day.isoformat() if day else None}
            )
        else:
            answers.append({"code": question["code"], "answer": False})
    return {"version": form_body["version"], "answers": answers, "consent": True}


def sign(client, token, body, ip="127.0.0.1"):
    return client.post(
        "/api/v1/me/questionnaire",
        json=body,
        headers={**bearer(token), "User-Agent": "献血小程序/1.0 (iPhone)"},
        environ_base={"REMOTE_ADDR": ip},
    )


def test_the_form_comes_from_the_policy_and_fits_the_donor(client):
    _, man = quick_donor(male=True)
    _, woman = quick_donor(male=False)
    for_him = {q["code"] for q in form(client, man)["questions"]}
    for_her = {q["code"] for q in form(client, woman)["questions"]}
    assert "tattoo" in for_him and "pregnancy" not in for_him
    assert {"pregnancy", "menstruation"} <= for_her
    body = form(client, man)
    assert body["version"] and body["consent"].startswith("本人")
    cold = next(q for q in body["questions"] if q["code"] == "cold")
    assert cold["date_required"] is False  # a recovery date: none yet means not recovered


def test_no_deferring_answer_signs_with_version_hash_time_ip_and_device(client):
    donor, token = quick_donor()
    body = all_no(form(client, token))
    response = sign(client, token, body, ip="10.1.2.3")
    assert response.status_code == 201, response.get_json()
    signed = response.get_json()
    assert signed["result"]["outcome"] == "no_deferral"
    assert signed["version"] == body["version"]
    assert len(signed["answers_sha256"]) == 64 and signed["intact"] is True
    assert signed["ip"] == "10.1.2.3" and signed["user_agent"] == "献血小程序/1.0 (iPhone)"
    row = db.session.get(QuestionnaireResponse, signed["id"])
    assert row.donor_id == donor.id and row.signed_at is not None


def test_the_hash_covers_exactly_the_stored_answers(client):
    _, token = quick_donor()
    signed = sign(client, token, all_no(form(client, token))).get_json()
    row = db.session.get(QuestionnaireResponse, signed["id"])
    document = json.loads(row.answers)["document"]
    assert hashlib.sha256(canonical(document)).hexdigest() == row.answers_sha256
    assert [a["answer"] for a in document["answers"]] == [False] * len(document["answers"])


def test_a_tattoo_defers_every_kind_for_a_year_from_its_date(client):
    # GB 18467-2011 (POLICY.md §1.6): tattoo -> 1 year from the event, every kind.
    _, token = quick_donor()
    tattooed = clock.local_today() - timedelta(days=60)
    signed = sign(client, token, all_no(form(client, token), tattoo=tattooed)).get_json()
    result = signed["result"]
    until = Period(years=1).add_to(tattooed).isoformat()
    assert result["outcome"] == "deferred"
    assert result["deferrals"] == [
        {
            "question": "tattoo",
            "reason_code": "tattoo_or_blood_exposure_injury",
            "reason_name": "文身，或被血液、体液污染的器械损伤",
            "until": until,
            "applies_to": None,
            "period": "P1Y",
        }
    ]
    assert {kind["kind"]: kind["until"] for kind in result["kinds"]} == {
        "whole_blood": until,
        "apheresis_platelets": until,
        "apheresis_plasma": until,
    }


def test_aspirin_defers_platelets_only(client):
    # GB 18467-2011: aspirin or another antiplatelet drug -> 5 days after the last dose,
    # apheresis platelets only.
    _, token = quick_donor()
    last_dose = clock.local_today() - timedelta(days=1)
    signed = sign(client, token, all_no(form(client, token), antiplatelet_drug=last_dose))
    kinds = {kind["kind"]: kind for kind in signed.get_json()["result"]["kinds"]}
    assert kinds["apheresis_platelets"]["until"] == Period(days=5).add_to(last_dose).isoformat()
    assert kinds["whole_blood"]["deferred"] is False


def test_a_period_already_over_does_not_defer(client):
    # GB 18467-2011: oral care (scaling) -> 3 days.
    _, token = quick_donor()
    long_ago = clock.local_today() - timedelta(days=3)
    signed = sign(client, token, all_no(form(client, token), oral_care=long_ago)).get_json()
    assert signed["result"]["outcome"] == "no_deferral"


def test_a_cold_not_yet_over_has_no_date_and_sends_the_donor_to_staff(client):
    # GB 18467-2011: cold -> 1 week after recovery; no recovery yet, so no date can be given.
    _, token = quick_donor()
    signed = sign(client, token, all_no(form(client, token), cold=None)).get_json()
    assert signed["result"]["outcome"] == "see_staff"
    assert signed["result"]["deferrals"][0]["until"] is None
    assert signed["result"]["deferrals"][0]["period"] == "P7D"


def test_answers_that_defer_past_the_booked_day_say_so(client):
    _, slots = site_with_day(days_ahead=3)
    _, token = quick_donor()
    client.post("/api/v1/me/appointments", json={"slot_id": slots[0].id}, headers=bearer(token))
    # GB 18467-2011: live measles, mumps or polio vaccine -> 2 weeks after the last dose.
    signed = sign(
        client, token, all_no(form(client, token), vaccine_live=clock.local_today())
    ).get_json()
    assert signed["booking_affected"] is True
    mine = client.get("/api/v1/me/questionnaire", headers=bearer(token)).get_json()
    assert mine["id"] == signed["id"] and mine["booking_affected"] is True


@pytest.mark.parametrize(
    "change,code",
    [
        (lambda b: b["answers"].pop(), "questionnaire_incomplete"),
        (
            lambda b: b["answers"].append({"code": "x-ray", "answer": False}),
            "questionnaire_incomplete",
        ),
        (lambda b: b["answers"].append(dict(b["answers"][0])), "questionnaire_incomplete"),
        (lambda b: b.update(consent=False), "consent_required"),
        (lambda b: b.update(version="1999-1"), "questionnaire_outdated"),
        (lambda b: b["answers"][0].update(answer="yes"), "validation_failed"),
        (lambda b: b["answers"][0].update(answer=1), "validation_failed"),
        (lambda b: b.update(consent="true"), "validation_failed"),
    ],
)
def test_a_wrong_form_is_refused_and_nothing_is_kept(client, change, code):
    _, token = quick_donor()
    body = all_no(form(client, token))
    change(body)
    response = sign(client, token, body)
    assert response.status_code in (409, 422)
    assert response.get_json()["code"] == code
    assert db.session.scalar(select(QuestionnaireResponse.id)) is None


def test_dates_must_fit_the_question(client):
    _, token = quick_donor()
    body = form(client, token)
    tomorrow = clock.local_today() + timedelta(days=1)
    no_with_date = all_no(body)
    no_with_date["answers"][0]["date"] = clock.local_today().isoformat()
    cases = [
        (all_no(body, tattoo=None), "tattoo", "answer_date_required"),
        (all_no(body, tattoo=tomorrow), "tattoo", "answer_date_in_future"),
        (no_with_date, body["questions"][0]["code"], "answer_date_not_needed"),
    ]
    for payload, question, problem in cases:
        response = sign(client, token, payload)
        assert response.status_code == 422
        with client.application.test_request_context():  # Chinese, as the response
            expected = message_for(problem)
        assert response.get_json()["errors"]["answers"] == {question: [expected]}
    assert db.session.scalar(select(QuestionnaireResponse.id)) is None


def test_the_signed_record_cannot_be_changed(client):
    _, token = quick_donor()
    signed = sign(client, token, all_no(form(client, token))).get_json()
    row = db.session.get(QuestionnaireResponse, signed["id"])
    row.version = "forged"
    with pytest.raises(ValueError, match="cannot be changed"):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(DBAPIError):
        db.session.execute(
            text("UPDATE questionnaire_responses SET answers_sha256 = 'x' WHERE id = :id"),
            {"id": signed["id"]},
        )
    db.session.rollback()
    assert (
        db.session.get(QuestionnaireResponse, signed["id"]).answers_sha256
        == signed["answers_sha256"]
    )


def test_answers_are_encrypted_at_rest(client):
    _, token = quick_donor()
    signed = sign(client, token, all_no(form(client, token), tattoo=clock.local_today())).get_json()
    raw = db.session.execute(
        text("SELECT answers FROM questionnaire_responses WHERE id = :id"), {"id": signed["id"]}
    ).scalar_one()
    for plain in ("tattoo", "answers", "true", "文身"):
        assert plain not in raw


def test_a_donor_sees_only_their_own_answers(client):
    _, alice = quick_donor()
    _, bob = quick_donor()
    sign(client, alice, all_no(form(client, alice)))
    response = client.get("/api/v1/me/questionnaire", headers=bearer(bob))
    assert response.status_code == 404
    assert response.get_json()["code"] == "questionnaire_not_found"


def test_a_question_naming_no_deferral_rule_stops_the_policy_load(policy_dir):
    national = policy_dir / "national.toml"
    national.write_text(
        national.read_text(encoding="utf-8").replace(
            'defers = "uri_cold"', 'defers = "common_cold"'
        ),
        encoding="utf-8",
    )
    with pytest.raises(PolicyError, match=r"questionnaire\.editions\[0\]\.questions\[0\]\.defers"):
        load_policies(policy_dir)


def test_a_booking_setting_must_be_given(policy_dir):
    national = policy_dir / "national.toml"
    national.write_text(
        national.read_text(encoding="utf-8").replace("offer_hold_minutes = 30", ""),
        encoding="utf-8",
    )
    with pytest.raises(PolicyError, match="appointments.offer_hold_minutes: is required"):
        load_policies(policy_dir)

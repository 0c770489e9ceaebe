"""The health form's questions and answer codes per edition, discoverable (issue 12 item 8)."""

from __future__ import annotations

from datetime import datetime

import pytest

from core import clock
from tests.factories import bearer, donor_record, make_staff, staff_token

URL = "/api/v1/questionnaires"


@pytest.fixture
def fixed_day():
    with clock.frozen_at(datetime(2026, 11, 20, 10, 0, tzinfo=clock.LOCAL_ZONE)):
        yield


@pytest.fixture
def donor(client, sms, fixed_day):
    _, data = donor_record(client, sms)
    return bearer(data["tokens"]["access_token"])


def test_a_donor_lists_the_editions_with_each_questions_codes(client, donor):
    body = client.get(URL, headers=donor).get_json()
    [edition] = body["items"]
    assert (edition["version"], edition["region"]) == ("2026-1", "zhejiang")
    assert (edition["effective_from"], edition["effective_to"]) == ("2026-11-01", None)
    assert edition["in_force"] is True and edition["source"]
    questions = {q["code"]: q for q in edition["questions"]}
    assert questions["cold"] == {
        "code": "cold",
        "text": "您现在是否患有感冒或急性上呼吸道感染（发热、咽痛、咳嗽等），或痊愈还不满一周？",
        "defers": "uri_cold",
        "only_sex": None,
        "date_asked": True,
        "date_required": False,
        "date_prompt": "痊愈日期（尚未痊愈请不填）",
    }
    assert (questions["pregnancy"]["only_sex"], questions["pregnancy"]["date_asked"]) == (
        "female",
        False,
    )
    assert questions["tattoo"]["date_required"] is True


def test_every_answer_code_leads_to_a_listed_deferral_reason(client, donor):
    """The two lists agree: a client can follow a yes to its period without the TOML files."""
    questions = client.get(URL, headers=donor).get_json()["items"][0]["questions"]
    staff = bearer(staff_token(client, make_staff(admin=True)))
    reasons = client.get(
        "/api/v1/staff/deferral-reasons", query_string={"per_page": 100}, headers=staff
    ).get_json()["items"]
    assert {q["defers"] for q in questions} <= {r["code"] for r in reasons}


def test_the_texts_follow_accept_language(client, donor):
    headers = {**donor, "Accept-Language": "en"}
    [edition] = client.get(URL, headers=headers).get_json()["items"]
    cold = next(q for q in edition["questions"] if q["code"] == "cold")
    assert cold["text"].startswith("Do you have a cold")
    assert edition["consent"].startswith("I have read")


def test_an_edition_is_found_by_the_date_it_is_in_force(client, donor):
    found = client.get(URL, query_string={"on": "2026-11-01"}, headers=donor).get_json()
    assert [e["version"] for e in found["items"]] == ["2026-1"]
    none = client.get(URL, query_string={"on": "2026-10-31"}, headers=donor).get_json()
    assert (none["items"], none["page"]["total"]) == ([], 0)
    unknown = client.get(URL, query_string={"region": "mars"}, headers=donor)
    assert (unknown.status_code, unknown.get_json()["code"]) == (422, "region_unknown")


def test_staff_read_the_editions_too_but_not_anyone(client, fixed_day):
    staff = bearer(staff_token(client, make_staff(admin=True)))
    assert client.get(URL, headers=staff).get_json()["page"]["total"] == 1
    assert client.get(URL).status_code == 401


def test_the_api_document_describes_the_editions(client):
    spec = client.get("/openapi.json").get_json()
    assert "get" in spec["paths"][URL]
    question = spec["components"]["schemas"]["EditionQuestion"]["properties"]
    assert {"code", "text", "defers", "only_sex", "date_asked"} <= set(question)

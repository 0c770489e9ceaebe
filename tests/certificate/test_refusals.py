"""A refused recording says why in codes and dates a client can act on (issue 12 item 3).

The 409 donor_not_eligible carries each reason as {code, until, message}, the same shape as the
reasons of GET /me/eligibility; the message follows Accept-Language, the code and date do not.
Intervals: GB 18467-2011 (whole blood -> whole blood 6 months, calendar months).
"""

from __future__ import annotations

from datetime import date

from core import clock
from tests.factories import (
    at,
    bearer,
    donor_record,
    make_site,
    make_staff,
    record,
    resident_id,
    staff_token,
)


def test_a_refusal_carries_codes_and_dates_like_the_eligibility_answer(client, sms):
    site = make_site()
    staff = staff_token(client, make_staff([site]))
    _, data = donor_record(client, sms)
    id_number = data["plain"]["id_number"]
    with clock.frozen_at(at(date(2026, 5, 4))):
        assert record(client, staff, site, id_number).status_code == 201
    with clock.frozen_at(at(date(2026, 6, 8))):
        refused = record(client, staff, site, id_number)
        english = client.post(
            "/api/v1/staff/donations",
            json={
                "site_id": site.id,
                "donor": {"id_number": id_number},
                "kind": "whole_blood",
                "volume_ml": 400,
                "collected_at": clock.now().isoformat(),
            },
            headers={
                **bearer(staff),
                "Idempotency-Key": "refusal-in-english",
                "Accept-Language": "en",
            },
        )
        asked = client.get(
            "/api/v1/me/eligibility", headers=bearer(data["tokens"]["access_token"])
        ).get_json()
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["code"] == "donor_not_eligible"
    assert body["errors"] == {
        "eligibility": [
            {"code": "interval", "until": "2026-11-04", "message": "距上次献血的间隔还不够。"}
        ]
    }
    whole_blood = next(kind for kind in asked["kinds"] if kind["kind"] == "whole_blood")
    assert body["errors"]["eligibility"] == whole_blood["reasons"]
    assert english.get_json()["errors"]["eligibility"] == [
        {
            "code": "interval",
            "until": "2026-11-04",
            "message": "Too soon after the previous donation.",
        }
    ]


def test_a_reason_without_a_date_has_until_null(client, sms):
    # POLICY.md "Decisions (2026-11-30)": ages inclusive; a first-time donor aged 56 is refused
    # with no date that would lift it.
    site = make_site()
    staff = staff_token(client, make_staff([site]))
    _, data = donor_record(client, sms, id_number=resident_id(birth="19700101"))
    with clock.frozen_at(at(date(2026, 5, 4))):
        refused = record(client, staff, site, data["plain"]["id_number"])
    assert [(r["code"], r["until"]) for r in refused.get_json()["errors"]["eligibility"]] == [
        ("too_old_first_time", None)
    ]


def test_the_api_document_describes_the_refusal(client):
    spec = client.get("/openapi.json").get_json()
    refusal = spec["paths"]["/api/v1/staff/donations"]["post"]["responses"]["409"]
    assert refusal["content"]["application/json"]["schema"]["$ref"].endswith("/NotEligible")
    schemas = spec["components"]["schemas"]
    reasons = schemas["NotEligibleErrors"]["properties"]["eligibility"]
    assert reasons["items"]["$ref"].endswith("/Reason")
    assert set(schemas["Reason"]["properties"]) == {"code", "until", "message"}
    correction = spec["paths"]["/api/v1/admin/donations/{donation_id}/correction"]["post"]
    assert "409" in correction["responses"]

"""The donor's card, built above certificate and rewards (issue 13 item 4): its benefits are the
three frees exactly as GET /me/benefits shows them, and the API document says so."""

from __future__ import annotations

from tests.factories.rewards import Scheme


def test_the_api_document_describes_the_cards_benefits(client):
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    benefits = schemas["Card"]["properties"]["benefits"]
    assert benefits["allOf"] == [{"$ref": "#/components/schemas/Benefits"}]


def test_the_card_shows_the_benefits_as_the_benefits_page_does(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    card = client.get("/api/v1/me/card", headers=headers).get_json()
    assert card["benefits"] == client.get("/api/v1/me/benefits", headers=headers).get_json()
    assert card["award_counts"] == 20 and card["donations"] > 0


def test_the_card_shows_the_highest_tier_and_how_far_the_next_is(client, sms):
    # Issue 14 item 3: /me/card carries a summary; POLICY.md §2: bronze 20, silver 30 counts.
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    card = client.get("/api/v1/me/card", headers=headers).get_json()
    full = client.get("/api/v1/me/honours", headers=headers).get_json()
    assert card["honours"]["highest"] == full["highest"]
    assert card["honours"]["highest"]["tier"] == "bronze"
    assert (card["honours"]["next"]["tier"], card["honours"]["next"]["missing"]) == ("silver", 10)
    assert card["honours"]["next"]["message"] == full["next"]["message"]


def test_a_new_donors_card_has_no_tier_and_twenty_counts_to_go(client, sms):
    scheme = Scheme(client, sms)
    _, _, headers = scheme.donor()
    honours = client.get("/api/v1/me/card", headers=headers).get_json()["honours"]
    assert (honours["counted"], honours["highest"], honours["next"]["missing"]) == (0, None, 20)


def test_the_card_shows_the_points_as_the_points_page_does(client, sms):
    # Issue 14 item 4 ([points] in policies/national.toml): the card carries the balance.
    scheme = Scheme(client, sms)
    _, _, headers, _ = scheme.holder()
    card = client.get("/api/v1/me/card", headers=headers).get_json()
    assert card["points"] == client.get("/api/v1/me/points", headers=headers).get_json()
    assert card["points"]["points"] > 0

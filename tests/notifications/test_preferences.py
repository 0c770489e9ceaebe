"""A donor's notification settings: greetings, appeals and reminders off; the rest always on."""

from __future__ import annotations

import pytest

from tests.factories import bearer, donor_record
from tests.factories.notifications import auth_headers, desk

PATH = "/api/v1/me/notification-preferences"


def test_everything_is_on_by_default_with_the_manners_shown(client, sms):
    _, data = donor_record(client, sms)
    body = client.get(PATH, headers=auth_headers(data)).get_json()
    assert body["greetings"] is body["appeals"] is body["reminders"] is True
    assert body["transactional"] is True
    assert body["quiet_hours"] == {"start": "21:00", "end": "08:00"}
    assert body["weekly_cap"] >= 1


def test_a_donor_turns_appeals_off_and_only_their_own_settings_change(client, sms):
    _, alice = donor_record(client, sms)
    _, bob = donor_record(client, sms)
    changed = client.patch(PATH, json={"appeals": False}, headers=auth_headers(alice))
    assert changed.status_code == 200
    assert changed.get_json()["appeals"] is False and changed.get_json()["greetings"] is True
    assert client.get(PATH, headers=auth_headers(alice)).get_json()["appeals"] is False
    assert client.get(PATH, headers=auth_headers(bob)).get_json()["appeals"] is True
    again = client.patch(PATH, json={"appeals": True}, headers=auth_headers(alice))
    assert again.get_json()["appeals"] is True


@pytest.mark.parametrize(
    "body",
    [{"transactional": False}, {"greetings": "no"}, {"appeals": 0}, {"greetings": None}],
)
def test_transactional_messages_cannot_be_turned_off_and_bad_input_changes_nothing(
    client, sms, body
):
    _, data = donor_record(client, sms)
    response = client.patch(PATH, json=body, headers=auth_headers(data))
    assert response.status_code == 422
    current = client.get(PATH, headers=auth_headers(data)).get_json()
    assert current["greetings"] is current["appeals"] is True


def test_staff_have_no_notification_preferences(client):
    _, token = desk(client)
    assert client.get(PATH, headers=bearer(token)).status_code == 403
    assert client.get(PATH).status_code == 401

"""A message that rests on a fact is checked again just before it is sent (issue 12 item 4).

The eligible-again reminder is written after midnight for nine o'clock; by nine the donor may
have given again or been deferred. Bookings and waiting-list offers are in tests/wiring."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from certificate.policy import donation_rules
from core import clock
from core.extensions import db
from core.policy import policy_for
from notifications.models import OutboxMessage
from notifications.schedules import remind_eligible_again
from tests.factories import bearer, look_up, record
from tests.factories.notifications import (
    desk,
    donor_who_gave,
    local,
    messages_to,
    recent_local,
    send_due,
)

TOLD = "可以再次捐献全血"


@pytest.fixture(autouse=True)
def tokens_outlive_the_months(app, monkeypatch):
    """These tests move the clock six months on and still call the API as staff."""
    monkeypatch.setitem(app.config, "JWT_ACCESS_TOKEN_EXPIRES", timedelta(days=400))


def reminders() -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.template == "eligible_again")
    return list(db.session.scalars(query.order_by(OutboxMessage.id)))


def gave_months_ago(client, sms):
    """A donor who gave whole blood, and the first day they may give again."""
    site, token = desk(client)
    with clock.frozen_at(recent_local(10)):
        donor, data, donation = donor_who_gave(client, sms, site, token)
    given = date.fromisoformat(donation["donation_date"])
    # GB 18467-2011: whole blood to whole blood at least 6 months.
    eligible = (
        donation_rules(policy_for()).min_interval("whole_blood", "whole_blood", given).add_to(given)
    )
    return site, token, donor, data, donation, eligible


def reminder_written_for_nine(eligible: date) -> OutboxMessage:
    with clock.frozen_at(local(eligible, 0, 5)):
        assert remind_eligible_again(eligible) == 1
        db.session.commit()
    (row,) = reminders()
    assert row.status == "pending" and clock.to_local(row.not_before).hour == 9
    return row


def test_no_eligible_again_reminder_once_the_donor_has_given_again_that_morning(client, sms):
    site, token, _, data, _, eligible = gave_months_ago(client, sms)
    reminder_written_for_nine(eligible)
    with clock.frozen_at(local(eligible, 8, 0)):
        assert record(client, token, site, data["plain"]["id_number"]).status_code == 201
    with clock.frozen_at(local(eligible, 9, 0)):
        report = send_due()
    assert report.cancelled == 1
    assert [body for body in messages_to(sms, data) if TOLD in body] == []
    (row,) = reminders()
    assert (row.status, row.status_reason) == ("cancelled", "donated_again")


def test_a_deferral_that_morning_holds_the_reminder_until_the_donor_may_give_again(client, sms):
    site, token, donor, data, donation, eligible = gave_months_ago(client, sms)
    first = reminder_written_for_nine(eligible)
    with clock.frozen_at(local(eligible, 8, 0)):
        look_up(client, token, site, data["plain"]["id_number"])  # the donor at the desk
        deferred = client.post(
            "/api/v1/staff/deferrals",
            json={
                "site_id": site.id,
                "donor_id": donor.id,
                "reason_code": "uri_cold",  # national.toml: 7 days after recovery
                "anchor_date": eligible.isoformat(),
            },
            headers=bearer(token),
        )
        assert deferred.status_code == 201, deferred.get_json()
    with clock.frozen_at(local(eligible, 9, 0)):
        send_due()
    assert [body for body in messages_to(sms, data) if TOLD in body] == []
    db.session.refresh(first)
    assert (first.status, first.status_reason) == ("cancelled", "not_eligible")
    recovered = date.fromisoformat(deferred.get_json()["until"])
    with clock.frozen_at(local(recovered, 0, 5)):
        assert remind_eligible_again(recovered) == 1
        db.session.commit()
    with clock.frozen_at(local(recovered, 9, 0)):
        assert send_due().sent == 1
    assert len([body for body in messages_to(sms, data) if TOLD in body]) == 1
    base = f"eligible:{donor.id}:{donation['id']}"
    assert [row.key for row in reminders()] == [base, f"{base}:{recovered.isoformat()}"]
    with clock.frozen_at(local(recovered + timedelta(days=1), 0, 5)):
        assert remind_eligible_again(recovered + timedelta(days=1)) == 1  # the sent one
        db.session.commit()
    assert len(reminders()) == 2

"""Sending exactly once: leases, reconciliation with the provider, retries, final failures."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core import clock
from core.extensions import db
from notifications.dispatch import claim, open_session
from notifications.models import OutboxMessage
from notifications.outbox import Draft, write
from tests.factories import bearer, donor_record
from tests.factories.notifications import admin_token, send_due, to, use_twilio


def waiting_birthdays(donors) -> list[OutboxMessage]:
    """Greetings written for later, so only an explicit sweep sends them."""
    later = clock.now() + timedelta(minutes=30)
    rows = write(
        "birthday",
        [Draft(key=f"birthday:{d.id}:t", donor=d, context={"name": d.name}) for d in donors],
        not_before=later,
        expires_at=later + timedelta(hours=6),
    )
    db.session.commit()
    return rows


@pytest.mark.committed_db
def test_two_workers_never_claim_the_same_message(client, sms, daytime):
    donors = [donor_record(client, sms)[0] for _ in range(6)]
    waiting_birthdays(donors)
    db.session.commit()
    with clock.travelled(timedelta(minutes=31)):
        with open_session() as first, open_session() as second:
            _, mine = claim(first, None, 4)
            _, theirs = claim(second, None, 4)
    assert len(mine) == 4 and len(theirs) == 2
    assert not {row.id for row in mine} & {row.id for row in theirs}


@pytest.mark.committed_db
def test_workers_claiming_at_the_same_moment_share_the_messages_out(app, client, sms, daytime):
    donors = [donor_record(client, sms)[0] for _ in range(12)]
    waiting_birthdays(donors)
    moment = clock.now() + timedelta(minutes=31)

    def one_worker(_: int) -> list[int]:
        with app.app_context(), open_session() as session:
            return [row.id for row in claim(session, None, 3)[1]]

    with clock.frozen_at(moment), ThreadPoolExecutor(max_workers=4) as pool:
        claimed = list(pool.map(one_worker, range(4)))
    every = [message for batch in claimed for message in batch]
    assert len(every) == len(set(every)) == 12


@pytest.mark.committed_db
def test_a_lease_that_ran_out_is_taken_over_and_the_message_sent_once(client, sms, daytime):
    donor, data = donor_record(client, sms)
    (row,) = waiting_birthdays([donor])
    with clock.travelled(timedelta(minutes=31)):
        with open_session() as crashed:
            claim(crashed, None, 10)  # a worker takes it and dies before sending
        assert send_due().sent == 0  # still leased
    with clock.travelled(timedelta(minutes=31, seconds=121)):
        assert send_due().sent == 1
        assert send_due().claimed == 0
    assert len([m for m in sms if m.key == row.key]) == 1


@pytest.mark.committed_db
def test_a_send_that_may_have_happened_is_asked_about_not_repeated(
    app, client, sms, daytime, twilio_stub, monkeypatch
):
    donor, data = donor_record(client, sms)
    use_twilio(app, twilio_stub, monkeypatch)
    (row,) = waiting_birthdays([donor])
    with clock.travelled(timedelta(minutes=31)):
        # The worker handed the message to Twilio, then died before recording Twilio's answer.
        with open_session() as crashed:
            token, _ = claim(crashed, None, 10)
            crashed.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(in_flight_since=clock.now(), attempts=1)
            )
            crashed.commit()
        # Twilio took it (the stub holds it as it would have recorded the POST).
        twilio_stub.messages.append(
            {"sid": "SM" + "a" * 32, "to": to(data), "body": row.body, "status": "queued"}
        )
    with clock.travelled(timedelta(minutes=34)):
        report = send_due()
    assert (report.sent, report.found_at_provider) == (0, 1)
    assert len(twilio_stub.sent_to(to(data))) == 1
    db.session.refresh(row)
    assert (row.status, row.provider_sid) == ("sent", "SM" + "a" * 32)


def test_an_unknown_outcome_that_never_reached_the_provider_is_sent_again_once(
    app, client, sms, daytime, twilio_stub, monkeypatch
):
    donor, data = donor_record(client, sms)
    use_twilio(app, twilio_stub, monkeypatch)
    (row,) = waiting_birthdays([donor])
    twilio_stub.failures.append(503)
    with clock.travelled(timedelta(minutes=31)):
        assert send_due().retrying == 1
    db.session.refresh(row)
    assert row.status == "pending" and row.in_flight_since is not None
    with clock.travelled(timedelta(minutes=40)):
        assert send_due().sent == 1
    assert len(twilio_stub.sent_to(to(data))) == 1
    assert [method for method, _ in twilio_stub.requests] == ["POST", "GET", "POST"]


def test_throttling_retries_with_growing_delays(
    app, client, sms, daytime, twilio_stub, monkeypatch
):
    donor, data = donor_record(client, sms)
    use_twilio(app, twilio_stub, monkeypatch)
    (row,) = waiting_birthdays([donor])
    twilio_stub.refusals.extend([(429, 20429), (429, 20429)])
    waits = []
    moment = timedelta(minutes=31)
    for _ in range(2):
        with clock.travelled(moment):
            assert send_due().retrying == 1
            db.session.refresh(row)
            waits.append(row.not_before - clock.now())
            moment += waits[-1] + timedelta(seconds=1)
    assert waits[1] > waits[0]
    assert row.in_flight_since is None  # a 429 is a clear "no": nothing to ask about
    with clock.travelled(moment):
        assert send_due().sent == 1
    assert len(twilio_stub.sent_to(to(data))) == 1


def test_a_permanent_refusal_is_listed_for_admins(
    app, client, sms, daytime, twilio_stub, monkeypatch
):
    donor, data = donor_record(client, sms)
    use_twilio(app, twilio_stub, monkeypatch)
    (row,) = waiting_birthdays([donor])
    twilio_stub.refusals.append((400, 21211))  # Twilio: invalid 'To' number
    with clock.travelled(timedelta(minutes=31)):
        assert send_due().failed == 1
        listed = client.get(
            "/api/v1/admin/notifications/failed", headers=bearer(admin_token(client))
        ).get_json()
    (item,) = listed["items"]
    assert (item["id"], item["status"], item["error_code"]) == (row.id, "failed", "twilio:21211")
    assert item["mobile"] == data["donor"]["mobile"]  # masked, as everywhere
    assert data["plain"]["mobile"] not in str(listed)
    assert listed["page"]["total"] == 1


def test_a_message_that_cannot_go_in_time_expires(client, sms, daytime):
    donor, _ = donor_record(client, sms)
    (row,) = waiting_birthdays([donor])
    with clock.travelled(timedelta(hours=7)):
        assert send_due().expired == 1
    db.session.refresh(row)
    assert (row.status, row.status_reason) == ("expired", "expired")
    assert not [m for m in sms if m.key == row.key]


def test_a_message_for_an_erased_donor_is_not_sent(client, sms, daytime):
    donor, _ = donor_record(client, sms)
    (row,) = waiting_birthdays([donor])
    donor.status, donor.mobile, donor.mobile_hash = "erased", None, None
    db.session.commit()
    with clock.travelled(timedelta(minutes=31)):
        assert send_due().cancelled == 1
    assert db.session.scalar(select(OutboxMessage.status).where(OutboxMessage.id == row.id)) == (
        "cancelled"
    )


def test_an_admin_sends_a_failed_message_again_once(
    app, client, sms, daytime, twilio_stub, monkeypatch
):
    donor, data = donor_record(client, sms)
    use_twilio(app, twilio_stub, monkeypatch)
    (row,) = waiting_birthdays([donor])
    twilio_stub.refusals.append((400, 21614))  # Twilio: not a mobile number
    with clock.travelled(timedelta(minutes=31)):
        send_due()
        admin = bearer(admin_token(client))
        retried = client.post(f"/api/v1/admin/notifications/{row.id}/retry", headers=admin)
        again = client.post(f"/api/v1/admin/notifications/{row.id}/retry", headers=admin)
    assert retried.status_code == 200
    assert again.status_code == 409 and again.get_json()["code"] == "message_not_retryable"
    assert len(twilio_stub.sent_to(to(data))) == 1
    db.session.refresh(row)
    assert row.status == "sent"

"""A voided or corrected donation and its thank-you (issue 12 item 4): an unsent thank-you is
cancelled with the void, even one a worker has already claimed; one already sent stays sent; the
corrected record is thanked, or told as a correction, with its own amount and number."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core import clock
from core.extensions import db
from notifications.dispatch import claim, open_session, send_claimed
from notifications.models import OutboxMessage
from tests.factories import bearer, donor_record, record
from tests.factories.notifications import (
    admin_token,
    desk,
    donor_who_gave,
    local,
    messages_to,
    send_due,
    use_twilio,
)


def thanks_row(donation_id: int) -> OutboxMessage:
    return db.session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.key == f"thanks:{donation_id}")
        .execution_options(populate_existing=True)
    )


def told(sms, data) -> list[str]:
    return [body for body in messages_to(sms, data) if "献血证" in body]


def void(client, donation_id: int):
    response = client.post(
        f"/api/v1/admin/donations/{donation_id}/void",
        json={"reason": "血袋标签录入错误"},
        headers=bearer(admin_token(client)),
    )
    assert response.status_code == 200, response.get_json()


def correct(client, donation_id: int, **changes):
    response = client.post(
        f"/api/v1/admin/donations/{donation_id}/correction",
        json={"reason": "实际采集300毫升", **changes},
        headers=bearer(admin_token(client)),
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def an_evening():
    """A past evening (22:30 local, in the quiet hours) and the next morning at 08:30."""
    day = clock.local_today() - timedelta(days=2)
    return local(day, 22, 30), local(day + timedelta(days=1), 8, 30)


def test_voiding_a_donation_cancels_its_thank_you_held_for_the_morning(client, sms):
    evening, morning = an_evening()
    site, token = desk(client)
    with clock.frozen_at(evening):
        _, data, donation = donor_who_gave(client, sms, site, token)
    assert thanks_row(donation["id"]).status == "pending"
    with clock.frozen_at(evening + timedelta(minutes=30)):
        void(client, donation["id"])
    row = thanks_row(donation["id"])
    assert (row.status, row.status_reason) == ("cancelled", "donation_voided")
    with clock.frozen_at(morning):
        assert send_due().claimed == 0
    assert told(sms, data) == []


@pytest.mark.committed_db
def test_a_thank_you_a_worker_claimed_before_the_void_committed_is_not_sent(client, sms):
    evening, morning = an_evening()
    site, token = desk(client)
    with clock.frozen_at(evening):
        _, data, donation = donor_who_gave(client, sms, site, token)
    with clock.frozen_at(morning):
        with open_session() as worker:
            lease, rows = claim(worker, None, 10)  # the morning's sweep takes the thank-you
            assert [row.key for row in rows] == [f"thanks:{donation['id']}"]
            void(client, donation["id"])  # ... and the void commits before it is sent
            db.session.commit()
            report = send_claimed(worker, lease, rows)
    assert report.sent == 0
    assert told(sms, data) == []
    row = thanks_row(donation["id"])
    assert (row.status, row.status_reason) == ("cancelled", "donation_voided")


def test_a_thank_you_already_sent_stays_sent_when_its_donation_is_voided(client, sms, daytime):
    site, token = desk(client)
    _, data, donation = donor_who_gave(client, sms, site, token)
    void(client, donation["id"])
    assert thanks_row(donation["id"]).status == "sent"
    assert len(told(sms, data)) == 1


def test_a_correction_before_the_thank_you_went_is_thanked_with_the_corrected_record(client, sms):
    evening, morning = an_evening()
    site, token = desk(client)
    with clock.frozen_at(evening):
        _, data, donation = donor_who_gave(client, sms, site, token)
    with clock.frozen_at(evening + timedelta(minutes=30)):
        corrected = correct(client, donation["id"], volume_ml=300)
    with clock.frozen_at(morning):
        assert send_due().sent == 1
    (text,) = told(sms, data)
    assert "感谢您" in text and "300毫升" in text and "400毫升" not in text
    assert corrected["certificate"]["number"] in text
    assert donation["certificate"]["number"] not in text
    assert thanks_row(donation["id"]).status == "cancelled"
    assert thanks_row(corrected["id"]).status == "sent"


def test_a_correction_after_the_thank_you_went_tells_the_donor_the_corrected_record(
    client, sms, daytime
):
    site, token = desk(client)
    _, data, donation = donor_who_gave(client, sms, site, token)
    corrected = correct(client, donation["id"], volume_ml=300)
    first, second = told(sms, data)
    assert "400毫升" in first and donation["certificate"]["number"] in first
    assert "已更正为300毫升" in second and "感谢" not in second
    assert corrected["certificate"]["number"] in second and "原证作废" in second
    row = thanks_row(corrected["id"])
    assert (row.template, row.status) == ("donation_corrected", "sent")


def test_a_failed_thank_you_retried_after_its_donation_was_voided_is_not_sent(
    app, client, sms, daytime, twilio_stub, monkeypatch
):
    site, token = desk(client)
    _, data = donor_record(client, sms)
    use_twilio(app, twilio_stub, monkeypatch)
    twilio_stub.refusals.append((400, 21614))  # Twilio: not a mobile number
    donation = record(client, token, site, data["plain"]["id_number"]).get_json()
    row = thanks_row(donation["id"])
    assert row.status == "failed"
    void(client, donation["id"])
    retried = client.post(
        f"/api/v1/admin/notifications/{row.id}/retry", headers=bearer(admin_token(client))
    )
    assert retried.status_code == 200
    row = thanks_row(donation["id"])
    assert (row.status, row.status_reason) == ("cancelled", "donation_voided")
    assert [method for method, _ in twilio_stub.requests].count("POST") == 1

"""The outbox: written with its cause, once per key, sent once, with manners (issue 7)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from certificate.events import donation_recorded
from core import clock
from core.extensions import db
from notifications.models import OutboxMessage
from notifications.outbox import Draft, write
from tests.factories import donor_record, record
from tests.factories.notifications import (
    auth_headers,
    desk,
    donor_who_gave,
    local,
    messages_to,
    recent_local,
    send_due,
    to,
    use_twilio,
)
from tests.timetravel import later


def outbox(**where) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    for name, value in where.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return list(db.session.scalars(query))


def test_a_recorded_donation_thanks_the_donor_with_certificate_number_and_link(
    client, sms, daytime
):
    site, token = desk(client)
    _, data, donation = donor_who_gave(client, sms, site, token, name="李娜")
    number = donation["certificate"]["number"]
    thanks = [body for body in messages_to(sms, data) if "感谢您今天无偿献血" in body]
    assert len(thanks) == 1
    assert thanks[0].startswith("【无偿献血】李娜，")
    assert number in thanks[0]
    assert f"/v/{number}" in thanks[0]
    (row,) = outbox(template="thanks")
    assert row.key == f"thanks:{donation['id']}" and row.status == "sent"


def test_a_donation_that_rolls_back_leaves_no_message(client, sms, daytime):
    site, token = desk(client)
    donor, data, _ = donor_who_gave(client, sms, site, token)
    before = len(sms)

    def refuse(sender, donation, **extra):
        raise RuntimeError("a later listener fails")

    donation_recorded.connect(refuse)
    try:
        failed = record(client, token, site, data["plain"]["id_number"], override_reason="紧急用血")
    finally:
        donation_recorded.disconnect(refuse)
    assert failed.status_code == 500
    assert len(outbox(template="thanks")) == 1  # the first donation's only
    assert len(sms) == before


def test_writing_the_same_key_twice_writes_one_message(client, sms, daytime):
    site, token = desk(client)
    donor, _, _ = donor_who_gave(client, sms, site, token)
    draft = Draft(key="birthday:test:2030", donor=donor, context={"name": "张伟"})
    first = write("birthday", [draft])
    db.session.commit()
    second = write("birthday", [draft, draft])
    db.session.commit()
    assert first[0].id == second[0].id == second[1].id
    assert len(outbox(template="birthday")) == 1


def test_the_outbox_keeps_the_donor_not_the_number(client, sms, daytime):
    site, token = desk(client)
    _, data, _ = donor_who_gave(client, sms, site, token)
    (row,) = outbox(template="thanks")
    assert row.donor_id == data["donor"]["id"] and row.to_mobile is None
    raw = db.session.execute(
        text("SELECT body, to_mobile FROM notification_outbox WHERE id = :id"), {"id": row.id}
    ).one()
    assert data["plain"]["mobile"] not in str(raw) and "感谢" not in str(raw.body)


def test_a_code_is_urgent_and_its_text_is_wiped_once_sent(client, sms):
    from tests.factories import mobile, send_code

    number = mobile()
    with clock.frozen_at(recent_local(23)):  # quiet hours do not hold a login code back
        assert send_code(client, number).status_code == 202
    assert len([m for m in sms if m.to == "+86" + number]) == 1
    (row,) = outbox(template="otp")
    assert row.status == "sent" and row.category == "security"
    assert row.body is None


def test_messages_never_put_a_whole_number_in_the_log(
    app, client, sms, daytime, caplog, twilio_stub, monkeypatch
):
    site, token = desk(client)
    donor, data = donor_record(client, sms)
    use_twilio(app, twilio_stub, monkeypatch)
    twilio_stub.failures.append(500)  # an unknown outcome: the retry asks Twilio first
    with caplog.at_level(logging.DEBUG):
        assert record(client, token, site, data["plain"]["id_number"]).status_code == 201
        with clock.travelled(timedelta(minutes=5)):
            send_due()
    assert len(twilio_stub.sent_to(to(data))) == 1
    assert ("GET", twilio_stub.requests[-2][1]) == twilio_stub.requests[-2]
    assert data["plain"]["mobile"] not in caplog.text
    assert data["plain"]["mobile"][-8:] not in caplog.text


def test_a_thank_you_recorded_in_the_quiet_hours_waits_for_the_morning(client, sms):
    site, token = desk(client)
    late = recent_local(22)
    with clock.frozen_at(late):
        _, data, _ = donor_who_gave(client, sms, site, token)
    assert not [body for body in messages_to(sms, data) if "感谢" in body]
    (row,) = outbox(template="thanks")
    assert clock.to_local(row.not_before).hour == 8
    with clock.frozen_at(local(clock.to_local(late).date(), 23, 30)):
        assert send_due().sent == 0
    with clock.frozen_at(row.not_before):
        assert send_due().sent == 1
    assert [body for body in messages_to(sms, data) if "感谢" in body]


def test_a_thank_you_held_overnight_says_the_day_of_the_donation_not_today(client, sms):
    # Issue 12 item 4: texts say the date, not "today", unless they go out that same day.
    day = clock.local_today() - timedelta(days=2)
    site, token = desk(client)
    with clock.frozen_at(local(day, 22, 30)):
        _, data, _ = donor_who_gave(client, sms, site, token)
    with clock.frozen_at(local(day + timedelta(days=1), 8, 30)):
        assert send_due().sent == 1
    (text,) = [body for body in messages_to(sms, data) if "感谢" in body]
    assert f"感谢您{day.month}月{day.day}日无偿献血400毫升！" in text
    assert "今天" not in text
    (row,) = outbox(template="thanks")
    assert row.body == text  # the outbox keeps the words that were sent


def test_an_opted_out_donor_gets_no_greeting_but_still_the_thanks(client, sms, daytime):
    site, token = desk(client)
    donor, data, _ = donor_who_gave(client, sms, site, token)
    response = client.patch(
        "/api/v1/me/notification-preferences", json={"greetings": False}, headers=auth_headers(data)
    )
    assert response.status_code == 200
    (row,) = write("birthday", [Draft(key="birthday:x", donor=donor, context={"name": ""})])
    db.session.commit()
    assert (row.status, row.status_reason) == ("skipped", "opted_out")
    assert len(outbox(template="thanks", status="sent")) == 1


def test_opting_out_after_a_greeting_was_written_cancels_it(client, sms, daytime):
    site, token = desk(client)
    donor, data, _ = donor_who_gave(client, sms, site, token)
    with clock.frozen_at(recent_local(10) - timedelta(hours=3)):  # 07:00: quiet hours
        (row,) = write("birthday", [Draft(key="birthday:y", donor=donor, context={"name": ""})])
        db.session.commit()
    client.patch(
        "/api/v1/me/notification-preferences", json={"greetings": False}, headers=auth_headers(data)
    )
    send_due()
    db.session.refresh(row)
    assert (row.status, row.status_reason) == ("cancelled", "opted_out")


@pytest.mark.parametrize("cap", [1, 3])
def test_the_weekly_cap_limits_greetings_and_appeals_not_thanks(app, client, sms, daytime, cap):
    # NOTIFY_WEEKLY_CAP: an operational choice, not a regulation.
    app.config["NOTIFY_WEEKLY_CAP"] = cap
    try:
        site, token = desk(client)
        donor, _, _ = donor_who_gave(client, sms, site, token)
        rows = [
            write("birthday", [Draft(key=f"greet:{n}", donor=donor, context={"name": ""})])[0]
            for n in range(cap + 2)
        ]
        db.session.commit()
        assert [row.status for row in rows] == ["sent"] * cap + ["skipped"] * 2
        assert {row.status_reason for row in rows[cap:]} == {"weekly_cap"}
        with clock.travelled(timedelta(days=7, minutes=1)):
            (later,) = write(
                "birthday", [Draft(key="greet:later", donor=donor, context={"name": ""})]
            )
            db.session.commit()
        assert later.status == "sent"
        assert outbox(template="thanks")[0].status == "sent"
    finally:
        app.config["NOTIFY_WEEKLY_CAP"] = 3


def test_a_donor_without_a_number_gets_a_skipped_row(client, sms, daytime):
    site, token = desk(client)
    donor, _, _ = donor_who_gave(client, sms, site, token)
    donor.mobile, donor.mobile_hash = None, None
    db.session.commit()
    (row,) = write("birthday", [Draft(key="birthday:z", donor=donor, context={"name": ""})])
    assert (row.status, row.status_reason) == ("skipped", "no_mobile")
    assert row.body is None
    assert send_due().claimed == 0


def test_erasure_wipes_the_texts_that_name_the_donor_and_cancels_what_waits(client, sms, daytime):
    from tests.factories import bearer, last_code, send_code

    site, token = desk(client)
    donor, data, _ = donor_who_gave(client, sms, site, token)
    due = clock.now() + timedelta(hours=1)
    (waiting,) = write(
        "birthday",
        [Draft(key="birthday:erase", donor=donor, context={"name": "张伟"})],
        not_before=due,
        expires_at=due + timedelta(hours=1),
    )
    db.session.commit()
    with later(timedelta(minutes=2)):
        send_code(client, data["plain"]["mobile"])
        erased = client.post(
            "/api/v1/me/erasure",
            json={"code": last_code(sms, data["plain"]["mobile"])},
            headers=bearer(data["tokens"]["access_token"]),
        )
    assert erased.status_code == 204
    mine = outbox(donor_id=donor.id)
    assert mine and all(row.body is None for row in mine)
    db.session.refresh(waiting)
    assert (waiting.status, waiting.status_reason) == ("cancelled", "donor_erased")
    with clock.travelled(timedelta(hours=1, minutes=1)):
        assert send_due().claimed == 0


def test_a_number_kept_for_a_donorless_message_is_dropped_once_it_is_sent(client, sms):
    from tests.factories import mobile, send_code

    send_code(client, mobile())
    (row,) = outbox(template="otp")
    assert row.status == "sent" and row.to_mobile is None

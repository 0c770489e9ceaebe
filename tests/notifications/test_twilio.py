"""The Twilio backend through the official library, and its signed delivery callbacks."""

from __future__ import annotations

from twilio.request_validator import RequestValidator

from core.extensions import db
from notifications.models import OutboxMessage
from ops.twilio_stand_in import ACCOUNT_SID, AUTH_TOKEN, FROM
from tests.factories import donor_record, record
from tests.factories.notifications import desk, to, use_twilio

CALLBACK = "/webhooks/twilio/status"


def signed_post(app, client, form: dict, *, token: str = AUTH_TOKEN):
    url = app.config["PUBLIC_BASE_URL"].rstrip("/") + CALLBACK
    signature = RequestValidator(token).compute_signature(url, form)
    return client.post(CALLBACK, data=form, headers={"X-Twilio-Signature": signature})


def thanked(app, client, sms, twilio_stub, monkeypatch):
    site, token = desk(client)
    _, data = donor_record(client, sms)
    use_twilio(app, twilio_stub, monkeypatch)
    assert record(client, token, site, data["plain"]["id_number"]).status_code == 201
    row = db.session.scalar(db.select(OutboxMessage).where(OutboxMessage.template == "thanks"))
    return data, row


def test_the_stub_sees_to_from_and_body_from_the_real_client(
    app, client, sms, daytime, twilio_stub, monkeypatch
):
    data, row = thanked(app, client, sms, twilio_stub, monkeypatch)
    (message,) = twilio_stub.sent_to(to(data))
    assert twilio_stub.requests[-1] == (
        "POST",
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
    )
    assert message["from"] == FROM
    assert message["body"].startswith("【无偿献血】") and "感谢您今天无偿献血" in message["body"]
    assert message["status_callback"].endswith(CALLBACK)
    assert (row.status, row.provider, row.provider_sid) == ("sent", "twilio", message["sid"])


def test_a_signed_delivery_report_marks_the_message_delivered(
    app, client, sms, daytime, twilio_stub, monkeypatch
):
    _, row = thanked(app, client, sms, twilio_stub, monkeypatch)
    form = {"MessageSid": row.provider_sid, "MessageStatus": "delivered", "AccountSid": ACCOUNT_SID}
    assert signed_post(app, client, form).status_code == 204
    db.session.refresh(row)
    assert (row.status, row.provider_status) == ("delivered", "delivered")
    assert row.delivered_at is not None


def test_a_late_sent_report_does_not_undo_delivered(
    app, client, sms, daytime, twilio_stub, monkeypatch
):
    _, row = thanked(app, client, sms, twilio_stub, monkeypatch)
    for status in ("delivered", "sent"):
        form = {"MessageSid": row.provider_sid, "MessageStatus": status}
        assert signed_post(app, client, form).status_code == 204
    db.session.refresh(row)
    assert row.status == "delivered"


def test_an_undelivered_report_is_listed_for_admins(
    app, client, sms, daytime, twilio_stub, monkeypatch
):
    from tests.factories import bearer
    from tests.factories.notifications import admin_token

    _, row = thanked(app, client, sms, twilio_stub, monkeypatch)
    form = {"MessageSid": row.provider_sid, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert signed_post(app, client, form).status_code == 204
    listed = client.get("/api/v1/admin/notifications/failed", headers=bearer(admin_token(client)))
    (item,) = listed.get_json()["items"]
    assert (item["status"], item["error_code"]) == ("undelivered", "twilio:30003")


def test_a_forged_or_unsigned_callback_is_refused_and_changes_nothing(
    app, client, sms, daytime, twilio_stub, monkeypatch
):
    _, row = thanked(app, client, sms, twilio_stub, monkeypatch)
    form = {"MessageSid": row.provider_sid, "MessageStatus": "failed"}
    forged = signed_post(app, client, form, token="not-the-auth-token")
    unsigned = client.post(CALLBACK, data=form)
    assert forged.status_code == unsigned.status_code == 403
    assert forged.get_json()["code"] == "signature_invalid"
    db.session.refresh(row)
    assert row.status == "sent"


def test_a_callback_must_be_a_form_post(app, client, twilio):
    response = client.post(CALLBACK, json={"MessageSid": "SMx", "MessageStatus": "delivered"})
    assert response.status_code == 415


def test_a_callback_for_an_unknown_message_is_acknowledged(app, client, twilio):
    form = {"MessageSid": "SM" + "f" * 32, "MessageStatus": "delivered"}
    assert signed_post(app, client, form).status_code == 204

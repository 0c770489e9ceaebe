"""Templates in Chinese with the signature in 【】, variables checked, length in SMS parts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from notifications.templates import TEMPLATES, TemplateError, render, segments
from tests.factories import bearer
from tests.factories.notifications import admin_token


def test_one_ucs2_part_holds_70_characters_and_each_part_of_a_long_one_67():
    assert segments("血" * 70) == 1
    assert segments("血" * 71) == 2
    assert segments("血" * 134) == 2
    assert segments("血" * 135) == 3
    assert segments("a" * 160) == 1 and segments("a" * 161) == 2  # GSM-7: 160, then 153
    assert segments("😀" * 35) == 1 and segments("😀" * 36) == 2  # outside the BMP: two units


def test_every_template_renders_its_sample_with_the_signature_first(app):
    for code, spec in TEMPLATES.items():
        text = render(code, spec.sample)
        assert text.startswith("【无偿献血】"), code
        assert "{{" not in text and "}}" not in text


def test_a_day_is_today_or_tomorrow_only_counted_from_the_day_the_text_is_sent(app):
    # Issue 12 item 4: a reminder that goes out on the day itself must not say "tomorrow".
    context = {"name": "", "day": date(2027, 3, 10), "time": "09:30", "site": "武林献血屋"}
    on = {day: render("appointment_reminder", context, on=date(2027, 3, day)) for day in (7, 9, 10)}
    assert "提醒您3月10日09:30在武林献血屋" in on[7]
    assert "提醒您明天（3月10日）09:30" in on[9]
    assert "提醒您今天（3月10日）09:30" in on[10] and "明天" not in on[10]
    held = {"name": "", "site": "武林献血屋", "day": date(2027, 3, 10), "time": "09:30"}
    until = datetime(2027, 3, 9, 0, 30, tzinfo=UTC)  # 08:30 Beijing time
    offer = {
        day: render("waitlist_offer", {**held, "until": until}, on=date(2027, 3, day))
        for day in (8, 9)
    }
    assert "保留至3月9日08:30" in offer[8] and "保留至08:30" in offer[9]


def test_a_missing_or_unexpected_variable_is_refused(app):
    with pytest.raises(TemplateError, match="missing"):
        render("thanks", {"name": "张伟", "amount": "400毫升", "number": "X"})
    with pytest.raises(TemplateError, match="unexpected"):
        render("birthday", {"name": "张伟", "age": 36})
    with pytest.raises(TemplateError):
        render("no_such_template", {})


def test_a_signature_not_in_brackets_is_refused(app, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_SIGNATURE", "无偿献血")
    with pytest.raises(TemplateError, match="【】"):
        render("birthday", {"name": ""})


def test_admins_see_each_template_with_its_length_in_parts(client):
    body = client.get(
        "/api/v1/admin/notifications/templates", headers=bearer(admin_token(client))
    ).get_json()
    assert body["signature"] == "【无偿献血】"
    by_code = {item["code"]: item for item in body["items"]}
    assert set(by_code) == set(TEMPLATES)
    thanks = by_code["thanks"]
    assert thanks["segments"] == segments(thanks["sample"]) and thanks["segments"] >= 2
    assert by_code["otp"]["urgent"] and not by_code["otp"]["can_opt_out"]
    assert by_code["appeal"]["can_opt_out"] and by_code["appeal"]["capped"]


@pytest.mark.parametrize(
    "settings,problem",
    [
        ({"SMS_BACKEND": "twilio"}, "TWILIO_ACCOUNT_SID"),
        ({"SMS_BACKEND": "carrier-pigeon"}, "SMS_BACKEND"),
        ({"NOTIFY_DISPATCH": "threads"}, "NOTIFY_DISPATCH"),
        ({"NOTIFY_LEASE_SECONDS": 5}, "NOTIFY_LEASE_SECONDS"),
    ],
)
def test_the_app_refuses_to_start_with_unusable_message_settings(settings, problem):
    from app import create_app
    from core.config import ConfigError

    with pytest.raises(ConfigError, match=problem):
        create_app({"APP_ENV": "testing", **settings})

"""Messages from the calendar: birthdays, the policy's greeting days, reminders (issue 7 item 4)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from appointments import bookings
from certificate.policy import donation_rules
from core import clock
from core.extensions import db
from core.jobs import run_daily_jobs
from core.models import ScheduleRun
from core.policy import policy_for
from notifications.models import OutboxMessage
from notifications.outbox import Draft, write
from notifications.schedules import greet_birthdays, greet_the_day, remind_eligible_again
from tests.factories import donor_record, make_site, resident_id
from tests.factories.appointments import open_day
from tests.factories.notifications import desk, donor_who_gave, local, messages_to, send_due


def rows(template: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.template == template)
            .order_by(OutboxMessage.id)
        )
    )


def book(donor, slot_id: int) -> int:
    """A booking made through appointments' service (the API's tokens would not outlive the
    months these tests move the clock by)."""
    booking = bookings.book(donor, slot_id)
    db.session.commit()
    return booking.id


def gave(client, sms, birth: str, **fields):
    site, token = desk(client)
    return donor_who_gave(client, sms, site, token, id_number=resident_id(birth=birth), **fields)


def test_a_birthday_greeting_goes_at_nine_local_time(client, sms):
    donor, data, _ = gave(client, sms, "19900320", name="周杰")
    with clock.frozen_at(local(date(2027, 3, 20), 0, 10)):
        run_daily_jobs()
        (row,) = rows("birthday")
    assert row.key == f"birthday:{donor.id}:2027"
    with clock.frozen_at(local(date(2027, 3, 20), 8, 59)):
        assert send_due().sent == 0
    with clock.frozen_at(local(date(2027, 3, 20), 9, 0)):
        assert send_due().sent == 1
    (greeting,) = [body for body in messages_to(sms, data) if "生日快乐" in body]
    assert greeting.startswith("【无偿献血】周杰，")


def test_29_february_is_greeted_on_28_february_in_common_years(client, sms):
    # Issue 7: "a 29 February birthday is greeted on 28 February in other years";
    # policies/national.toml greetings.birthday.leap_day_in_common_years = "02-28".
    donor, _, _ = gave(client, sms, "19920229")
    written = {}
    for day in (date(2027, 2, 28), date(2027, 3, 1), date(2028, 2, 28), date(2028, 2, 29)):
        with clock.frozen_at(local(day, 0, 10)):
            written[day] = greet_birthdays(day)
            db.session.commit()
    assert written == {
        date(2027, 2, 28): 1,
        date(2027, 3, 1): 0,
        date(2028, 2, 28): 0,
        date(2028, 2, 29): 1,
    }
    assert [row.key for row in rows("birthday")] == [
        f"birthday:{donor.id}:2027",
        f"birthday:{donor.id}:2028",
    ]


def test_running_the_day_again_writes_nothing_new(client, sms):
    gave(client, sms, "19850704")
    with clock.frozen_at(local(date(2027, 7, 4), 0, 5)):
        first = run_daily_jobs()
        second = run_daily_jobs()
        greet_birthdays(date(2027, 7, 4))  # even a job run by hand again
        db.session.commit()
    assert first["birthdays"] == 1 and second == {}
    assert len(rows("birthday")) == 1
    assert db.session.get(ScheduleRun, ("birthdays", date(2027, 7, 4))).written == 1


def test_a_registered_donor_who_never_gave_gets_no_donor_greeting(client, sms):
    donor_record(client, sms, id_number=resident_id(birth="19910505"))
    with clock.frozen_at(local(date(2027, 5, 5), 0, 5)):
        assert greet_birthdays(date(2027, 5, 5)) == 0


def test_world_blood_donor_day_greets_every_donor_at_nine(client, sms):
    # POLICY.md §5: 14 June, World Blood Donor Day (WHA58.13).
    _, first, _ = gave(client, sms, "19900101")
    _, second, _ = gave(client, sms, "19800101")
    day = date(2027, 6, 14)
    with clock.frozen_at(local(day, 0, 5)):
        assert greet_the_day(day) == 2
        db.session.commit()
    with clock.frozen_at(local(day, 9, 0)):
        assert send_due().sent == 2
    for data in (first, second):
        assert [body for body in messages_to(sms, data) if "世界献血者日" in body]


def test_a_greeting_day_not_sent_by_its_evening_is_never_sent_the_next_day(client, sms):
    # Issue 12 item 4: "今天是世界献血者日" must not go out on 15 June.
    _, data, _ = gave(client, sms, "19900101")
    day = date(2027, 6, 14)
    with clock.frozen_at(local(day, 0, 5)):
        assert greet_the_day(day) == 1
        db.session.commit()
    with clock.frozen_at(local(day + timedelta(days=1), 8, 30)):  # no sweep ran all day
        send_due()
    assert [body for body in messages_to(sms, data) if "世界献血者日" in body] == []
    (row,) = rows("greeting_world_blood_donor_day")
    assert row.status == "expired"


def test_a_greeting_written_in_the_evening_quiet_hours_is_dropped_not_sent_next_morning(
    client, sms
):
    donor, data, _ = gave(client, sms, "19900101")
    day = date(2027, 6, 14)
    with clock.frozen_at(local(day, 22, 30)):
        (row,) = write(
            "greeting_world_blood_donor_day",
            [Draft(key="greeting:late", donor=donor, context={"name": ""})],
        )
        db.session.commit()
    assert (row.status, row.status_reason) == ("skipped", "too_late")
    with clock.frozen_at(local(day + timedelta(days=1), 9, 0)):
        assert send_due().sent == 0
    assert [body for body in messages_to(sms, data) if "世界献血者日" in body] == []


def test_days_the_policy_leaves_open_or_for_volunteers_are_not_sent(client, sms):
    # POLICY.md §5: greetings on 1 October are unverified; 5 December is for volunteer-award
    # holders, and no register of them exists yet.
    gave(client, sms, "19900101")
    greetings = policy_for().section("greetings")
    open_days = {d.code: d for d in greetings.days}
    assert open_days["blood_donation_law_day"].open_question
    for day in (date(2027, 10, 1), date(2027, 12, 5)):
        with clock.frozen_at(local(day, 0, 5)):
            assert greet_the_day(day) == 0


def test_a_donor_may_give_again_and_is_told_once(client, sms):
    # GB 18467-2011: whole blood to whole blood at least 6 months (calendar months).
    donor, data, donation = gave(client, sms, "19900101")
    given = date.fromisoformat(donation["donation_date"])
    interval = donation_rules(policy_for()).min_interval("whole_blood", "whole_blood", given)
    too_soon = interval.add_to(given) - timedelta(days=1)
    with clock.frozen_at(local(too_soon, 6)):
        assert remind_eligible_again(too_soon) == 0
    eligible = interval.add_to(given)
    with clock.frozen_at(local(eligible, 6)):
        assert remind_eligible_again(eligible) == 1
        assert remind_eligible_again(eligible) == 1  # the same row, not a second
        db.session.commit()
    (row,) = rows("eligible_again")
    assert row.key == f"eligible:{donor.id}:{donation['id']}"
    with clock.frozen_at(local(eligible, 9)):
        send_due()
    assert [body for body in messages_to(sms, data) if "可以再次捐献全血" in body]


def test_no_eligible_again_reminder_when_a_booking_exists(client, sms):
    donor, _, donation = gave(client, sms, "19900101")
    given = date.fromisoformat(donation["donation_date"])
    eligible = (
        donation_rules(policy_for()).min_interval("whole_blood", "whole_blood", given).add_to(given)
    )
    with clock.frozen_at(local(eligible, 6)):
        (slot, *_) = open_day(make_site(), eligible + timedelta(days=2))
        book(donor, slot.id)
        assert remind_eligible_again(eligible) == 0


def test_the_day_before_an_appointment_the_donor_is_reminded_once(client, sms):
    donor, data = donor_record(client, sms, name="王芳")
    day = date(2027, 3, 10)
    with clock.frozen_at(local(day - timedelta(days=3), 10)):
        (slot, *_) = open_day(make_site(name="杭州市武林献血屋"), day, opens="09:30")
        booking_id = book(donor, slot.id)
    with clock.frozen_at(local(day - timedelta(days=1), 0, 5)):
        run_daily_jobs()  # the daily pass finds the booking's reminder already written
    (row,) = rows("appointment_reminder")
    assert row.key == f"appointment:{booking_id}"
    with clock.frozen_at(local(day - timedelta(days=1), 9, 59)):
        assert send_due().sent == 0
    with clock.frozen_at(local(day - timedelta(days=1), 10)):
        assert send_due().sent == 1
    (text,) = [body for body in messages_to(sms, data) if "提醒您明天" in body]
    assert "3月10日" in text and "09:30" in text and "杭州市武林献血屋" in text

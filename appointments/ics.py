"""A booking as an iCalendar file (RFC 5545), for the donor's own calendar app.

Times carry TZID=Asia/Shanghai with its VTIMEZONE, the site's address is the LOCATION (and GEO
when the site has coordinates), and the UID is stable, so opening the file again after a change
updates the same event instead of adding another.
"""

from __future__ import annotations

from urllib.parse import urlparse

from flask import current_app
from icalendar import Calendar, Event

from appointments.models import CANCELLED, RESCHEDULED, Booking
from appointments.places import change_until
from certificate.policy import donation_rules
from core import clock
from core.policy import policy_for


def booking_calendar(booking: Booking) -> bytes:
    site, slot = booking.site, booking.slot
    host = urlparse(current_app.config["PUBLIC_BASE_URL"]).hostname or "localhost"
    kind_name = donation_rules(policy_for(site.region)).kind_name(booking.kind)
    until = clock.to_local(change_until(booking)).strftime("%Y-%m-%d %H:%M")
    lines = [
        f"献血类型：{kind_name}",
        f"地址：{site.address}",
        "请携带本人有效身份证件，献血前吃清淡早餐、休息好。",
        f"如需取消或改约，请在 {until} 前在线操作。",
    ]
    if site.phone:
        lines.append(f"联系电话：{site.phone}")
    calendar = Calendar()
    calendar.add("prodid", "-//donor-certificate//appointments//ZH")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"booking-{booking.id}@{host}")
    event.add("dtstamp", clock.now())
    event.add("dtstart", clock.to_local(slot.starts_at))
    event.add("dtend", clock.to_local(slot.ends_at))
    event.add("summary", f"无偿献血预约：{site.name}")
    event.add("location", site.address)
    event.add("description", "\n".join(lines))
    if site.latitude is not None and site.longitude is not None:
        event.add("geo", (site.latitude, site.longitude))
    cancelled = booking.status in (CANCELLED, RESCHEDULED)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("sequence", 1 if cancelled else 0)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()

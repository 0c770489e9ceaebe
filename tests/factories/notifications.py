"""Builders for notification tests: clocks at sensible hours, devices, donors who gave.

Bookings come from the real appointments package (tests/factories/appointments.py), which the
app wires to notifications.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from flask.testing import FlaskClient

from core import auth, clock
from core.extensions import db
from tests.factories import bearer, donor_record, make_site, make_staff, record, staff_token


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return clock.as_utc(datetime.combine(day, time(hour, minute), tzinfo=clock.LOCAL_ZONE))


def recent_local(hour: int) -> datetime:
    """The latest moment at `hour`:00 local that is not in the future (tokens stay valid)."""
    now = clock.local_now()
    day = now.date() if now.hour >= hour else now.date() - timedelta(days=1)
    return local(day, hour)


def admin_token(client: FlaskClient) -> str:
    return staff_token(client, make_staff(admin=True))


def device_token(client: FlaskClient, role: str) -> str:
    device, secret = auth.create_device(role, "血站库存系统")
    db.session.commit()
    response = client.post(
        "/api/v1/auth/device-token", json={"client_id": device.client_id, "client_secret": secret}
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def donor_who_gave(
    client: FlaskClient, sms: list, site: Any, token: str, **overrides: Any
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """A registered donor with one recorded donation: (donor, registration, donation body)."""
    donor, data = donor_record(client, sms, **overrides)
    response = record(client, token, site, data["plain"]["id_number"])
    assert response.status_code == 201, response.get_json()
    return donor, data, response.get_json()


def desk(client: FlaskClient, **site_fields: Any) -> tuple[Any, str]:
    site = make_site(**site_fields)
    return site, staff_token(client, make_staff([site]))


def to(data: dict[str, Any]) -> str:
    return "+86" + data["plain"]["mobile"]


def messages_to(sms: list, data: dict[str, Any]) -> list[str]:
    return [message.body for message in sms if message.to == to(data)]


def auth_headers(data: dict[str, Any]) -> dict[str, str]:
    return bearer(data["tokens"]["access_token"])


def use_twilio(app: Any, stub: Any, monkeypatch: Any) -> None:
    """From here on the app sends through the real twilio client, to the stub."""
    for key, value in stub.settings().items():
        monkeypatch.setitem(app.config, key, value)
    monkeypatch.setitem(app.config, "TWILIO_TIMEOUT_SECONDS", 2)
    app.extensions.pop("sms_backend", None)


def send_due() -> Any:
    """What the worker's sweep does, after ending the test's own transaction (SQLite would
    otherwise keep the sweep's writes waiting on the test's read lock)."""
    from notifications.dispatch import deliver_due

    db.session.commit()
    return deliver_due()

"""SMS backends behind one interface, chosen by the `SMS_BACKEND` setting.

`console` (the default) writes messages to the log for development; `memory` keeps them in a list
for the test suite to read, the way a mail server's spool would be read; `twilio` hands them to
Twilio through its official library.

A backend answers a send in one of three ways: a provider id (accepted), `SendRefused` (the
provider definitely did not take it; `permanent` says whether trying again can help), or
`SendOutcomeUnknown` (a timeout or a broken connection: it may have been taken). After an unknown
outcome the dispatcher asks `find_sent` before it tries again, so a retry never doubles a message
the provider already holds.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import requests
from flask import current_app
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from core.config import ConfigError
from core.masking import mask_mobile

log = logging.getLogger("notifications.sms")

# Twilio's client logs query strings (a recipient's number) at INFO: keep only its warnings.
_twilio_http_log = logging.getLogger("notifications.twilio_http")
_twilio_http_log.setLevel(logging.WARNING)

_NUMBER = re.compile(r"(\+|%2B)86(1\d{2})\d{4}(\d{4})")


class MaskNumbers(logging.Filter):
    """HTTP libraries log request URLs at DEBUG, and a Twilio look-up URL holds a number."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        masked = _NUMBER.sub(r"\2****\3", text)
        if masked != text:
            record.msg, record.args = masked, None
        return True


def _mask_library_logs() -> None:
    for name in ("urllib3.connectionpool", "twilio.http_client", "notifications.twilio_http"):
        logger = logging.getLogger(name)
        if not any(isinstance(item, MaskNumbers) for item in logger.filters):
            logger.addFilter(MaskNumbers())


# The provider's clock and ours may differ; look a little further back than we think we sent.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class SmsMessage:
    to: str  # E.164
    body: str
    key: str | None = None  # the outbox idempotency key
    status_callback: str | None = None


class SendRefused(Exception):
    def __init__(self, code: str, *, permanent: bool) -> None:
        super().__init__(code)
        self.code, self.permanent = code, permanent


class SendOutcomeUnknown(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class SmsBackend(Protocol):
    name: str

    def send(self, message: SmsMessage) -> str:
        """Hand the message over; return the provider's message id."""
        ...

    def find_sent(self, message: SmsMessage, since: datetime) -> list[str]:
        """Provider ids of messages with this recipient and text taken since `since`.

        The caller drops ids it already recorded for other rows. Raises SendOutcomeUnknown when
        the provider cannot be asked right now.
        """
        ...


class ConsoleBackend:
    """Development: the log is the only record, so an unknown outcome is retried (at least once)."""

    name = "console"

    def send(self, message: SmsMessage) -> str:
        log.info("SMS to %s: %s", mask_mobile(message.to), message.body)
        return f"console-{message.key}" if message.key else "console"

    def find_sent(self, message: SmsMessage, since: datetime) -> list[str]:
        return []


class MemoryBackend:
    name = "memory"

    def __init__(self) -> None:
        self.outbox: list[SmsMessage] = []

    def send(self, message: SmsMessage) -> str:
        self.outbox.append(message)
        return f"memory-{len(self.outbox)}"

    def find_sent(self, message: SmsMessage, since: datetime) -> list[str]:
        return [
            f"memory-{index}"
            for index, sent in enumerate(self.outbox, start=1)
            if message.key and sent.key == message.key
        ]


# Twilio error codes that no retry can fix (invalid or unreachable number, opted out, blocked).
TWILIO_PERMANENT_CODES = {21211, 21214, 21408, 21606, 21610, 21612, 21614, 21617, 30004, 30005}


class RewritingHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, pointed at another base URL (a stub on loopback in tests)."""

    HOSTS = ("https://api.twilio.com", "https://messaging.twilio.com")

    def __init__(self, base: str, timeout: float) -> None:
        super().__init__(timeout=timeout, logger=_twilio_http_log)
        self.base = base.rstrip("/")

    def request(self, method: str, url: str, *args, **kwargs):
        if self.base:
            for host in self.HOSTS:
                if url.startswith(host):
                    url = self.base + url[len(host) :]
        return super().request(method, url, *args, **kwargs)


class TwilioBackend:
    """Twilio Programmable Messaging; configured by TWILIO_* settings."""

    name = "twilio"

    def __init__(self, config: dict) -> None:
        sid, token = config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"]
        self.sender = config["TWILIO_FROM"]
        self.service = config["TWILIO_MESSAGING_SERVICE_SID"]
        if not sid or not token or not (self.sender or self.service):
            raise ConfigError(
                "SMS_BACKEND=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
                "TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID"
            )
        self.timeout = config["TWILIO_TIMEOUT_SECONDS"]
        _mask_library_logs()
        http = RewritingHttpClient(config["TWILIO_API_BASE"], self.timeout)
        self.client = Client(sid, token, http_client=http)

    def send(self, message: SmsMessage) -> str:
        options = {"to": message.to, "body": message.body}
        if self.service:
            options["messaging_service_sid"] = self.service
        else:
            options["from_"] = self.sender
        if message.status_callback:
            options["status_callback"] = message.status_callback
        try:
            created = self.client.messages.create(**options)
        except TwilioRestException as error:
            raise _classify(error) from None
        except requests.RequestException as error:
            raise SendOutcomeUnknown(type(error).__name__) from None
        return created.sid

    def find_sent(self, message: SmsMessage, since: datetime) -> list[str]:
        try:
            listed = self.client.messages.list(
                to=message.to, date_sent_after=since - CLOCK_SKEW, limit=50
            )
        except (TwilioRestException, requests.RequestException) as error:
            raise SendOutcomeUnknown(f"lookup:{type(error).__name__}") from None
        return [item.sid for item in listed if item.body == message.body]


def _classify(error) -> Exception:
    status, code = error.status, error.code
    label = f"twilio:{code or status}"
    if status == 429:
        return SendRefused(label, permanent=False)
    if status >= 500:
        return SendOutcomeUnknown(label)
    if status in (401, 403):
        # Our credentials or account, not the message: keep it and try again once fixed.
        return SendRefused(label, permanent=False)
    if code in TWILIO_PERMANENT_CODES or 400 <= status < 500:
        return SendRefused(label, permanent=True)
    return SendOutcomeUnknown(label)


BACKENDS = {"console": ConsoleBackend, "memory": MemoryBackend, "twilio": TwilioBackend}


def sms_backend() -> SmsBackend:
    """The app's backend, created once per app."""
    backend = current_app.extensions.get("sms_backend")
    if backend is None:
        name = current_app.config["SMS_BACKEND"]
        if name not in BACKENDS:
            raise RuntimeError(f"SMS_BACKEND {name!r} is not one of {sorted(BACKENDS)}")
        factory = BACKENDS[name]
        backend = factory(current_app.config) if name == "twilio" else factory()
        current_app.extensions["sms_backend"] = backend
    return backend

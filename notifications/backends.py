"""SMS backends behind one interface, chosen by the `SMS_BACKEND` setting.

`console` (the default) writes messages to the log for development; `memory` keeps them in a list
for the test suite to read, the way a mail server's spool would be read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from flask import current_app

from core.masking import mask_mobile

log = logging.getLogger("notifications.sms")


@dataclass(frozen=True)
class SmsMessage:
    to: str  # E.164
    body: str


class SmsBackend(Protocol):
    def send(self, message: SmsMessage) -> str:
        """Deliver or hand over the message; return the provider's message id."""
        ...


class ConsoleBackend:
    def send(self, message: SmsMessage) -> str:
        log.info("SMS to %s: %s", mask_mobile(message.to), message.body)
        return "console"


class MemoryBackend:
    def __init__(self) -> None:
        self.outbox: list[SmsMessage] = []

    def send(self, message: SmsMessage) -> str:
        self.outbox.append(message)
        return f"memory-{len(self.outbox)}"


BACKENDS = {"console": ConsoleBackend, "memory": MemoryBackend}


def sms_backend() -> SmsBackend:
    """The app's backend, created once per app."""
    backend = current_app.extensions.get("sms_backend")
    if backend is None:
        name = current_app.config["SMS_BACKEND"]
        if name not in BACKENDS:
            raise RuntimeError(f"SMS_BACKEND {name!r} is not one of {sorted(BACKENDS)}")
        backend = current_app.extensions["sms_backend"] = BACKENDS[name]()
    return backend

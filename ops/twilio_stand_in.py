"""A stand-in for Twilio's Messages API on loopback, for the real twilio client to talk to.

It keeps what it was sent (per recipient) and answers like Twilio: POST
/2010-04-01/Accounts/{sid}/Messages.json creates a message, GET lists them filtered by To. A test
can make it refuse (`refuse_next`), fail without recording (`fail_next`), or run a hook when a
message arrives, before answering (how the kill test stops a worker mid-send).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "stub-auth-token-0123456789abcdef"
FROM = "+15005550006"

_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC[0-9a-f]{32})/Messages\.json$")


class TwilioStub:
    def __init__(self) -> None:
        self.messages: list[dict[str, str | None]] = []
        self.requests: list[tuple[str, str]] = []
        self.refusals: list[tuple[int, int]] = []  # (HTTP status, Twilio code) to answer next
        self.failures: list[int] = []  # HTTP statuses to answer next without recording
        self.on_message: Callable[[dict[str, str | None]], None] | None = None
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                return

            def _authorised(self) -> bool:
                expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
                return self.headers.get("Authorization") == f"Basic {expected}"

            def _answer(self, status: int, payload: dict) -> None:
                raw = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except OSError:  # the client died before the answer (the kill test)
                    self.close_connection = True

            def do_POST(self) -> None:
                path = urlparse(self.path).path
                stub.requests.append(("POST", path))
                if not _MESSAGES.match(path) or not self._authorised():
                    return self._answer(401 if _MESSAGES.match(path) else 404, {"status": 401})
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                with stub.lock:
                    if stub.failures:
                        return self._answer(stub.failures.pop(0), {"status": 500, "code": 20500})
                    if stub.refusals:
                        status, code = stub.refusals.pop(0)
                        return self._answer(
                            status, {"status": status, "code": code, "message": "refused"}
                        )
                    message = {
                        "sid": "SM" + uuid.uuid4().hex,
                        "to": form.get("To", ""),
                        "from": form.get("From", ""),
                        "messaging_service_sid": form.get("MessagingServiceSid"),
                        "body": form.get("Body", ""),
                        "status": "queued",
                        "status_callback": form.get("StatusCallback"),
                        "date_created": format_datetime(datetime.now(UTC), usegmt=True),
                        "date_sent": format_datetime(datetime.now(UTC), usegmt=True),
                    }
                    stub.messages.append(message)
                if stub.on_message is not None:
                    stub.on_message(message)
                self._answer(201, {**message, "account_sid": ACCOUNT_SID})

            def do_GET(self) -> None:
                parsed = urlparse(self.path)
                stub.requests.append(("GET", parsed.path))
                if not _MESSAGES.match(parsed.path) or not self._authorised():
                    return self._answer(404, {"status": 404})
                query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
                with stub.lock:
                    found = [m for m in stub.messages if m["to"] == query.get("To", m["to"])]
                self._answer(
                    200,
                    {
                        "messages": list(reversed(found)),
                        "first_page_uri": parsed.path,
                        "next_page_uri": None,
                        "previous_page_uri": None,
                        "page": 0,
                        "page_size": 50,
                        "uri": parsed.path,
                        "start": 0,
                        "end": len(found),
                    },
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> TwilioStub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def per_recipient(self) -> Counter:
        with self.lock:
            return Counter(message["to"] for message in self.messages)

    def sent_to(self, e164: str) -> list[dict[str, str | None]]:
        with self.lock:
            return [message for message in self.messages if message["to"] == e164]

    def settings(self) -> dict[str, str]:
        """The app settings (or environment) that point the Twilio backend at this stub."""
        return {
            "SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM": FROM,
            "TWILIO_API_BASE": self.url,
        }

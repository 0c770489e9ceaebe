"""One logging set-up for the app, the CLI workers and Celery, and the request id in every line.

`LOG_FORMAT=json` (production's default) writes one JSON object per line to the process's
stderr: `time` (UTC, with its zone), `level`, `logger`, `message`, `request_id`, and `exception`
when there is one. `plain` (development and testing) writes the lines the service always wrote,
and, like `logging.basicConfig` before it, leaves alone a process whose logging its host already
set up (pytest's capture). JSON always adds its handler: the processes of production (gunicorn,
`flask`, Celery, which is told not to set up its own) have no other.

The request id names everything one request caused: taken from the request's `X-Request-ID`
when it is a sane token (nginx sets one: README, Operations), made here otherwise, echoed in the
response, and carried into the Celery tasks the request publishes (notifications.tasks), whose
lines then carry it too. Nothing here masks anything: personal data must not be written to a log
in the first place, and a test scans the logs for it.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import Flask, Response, request

LOG_FORMATS = ("plain", "json")
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
REQUEST_ID_HEADER = "X-Request-ID"
# A sane id: what proxies and tracers send (a UUID, nginx's 32 hex digits), nothing that could
# carry a sentence, markup or a line break into the logs.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def new_request_id() -> str:
    return secrets.token_hex(16)


def sane_request_id(candidate: str | None) -> str | None:
    """The candidate when it is a token a log may carry, else None."""
    if candidate and _SANE_REQUEST_ID.fullmatch(candidate):
        return candidate
    return None


def current_request_id() -> str | None:
    return _request_id.get()


@contextmanager
def request_id_bound(request_id: str | None) -> Iterator[str | None]:
    """Every line logged inside carries `request_id` (a worker's round, a Celery task)."""
    token = _request_id.set(request_id)
    try:
        yield request_id
    finally:
        _request_id.reset(token)


def bind_request_id(request_id: str | None) -> None:
    """Set the id until the next call (Celery's prerun and postrun signals come apart)."""
    _request_id.set(request_id)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class _ServiceHandler(logging.StreamHandler):
    """Ours, so that building the app again replaces it instead of adding a second one."""


def configure_logging(log_format: str, level: int | str = logging.INFO) -> None:
    """Set up the process's logging for `log_format`; calling it again replaces its handler."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {LOG_FORMATS}, got {log_format!r}")
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if isinstance(handler, _ServiceHandler)]
    if log_format == "plain" and root.handlers and not ours:
        return
    for handler in ours:
        root.removeHandler(handler)
    # The process's own stderr, not whatever sys.stderr is at the time: Celery swaps in a proxy
    # that logs what is written to it, and a CLI test runner swaps in a buffer of its own.
    handler = _ServiceHandler(sys.__stderr__)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(PLAIN_FORMAT)
    )
    root.addHandler(handler)
    root.setLevel(level)


def _take_request_id() -> None:
    bind_request_id(sane_request_id(request.headers.get(REQUEST_ID_HEADER)) or new_request_id())


def _echo_request_id(response: Response) -> Response:
    request_id = current_request_id()
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    return response


def _forget_request_id(_error: BaseException | None) -> None:
    bind_request_id(None)


def init_app(app: Flask) -> None:
    """First of all (create_app): its hook runs before every other, so that even a request one
    of them refuses carries its id."""
    configure_logging(app.config["LOG_FORMAT"])
    app.before_request(_take_request_id)
    app.after_request(_echo_request_id)
    app.teardown_request(_forget_request_id)

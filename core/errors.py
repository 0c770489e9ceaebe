"""One JSON error shape for the whole service: {code, status, message, errors}.

`code` is a stable string clients branch on; `message` follows Accept-Language (Chinese unless
the caller prefers English); `errors` maps field names to messages. Nothing internal (SQL, stack
traces, personal data) ever reaches the body.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from flask import Flask, has_request_context, request
from flask_smorest import Api
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from core.extensions import db
from core.messages import FIELD_MESSAGE_PREFIXES_ZH, FIELD_MESSAGES_ZH, MESSAGES

log = logging.getLogger(__name__)

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


class ApiError(Exception):
    """Raise from services and routes; the handler turns it into the one error shape."""

    def __init__(
        self,
        code: str,
        status: int = 400,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code)
        if code not in MESSAGES:
            raise KeyError(f"error code {code!r} has no message in core.messages")
        self.code = code
        self.status = status
        self.errors = errors
        self.headers = headers or {}


def prefers_english() -> bool:
    if not has_request_context():
        return False
    return request.accept_languages.best_match(["zh", "en"], default="zh") == "en"


def message_for(code: str) -> str:
    zh, en = MESSAGES.get(code, MESSAGES["bad_request"])
    return en if prefers_english() else zh


class Detail(dict):
    """A structured error detail a client acts on, such as `{code, until}`: rendered as given,
    with the code's message added in the caller's language (never translated in place)."""


def _translate_field_messages(errors: Any) -> Any:
    """Field details may be our codes or marshmallow's English texts; render both."""
    if isinstance(errors, Detail):
        return {**errors, "message": message_for(errors["code"])}
    if isinstance(errors, dict):
        return {key: _translate_field_messages(value) for key, value in errors.items()}
    if isinstance(errors, list):
        return [_translate_field_messages(value) for value in errors]
    if isinstance(errors, str):
        if errors in MESSAGES:
            return message_for(errors)
        return errors if prefers_english() else _field_message_zh(errors)
    return errors


def _field_message_zh(text: str) -> str:
    if text in FIELD_MESSAGES_ZH:
        return FIELD_MESSAGES_ZH[text]
    for prefix, zh in FIELD_MESSAGE_PREFIXES_ZH:
        if text.startswith(prefix):
            return zh + text
    return text


def error_body(code: str, status: int, errors: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "status": status, "message": message_for(code)}
    if errors:
        body["errors"] = _translate_field_messages(errors)
    return body


def _flatten_locations(messages: dict[str, Any]) -> dict[str, Any]:
    """webargs nests field errors under their location; clients want the field names."""
    flat: dict[str, Any] = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            flat.update(fields)
        else:
            flat[location] = fields
    return flat


class ErrorShapingApi(Api):
    """flask-smorest's Api with every HTTP error rendered in our shape."""

    def handle_http_exception(self, error: HTTPException):
        status = error.code or 500
        code = STATUS_CODES.get(status, "bad_request")
        data = getattr(error, "data", None) or {}
        messages = data.get("messages") or data.get("errors")
        errors = _flatten_locations(messages) if isinstance(messages, dict) else None
        if status == 400 and errors and "Invalid JSON body." in str(errors):
            code, errors = "invalid_json", None
        if status == 422 and errors is None:
            errors = {}
        headers = data.get("headers") or {}
        if status == 405 and getattr(error, "valid_methods", None):
            headers = {**headers, "Allow": ", ".join(error.valid_methods)}
        return error_body(code, status, errors), status, headers


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError):
        db.session.rollback()
        return error_body(error.code, error.status, error.errors), error.status, error.headers

    @app.errorhandler(IntegrityError)
    def handle_integrity_error(error: IntegrityError):
        db.session.rollback()
        log.info("integrity conflict: %s", type(error.orig).__name__)
        return error_body("conflict", 409), 409

    @app.errorhandler(OperationalError)
    def handle_database_unavailable(error: OperationalError):
        db.session.rollback()
        log.error("database error: %s", type(error.orig).__name__)
        return error_body("service_unavailable", 503), 503

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        db.session.rollback()
        # The type and traceback only: exception messages may carry values from the request.
        frames = "".join(traceback.format_tb(error.__traceback__))
        log.error("unhandled %s\n%s", type(error).__name__, frames)
        return error_body("internal_error", 500), 500

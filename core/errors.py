"""One JSON error shape for the whole service: {code, status, message, errors}.

`code` is a stable string clients branch on; `message` and the field messages in `errors` are in
one language, the response's (core.i18n: Chinese unless Accept-Language prefers English).
Nothing internal (SQL, stack traces, personal data) ever reaches the body.
"""

from __future__ import annotations

import logging
import traceback
from json import JSONDecodeError
from typing import Any

import click
from flask import Flask
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from flask_smorest import Api
from limits.errors import StorageError
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from core.extensions import db
from core.i18n import Message, _l, environment_language
from core.i18n import prefers_english as prefers_english  # callers import it from here
from core.messages import MESSAGES
from core.policy import PolicyUndecided
from core.schemas import ErrorSchema

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


def message_for(code: str, **values: Any) -> str:
    """The text of an error code in the reader's language (the request's, or the command
    line's), with the values it names."""
    message = MESSAGES.get(code, MESSAGES["bad_request"])
    return message.format(**values).translated()


class Detail(dict):
    """A structured error detail a client acts on, such as `{code, until}`: rendered as given,
    with the code's message added in the caller's language (never translated in place)."""


def rendered_errors(errors: Any) -> Any:
    """Field details as the reader reads them: our codes and catalogue messages, translated.

    marshmallow's own messages are catalogue messages too (core.i18n), so no text is matched.
    A detail that is itself structured keeps its `code` as it is: clients branch on it.
    """
    if isinstance(errors, Detail):
        return {**errors, "message": message_for(errors["code"])}
    if isinstance(errors, dict):
        return {
            key: value if key == "code" else rendered_errors(value) for key, value in errors.items()
        }
    if isinstance(errors, list | tuple):
        return [rendered_errors(value) for value in errors]
    if isinstance(errors, Message):
        return errors.translated()
    if isinstance(errors, str) and errors in MESSAGES:
        return message_for(errors)
    return errors


def error_body(code: str, status: int, errors: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "status": status, "message": message_for(code)}
    if errors:
        body["errors"] = rendered_errors(errors)
    return body


ERROR_LINE = _l("Error: {message}")


class CommandError(click.ClickException):
    """A command-line failure told in one sentence, in the command line's language (core.i18n),
    with exit status 1: an error code of core.messages, or a catalogue message, with its values.

    The text is chosen when raised: by the time click shows it the app context is gone."""

    def __init__(
        self, message: str | Message, errors: dict[str, Any] | None = None, **values: Any
    ) -> None:
        with force_locale(environment_language()):
            chosen = message if isinstance(message, Message) else MESSAGES[message]
            text = chosen.format(**values).translated()
            for field, details in (rendered_errors(errors) or {}).items():
                listed = details if isinstance(details, list) else [details]
                text += f" {field}: {' '.join(str(detail) for detail in listed)}"
            self.line = ERROR_LINE.format(message=text).translated()
        super().__init__(text)

    @classmethod
    def from_api_error(cls, error: ApiError) -> CommandError:
        return cls(error.code, error.errors)

    def show(self, file: Any = None) -> None:
        click.echo(self.line, file=file, err=True)


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
    """flask-smorest's Api with every HTTP error rendered in our shape, and documented in it:
    each operation lists the statuses it can answer (core.docs), with no catch-all `default`."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def handle_http_exception(self, error: HTTPException) -> ResponseReturnValue:
        status = error.code or 500
        code = STATUS_CODES.get(status, "bad_request")
        data = getattr(error, "data", None) or {}
        messages = data.get("messages") or data.get("errors")
        errors = _flatten_locations(messages) if isinstance(messages, dict) else None
        if isinstance(getattr(error, "exc", None), JSONDecodeError | UnicodeDecodeError):
            code, errors = "invalid_json", None
        if status == 422 and errors is None:
            errors = {}
        headers = data.get("headers") or {}
        allowed = getattr(error, "valid_methods", None)
        if status == 405 and allowed:
            headers = {**headers, "Allow": ", ".join(allowed)}
        return error_body(code, status, errors), status, headers


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError) -> ResponseReturnValue:
        db.session.rollback()
        return error_body(error.code, error.status, error.errors), error.status, error.headers

    @app.errorhandler(IntegrityError)
    def handle_integrity_error(error: IntegrityError) -> ResponseReturnValue:
        db.session.rollback()
        log.info("integrity conflict: %s", type(error.orig).__name__)
        return error_body("conflict", 409), 409

    @app.errorhandler(PolicyUndecided)
    def handle_policy_undecided(error: PolicyUndecided) -> ResponseReturnValue:
        """A rule the policies leave open (or no rules at all, on a date before any standard):
        the service cannot answer, and says which rule, as services that catch it do."""
        db.session.rollback()
        log.info("policy undecided: %s", error.rule)
        return error_body("policy_undecided", 409, {"rule": error.rule}), 409

    @app.errorhandler(DataError)
    def handle_unstorable_value(error: DataError) -> ResponseReturnValue:
        """A value the database refuses (too long, out of range): the API's bounds should have
        refused it first, so it is logged, and the caller told as they would have been."""
        db.session.rollback()
        log.warning("value refused by the database: %s", type(error.orig).__name__)
        return error_body("value_not_storable", 422, {}), 422

    @app.errorhandler(OperationalError)
    def handle_database_unavailable(error: OperationalError) -> ResponseReturnValue:
        db.session.rollback()
        log.error("database error: %s", type(error.orig).__name__)
        return error_body("service_unavailable", 503), 503

    @app.errorhandler(StorageError)
    def handle_limits_unavailable(error: StorageError) -> ResponseReturnValue:
        """The limiter's store (Redis) cannot be reached: nothing is checked unlimited."""
        db.session.rollback()
        log.error("limiter store error: %s", type(error.storage_error).__name__)
        return error_body("service_unavailable", 503), 503

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> ResponseReturnValue:
        db.session.rollback()
        # The type and traceback only: exception messages may carry values from the request.
        frames = "".join(traceback.format_tb(error.__traceback__))
        log.error("unhandled %s\n%s", type(error).__name__, frames)
        return error_body("internal_error", 500), 500

"""One language per reader, from the gettext catalogue in translations/ (Flask-Babel).

Texts are English msgids marked with `_l`; translations/zh/LC_MESSAGES/messages.po holds their
Chinese (`scripts/catalogue` extracts, adopts and compiles). A response is Chinese unless its
`Accept-Language` prefers English; a command line is Chinese unless the environment's language
(LANGUAGE, LC_ALL, LC_MESSAGES, LANG: the first one set, as gettext reads them) starts with `en`.

marshmallow's and webargs' stock messages are replaced here, class by class, with catalogue
messages: fields and validators hand them their figures through `format()`, and the text is
chosen only when the response is written, so "must be at most 100" reaches each reader in their
own language with its number, and nothing needs to recognise library texts afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
import webargs.core
from flask import Flask, has_request_context, request
from flask_babel import Babel, force_locale, get_locale, gettext, refresh
from marshmallow import fields, validate

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
ENVIRONMENT_LANGUAGE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

babel = Babel()


class _KeepUnknown(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(text: str, values: Mapping[str, Any]) -> str:
    if not values:
        return text
    try:
        return text.format_map(_KeepUnknown(values))
    except (ValueError, IndexError, AttributeError):
        return text


class Message(str):
    """A catalogue message and the values it names, translated when it is written out.

    It is a `str` (its English text) so that marshmallow handles it as one message; `format()`
    binds values rather than filling them in, which is how fields and validators pass their
    figures ("{max}") to a message without fixing its language.
    """

    msgid: str
    values: dict[str, Any]

    def __new__(cls, msgid: str, values: Mapping[str, Any] | None = None) -> Message:
        bound = dict(values or {})
        message = super().__new__(cls, _fill(msgid, bound))
        message.msgid = msgid
        message.values = bound
        return message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.msgid, self.values))

    def format(self, *args: Any, **values: Any) -> Message:
        # marshmallow offers the raw input too; no text shows it, so it is not kept.
        values.pop("input", None)
        return type(self)(self.msgid, {**self.values, **values})

    def translated(self) -> str:
        """The text in the current reader's language, with its values (messages among them
        translated too)."""
        values = {
            name: value.translated() if isinstance(value, Message) else value
            for name, value in self.values.items()
        }
        return _fill(gettext(self.msgid), values)


def _l(msgid: str) -> Message:
    """Mark an English text for the catalogue; it is translated when it is written out."""
    return Message(msgid)


# ---------------------------------------------------------------- choosing the language


def environment_language(environ: Mapping[str, str] | None = None) -> str:
    """The command line's language: English only when the environment asks for it."""
    environ = os.environ if environ is None else environ
    for name in ENVIRONMENT_LANGUAGE_VARIABLES:
        value = environ.get(name)
        if value:
            return "en" if value.lower().startswith("en") else DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def select_locale() -> str:
    if has_request_context():
        return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)
    return environment_language()


def prefers_english() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "en"


def for_command_line(message: Message, **values: Any) -> str:
    """A text in the command line's language, whatever a request chose before in this context."""
    with force_locale(environment_language()):
        return message.format(**values).translated()


def init_app(app: Flask) -> None:
    babel.init_app(app, default_locale=DEFAULT_LANGUAGE, locale_selector=select_locale)
    # Flask-Babel keeps the chosen locale in `g`, which a request shares with an application
    # context already open around it (a test, a CLI command making requests): choose afresh.
    app.before_request(refresh)
    app.teardown_request(lambda _error: refresh())


# ---------------------------------------------------------------- marshmallow and webargs

FIELD_MESSAGES: dict[type[fields.Field], dict[str, Message]] = {
    fields.Field: {
        "required": _l("This field is required."),
        "null": _l("This field may not be empty."),
        "validator_failed": _l("Invalid value."),
    },
    fields.Nested: {"type": _l("The value has the wrong type.")},
    fields.List: {"invalid": _l("Must be a list.")},
    fields.Tuple: {"invalid": _l("Must be a list of fixed length.")},
    fields.String: {
        "invalid": _l("Must be a string."),
        "invalid_utf8": _l("Must be valid UTF-8 text."),
    },
    fields.Url: {"invalid": _l("Must be a valid URL.")},
    fields.Email: {"invalid": _l("Must be a valid email address.")},
    fields.UUID: {"invalid_uuid": _l("Must be a valid UUID.")},
    fields.Number: {
        "invalid": _l("Must be a number."),
        "too_large": _l("The number is too large."),
    },
    fields.Integer: {"invalid": _l("Must be a whole number.")},
    fields.Float: {"special": _l("Must be a finite number (not NaN or infinity).")},
    fields.Decimal: {"special": _l("Must be a finite number (not NaN or infinity).")},
    fields.Boolean: {"invalid": _l("Must be true or false.")},
    fields.DateTime: {
        "invalid": _l("Must be a date and time (ISO 8601, e.g. 2026-11-23T09:30:00+08:00)."),
        "invalid_awareness": _l("The time zone is missing or not allowed here."),
        "format": _l("This value cannot be written out."),
    },
    fields.Date: {
        "invalid": _l("Must be a date (YYYY-MM-DD)."),
        "invalid_awareness": _l("The time zone is missing or not allowed here."),
        "format": _l("This value cannot be written out."),
    },
    fields.Time: {
        "invalid": _l("Must be a time (HH:MM)."),
        "invalid_awareness": _l("The time zone is missing or not allowed here."),
        "format": _l("This value cannot be written out."),
    },
    fields.TimeDelta: {
        "invalid": _l("Must be a period of time."),
        "format": _l("This value cannot be written out."),
    },
    fields.Mapping: {"invalid": _l("Must be an object.")},
    fields.IP: {"invalid_ip": _l("Must be a valid IP address.")},
    fields.IPv4: {"invalid_ip": _l("Must be a valid IPv4 address.")},
    fields.IPv6: {"invalid_ip": _l("Must be a valid IPv6 address.")},
    fields.IPInterface: {"invalid_ip_interface": _l("Must be a valid IP interface.")},
    fields.IPv4Interface: {"invalid_ip_interface": _l("Must be a valid IPv4 interface.")},
    fields.IPv6Interface: {"invalid_ip_interface": _l("Must be a valid IPv6 interface.")},
    fields.Enum: {"unknown": _l("Must be one of: {choices}.")},
}

SCHEMA_MESSAGES = {"type": _l("Must be an object."), "unknown": _l("Unknown field.")}

VALIDATOR_MESSAGES: dict[type[validate.Validator], Message] = {
    validate.URL: _l("Must be a valid URL."),
    validate.Email: _l("Must be a valid email address."),
    validate.Equal: _l("Must be equal to {other}."),
    validate.Regexp: _l("The format is not valid."),
    validate.Predicate: _l("Invalid value."),
    validate.NoneOf: _l("This value is not allowed."),
    validate.OneOf: _l("Must be one of: {choices}."),
    validate.ContainsOnly: _l("Each item must be one of: {choices}."),
    validate.ContainsNoneOf: _l("Must not include: {values}."),
}

AT_LEAST = _l("Must be at least {min}.")
MORE_THAN = _l("Must be more than {min}.")
AT_MOST = _l("Must be at most {max}.")
LESS_THAN = _l("Must be less than {max}.")
NOT_EMPTY = _l("Must not be empty.")
CHARACTERS_AT_LEAST = _l("Must be at least {min} characters long.")
CHARACTERS_AT_MOST = _l("Must be at most {max} characters long.")
CHARACTERS_EXACTLY = _l("Must be exactly {equal} characters long.")
ITEMS_AT_LEAST = _l("Must have at least {min} items.")
ITEMS_AT_MOST = _l("Must have at most {max} items.")
ITEMS_EXACTLY = _l("Must have exactly {equal} items.")
OUT_OF_RANGE = _l("The value is out of range.")
WRONG_LENGTH = _l("The length is not allowed.")


class RangeMessage(Message):
    """Range builds its texts from fragments ("greater than or equal to"), which translate
    badly; its fragments here name the case, and the sentence is chosen once the value is known:
    1000 against 1..100 reads "must be at most 100", not both bounds."""

    def format(self, *args: Any, **values: Any) -> Message:
        bound = {**self.values, **values}
        if "input" not in bound:
            return RangeMessage(self.msgid, bound)
        value, low, high = bound["input"], bound.get("min"), bound.get("max")
        exclusive_low = bound.get("min_op") == "gt"
        if low is not None and (value < low or (exclusive_low and value == low)):
            return (MORE_THAN if exclusive_low else AT_LEAST).format(min=low)
        exclusive_high = bound.get("max_op") == "lt"
        return (LESS_THAN if exclusive_high else AT_MOST).format(max=high)


class LengthMessage(Message):
    """Length's texts, chosen by what failed, and worded for text or for lists."""

    def format(self, *args: Any, **values: Any) -> Message:
        bound = {**self.values, **values}
        if "input" not in bound:
            return LengthMessage(self.msgid, bound)
        value, low, high, equal = (
            bound["input"],
            bound.get("min"),
            bound.get("max"),
            bound.get("equal"),
        )
        text = isinstance(value, str | bytes)
        if equal is not None:
            return (CHARACTERS_EXACTLY if text else ITEMS_EXACTLY).format(equal=equal)
        if low is not None and len(value) < low:
            if low == 1:
                return NOT_EMPTY
            return (CHARACTERS_AT_LEAST if text else ITEMS_AT_LEAST).format(min=low)
        return (CHARACTERS_AT_MOST if text else ITEMS_AT_MOST).format(max=high)


def install_marshmallow_messages() -> None:
    """Make catalogue messages the defaults of every marshmallow field, schema and validator.

    Fields copy their class's messages when they are created, so this runs when `core` is first
    imported, before any schema is defined (core/__init__.py).
    """
    for field_class, messages in FIELD_MESSAGES.items():
        field_class.default_error_messages = {
            **field_class.__dict__.get("default_error_messages", {}),
            **messages,
        }
    ma.Schema.error_messages = {**ma.Schema.error_messages, **SCHEMA_MESSAGES}
    for validator_class, message in VALIDATOR_MESSAGES.items():
        validator_class.default_message = message  # type: ignore[attr-defined]  # each subclass has one
    validate.Range.message_gte, validate.Range.message_gt = "gte", "gt"
    validate.Range.message_lte, validate.Range.message_lt = "lte", "lt"
    range_message = RangeMessage(OUT_OF_RANGE.msgid)
    validate.Range.message_min = validate.Range.message_max = range_message
    validate.Range.message_all = range_message
    length_message = LengthMessage(WRONG_LENGTH.msgid)
    validate.Length.message_min = validate.Length.message_max = length_message
    validate.Length.message_all = validate.Length.message_equal = length_message
    webargs.core.Parser.DEFAULT_VALIDATION_MESSAGE = _l("Invalid value.")

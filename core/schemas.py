"""Schema building blocks: strict bases, aware times, bounded numbers, pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from werkzeug.datastructures import FileStorage

from core import clock
from core.i18n import _l

MAX_PER_PAGE = 100

# The largest value an id column holds (INTEGER on both databases: 32 bits, signed). A number
# past it names no row; sent to the database it overflows the driver instead.
LARGEST_ID = 2**31 - 1


class StrictSchema(ma.Schema):
    """Unknown fields are an error, so a typo never silently drops data."""

    class Meta:
        unknown = ma.RAISE


# The days the API takes: no donor, donation or rule of this service falls outside them, and
# every date sum the rules make from them (a deferral's end, a week ahead) stays a valid date.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2200, 12, 31)
OUT_OF_DATE_RANGE = _l("Must be a date from {earliest} to {latest}.")


class Date(fields.Date):
    """A calendar day from EARLIEST_DATE to LATEST_DATE (narrower where a field says so)."""

    default_error_messages = {"range": OUT_OF_DATE_RANGE}

    def __init__(
        self, *, earliest: date = EARLIEST_DATE, latest: date = LATEST_DATE, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.earliest, self.latest = earliest, latest

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> date:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if not self.earliest <= parsed <= self.latest:
            raise self.make_error(
                "range", earliest=self.earliest.isoformat(), latest=self.latest.isoformat()
            )
        return parsed


class LocalDateTime(fields.DateTime):
    """Serialises in the service's time zone (+08:00); accepts any offset, refuses naive input
    and a moment whose day is outside EARLIEST_DATE..LATEST_DATE (year 1 in UTC does not exist)."""

    default_error_messages = {"range": OUT_OF_DATE_RANGE}

    def _serialize(self, value: datetime | None, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return clock.to_local(value).isoformat()

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is None:
            raise ma.ValidationError("naive_datetime")
        if not EARLIEST_DATE <= parsed.date() <= LATEST_DATE:
            raise self.make_error(
                "range", earliest=EARLIEST_DATE.isoformat(), latest=LATEST_DATE.isoformat()
            )
        return clock.as_utc(parsed)


def bounded_int(low: int, high: int, *, strict: bool = True, **kwargs: Any) -> fields.Integer:
    """Every integer from a client has a range: no huge numbers reach the database.

    JSON bodies are strict (`"5"` is not 5); query strings are text, so they are not.
    """
    return fields.Integer(strict=strict, validate=validate.Range(min=low, max=high), **kwargs)


class ErrorSchema(ma.Schema):
    """The one error shape (core.errors): the body of every 4xx and 5xx answer."""

    code = fields.String(
        required=True, metadata={"description": "a stable error code, for clients to branch on"}
    )
    status = fields.Integer(required=True, metadata={"description": "the HTTP status, repeated"})
    message = fields.String(
        required=True, metadata={"description": "one sentence in the response's language"}
    )
    errors = fields.Dict(
        metadata={
            "description": "what failed: messages by field, or a structured detail (a rule, "
            "reasons with their codes)"
        }
    )


class PageQuerySchema(StrictSchema):
    page = bounded_int(1, 1_000_000, strict=False, load_default=1)
    per_page = bounded_int(1, MAX_PER_PAGE, strict=False, load_default=20)


class PageMetaSchema(ma.Schema):
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


def page_of(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A response schema `{items: [...], page: {...}}` for a list endpoint."""
    return ma.Schema.from_dict(
        {"items": fields.List(fields.Nested(item_schema)), "page": fields.Nested(PageMetaSchema)},
        name=name,
    )


class TokenPairSchema(ma.Schema):
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()


class MessageSchema(ma.Schema):
    code = fields.String()
    message = fields.String()


def computed(field: fields.Field, compute: Callable[[Any], Any]) -> fields.Field:
    """`field` with its value computed from the object the schema dumps, so a schema reads the
    model and no view builds a dict for it. Unlike `fields.Function`, the field keeps its type
    and stays writable in the API document."""

    def value(obj: Any, attr: str, accessor: Any = None, default: Any = ma.missing) -> Any:
        return compute(obj)

    field.get_value = value  # type: ignore[method-assign]
    return field


class FileField(fields.Field):
    """A file part of a multipart body, read to bytes (the service checks them: donors.documents);
    a text field in its place is refused."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"type": "string", "format": "binary", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bytes:
        if not isinstance(value, FileStorage):
            raise ma.ValidationError("field_required")
        return value.read()

"""Schema building blocks: strict bases, aware times, bounded numbers, pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from core import clock

MAX_PER_PAGE = 100

# The largest value an id column holds (INTEGER on both databases: 32 bits, signed). A number
# past it names no row; sent to the database it overflows the driver instead.
LARGEST_ID = 2**31 - 1


class StrictSchema(ma.Schema):
    """Unknown fields are an error, so a typo never silently drops data."""

    class Meta:
        unknown = ma.RAISE


class LocalDateTime(fields.DateTime):
    """Serialises in the service's time zone (+08:00); accepts any offset, refuses naive input."""

    def _serialize(self, value: datetime | None, attr: Any, obj: Any, **kwargs: Any):
        if value is None:
            return None
        return clock.to_local(value).isoformat()

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is None:
            raise ma.ValidationError("naive_datetime")
        return clock.as_utc(parsed)


def bounded_int(low: int, high: int, *, strict: bool = True, **kwargs: Any) -> fields.Integer:
    """Every integer from a client has a range: no huge numbers reach the database.

    JSON bodies are strict (`"5"` is not 5); query strings are text, so they are not.
    """
    return fields.Integer(strict=strict, validate=validate.Range(min=low, max=high), **kwargs)


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

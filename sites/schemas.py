"""Shapes of sites and staff in requests and responses."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from marshmallow import fields, validate

from core.schemas import LocalDateTime, PageQuerySchema, StrictSchema, page_of
from sites.models import SITE_KINDS
from sites.services import is_facility_code

TIME_OF_DAY = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
HH_MM = {"maxLength": 5}  # the pattern's length, for the API document


class OpeningHoursSchema(StrictSchema):
    weekday = fields.Integer(
        strict=True,
        required=True,
        validate=validate.Range(1, 7),
        metadata={"description": "ISO weekday: 1 = Monday … 7 = Sunday"},
    )
    opens = fields.String(required=True, validate=validate.Regexp(TIME_OF_DAY), metadata=HH_MM)
    closes = fields.String(required=True, validate=validate.Regexp(TIME_OF_DAY), metadata=HH_MM)

    @ma.validates_schema
    def opens_before_closes(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["opens"] >= data["closes"]:
            raise ma.ValidationError("closes_before_opens", "closes")


def _facility_code(value: str) -> None:
    if not is_facility_code(value):
        raise ma.ValidationError("facility_code_format")


def _site_fields(*, creating: bool) -> dict[str, fields.Field]:
    """Create requires the essentials and fills defaults; update takes any subset, no defaults."""
    required: dict[str, Any] = {"required": True} if creating else {}

    def default(value: Any) -> dict[str, Any]:
        return {"load_default": value} if creating else {}

    return {
        "facility_code": fields.String(
            validate=_facility_code,
            metadata={
                "description": "ISBT 128 Facility Identification Number",
                "example": "W1234",
                "maxLength": 5,
            },
            **required,
        ),
        "name": fields.String(validate=validate.Length(min=1, max=200), **required),
        "kind": fields.String(validate=validate.OneOf(SITE_KINDS), **required),
        "address": fields.String(validate=validate.Length(min=1, max=300), **required),
        "city": fields.String(validate=validate.Length(min=1, max=64), **required),
        "region": fields.String(
            validate=validate.Length(min=1, max=32),
            metadata={"description": "a region with a policy (default: the service's default)"},
            **default(lambda: current_app.config["DEFAULT_REGION"]),
        ),
        "latitude": fields.Float(
            validate=validate.Range(-90, 90), allow_none=True, allow_nan=False
        ),
        "longitude": fields.Float(
            validate=validate.Range(-180, 180), allow_none=True, allow_nan=False
        ),
        "phone": fields.String(validate=validate.Length(max=32), allow_none=True),
        "opening_hours": fields.List(
            fields.Nested(OpeningHoursSchema), validate=validate.Length(max=50), **default(list)
        ),
        "active": fields.Boolean(**default(True)),
    }


SiteWriteSchema = StrictSchema.from_dict(_site_fields(creating=True), name="SiteWrite")
SiteUpdateSchema = StrictSchema.from_dict(_site_fields(creating=False), name="SiteUpdate")


class SiteSchema(ma.Schema):
    id = fields.Integer()
    facility_code = fields.String()
    name = fields.String()
    kind = fields.String()
    address = fields.String()
    city = fields.String()
    region = fields.String()
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    phone = fields.String(allow_none=True)
    opening_hours = fields.List(fields.Nested(OpeningHoursSchema))
    notice = fields.String(allow_none=True)
    active = fields.Boolean()


class SiteAdminSchema(SiteSchema):
    created_at = LocalDateTime()
    updated_at = LocalDateTime(allow_none=True)


class SiteQuerySchema(PageQuerySchema):
    city = fields.String(validate=validate.Length(min=1, max=64))
    kind = fields.String(validate=validate.OneOf(SITE_KINDS))


class AdminSiteQuerySchema(SiteQuerySchema):
    include_inactive = fields.Boolean(load_default=False)


SitePageSchema = page_of(SiteSchema, "SitePage")
SiteAdminPageSchema = page_of(SiteAdminSchema, "SiteAdminPage")


class NoticeSchema(StrictSchema):
    notice = fields.String(required=True, allow_none=True, validate=validate.Length(max=500))


class StaffLoginSchema(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class StaffProfileSchema(ma.Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    sites = fields.List(fields.Nested(SiteSchema))


class StaffUnlockSchema(StrictSchema):
    reason = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "why, for the audit log (who asked, how they were checked)"},
    )


class StaffUnlockedSchema(ma.Schema):
    id = fields.Integer()
    username = fields.String()
    was_locked = fields.Boolean(
        metadata={"description": "whether the account was locked (its failures are forgotten)"}
    )

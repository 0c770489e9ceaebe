"""Shapes of points, the souvenir store, its redemptions and the monthly points report."""

from __future__ import annotations

from datetime import date
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from core.extensions import db
from core.masking import mask_name
from core.schemas import (
    LARGEST_ID,
    Date,
    LocalDateTime,
    PageQuerySchema,
    StrictSchema,
    bounded_int,
    computed,
    page_of,
)
from donors.models import Donor
from rewards.models import CAUSES, FULFILMENTS, ORDER_STATUSES, Redemption

ID = (1, LARGEST_ID)
MAX_POINTS = 1_000_000
REASON = fields.String(required=True, validate=validate.Length(min=2, max=500))


# ---------------------------------------------------------------- points


class PointsBalanceSchema(ma.Schema):
    """The donor's points (rewards.points.Balance)."""

    points = fields.Integer(metadata={"description": "the balance: the sum of the ledger"})
    next_expiry_points = fields.Integer(allow_none=True)
    next_expiry_on = Date(
        allow_none=True, metadata={"description": "the first day those points are gone"}
    )


class PointsEntrySchema(ma.Schema):
    id = fields.Integer()
    amount = fields.Integer(metadata={"description": "points added (positive) or taken"})
    cause = fields.String(metadata={"description": " | ".join(CAUSES)})
    cause_id = fields.Integer(allow_none=True)
    earned_on = Date(allow_none=True)
    expires_on = Date(allow_none=True, metadata={"description": "a lot is gone from this day"})
    note = fields.String(allow_none=True)
    created_at = LocalDateTime()


PointsEntryPageSchema = page_of(PointsEntrySchema, "PointsEntryPage")


class VolunteerHoursSchema(StrictSchema):
    served_on = Date(required=True)
    minutes = bounded_int(
        1, 24 * 60, required=True, metadata={"description": "minutes served that day"}
    )
    reason = REASON


class VolunteerServiceSchema(ma.Schema):
    id = fields.Integer()
    served_on = Date()
    minutes = fields.Integer()
    reason = fields.String()
    recorded_at = LocalDateTime()


class VolunteerResultSchema(ma.Schema):
    service = fields.Nested(VolunteerServiceSchema)
    entry = fields.Nested(PointsEntrySchema, allow_none=True)


class AdjustmentSchema(StrictSchema):
    points = bounded_int(
        -MAX_POINTS,
        MAX_POINTS,
        required=True,
        metadata={"description": "points added (positive) or taken (negative); not zero"},
    )
    reason = REASON

    @ma.validates("points")
    def _not_zero(self, value: int, **_: object) -> None:
        if value == 0:
            raise ma.ValidationError("points_zero")


# ---------------------------------------------------------------- the catalogue


class StoreItemSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String(allow_none=True)
    picture_url = fields.String(allow_none=True)
    price = fields.Integer(metadata={"description": "in points"})
    stock = fields.Integer()
    fulfilment = fields.String(metadata={"description": "pickup or delivery"})
    site_ids = fields.List(fields.Integer(), metadata={"description": "pick-up sites"})
    active = fields.Boolean()
    retired_at = LocalDateTime(allow_none=True)


StoreItemPageSchema = page_of(StoreItemSchema, "StoreItemPage")

PICTURE_URL = fields.Url(schemes={"https"}, allow_none=True, validate=validate.Length(max=500))


class StoreItemCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(allow_none=True, validate=validate.Length(max=2000))
    picture_url = PICTURE_URL
    price = bounded_int(1, MAX_POINTS, required=True)
    stock = bounded_int(0, 1_000_000, required=True)
    fulfilment = fields.String(required=True, validate=validate.OneOf(FULFILMENTS))
    site_ids = fields.List(bounded_int(*ID), load_default=list, validate=validate.Length(max=200))


class StoreItemUpdateSchema(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(allow_none=True, validate=validate.Length(max=2000))
    picture_url = PICTURE_URL
    price = bounded_int(1, MAX_POINTS)
    stock = bounded_int(0, 1_000_000)
    site_ids = fields.List(bounded_int(*ID), validate=validate.Length(max=200))


class CatalogQuerySchema(PageQuerySchema):
    include_retired = fields.Boolean(load_default=False)


# ---------------------------------------------------------------- redemptions


class RedemptionCreateSchema(StrictSchema):
    item_id = bounded_int(*ID, required=True)
    quantity = bounded_int(1, 10, load_default=1)
    site_id = bounded_int(*ID, allow_none=True, metadata={"description": "pick-up items"})
    delivery_address = fields.String(
        allow_none=True,
        validate=validate.Length(min=5, max=300),
        metadata={"description": "delivered items"},
    )


def _masked_address(order: Redemption) -> str | None:
    address = order.delivery_address
    return None if address is None else address[:6] + "…"


class RedemptionSchema(ma.Schema):
    id = fields.Integer()
    item_id = fields.Integer()
    item_name = fields.String(attribute="item.name")
    quantity = fields.Integer()
    points = fields.Integer()
    status = fields.String(metadata={"description": " | ".join(ORDER_STATUSES)})
    site_id = fields.Integer(allow_none=True)
    delivery_address = computed(
        fields.String(allow_none=True, metadata={"description": "masked"}), _masked_address
    )
    tracking_number = fields.String(allow_none=True)
    placed_at = LocalDateTime()
    ready_at = LocalDateTime(allow_none=True)
    collected_at = LocalDateTime(allow_none=True)
    shipped_at = LocalDateTime(allow_none=True)
    cancelled_at = LocalDateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)


RedemptionPageSchema = page_of(RedemptionSchema, "RedemptionPage")


class SiteRedemptionQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(ORDER_STATUSES))


class RedemptionQuerySchema(SiteRedemptionQuerySchema):
    site_id = bounded_int(*ID, strict=False)


class DonorCancelSchema(StrictSchema):
    reason = fields.String(validate=validate.Length(max=500), load_default="donor cancelled")


class CancelSchema(StrictSchema):
    reason = REASON


class ShipSchema(StrictSchema):
    tracking_number = fields.String(allow_none=True, validate=validate.Length(max=64))


class PickupCodeSchema(ma.Schema):
    code = fields.String(metadata={"description": "what the QR code holds (compact JWS)"})
    expires_at = LocalDateTime()
    expires_in = fields.Integer(metadata={"description": "seconds; fetch a new code before"})


class HandoverSchema(StrictSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class HandoverResultSchema(RedemptionSchema):
    donor_name = computed(
        fields.String(allow_none=True, metadata={"description": "masked: surname only"}),
        lambda order: mask_name(db.session.get_one(Donor, order.donor_id).name),
    )


# ---------------------------------------------------------------- the monthly report


class MonthQuerySchema(StrictSchema):
    month = fields.String(
        required=True,
        validate=[validate.Length(equal=7), validate.Regexp(r"^20\d\d-(0[1-9]|1[0-2])$")],
        metadata={"description": "YYYY-MM, a Beijing calendar month"},
    )

    @ma.post_load
    def _first_day(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        year, month = data["month"].split("-")
        return {**data, "month": date(int(year), int(month), 1)}


class SiteOrdersSchema(ma.Schema):
    site_id = fields.Integer(allow_none=True, metadata={"description": "none: delivered"})
    site_name = fields.String(allow_none=True)
    orders = fields.Integer()
    points = fields.Integer()
    collected = fields.Integer()
    shipped = fields.Integer()
    cancelled = fields.Integer()


class MonthReportSchema(ma.Schema):
    month = fields.String()
    issued = fields.Integer(metadata={"description": "earned by donations, forms, volunteering"})
    reversed = fields.Integer(metadata={"description": "taken back from voided donations"})
    spent = fields.Integer()
    refunded = fields.Integer()
    expired = fields.Integer()
    adjusted_up = fields.Integer()
    adjusted_down = fields.Integer()
    by_cause = fields.Dict(keys=fields.String(), values=fields.Integer())
    orders_by_site = fields.List(fields.Nested(SiteOrdersSchema))

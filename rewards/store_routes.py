"""Routes: donors' points and the souvenir store; staff hand over orders; admins keep the
catalogue, record volunteer hours, adjust points and read the monthly report."""

from __future__ import annotations

from typing import Any

from flask import Response

from core.auth import ADMIN, DONOR, STAFF, caller, roles_required
from core.docs import answers
from core.extensions import db
from core.http import Blueprint
from core.idempotency import idempotent
from core.pagination import paginate
from core.qr import NO_STORE
from core.requests import current_donor
from donors import services as donor_services
from rewards import points, reports, store
from rewards import store_schemas as schemas

store_bp = Blueprint(
    "points", __name__, description="Points (a ledger) and the souvenir store they are spent in"
)


# ---------------------------------------------------------------- donors: points


@store_bp.get("/me/points")
@roles_required(DONOR)
@store_bp.response(200, schemas.PointsBalanceSchema)
def my_points():
    """The points balance, and how many expire next and on which day."""
    return points.balance(current_donor())


@store_bp.get("/me/points/ledger")
@roles_required(DONOR)
@store_bp.arguments(schemas.PageQuerySchema, location="query")
@store_bp.response(200, schemas.PointsEntryPageSchema)
def my_points_ledger(query: dict[str, Any]):
    """Every change of the donor's points with its cause, newest first."""
    return paginate(points.ledger_query(current_donor()), query["page"], query["per_page"])


# ---------------------------------------------------------------- donors: the store


@store_bp.get("/rewards/catalog")
@roles_required(DONOR, STAFF, ADMIN)
@store_bp.arguments(schemas.PageQuerySchema, location="query")
@store_bp.response(200, schemas.StoreItemPageSchema)
def catalog(query: dict[str, Any]):
    """The souvenirs on offer, with their price in points and the stock left."""
    return paginate(store.items_query(active_only=True), query["page"], query["per_page"])


@store_bp.post("/me/redemptions")
@roles_required(DONOR)
@idempotent
@store_bp.arguments(schemas.RedemptionCreateSchema)
@store_bp.response(201, schemas.RedemptionSchema)
@answers(404, 409, 422)
def redeem(body: dict[str, Any]):
    """Redeem points for a souvenir (send an Idempotency-Key): points and stock move together."""
    return store.redeem(
        current_donor(),
        body["item_id"],
        body["quantity"],
        body.get("site_id"),
        body.get("delivery_address"),
    ), 201


@store_bp.get("/me/redemptions")
@roles_required(DONOR)
@store_bp.arguments(schemas.PageQuerySchema, location="query")
@store_bp.response(200, schemas.RedemptionPageSchema)
def my_redemptions(query: dict[str, Any]):
    """The donor's orders, newest first."""
    select = store.donor_redemptions_query(current_donor())
    return paginate(select, query["page"], query["per_page"])


@store_bp.post("/me/redemptions/<int:order_id>/cancel")
@roles_required(DONOR)
@store_bp.arguments(schemas.DonorCancelSchema)
@store_bp.response(200, schemas.RedemptionSchema)
@answers(409)
def cancel_my_redemption(body: dict[str, Any], order_id: int):
    """Cancel an order still placed: the points come back, and so does the stock."""
    order = store.donor_redemption(current_donor(), order_id)
    store.cancel(order, body["reason"], caller())
    db.session.commit()
    return order


@store_bp.get("/me/redemptions/<int:order_id>/code")
@roles_required(DONOR)
@store_bp.response(200, schemas.PickupCodeSchema)
@answers(409)
def my_pickup_code(order_id: int):
    """The order's pick-up code (short-lived, signed) for the app to draw as a QR code."""
    order = store.donor_redemption(current_donor(), order_id)
    return store.pickup_code(order), 200, NO_STORE


# ---------------------------------------------------------------- staff at the sites


@store_bp.post("/staff/redemptions/handover")
@roles_required(STAFF, ADMIN)
@store_bp.arguments(schemas.HandoverSchema)
@store_bp.response(200, schemas.HandoverResultSchema)
@answers(403, 409, 422)
def hand_over(body: dict[str, Any]):
    """Scan a donor's pick-up code at the site: the order is collected."""
    order = store.hand_over(body["code"], caller())
    db.session.commit()
    return order


@store_bp.get("/staff/sites/<int:site_id>/redemptions")
@roles_required(STAFF, ADMIN)
@store_bp.arguments(schemas.SiteRedemptionQuerySchema, location="query")
@store_bp.response(200, schemas.RedemptionPageSchema)
@answers(403)
def site_redemptions(query: dict[str, Any], site_id: int):
    """Orders to be picked up at a site the caller serves, newest first, by status."""
    select = store.site_redemptions_query(caller(), site_id, query.get("status"))
    return paginate(select, query["page"], query["per_page"])


@store_bp.post("/staff/redemptions/<int:order_id>/ready")
@roles_required(STAFF, ADMIN)
@store_bp.response(200, schemas.RedemptionSchema)
@answers(409)
def mark_ready(order_id: int):
    """The item waits at the pick-up site."""
    order = store.mark_ready(store.staff_redemption(caller(), order_id), caller())
    db.session.commit()
    return order


# ---------------------------------------------------------------- admins: the catalogue


@store_bp.post("/admin/store/items")
@roles_required(ADMIN)
@store_bp.arguments(schemas.StoreItemCreateSchema)
@store_bp.response(201, schemas.StoreItemSchema)
@answers(422)
def create_item(body: dict[str, Any]):
    """Add a souvenir: its picture, price in points, stock, and pick-up sites or delivery."""
    body["site_ids"] = tuple(body["site_ids"])
    item = store.create_item(store.ItemDetails(**body), caller())
    db.session.commit()
    return item, 201


@store_bp.get("/admin/store/items")
@roles_required(ADMIN)
@store_bp.arguments(schemas.CatalogQuerySchema, location="query")
@store_bp.response(200, schemas.StoreItemPageSchema)
def list_items(query: dict[str, Any]):
    """The catalogue, retired items included on request."""
    select = store.items_query(active_only=not query["include_retired"])
    return paginate(select, query["page"], query["per_page"])


@store_bp.patch("/admin/store/items/<int:item_id>")
@roles_required(ADMIN)
@store_bp.arguments(schemas.StoreItemUpdateSchema)
@store_bp.response(200, schemas.StoreItemSchema)
@answers(409, 422)
def update_item(body: dict[str, Any], item_id: int):
    """Change an item's name, picture, price, stock or pick-up sites."""
    item = store.update_item(store.get_item(item_id), body, caller())
    db.session.commit()
    return item


@store_bp.post("/admin/store/items/<int:item_id>/retire")
@roles_required(ADMIN)
@store_bp.response(200, schemas.StoreItemSchema)
def retire_item(item_id: int):
    """Take an item off the catalogue; orders already placed go on."""
    item = store.retire_item(store.get_item(item_id), caller())
    db.session.commit()
    return item


# ---------------------------------------------------------------- admins: orders


@store_bp.get("/admin/redemptions")
@roles_required(ADMIN)
@store_bp.arguments(schemas.RedemptionQuerySchema, location="query")
@store_bp.response(200, schemas.RedemptionPageSchema)
def list_redemptions(query: dict[str, Any]):
    """Orders, newest first, by status and pick-up site."""
    select = store.redemptions_query(query.get("status"), query.get("site_id"))
    return paginate(select, query["page"], query["per_page"])


@store_bp.post("/admin/redemptions/<int:order_id>/ship")
@roles_required(ADMIN)
@store_bp.arguments(schemas.ShipSchema)
@store_bp.response(200, schemas.RedemptionSchema)
@answers(409)
def ship(body: dict[str, Any], order_id: int):
    """A delivered item is on its way."""
    order = store.staff_redemption(caller(), order_id)
    store.mark_shipped(order, body.get("tracking_number"), caller())
    db.session.commit()
    return order


@store_bp.post("/admin/redemptions/<int:order_id>/cancel")
@roles_required(ADMIN)
@store_bp.arguments(schemas.CancelSchema)
@store_bp.response(200, schemas.RedemptionSchema)
@answers(409)
def cancel_redemption(body: dict[str, Any], order_id: int):
    """Cancel an order not yet collected or shipped: points and stock come back."""
    order = store.cancel(store.staff_redemption(caller(), order_id), body["reason"], caller())
    db.session.commit()
    return order


# ---------------------------------------------------------------- admins: points


@store_bp.post("/admin/donors/<int:donor_id>/volunteer-hours")
@roles_required(ADMIN)
@store_bp.arguments(schemas.VolunteerHoursSchema)
@store_bp.response(201, schemas.VolunteerResultSchema)
@answers(422)
def record_volunteer_hours(body: dict[str, Any], donor_id: int):
    """Record hours a donor served as a volunteer, with a reason; they earn points."""
    service, entry = points.record_volunteer_hours(
        donor_services.donor_by_id(donor_id),
        body["served_on"],
        body["minutes"],
        body["reason"],
        caller(),
    )
    db.session.commit()
    return {"service": service, "entry": entry}, 201


@store_bp.post("/admin/donors/<int:donor_id>/points-adjustments")
@roles_required(ADMIN)
@store_bp.arguments(schemas.AdjustmentSchema)
@store_bp.response(201, schemas.PointsEntrySchema)
@answers(409)
def adjust_points(body: dict[str, Any], donor_id: int):
    """Add or take points with a reason (audited); never below a zero balance."""
    donor = donor_services.donor_by_id(donor_id)
    entry = points.adjust(donor, body["points"], body["reason"], caller())
    db.session.commit()
    return entry, 201


@store_bp.get("/admin/points/report")
@roles_required(ADMIN)
@store_bp.arguments(schemas.MonthQuerySchema, location="query")
@store_bp.response(200, schemas.MonthReportSchema)
def points_report(query: dict[str, Any]):
    """Points issued, spent and expired in a Beijing calendar month, and orders by site."""
    return reports.month_report(query["month"])


@store_bp.get("/admin/points/report.csv")
@roles_required(ADMIN)
@store_bp.arguments(schemas.MonthQuerySchema, location="query")
@store_bp.response(200, content_type="text/csv")
def points_report_csv(query: dict[str, Any]):
    """The monthly points report as CSV."""
    text = reports.month_report_csv(reports.month_report(query["month"]))
    return Response(
        text,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="points-{query["month"]:%Y-%m}.csv"'
        },
    )

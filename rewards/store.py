"""The souvenir store: the catalogue administrators keep, and donors' redemptions.

A redemption moves the points and the stock in one transaction: the donor's points lock is taken
first (rewards.points), the balance checked under it, then the stock is taken by one conditional
UPDATE (`stock >= quantity`), so fifty donors racing for the last item get one item between them
and a donor racing themself cannot spend a point twice. Cancelling refunds the points (a new lot)
and puts the stock back. An order picked up at a site is handed over when staff there scan the
donor's pick-up code: a short-lived signed code (core.signing.rotating_code, as the check-in code).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, Select, select, update

from core import audit, clock
from core.auth import ADMIN, Caller
from core.errors import ApiError
from core.extensions import db
from core.lookups import get_or_404
from core.signing import (
    CodeExpired,
    RotatingCode,
    SignatureInvalid,
    read_rotating_code,
    rotating_code,
)
from donors.models import Donor
from rewards.models import (
    CANCELLED,
    COLLECTED,
    DELIVERY,
    PICKUP,
    PLACED,
    READY_AT_SITE,
    REDEMPTION,
    REFUND,
    SHIPPED,
    Redemption,
    StoreItem,
    StoreItemSite,
)
from rewards.points import credit, debit, lock_account
from sites.models import Site
from sites.services import require_site, serves_site

REDEMPTION_TOKEN_TYPE = "redemption+jwt"


@dataclass(frozen=True)
class ItemDetails:
    name: str
    price: int
    stock: int
    fulfilment: str
    description: str | None = None
    picture_url: str | None = None
    site_ids: tuple[int, ...] = ()


# ---------------------------------------------------------------- the catalogue


def _check_sites(fulfilment: str, site_ids: tuple[int, ...]) -> None:
    if fulfilment == PICKUP and not site_ids:
        raise ApiError("pickup_sites_required", 422, errors={"site_ids": ["pickup_sites_required"]})
    if fulfilment == DELIVERY and site_ids:
        raise ApiError("delivery_has_no_sites", 422, errors={"site_ids": ["delivery_has_no_sites"]})
    if site_ids:
        known = set(db.session.scalars(select(Site.id).where(Site.id.in_(site_ids))))
        if known != set(site_ids):
            raise ApiError("site_not_found", 422, errors={"site_ids": ["site_not_found"]})


def create_item(details: ItemDetails, actor: Caller) -> StoreItem:
    _check_sites(details.fulfilment, details.site_ids)
    item = StoreItem(
        name=details.name,
        description=details.description,
        picture_url=details.picture_url,
        price=details.price,
        stock=details.stock,
        fulfilment=details.fulfilment,
        sites=[StoreItemSite(site_id=site_id) for site_id in sorted(set(details.site_ids))],
    )
    db.session.add(item)
    db.session.flush()
    audit.record(
        "store.item_created", actor=("staff", actor.principal_id), target=("store_item", item.id)
    )
    return item


def update_item(item: StoreItem, changes: dict[str, Any], actor: Caller) -> StoreItem:
    """Name, picture, price, stock, pick-up sites; a retired item is not changed."""
    if not item.active:
        raise ApiError("store_item_retired", 409)
    if "site_ids" in changes:
        site_ids = tuple(changes.pop("site_ids"))
        _check_sites(item.fulfilment, site_ids)
        item.sites = [StoreItemSite(site_id=site_id) for site_id in sorted(set(site_ids))]
    for name, value in changes.items():
        setattr(item, name, value)
    db.session.flush()
    audit.record(
        "store.item_updated",
        actor=("staff", actor.principal_id),
        target=("store_item", item.id),
        details={"changed": sorted(changes)},
    )
    return item


def retire_item(item: StoreItem, actor: Caller) -> StoreItem:
    """No more redemptions of the item; orders already placed go on."""
    if item.active:
        item.active = False
        item.retired_at = clock.now()
        audit.record(
            "store.item_retired",
            actor=("staff", actor.principal_id),
            target=("store_item", item.id),
        )
    return item


def get_item(item_id: int) -> StoreItem:
    return get_or_404(StoreItem, item_id, "store_item_not_found")


def items_query(*, active_only: bool) -> Select:
    query = select(StoreItem).order_by(StoreItem.id)
    return query.where(StoreItem.active.is_(True)) if active_only else query


# ---------------------------------------------------------------- redemptions


def redeem(
    donor: Donor,
    item_id: int,
    quantity: int,
    site_id: int | None,
    delivery_address: str | None,
) -> Redemption:
    """Spend points on an item: points and stock move together, or neither does."""
    item = get_item(item_id)
    if not item.active:
        raise ApiError("store_item_retired", 409)
    if item.fulfilment == PICKUP and site_id not in item.site_ids:
        raise ApiError("pickup_site_invalid", 422, errors={"site_id": ["pickup_site_invalid"]})
    if item.fulfilment == PICKUP and delivery_address:
        raise ApiError(
            "pickup_has_no_address", 422, errors={"delivery_address": ["pickup_has_no_address"]}
        )
    if item.fulfilment == DELIVERY and (site_id is not None or not delivery_address):
        raise ApiError(
            "delivery_address_required",
            422,
            errors={"delivery_address": ["delivery_address_required"]},
        )
    cost = item.price * quantity
    lock_account(donor.id)
    order = Redemption(
        donor_id=donor.id,
        item_id=item.id,
        quantity=quantity,
        points=cost,
        status=PLACED,
        site_id=site_id,
        delivery_address=delivery_address,
    )
    db.session.add(order)
    db.session.flush()
    debit(donor.id, cost, REDEMPTION, order.id, donor.region)
    taken = cast(
        CursorResult[Any],
        db.session.execute(
            update(StoreItem)
            .where(StoreItem.id == item.id, StoreItem.active.is_(True), StoreItem.stock >= quantity)
            .values(stock=StoreItem.stock - quantity)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    if taken != 1:
        raise ApiError("out_of_stock", 409)
    db.session.expire(item, ["stock"])
    return order


def donor_redemptions_query(donor: Donor) -> Select:
    return select(Redemption).where(Redemption.donor_id == donor.id).order_by(Redemption.id.desc())


def redemptions_query(status: str | None, site_id: int | None) -> Select:
    query = select(Redemption).order_by(Redemption.id.desc())
    if status is not None:
        query = query.where(Redemption.status == status)
    if site_id is not None:
        query = query.where(Redemption.site_id == site_id)
    return query


def site_redemptions_query(staff: Caller, site_id: int, status: str | None) -> Select:
    """The orders to be picked up at a site the caller serves (403 site_not_served otherwise)."""
    require_site(staff, site_id)
    return redemptions_query(status, site_id)


def donor_redemption(donor: Donor, order_id: int) -> Redemption:
    """The donor's own order; another's is answered as an unknown one."""
    return get_or_404(
        Redemption, order_id, "redemption_not_found", visible=lambda row: row.donor_id == donor.id
    )


def staff_redemption(staff: Caller, order_id: int) -> Redemption:
    """An order of a site the caller serves (delivered orders: admins only)."""

    def visible(row: Redemption) -> bool:
        if row.site_id is None:
            return staff.role == ADMIN
        return serves_site(staff, row.site_id)

    return get_or_404(Redemption, order_id, "redemption_not_found", visible=visible)


def _refuse_unless(order: Redemption, *statuses: str) -> None:
    if order.status not in statuses:
        raise ApiError("redemption_status_invalid", 409, errors={"status": [order.status]})


def cancel(order: Redemption, reason: str, actor: Caller) -> Redemption:
    """Cancel an order not yet collected or shipped: the points come back (a new lot, counted
    from today) and so does the stock. A donor cancels only what is still `placed`."""
    if actor.role == "donor":
        _refuse_unless(order, PLACED)
    else:
        _refuse_unless(order, PLACED, READY_AT_SITE)
    donor = db.session.get_one(Donor, order.donor_id)
    lock_account(donor.id)
    db.session.refresh(order, with_for_update=True)
    if order.status not in (PLACED, READY_AT_SITE):  # cancelled meanwhile
        raise ApiError("redemption_status_invalid", 409, errors={"status": [order.status]})
    credit(donor.id, order.points, REFUND, order.id, donor.region)
    db.session.execute(
        update(StoreItem)
        .where(StoreItem.id == order.item_id)
        .values(stock=StoreItem.stock + order.quantity)
        .execution_options(synchronize_session=False)
    )
    order.status = CANCELLED
    order.cancelled_at = clock.now()
    order.cancel_reason = reason
    if actor.role != "donor":
        order.handled_by = actor.principal_id
    audit.record(
        "store.redemption_cancelled",
        actor=(actor.principal_type, actor.principal_id),
        target=("redemption", order.id),
        details={"reason": reason, "points": order.points},
    )
    return order


def forget_donor(_sender: Any, donor: Donor, **_: Any) -> None:
    """An erased donor's open orders are cancelled (their stock comes back) and every delivery
    address of theirs goes; the orders stay, pseudonymous, for the store's accounts."""
    for order in db.session.scalars(select(Redemption).where(Redemption.donor_id == donor.id)):
        if order.status in (PLACED, READY_AT_SITE):
            db.session.execute(
                update(StoreItem)
                .where(StoreItem.id == order.item_id)
                .values(stock=StoreItem.stock + order.quantity)
                .execution_options(synchronize_session=False)
            )
            order.status = CANCELLED
            order.cancelled_at = clock.now()
            order.cancel_reason = "donor_erased"
        order.delivery_address = None


def mark_ready(order: Redemption, actor: Caller) -> Redemption:
    """The item waits at the pick-up site."""
    if order.site_id is None:
        raise ApiError("redemption_not_pickup", 409)
    _refuse_unless(order, PLACED)
    order.status = READY_AT_SITE
    order.ready_at = clock.now()
    order.handled_by = actor.principal_id
    audit.record(
        "store.redemption_ready",
        actor=("staff", actor.principal_id),
        target=("redemption", order.id),
    )
    return order


def mark_shipped(order: Redemption, tracking_number: str | None, actor: Caller) -> Redemption:
    """A delivered item is on its way."""
    if order.site_id is not None:
        raise ApiError("redemption_not_delivery", 409)
    _refuse_unless(order, PLACED)
    order.status = SHIPPED
    order.shipped_at = clock.now()
    order.tracking_number = tracking_number
    order.handled_by = actor.principal_id
    audit.record(
        "store.redemption_shipped",
        actor=("staff", actor.principal_id),
        target=("redemption", order.id),
    )
    return order


# ---------------------------------------------------------------- pick-up codes


def pickup_code(order: Redemption) -> RotatingCode:
    """The code the donor shows at the site to collect a pick-up order."""
    if order.site_id is None:
        raise ApiError("redemption_not_pickup", 409)
    _refuse_unless(order, PLACED, READY_AT_SITE)
    return rotating_code(
        REDEMPTION_TOKEN_TYPE,
        str(order.donor_id),
        current_app.config["REDEMPTION_CODE_TTL"],
        scope=f"redemption-code:{order.id}",
        claims={"rdm": order.id},
    )


def _invalid_code() -> ApiError:
    return ApiError("redemption_code_invalid", 422, errors={"code": ["redemption_code_invalid"]})


def hand_over(code: str, staff: Caller) -> Redemption:
    """Staff at the pick-up site scan the donor's code: the order is collected."""
    try:
        claims = read_rotating_code(code, REDEMPTION_TOKEN_TYPE)
        donor_id, order_id = int(claims["sub"]), int(claims["rdm"])
    except CodeExpired:
        raise ApiError(
            "redemption_code_expired", 422, errors={"code": ["redemption_code_expired"]}
        ) from None
    except (SignatureInvalid, KeyError, TypeError, ValueError, OverflowError):
        raise _invalid_code() from None
    order = db.session.get(Redemption, order_id, with_for_update=True)
    if order is None or order.donor_id != donor_id or order.site_id is None:
        raise _invalid_code()
    if not serves_site(staff, order.site_id):
        raise ApiError("site_not_served", 403)
    _refuse_unless(order, PLACED, READY_AT_SITE)
    order.status = COLLECTED
    order.collected_at = clock.now()
    order.handled_by = staff.principal_id
    audit.record(
        "store.redemption_collected",
        actor=("staff", staff.principal_id),
        target=("redemption", order.id),
    )
    return order

"""The monthly points report: points issued, spent and expired, and orders by site, for one
Beijing calendar month (Asia/Shanghai), as JSON and as CSV (formula-safe cells)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, func, select

from core import clock
from core.extensions import db
from core.spreadsheet import spreadsheet_cell
from rewards.models import (
    ADJUSTMENT,
    CANCELLED,
    COLLECTED,
    DONATION_POINTS,
    DONATION_VOIDED,
    EXPIRY,
    HEALTH_FORM_POINTS,
    REDEMPTION,
    REFUND,
    SHIPPED,
    VOLUNTEER_POINTS,
    PointsEntry,
    Redemption,
)
from sites.models import Site

EARNINGS = (DONATION_POINTS, HEALTH_FORM_POINTS, VOLUNTEER_POINTS)


@dataclass(frozen=True)
class SiteOrders:
    site_id: int | None  # None: delivered orders
    site_name: str | None
    orders: int
    points: int
    collected: int
    shipped: int
    cancelled: int


@dataclass(frozen=True)
class MonthReport:
    month: str
    issued: int  # earned: donations, health forms, volunteer hours
    reversed: int  # taken back from voided donations
    spent: int  # redemptions
    refunded: int  # cancelled redemptions
    expired: int
    adjusted_up: int
    adjusted_down: int
    by_cause: dict[str, int]
    orders_by_site: list[SiteOrders]


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The month's first moment and the next month's, in UTC, by the Beijing calendar."""
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    start = datetime.combine(month.replace(day=1), datetime.min.time(), tzinfo=clock.LOCAL_ZONE)
    end = datetime.combine(following, datetime.min.time(), tzinfo=clock.LOCAL_ZONE)
    return clock.as_utc(start), clock.as_utc(end)


def month_report(month: date) -> MonthReport:
    start, end = month_bounds(month)
    in_month = (PointsEntry.created_at >= start, PointsEntry.created_at < end)
    rows = db.session.execute(
        select(
            PointsEntry.cause,
            func.coalesce(func.sum(case((PointsEntry.amount > 0, PointsEntry.amount), else_=0)), 0),
            func.coalesce(
                func.sum(case((PointsEntry.amount < 0, -PointsEntry.amount), else_=0)), 0
            ),
        )
        .where(*in_month)
        .group_by(PointsEntry.cause)
    ).all()
    up = {cause: int(plus) for cause, plus, _ in rows}
    down = {cause: int(minus) for cause, _, minus in rows}
    by_cause = {cause: up.get(cause, 0) - down.get(cause, 0) for cause in sorted(up)}
    orders = db.session.execute(
        select(
            Redemption.site_id,
            Site.name,
            func.count(),
            func.coalesce(func.sum(Redemption.points), 0),
            func.sum(case((Redemption.status == COLLECTED, 1), else_=0)),
            func.sum(case((Redemption.status == SHIPPED, 1), else_=0)),
            func.sum(case((Redemption.status == CANCELLED, 1), else_=0)),
        )
        .outerjoin(Site, Site.id == Redemption.site_id)
        .where(Redemption.placed_at >= start, Redemption.placed_at < end)
        .group_by(Redemption.site_id, Site.name)
        .order_by(Redemption.site_id)
    ).all()
    return MonthReport(
        month=f"{month:%Y-%m}",
        issued=sum(up.get(cause, 0) for cause in EARNINGS),
        reversed=down.get(DONATION_VOIDED, 0),
        spent=down.get(REDEMPTION, 0),
        refunded=up.get(REFUND, 0),
        expired=down.get(EXPIRY, 0),
        adjusted_up=up.get(ADJUSTMENT, 0),
        adjusted_down=down.get(ADJUSTMENT, 0),
        by_cause=by_cause,
        orders_by_site=[
            SiteOrders(site_id, name, int(count), int(points), int(got), int(sent), int(gone))
            for site_id, name, count, points, got, sent, gone in orders
        ],
    )


TOTALS = ("issued", "reversed", "spent", "refunded", "expired", "adjusted_up", "adjusted_down")
SITE_COLUMNS = ("site_id", "site_name", "orders", "points", "collected", "shipped", "cancelled")


def month_report_csv(report: MonthReport) -> str:
    """The report as CSV (UTF-8 with a BOM, so spreadsheets show the Chinese names): the totals,
    a blank line, then the orders by site."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["month", *TOTALS])
    writer.writerow([spreadsheet_cell(report.month)] + [getattr(report, name) for name in TOTALS])
    writer.writerow([])
    writer.writerow(SITE_COLUMNS)
    for site in report.orders_by_site:
        writer.writerow(
            [
                spreadsheet_cell("" if getattr(site, column) is None else getattr(site, column))
                for column in SITE_COLUMNS
            ]
        )
    return buffer.getvalue()

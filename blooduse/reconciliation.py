"""A hospital's month of reductions, which the blood station repays (issue 15 item 5).

A month is the local (Beijing-time) calendar month of the day a bill was settled. The hospital
reads it as JSON (paged) or CSV (bill, patient masked, the rule applied, amounts), and confirms it
once it is over: the totals are frozen in HospitalMonth and its bills are then reversed only by an
administrator (blooduse.settlement). Reversed bills stay on the list, marked, and count in no
total.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, func, select

from blooduse.hospitals import Cashier
from blooduse.models import AT_HOSPITAL, SETTLED, BloodFeeReduction, Hospital, HospitalMonth
from blooduse.settlement import lock_hospital
from core import audit, clock
from core.errors import ApiError
from core.extensions import db
from core.masking import mask_id_number, mask_name
from core.pagination import paginate
from core.spreadsheet import spreadsheet_cell
from donors.models import Donor, FamilyLink

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Month:
    text: str  # YYYY-MM
    first: date
    last: date

    @property
    def over(self) -> bool:
        return self.last < clock.local_today()


def month_of(text: str) -> Month:
    """`2026-11` as its first and last day; anything else names no month (404)."""
    found = _MONTH.match(text)
    if found is None or not 1900 <= int(found.group(1)) <= 2200:
        raise ApiError("month_invalid", 404)
    first = date(int(found.group(1)), int(found.group(2)), 1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Month(text, first, following - timedelta(days=1))


def bills_query(hospital_id: int, month: Month) -> Select:
    """The hospital's settled (and reversed) bills of the month, each with whom it was for."""
    return (
        select(
            BloodFeeReduction,
            Donor.name.label("donor_name"),
            Donor.id_number.label("donor_id_number"),
            FamilyLink.name.label("relative_name"),
            FamilyLink.id_number.label("relative_id_number"),
        )
        .join(Donor, Donor.id == BloodFeeReduction.donor_id)
        .outerjoin(FamilyLink, FamilyLink.id == BloodFeeReduction.family_link_id)
        .where(
            BloodFeeReduction.hospital_id == hospital_id,
            BloodFeeReduction.channel == AT_HOSPITAL,
            BloodFeeReduction.settled_on >= month.first,
            BloodFeeReduction.settled_on <= month.last,
        )
        .order_by(BloodFeeReduction.settled_on, BloodFeeReduction.id)
    )


@dataclass(frozen=True)
class MonthBill:
    """One line of the month: the bill, the patient masked, the rule applied, the amounts."""

    reduction: BloodFeeReduction
    patient_name: str | None
    patient_id_number: str | None

    @property
    def rule_text(self) -> str:
        windows = (self.reduction.rule or {}).get("windows", [])
        return " ; ".join(f"{window['drawn_ml']} ml: {window['rule']}" for window in windows)


def _line(row: Any) -> MonthBill:
    reduction = row.BloodFeeReduction
    if reduction.family_link_id is None:
        name, number = row.donor_name, row.donor_id_number
    else:
        name, number = row.relative_name, row.relative_id_number
    return MonthBill(reduction, mask_name(name), mask_id_number(number))


@dataclass(frozen=True)
class Totals:
    bills: int
    volume_ml: int
    covered_ml: int
    fee_cents: int
    reduction_cents: int


def totals(hospital_id: int, month: Month) -> Totals:
    """What the station repays for the month: the bills still settled."""
    row = db.session.execute(
        select(
            func.count(BloodFeeReduction.id),
            func.coalesce(func.sum(BloodFeeReduction.volume_ml), 0),
            func.coalesce(func.sum(BloodFeeReduction.covered_ml), 0),
            func.coalesce(func.sum(BloodFeeReduction.fee_cents), 0),
            func.coalesce(func.sum(BloodFeeReduction.reduction_cents), 0),
        ).where(
            BloodFeeReduction.hospital_id == hospital_id,
            BloodFeeReduction.channel == AT_HOSPITAL,
            BloodFeeReduction.status == SETTLED,
            BloodFeeReduction.settled_on >= month.first,
            BloodFeeReduction.settled_on <= month.last,
        )
    ).one()
    return Totals(*(int(value) for value in row))


def confirmation(hospital_id: int, month: Month) -> HospitalMonth | None:
    return db.session.scalar(
        select(HospitalMonth).where(
            HospitalMonth.hospital_id == hospital_id, HospitalMonth.month == month.text
        )
    )


@dataclass(frozen=True)
class MonthPage:
    hospital: Hospital
    month: str
    over: bool
    totals: Totals
    confirmation: HospitalMonth | None
    items: list[MonthBill]
    page: dict[str, int]


def month_page(hospital: Hospital, text: str, page: int, per_page: int) -> MonthPage:
    month = month_of(text)
    found = paginate(bills_query(hospital.id, month), page, per_page)
    return MonthPage(
        hospital,
        month.text,
        month.over,
        totals(hospital.id, month),
        confirmation(hospital.id, month),
        [_line(row) for row in found["items"]],
        found["page"],
    )


CSV_COLUMNS = (
    "settled_on",
    "bill_number",
    "status",
    "patient",
    "patient_id_number",
    "transfused_on",
    "volume_ml",
    "covered_ml",
    "fee_cents",
    "reduction_cents",
    "rule",
)


def month_csv(hospital: Hospital, text: str) -> str:
    """The whole month as CSV (UTF-8 with a BOM, so spreadsheets show the Chinese names)."""
    month = month_of(text)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in db.session.execute(bills_query(hospital.id, month)):
        line = _line(row)
        reduction = line.reduction
        cells = (
            reduction.settled_on,
            reduction.bill_number,
            reduction.status,
            line.patient_name or "",
            line.patient_id_number or "",
            reduction.transfused_on,
            reduction.volume_ml,
            reduction.covered_ml,
            reduction.fee_cents,
            reduction.reduction_cents,
            line.rule_text,
        )
        writer.writerow([spreadsheet_cell(cell) for cell in cells])
    return buffer.getvalue()


def confirm_month(cashier: Cashier, text: str) -> HospitalMonth:
    """The hospital confirms a month that is over: its totals are frozen for repayment."""
    month = month_of(text)
    if not month.over:
        raise ApiError("month_not_over", 409)
    lock_hospital(cashier.hospital_id)
    if confirmation(cashier.hospital_id, month) is not None:
        raise ApiError("month_already_confirmed", 409)
    frozen = totals(cashier.hospital_id, month)
    row = HospitalMonth(
        hospital_id=cashier.hospital_id,
        month=month.text,
        bills=frozen.bills,
        reduction_cents=frozen.reduction_cents,
        confirmed_by=cashier.device_id,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "hospital_month.confirmed",
        actor=("device", cashier.device_id),
        target=("hospital_month", row.id),
        details={"hospital": cashier.hospital_id, "month": month.text},
    )
    return row

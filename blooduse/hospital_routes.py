"""Routes of a hospital's cashier (role `hospital`, bound to one hospital): look a patient up,
quote, settle and reverse a transfusion bill, read and confirm a month of reductions."""

from __future__ import annotations

from typing import Any

from flask import Response

from blooduse import reconciliation, schemas, settlement
from blooduse.hospitals import cashier_of, get_hospital
from blooduse.models import HospitalMonth
from core.auth import HOSPITAL, caller, roles_required
from core.docs import answers
from core.extensions import db
from core.http import Blueprint
from core.limits import limit_per_caller
from core.schemas import PageQuerySchema

hospital_bp = Blueprint(
    "hospital", __name__, description="Free blood use settled at the hospital's cashier"
)

MONTH = "<string(length=7):month>"


@hospital_bp.post("/hospital/entitlements/lookup")
@roles_required(HOSPITAL)
@limit_per_caller("HOSPITAL_LOOKUP_LIMIT_PER_DEVICE")
@hospital_bp.arguments(schemas.LookupSchema)
@hospital_bp.response(200, schemas.LookupResultSchema)
def look_up(body: dict[str, Any]) -> settlement.Lookup:
    """Whether the patient is a donor, a donor's relative or neither, and what applies today.

    Audited: the hospital looked a person up.
    """
    found = settlement.look_up(cashier_of(caller()), body["id_number"].number)
    db.session.commit()
    return found


@hospital_bp.post("/hospital/settlements")
@roles_required(HOSPITAL)
@limit_per_caller("HOSPITAL_LOOKUP_LIMIT_PER_DEVICE")
@hospital_bp.arguments(schemas.SettlementCreateSchema)
@hospital_bp.response(201, schemas.ReceiptSchema)
@hospital_bp.alt_response(200, schema=schemas.ReceiptSchema, description="the same bill again")
@answers(409, 422)
def settle(body: dict[str, Any]) -> tuple[settlement.Receipt, int]:
    """Settle a transfusion bill: the reduction drawn on the entitlement, and its receipt.

    Counted with the look-ups (HOSPITAL_LOOKUP_LIMIT_PER_DEVICE): a settlement names a patient
    too, so it must not become a way around the look-ups' limit.
    """
    bill = settlement.Bill(**{**body, "id_number": body["id_number"].number})
    receipt, created = settlement.settle(cashier_of(caller()), bill)
    db.session.commit()
    return receipt, 201 if created else 200


@hospital_bp.post("/hospital/settlements/quote")
@roles_required(HOSPITAL)
@limit_per_caller("HOSPITAL_LOOKUP_LIMIT_PER_DEVICE")
@hospital_bp.arguments(schemas.SettlementCreateSchema)
@hospital_bp.response(200, schemas.QuoteSchema)
@answers(409, 422)
def quote(body: dict[str, Any]) -> settlement.Quote:
    """The reduction a bill would get if settled now, by the settlement's own calculation;
    nothing is drawn. Refused as the settlement would be (no_entitlement, ...).

    Counted with the look-ups (HOSPITAL_LOOKUP_LIMIT_PER_DEVICE) and audited: it names a
    patient.
    """
    bill = settlement.Bill(**{**body, "id_number": body["id_number"].number})
    found = settlement.quote(cashier_of(caller()), bill)
    db.session.commit()
    return found


@hospital_bp.post("/hospital/settlements/<string(maxlength=64):bill_number>/reverse")
@roles_required(HOSPITAL)
@hospital_bp.arguments(schemas.ReverseSchema)
@hospital_bp.response(200, schemas.ReceiptSchema)
def reverse(body: dict[str, Any], bill_number: str) -> settlement.Receipt:
    """Reverse a settled bill, with a reason; the entitlement is restored. Refused once the
    hospital confirmed the bill's month."""
    receipt = settlement.reverse_at_hospital(cashier_of(caller()), bill_number, body["reason"])
    db.session.commit()
    return receipt


@hospital_bp.get(f"/hospital/months/{MONTH}")
@roles_required(HOSPITAL)
@hospital_bp.arguments(PageQuerySchema, location="query")
@hospital_bp.response(200, schemas.MonthPageSchema)
def month(query: dict[str, Any], month: str) -> reconciliation.MonthPage:
    """The hospital's reductions settled in a month (YYYY-MM, Beijing time), with its totals."""
    hospital = get_hospital(cashier_of(caller()).hospital_id)
    return reconciliation.month_page(hospital, month, query["page"], query["per_page"])


@hospital_bp.get(f"/hospital/months/{MONTH}.csv")
@roles_required(HOSPITAL)
@hospital_bp.response(200, content_type="text/csv")
def month_csv(month: str) -> Response:
    """The hospital's reductions settled in a month, as CSV."""
    hospital = get_hospital(cashier_of(caller()).hospital_id)
    return csv_response(reconciliation.month_csv(hospital, month), f"blood-fee-{month}.csv")


@hospital_bp.post(f"/hospital/months/{MONTH}/confirm")
@roles_required(HOSPITAL)
@hospital_bp.response(201, schemas.HospitalMonthSchema)
def confirm_month(month: str) -> HospitalMonth:
    """Confirm a month that is over: its totals are frozen for repayment, and its bills are
    reversed only by an administrator from then on."""
    confirmed = reconciliation.confirm_month(cashier_of(caller()), month)
    db.session.commit()
    return confirmed


def csv_response(text: str, filename: str) -> Response:
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )

"""Routes of the station's administrators for free blood use: hospitals and their cashiers'
devices, the hospitals' months, and reversing a bill after its month was confirmed."""

from __future__ import annotations

from typing import Any

from flask import Response

from blooduse import hospitals, reconciliation, schemas, settlement
from blooduse.models import Hospital
from core.auth import ADMIN, caller, roles_required
from core.extensions import db
from core.http import Blueprint
from core.pagination import paginate
from core.schemas import PageQuerySchema

admin_bp = Blueprint(
    "blood_use_admin", __name__, description="Hospitals, their devices and months of reductions"
)

MONTH = "<string(length=7):month>"


@admin_bp.post("/admin/hospitals")
@roles_required(ADMIN)
@admin_bp.arguments(schemas.HospitalCreateSchema)
@admin_bp.response(201, schemas.HospitalSchema)
def create_hospital(body: dict[str, Any]) -> Hospital:
    """Register a hospital whose cashier settles blood-fee reductions, with its region."""
    hospital = hospitals.create_hospital(body, caller())
    db.session.commit()
    return hospital


@admin_bp.get("/admin/hospitals")
@roles_required(ADMIN)
@admin_bp.arguments(schemas.HospitalQuerySchema, location="query")
@admin_bp.response(200, schemas.HospitalPageSchema)
def list_hospitals(query: dict[str, Any]) -> dict[str, Any]:
    """Hospitals, oldest first."""
    return paginate(
        hospitals.hospitals_query(query.get("region")), query["page"], query["per_page"]
    )


@admin_bp.post("/admin/hospitals/<int:hospital_id>/deactivate")
@roles_required(ADMIN)
@admin_bp.response(200, schemas.HospitalSchema)
def deactivate_hospital(hospital_id: int) -> Hospital:
    """End a hospital's direct settlement: its devices stop working at once."""
    hospital = hospitals.deactivate_hospital(hospitals.get_hospital(hospital_id), caller())
    db.session.commit()
    return hospital


@admin_bp.post("/admin/hospitals/<int:hospital_id>/devices")
@roles_required(ADMIN)
@admin_bp.arguments(schemas.HospitalDeviceCreateSchema)
@admin_bp.response(201, schemas.HospitalDeviceSchema)
def create_device(body: dict[str, Any], hospital_id: int) -> hospitals.IssuedDevice:
    """Register a cashier's device for the hospital; its secret is shown this once."""
    hospital = hospitals.get_hospital(hospital_id)
    device, secret = hospitals.create_hospital_device(hospital, body["name"], caller())
    db.session.commit()
    return hospitals.IssuedDevice(device, hospital.id, secret)


@admin_bp.get(f"/admin/hospitals/<int:hospital_id>/months/{MONTH}")
@roles_required(ADMIN)
@admin_bp.arguments(PageQuerySchema, location="query")
@admin_bp.response(200, schemas.MonthPageSchema)
def hospital_month(query: dict[str, Any], hospital_id: int, month: str) -> reconciliation.MonthPage:
    """A hospital's reductions settled in a month (YYYY-MM), with its totals and confirmation."""
    hospital = hospitals.get_hospital(hospital_id)
    return reconciliation.month_page(hospital, month, query["page"], query["per_page"])


@admin_bp.get(f"/admin/hospitals/<int:hospital_id>/months/{MONTH}.csv")
@roles_required(ADMIN)
@admin_bp.response(200, content_type="text/csv")
def hospital_month_csv(hospital_id: int, month: str) -> Response:
    """A hospital's reductions settled in a month, as CSV."""
    hospital = hospitals.get_hospital(hospital_id)
    return Response(
        reconciliation.month_csv(hospital, month),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="blood-fee-{hospital.code}-{month}.csv"'
        },
    )


@admin_bp.post("/admin/blood-fee-reductions/<int:reduction_id>/reverse")
@roles_required(ADMIN)
@admin_bp.arguments(schemas.ReverseSchema)
@admin_bp.response(200, schemas.ReceiptSchema)
def reverse(body: dict[str, Any], reduction_id: int) -> settlement.Receipt:
    """Reverse a bill settled at a hospital, in a confirmed month too; the entitlement is
    restored."""
    receipt = settlement.reverse_by_admin(reduction_id, caller().principal_id, body["reason"])
    db.session.commit()
    return receipt

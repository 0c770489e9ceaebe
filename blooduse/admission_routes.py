"""Routes: a hospital reports an admission (issue 15 item 6)."""

from __future__ import annotations

from typing import Any

from blooduse import admission_schemas as schemas
from blooduse import admissions
from blooduse.hospitals import cashier_of
from blooduse.models import Admission
from core import auth
from core.auth import caller, roles_required
from core.extensions import db
from core.http import Blueprint
from core.limits import limit_per_caller

admissions_bp = Blueprint(
    "admissions", __name__, description="Admissions hospitals report, for donors' care"
)


@admissions_bp.post("/hospital/admissions")
@roles_required(auth.HOSPITAL)
@limit_per_caller("HOSPITAL_ADMISSION_LIMIT_PER_DEVICE")
@admissions_bp.arguments(schemas.AdmissionReportSchema)
@admissions_bp.response(202, schemas.AdmissionReceiptSchema)
def report_admission(body: dict[str, Any]) -> Admission:
    """Report an admission: the donor, or a verified relative's donor, hears of their right once.

    The donor is told of the free blood use this hospital's cashier settles directly. The answer
    is the same whether or not the patient is a donor; the same report again answers with the
    same id and tells no one twice. Limited per device (`HOSPITAL_ADMISSION_LIMIT_PER_DEVICE`).
    """
    report = admissions.AdmissionReport(
        body["id_number"].number, body["ward"].strip(), body["admitted_at"]
    )
    admission = admissions.report_admission(cashier_of(caller()), report)
    db.session.commit()
    return admission

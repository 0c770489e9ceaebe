"""Routes: the donor's free blood use (their own pool and their relatives') and its history."""

from __future__ import annotations

from typing import Any

from blooduse import entitlement_schemas as schemas
from blooduse import overview
from core.auth import DONOR, roles_required
from core.http import Blueprint
from core.pagination import paginate
from core.requests import current_donor
from core.schemas import PageQuerySchema, page_of

bp = Blueprint("blood_use", __name__, description="Free blood use for donors and their families")


@bp.get("/me/blood-use")
@roles_required(DONOR)
@bp.response(200, schemas.BloodUseSchema)
def my_blood_use() -> overview.BloodUseOverview:
    """Free blood use today: what the donor and each relative may use, window by window, with
    each figure's rule, what was used and when each window ends."""
    return overview.blood_use_of(current_donor())


@bp.get("/me/blood-use/history")
@roles_required(DONOR)
@bp.arguments(PageQuerySchema, location="query")
@bp.response(200, page_of(schemas.ReductionSchema, "BloodFeeReductionPage"))
def my_blood_use_history(query: dict[str, Any]) -> dict[str, Any]:
    """The bills reduced on the donor's pools, newest first (at a hospital, by claim, imported)."""
    return paginate(overview.history_query(current_donor()), query["page"], query["per_page"])

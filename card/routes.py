"""Routes: the donor's card."""

from __future__ import annotations

from card import schemas, services
from core.auth import DONOR, roles_required
from core.http import Blueprint
from core.requests import current_donor

bp = Blueprint("card", __name__, description="The donor's card: the home screen in one call")


@bp.get("/me/card")
@roles_required(DONOR)
@bp.response(200, schemas.CardSchema)
def my_card():
    """The home screen in one call: totals, latest certificate, next eligible dates."""
    return services.card_for(current_donor())

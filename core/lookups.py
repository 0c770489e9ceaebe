"""One row by its id for a request, or the one 404 of its kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from core.errors import ApiError
from core.extensions import db

Row = TypeVar("Row")


def get_or_404(
    model: type[Row],
    ident: Any,
    code: str = "not_found",
    *,
    visible: Callable[[Row], bool] | None = None,
    errors: dict[str, Any] | None = None,
    **options: Any,
) -> Row:
    """The row, or `code` with 404. A row the caller may not see (`visible` says no: another
    donor's booking, another site's visit) gets the very answer an unknown id gets, so ids do
    not tell what exists. `options` go to `Session.get` (`populate_existing`, loader options)."""
    row = db.session.get(model, ident, **options)
    if row is None or (visible is not None and not visible(row)):
        raise ApiError(code, 404, errors=errors)
    return row

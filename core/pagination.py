"""Paged lists: every list endpoint returns `{items, page}` and never an unbounded result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select

from core.extensions import db


def paginate(source: Select | Sequence[Any], page: int, per_page: int) -> dict[str, Any]:
    """One page of a query, counted and read in the database, or of a list already in memory
    (rules read from the policy files, sites found near a point). A query of one thing pages
    those things; one of several (a report's columns, a row and what it links) pages its rows."""
    if isinstance(source, Select):
        counted = select(func.count()).select_from(source.order_by(None).subquery())
        total = db.session.execute(counted).scalar_one()
        window = source.limit(per_page).offset((page - 1) * per_page)
        if len(source.column_descriptions) == 1:
            items: Sequence[Any] = db.session.scalars(window).all()
        else:
            items = db.session.execute(window).all()
        return {"items": items, "page": _meta(page, per_page, total)}
    start = (page - 1) * per_page
    return {
        "items": list(source[start : start + per_page]),
        "page": _meta(page, per_page, len(source)),
    }


def _meta(page: int, per_page: int, total: int) -> dict[str, int]:
    pages = (total + per_page - 1) // per_page if total else 0
    return {"page": page, "per_page": per_page, "total": total, "pages": pages}

"""Paged lists: every list endpoint returns `{items, page}` and never an unbounded result."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from core.extensions import db


def paginate(query: Select, page: int, per_page: int) -> dict[str, Any]:
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    pages = (total + per_page - 1) // per_page if total else 0
    return {
        "items": items,
        "page": {"page": page, "per_page": per_page, "total": total, "pages": pages},
    }

"""One `paginate` for every list: a query paged in the database and a list paged in memory give
the same `{items, page}` (DEVELOPERS.md: one way to do each thing)."""

from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from core.pagination import paginate
from sites.models import Site
from tests.factories import make_site


def test_a_query_and_a_list_page_alike(app):
    for _ in range(5):
        make_site()
    db.session.commit()
    query = select(Site).order_by(Site.id)
    rows = db.session.scalars(query).all()
    for page in (1, 2, 3, 4):
        from_database = paginate(query, page, 2)
        from_memory = paginate(rows, page, 2)
        assert from_memory == from_database
    assert paginate(rows, 3, 2) == {
        "items": rows[4:],
        "page": {"page": 3, "per_page": 2, "total": 5, "pages": 3},
    }


def test_an_empty_list_has_no_pages(app):
    assert paginate([], 1, 20) == {
        "items": [],
        "page": {"page": 1, "per_page": 20, "total": 0, "pages": 0},
    }


def test_a_query_of_several_columns_pages_its_rows(app):
    # Issue 13 item 4: the gates' usage report and device list page through the one paginate.
    sites = [make_site() for _ in range(3)]
    db.session.commit()
    page = paginate(select(Site.id, Site.name).order_by(Site.id), 2, 2)
    assert [(row.id, row.name) for row in page["items"]] == [(sites[2].id, sites[2].name)]
    assert page["page"] == {"page": 2, "per_page": 2, "total": 3, "pages": 2}

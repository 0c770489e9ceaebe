"""One get-or-404 (DEVELOPERS.md: one way to do each thing): a row the caller may not see gets
the very answer an unknown id gets, so ids do not tell what exists (issue 18)."""

from __future__ import annotations

import pytest

from core.errors import ApiError
from core.extensions import db
from core.lookups import get_or_404
from sites.models import Site
from tests.factories import make_site


def refusal(call) -> tuple[str, int, object]:
    with pytest.raises(ApiError) as raised:
        call()
    return raised.value.code, raised.value.status, raised.value.errors


def test_a_hidden_row_is_answered_as_an_unknown_one(app):
    site = make_site()
    db.session.commit()
    assert get_or_404(Site, site.id, "slot_not_found") is site
    unknown = refusal(lambda: get_or_404(Site, site.id + 1000, "slot_not_found"))
    hidden = refusal(lambda: get_or_404(Site, site.id, "slot_not_found", visible=lambda _: False))
    assert unknown == hidden == ("slot_not_found", 404, None)


def test_the_refusal_names_the_field_when_asked(app):
    errors = {"slot_id": ["slot_not_found"]}
    assert refusal(lambda: get_or_404(Site, 1, "slot_not_found", errors=errors)) == (
        "slot_not_found",
        404,
        errors,
    )
    assert refusal(lambda: get_or_404(Site, 1)) == ("not_found", 404, None)

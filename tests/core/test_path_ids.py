"""An id in a path is a number the database holds, or the route is not found (issue 18, item 1).

`/api/v1/sites/9223372036854775808` reached the database and overflowed the driver (a 500 on
both databases, on about 19 operations). Every `<int:...>` route now takes 1..LARGEST_ID: a
larger number is a 404 like an id that names no row. The routes come from the app itself.
"""

from __future__ import annotations

import re

import pytest

from core.schemas import LARGEST_ID
from tests.core.test_errors import assert_error_shape
from tests.factories import bearer

BEYOND = ["2147483648", "9223372036854775807", "9223372036854775808", "9" * 5000, "0"]


def _id_routes(app):
    for rule in app.url_map.iter_rules():
        if "<int:" not in rule.rule:
            continue
        view = app.view_functions[rule.endpoint]
        role = (getattr(view, "_roles", None) or (None,))[0]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule.rule, role


def _with(rule: str, number: str) -> str:
    path = re.sub(r"<int:[a-z_]+>", number, rule)
    return re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "2026-12-01", path)


def test_every_id_route_takes_ids_from_1_to_the_largest_the_database_holds(app):
    bounded = []
    for rule in app.url_map.iter_rules():
        for name, converter in rule._converters.items():
            if f"<int:{name}>" in rule.rule:
                assert (converter.min, converter.max) == (1, LARGEST_ID), rule.rule
                bounded.append(rule.rule)
    assert len(bounded) >= 19


def test_the_api_document_gives_the_bounds(client):
    spec = client.get("/openapi.json").get_json()
    schema = spec["paths"]["/api/v1/sites/{site_id}"]["parameters"][0]["schema"]
    assert schema == {"type": "integer", "minimum": 1, "maximum": LARGEST_ID}


@pytest.mark.parametrize("number", BEYOND)
def test_an_id_the_database_cannot_hold_is_404_on_every_route(app, client, tokens, number):
    for method, rule, role in _id_routes(app):
        headers = bearer(tokens[role]) if role else {}
        headers["Idempotency-Key"] = "huge-id-0001"
        response = client.open(_with(rule, number), method=method, headers=headers, json={})
        assert response.status_code == 404, (method, rule)
        assert_error_shape(response, 404, "not_found")


def test_the_largest_id_reaches_the_view_and_is_answered_without_a_500(app, client, tokens):
    for method, rule, role in _id_routes(app):
        headers = bearer(tokens[role]) if role else {}
        headers["Idempotency-Key"] = "largest-id-01"
        response = client.open(
            _with(rule, str(LARGEST_ID)), method=method, headers=headers, json={}
        )
        assert 400 <= response.status_code < 500, (method, rule, response.get_json())

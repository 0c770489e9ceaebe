"""Every route, as every role it accepts, survives junk input with a 4xx in the one error shape.

The route list comes from the app itself, so packages added later are covered without edits.
"""

from __future__ import annotations

import re

from tests.factories import bearer

JUNK_BODIES = [
    b"",
    b"null",
    b"[]",
    b"0",
    b'"text"',
    b"{}",
    b'{"site_id": "1", "id": -1, "page": 10000000000000000000000}',
    b'{"site_id": 99999999999999999999999, "donor_id": [], "kind": {}, "code": null}',
    b'{"reason": "' + b"\xe5" * 3 + b'"}',
    b"\x00\x01\x02",
]
JUNK_QUERIES = ["?page=abc", "?per_page=1000000000000000000000", "?on=2026-02-30", "?x=%ff"]


def _path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?[a-z_]+>", lambda m: "1" if "int" in m.group(0) else "x", rule)


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith(("/docs", "/openapi")):
            continue
        view = app.view_functions[rule.endpoint]
        roles = getattr(view, "_roles", None) or (None,)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for role in roles:
                yield method, _path(rule.rule), role


def _check(response, what):
    assert 400 <= response.status_code < 500 or response.status_code in (200, 201, 202, 204), what
    if response.status_code >= 400:
        body = response.get_json()
        assert body and body["code"] and body["message"] and body["status"], what


def test_junk_bodies_never_cause_a_500(app, client, tokens):
    for method, path, role in _routes(app):
        if method not in ("POST", "PUT", "PATCH"):
            continue
        headers = {"Idempotency-Key": "junk-key-0001"}
        if role:
            headers.update(bearer(tokens[role]))
        for junk in JUNK_BODIES:
            response = client.open(
                path, method=method, data=junk, content_type="application/json", headers=headers
            )
            _check(response, (method, path, role, junk, response.status_code))
            if junk not in (b"", b"{}"):
                assert response.status_code >= 400, (method, path, role, junk)


def test_junk_query_strings_never_cause_a_500(app, client, tokens):
    for method, path, role in _routes(app):
        if method != "GET":
            continue
        headers = bearer(tokens[role]) if role else {}
        for query in JUNK_QUERIES:
            with client.get(path + query, headers=headers) as response:  # a file's stays open
                _check(response, (path + query, role, response.status_code))

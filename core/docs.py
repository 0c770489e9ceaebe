"""The API document's account of errors, and Swagger UI's own files for /docs.

Every operation lists the error statuses it can answer, each with the one error shape
(core.schemas.ErrorSchema): those that come with the kind of operation it is are added here
when its blueprint is documented (a path parameter can name nothing: 404; a signed-in caller:
401 and 403; a body: 413 and 415; a write: 409 on a unique record; a rate limit: 429), and a view
adds those its own services answer with `answers`.

Swagger UI's scripts and styles come from the swagger-ui-bundle package: flask-smorest's page
loads them from OPENAPI_SWAGGER_UI_URL, which points here, so on a network that reaches no CDN
the docs still work.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from http import HTTPStatus
from typing import Any

from flask import Blueprint, Flask
from flask_limiter.util import get_qualified_name
from swagger_ui_bundle import swagger_ui_path
from werkzeug.routing import Rule

from core.extensions import limiter

bp = Blueprint(
    "docs_assets", __name__, static_folder=str(swagger_ui_path), static_url_path="/docs/assets"
)

# Every request: text no column can hold (core.http), a database that does not answer.
ANY_OPERATION = (400, 503)
WITH_BODY = ("post", "put", "patch")
WRITES = ("post", "put", "patch", "delete")


def answers(*statuses: int) -> Callable:
    """Document the error statuses a view's services answer (404 for a booking that is not the
    caller's, 409 for a full slot), beside those every operation of its kind has.

    Place it under the route decorator; flask-smorest reads it when the view is registered.
    """
    for status in statuses:
        HTTPStatus(status)  # an unknown status fails at import, not in the document

    def decorator(view: Callable) -> Callable:
        apidoc = deepcopy(getattr(view, "_apidoc", {}))
        apidoc.setdefault("answers", []).extend(statuses)
        view._apidoc = apidoc  # type: ignore[attr-defined]  # flask-smorest's place for a view's doc
        return view

    return decorator


def error_statuses(app: Flask, view: Callable, rule: Rule, method: str, doc: dict) -> set[int]:
    """The error statuses an operation can answer: its kind's and those it declares."""
    statuses = set(ANY_OPERATION) | set(doc.get("answers", ()))
    if rule.arguments:
        statuses.add(404)
    if getattr(view, "_roles", None):
        statuses |= {401, 403}
    elif doc.get("manual_doc", {}).get("security"):
        statuses.add(401)
    if method in WITH_BODY:
        statuses |= {413, 415}
    if method in WRITES:
        statuses.add(409)
    if doc.get("arguments"):
        statuses.add(422)
    with app.app_context():
        if limiter.limit_manager.decorated_limits(get_qualified_name(view)):
            statuses.add(429)
    return statuses


def with_error_responses(app: Flask, endpoint: str, methods_doc: dict[str, Any]) -> dict:
    """A copy of an endpoint's doc info, each operation given its error responses by status
    name: flask-smorest documents each as that status with the API's error schema."""
    view = app.view_functions[endpoint]
    rule = next(app.url_map.iter_rules(endpoint))
    documented = deepcopy(methods_doc)
    for method, doc in documented.items():
        if method == "parameters":
            continue
        responses = doc.setdefault("response", {}).setdefault("responses", {})
        taken = {int(status) for status in responses}
        taken |= {int(status) for status in doc.get("arguments", {}).get("responses", {})}
        for status in sorted(error_statuses(app, view, rule, method, doc) - taken):
            responses[status] = [HTTPStatus(status).name]
    return documented

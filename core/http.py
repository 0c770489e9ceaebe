"""Request guards that apply to every route: content types, the body's encoding and shape, and
text no database column can hold.

PostgreSQL refuses a NUL character in text and neither database stores an unpaired surrogate
(JSON's `"\\ud800"`), so such text is refused here, where every request passes, rather than
met as a driver error halfway through a transaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import flask_smorest as smorest
from flask import Flask, Request, current_app, request
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, is_json_request
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter, Map

from core import docs
from core.errors import ApiError
from core.schemas import LARGEST_ID

JSON_MIMETYPES = ("application/json",)
FORM_MIMETYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

# Nesting a client may send in a JSON body. The deepest body the API takes (a schedule's
# sessions with their capacities) is four levels; Python's parser gives up near a thousand.
MAX_JSON_DEPTH = 32

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_PARSED_BODY = "donor.parsed_json_body"


def accepts(*mimetypes: str) -> Callable:
    """Let a view take bodies other than JSON (a form post from Twilio, a photo upload)."""

    def decorator(view: Callable) -> Callable:
        view._accepted_mimetypes = mimetypes  # type: ignore[attr-defined]  # read when the body is parsed
        return view

    return decorator


def allows_body_of(setting: str) -> Callable:
    """Let a view take a body up to the configuration's `setting` (bytes) instead of
    MAX_CONTENT_LENGTH: an upload whose own size its service checks (a donor's document). Set
    before anything reads the body, form fields included."""

    def decorator(view: Callable) -> Callable:
        view._body_limit_setting = setting  # type: ignore[attr-defined]  # read before each request
        return view

    return decorator


def _has_body() -> bool:
    return bool(request.content_length) or request.headers.get("Transfer-Encoding") == "chunked"


def unstorable(text: str) -> bool:
    """True when `text` holds a character the databases cannot store (NUL, a lone surrogate)."""
    return _UNSTORABLE.search(text) is not None


def _refuse(where: str) -> ApiError:
    return ApiError("invalid_characters", 400, errors={where: ["invalid_characters"]})


def _pairs(where: str, items: Iterable[tuple[str, str]]) -> None:
    for name, value in items:
        if unstorable(name):
            raise _refuse(where)
        if unstorable(value):
            raise _refuse(name)


def load_json(data: bytes) -> Any:
    """A request body as JSON, refused unless every string in it (keys too) can be stored and it
    nests at most MAX_JSON_DEPTH levels.

    Empty bodies raise `json.JSONDecodeError` with an empty document, as webargs expects.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError("invalid_json", 400) from None
    if not text:
        raise json.JSONDecodeError("empty body", "", 0)
    try:
        document = json.loads(text)
    except RecursionError:
        raise ApiError("json_too_deep", 400) from None
    except ValueError:  # malformed, or an integer longer than Python parses
        raise ApiError("invalid_json", 400) from None
    _check_document(document)
    return document


def _check_document(document: Any) -> None:
    """Walk the document without recursion: its depth is what is being checked."""
    pending: list[tuple[Any, int, str]] = [(document, 0, "")]
    while pending:
        value, depth, where = pending.pop()
        if isinstance(value, str):
            if unstorable(value):
                raise _refuse(where or "body")
            continue
        if not isinstance(value, dict | list):
            continue
        if depth >= MAX_JSON_DEPTH:
            raise ApiError("json_too_deep", 400)
        items: Iterator[tuple[str, Any]]
        if isinstance(value, list):
            items = ((str(index), item) for index, item in enumerate(value))
        else:
            items = iter(value.items())
        for key, item in items:
            if unstorable(key):
                raise _refuse(where or "body")
            pending.append((item, depth + 1, f"{where}.{key}" if where else key))


def parsed_json_body() -> Any:
    """The request's JSON body, parsed and checked once per request (load_json)."""
    if _PARSED_BODY not in request.environ:
        request.environ[_PARSED_BODY] = load_json(request.get_data(cache=True))
    return request.environ[_PARSED_BODY]


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: a row id, 1 to LARGEST_ID.

    A number past it names no row, so it is a 404 as such an id is, and never reaches the
    database. It is refused here rather than left unmatched: werkzeug would then answer 405 when
    another method's rule has the same path.
    """

    def __init__(self, map: Map, fixed_digits: int = 0, min: int = 1, max: int = LARGEST_ID):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max)
        self.smallest, self.largest = min, max

    def to_python(self, value: str) -> int:
        if len(value) > len(str(self.largest)) or not self.smallest <= int(value) <= self.largest:
            raise NotFound()
        return int(value)


def init_app(app: Flask) -> None:
    """Before any blueprint is registered: its rules take their converters from here."""
    app.url_map.converters["int"] = IdConverter

    @app.before_request
    def apply_the_views_body_limit() -> None:
        view = current_app.view_functions.get(request.endpoint or "")
        setting = getattr(view, "_body_limit_setting", None)
        if setting is not None:
            request.max_content_length = current_app.config[setting]

    @app.before_request
    def refuse_unexpected_content_type() -> None:
        if request.method not in ("POST", "PUT", "PATCH") or not _has_body():
            return
        view = current_app.view_functions.get(request.endpoint or "")
        allowed = getattr(view, "_accepted_mimetypes", JSON_MIMETYPES)
        mimetype = request.mimetype
        if mimetype in allowed or (mimetype.endswith("+json") and "application/json" in allowed):
            return
        raise ApiError("unsupported_media_type", 415)

    @app.before_request
    def refuse_unstorable_text() -> None:
        """The path, the query string, the headers and form fields; JSON bodies are checked when
        they are parsed (load_json), under the view's own body limit."""
        if unstorable(request.path):
            raise _refuse("path")
        _pairs("query", request.args.items(multi=True))
        _pairs("headers", iter(request.headers.items()))
        if request.mimetype in FORM_MIMETYPES and _has_body():
            _pairs("form", request.form.items(multi=True))


# A multipart body's fields and files read by one schema (a form with photos attached): one
# request body in the API document, as OpenAPI has room for only one.
FORM_AND_FILES = "form_and_files"


class JsonParser(FlaskParser):
    """webargs' parser reading JSON bodies through load_json: one parse, one set of refusals;
    and multipart bodies' fields and files together (`location=FORM_AND_FILES`)."""

    __location_map__ = {**FlaskParser.__location_map__, FORM_AND_FILES: "load_form_and_files"}

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            return webargs_core.missing
        return parsed_json_body()

    def load_form_and_files(self, req: Request, schema: Any) -> MultiDictProxy:
        return self._makeproxy(CombinedMultiDict([req.form, req.files]), schema)


class Blueprint(smorest.Blueprint):
    """The blueprint every package uses: flask-smorest's, with our JSON parser, and each
    operation documented with the error statuses it can answer (core.docs)."""

    ARGUMENTS_PARSER = JsonParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **smorest.Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        FORM_AND_FILES: "multipart/form-data",
    }
    _docs: dict[str, Any]

    def register_views_in_doc(
        self, api: Any, app: Flask, spec: Any, *, name: str, parameters: Any
    ) -> None:
        own = self._docs
        self._docs = {
            endpoint: docs.with_error_responses(app, f"{name}.{endpoint}", methods)
            for endpoint, methods in own.items()
        }
        try:
            super().register_views_in_doc(api, app, spec, name=name, parameters=parameters)
        finally:
            self._docs = own

"""Request guards that apply to every route: content types and the body's encoding."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import flask_smorest as smorest
from flask import Flask, Request, current_app, request
from webargs.flaskparser import FlaskParser

from core.errors import ApiError

JSON_MIMETYPES = ("application/json",)


def accepts(*mimetypes: str) -> Callable:
    """Let a view take bodies other than JSON (a form post from Twilio, a photo upload)."""

    def decorator(view: Callable) -> Callable:
        view._accepted_mimetypes = mimetypes
        return view

    return decorator


def _has_body() -> bool:
    return bool(request.content_length) or request.headers.get("Transfer-Encoding") == "chunked"


def init_app(app: Flask) -> None:
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


class JsonParser(FlaskParser):
    """webargs' parser, also turning over-long integers (a ValueError in `json`) into a 400."""

    def _raw_load_json(self, req: Request) -> Any:
        try:
            return super()._raw_load_json(req)
        except ValueError as error:
            if isinstance(error, json.JSONDecodeError | UnicodeDecodeError):
                raise
            self._handle_invalid_json_error(json.JSONDecodeError(str(error), "", 0), req)


class Blueprint(smorest.Blueprint):
    """The blueprint every package uses: flask-smorest's, with our JSON parser."""

    ARGUMENTS_PARSER = JsonParser()

"""What a view reads from the request beyond its arguments: the donor calling, and whether its
body may carry images. Every package's routes use these, so no route module imports another."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, current_app, request

from core.auth import caller


def use_donor_lookup(app: Flask, lookup: Callable[[int], Any]) -> None:
    """How the donor an access token names is found (the donors package answers, 401 once the
    account is closed); core knows no donor."""
    app.extensions["donor_lookup"] = lookup


def current_donor() -> Any:
    return current_app.extensions["donor_lookup"](caller().principal_id)


def allows_images(view: Callable) -> Callable:
    """Raise the body limit for this view to FACE_REQUEST_MAX_BYTES (photos as base64)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        request.max_content_length = current_app.config["FACE_REQUEST_MAX_BYTES"]
        return view(*args, **kwargs)

    return wrapper

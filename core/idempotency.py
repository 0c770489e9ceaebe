"""Idempotency-Key for requests that must never take effect twice (a donation, a booking).

The key row is inserted in the same transaction as the effect and holds the first response. A
retry after success replays that response; a retry racing the first request waits on the key's
unique index and then replays; a failed request leaves no row, so the retry runs afresh.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.auth import caller
from core.docs import answers
from core.errors import ApiError
from core.extensions import db
from core.http import parsed_json_body
from core.models import IdempotentRequest

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")


def _stored(principal: str, key: str) -> IdempotentRequest | None:
    return db.session.scalar(
        select(IdempotentRequest).where(
            IdempotentRequest.principal == principal, IdempotentRequest.key == key
        )
    )


def _replay(row: IdempotentRequest, request_hash: str) -> Response:
    if row.request_hash != request_hash:
        raise ApiError("idempotency_key_reused", 422)
    response = jsonify(row.response)
    response.status_code = row.status_code or 200
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _fingerprint() -> str:
    """What makes two requests the same: the operation, the path and the body's meaning.

    A JSON body counts by its parsed value (keys sorted, no spacing), so a retry whose client
    wrote the keys in another order or spaced them differently is the same request and replays
    the first answer; other bodies count byte for byte.
    """
    body = request.get_data(cache=True)
    if body and request.is_json:
        value = parsed_json_body()
        body = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(
        b"\n".join([(request.endpoint or "").encode(), request.path.encode(), body])
    ).hexdigest()


def idempotent(view: Callable | None = None, *, required: bool = True) -> Callable:
    """Run the view at most once per Idempotency-Key and caller; commit its work.

    `required=False` lets a client that sends no key go on as before (a donor's booking from an
    older app); one that sends a key gets the same answer to every retry.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = request.headers.get(HEADER)
            if key is None and not required:
                response = view(*args, **kwargs)
                db.session.commit()
                return response
            if key is None or not _KEY.match(key):
                raise ApiError("idempotency_key_required", 400)
            return _once(key, view, args, kwargs)

        # A key missing or malformed (400), a twin still running (409), a key reused (422).
        return answers(400, 409, 422)(wrapper)

    return decorator(view) if view is not None else decorator


def _once(key: str, view: Callable, args: tuple, kwargs: dict[str, Any]) -> Response:
    who = caller()
    principal = f"{who.principal_type}:{who.principal_id}"
    request_hash = _fingerprint()
    existing = _stored(principal, key)
    if existing is not None:
        return _replay(existing, request_hash)
    row = IdempotentRequest(
        principal=principal, key=key, endpoint=request.endpoint, request_hash=request_hash
    )
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()  # a concurrent twin committed first: answer as it did
        existing = _stored(principal, key)
        if existing is None:
            raise ApiError("conflict", 409) from None
        return _replay(existing, request_hash)
    response = view(*args, **kwargs)
    row.status_code = response.status_code
    row.response = response.get_json()
    db.session.commit()
    return response

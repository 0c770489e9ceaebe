"""Every value a client sends has bounds the API document states (issue 18, item 1).

Read from the document itself, so an operation added later is held to it too: every string has a
length limit (or is one of a list, or a date), every integer and number a least and a greatest
value, every list a longest length. An unbounded string reached a column of fixed length, and an
unbounded number a 32-bit column, as a driver error: a 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

FORMATS_WITH_THEIR_OWN_BOUNDS = {"date", "date-time", "uuid", "binary", "byte"}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        _, _, path = schema["$ref"].partition("#/")
        target: Any = spec
        for part in path.split("/"):
            target = target[part]
        schema = target
    return schema


def _unbounded(spec: dict, schema: dict, where: str, seen: set[int]) -> Iterator[str]:
    schema = _resolve(spec, schema)
    if id(schema) in seen:
        return
    seen = seen | {id(schema)}
    if "enum" in schema:
        return
    kind = schema.get("type")
    if kind == "string":
        if "maxLength" not in schema and schema.get("format") not in FORMATS_WITH_THEIR_OWN_BOUNDS:
            yield f"{where}: string without maxLength"
    elif kind in ("integer", "number"):
        if "minimum" not in schema or "maximum" not in schema:
            yield f"{where}: {kind} without minimum and maximum"
    elif kind == "array":
        if "maxItems" not in schema:
            yield f"{where}: array without maxItems"
        yield from _unbounded(spec, schema.get("items", {}), f"{where}[]", seen)
    for name, prop in schema.get("properties", {}).items():
        if not prop.get("readOnly"):
            yield from _unbounded(spec, prop, f"{where}.{name}", seen)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and extra:
        yield from _unbounded(spec, extra, f"{where}.*", seen)
    for combined in ("allOf", "anyOf", "oneOf"):
        for index, part in enumerate(schema.get(combined, [])):
            yield from _unbounded(spec, part, f"{where}/{combined}{index}", seen)


def _inputs(spec: dict) -> Iterator[tuple[str, dict]]:
    for path, operations in spec["paths"].items():
        shared = operations.get("parameters", [])
        for method, operation in operations.items():
            if method == "parameters":
                continue
            label = f"{method.upper()} {path}"
            for parameter in shared + operation.get("parameters", []):
                parameter = _resolve(spec, parameter)
                name = f"{label} {parameter['in']} {parameter['name']}"
                yield name, parameter.get("schema", {})
            body = operation.get("requestBody", {}).get("content", {})
            for content_type, media in body.items():
                yield f"{label} body ({content_type})", media.get("schema", {})


def test_every_value_a_client_sends_is_bounded_in_the_api_document(client):
    spec = client.get("/openapi.json").get_json()
    unbounded = [
        problem
        for where, schema in _inputs(spec)
        for problem in _unbounded(spec, schema, where, set())
    ]
    assert unbounded == []

"""How personal data appears in responses, logs and pages: never whole."""

from __future__ import annotations


def mask_id_number(id_number: str | None) -> str | None:
    """`330102199001011234` -> `330102********1234` (the region code and the last four)."""
    if not id_number:
        return None
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def mask_mobile(e164: str | None) -> str | None:
    """`+8613812345678` -> `138****5678`."""
    if not e164:
        return None
    digits = e164.removeprefix("+86")
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 7 else "****"


def mask_name(name: str | None) -> str | None:
    """`张三丰` -> `张**`: the surname only, as on a public verification page."""
    if not name:
        return None
    return name[0] + "*" * max(len(name) - 1, 1)

"""What identifies a bill, and what its reduction comes to: shared by the hospital's cashier,
the donor's claim and the import, so a bill is reduced once whichever channel comes first."""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import select

from blooduse.entitlement import Draw
from blooduse.models import Hospital
from core.extensions import db


def bill_key(bill_number: str, hospital_code: str | None, hospital_name: str | None = None) -> str:
    """A registered hospital is known by its code; a hospital named in a claim by its name,
    normalised (full-width forms folded, spaces dropped, lower case), so "浙大一院 " and
    "浙大一院" are one hospital. The bill number is normalised the same way."""
    if hospital_code:
        where = f"code:{hospital_code}"
    else:
        where = f"name:{_normalised(hospital_name or '')}"
    return f"{where}|{_normalised(bill_number)}"


def _normalised(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text)
    return "".join(folded.split()).lower()


def yuan(cents: int) -> str:
    """An amount as a text says it: 480.00元."""
    return f"{cents // 100}.{cents % 100:02d}元"


def reduction_cents(fee_cents: int, covered_ml: int, volume_ml: int) -> int:
    """The fee in proportion to the ml the entitlement covers, rounded down to the cent."""
    if volume_ml <= 0 or covered_ml <= 0:
        return 0
    if covered_ml >= volume_ml:
        return fee_cents
    return fee_cents * covered_ml // volume_ml


def hospital_named(name: str) -> list[Hospital]:
    """The registered hospitals a claimed or imported bill names by their name (as registered,
    spaces at the ends and full-width forms aside): a bill of one of them is keyed by its code,
    as its cashier keys it, so the bill cannot be reduced once at the cashier and once again by
    name."""
    wanted = {name.strip(), unicodedata.normalize("NFKC", name).strip()}
    return list(db.session.scalars(select(Hospital).where(Hospital.name.in_(wanted))))


def volume_of(components: list[dict[str, Any]]) -> int:
    """A bill's volume: its components' ml together."""
    return sum(int(item["volume_ml"]) for item in components)


def covered_ml(draws: list[Draw]) -> int:
    return sum(draw.ml for draw in draws)


def drawn_windows(draws: list[Draw]) -> list[dict[str, Any]]:
    """What was applied under which rule, window by window (the receipt's, the claim's and the
    import's `rule`)."""
    return [
        {
            "region": draw.window.region,
            "donation_id": draw.window.donation_id,
            "donation_date": (
                draw.window.donation_date.isoformat() if draw.window.donation_date else None
            ),
            "kind": draw.window.kind,
            "phase": draw.window.phase,
            "multiple": draw.window.multiple,
            "ends_on": draw.window.ends_on.isoformat() if draw.window.ends_on else None,
            "unlimited": draw.window.unlimited,
            "donation_ml": draw.window.ml,
            "drawn_ml": draw.ml,
            "rule": draw.window.rule,
        }
        for draw in draws
    ]

"""What identifies a bill, and what its reduction comes to: shared by the hospital's cashier,
the donor's claim and the import, so a bill is reduced once whichever channel comes first."""

from __future__ import annotations

import unicodedata


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


def reduction_cents(fee_cents: int, covered_ml: int, volume_ml: int) -> int:
    """The fee in proportion to the ml the entitlement covers, rounded down to the cent."""
    if volume_ml <= 0 or covered_ml <= 0:
        return 0
    if covered_ml >= volume_ml:
        return fee_cents
    return fee_cents * covered_ml // volume_ml

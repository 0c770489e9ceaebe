"""Cells of the CSV files the service writes, safe to open in a spreadsheet.

A cell whose text a spreadsheet would read as a formula gets a leading apostrophe, which shows
as nothing and keeps the cell text (OWASP "CSV Injection"). Formulas start with `=`, `+`, `-`
or `@`; Excel on a Chinese system takes their full-width forms (`＝` `＋` `－` `＠`, what a
Chinese input method types) alike; a tab, carriage return or line feed before them is skipped
by some importers, and so are spaces, so the first character that is not a space decides.
"""

from __future__ import annotations

from datetime import date
from typing import Any

FORMULA_STARTERS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
_SKIPPED = " \u3000"  # a space, and the full-width (ideographic) space


def spreadsheet_cell(value: Any) -> str:
    """`value` as CSV cell text: dates in ISO form, and never a formula."""
    text = value.isoformat() if isinstance(value, date) else str(value)
    first = text.lstrip(_SKIPPED)[:1]
    return "'" + text if first and first in FORMULA_STARTERS else text

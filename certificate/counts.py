"""Award counts, kept exactly: whole blood counts in halves (300 ml = 1.5).

In the code a count is a Fraction, so sums never drift; in the database it is a whole number of
half counts; in the API it is a JSON number (1.5, 20), never a string. The policy loader allows
no step finer than a half (core/policy.py `_count_step`), so every count fits the database.
"""

from __future__ import annotations

from fractions import Fraction

Counts = Fraction


def to_halves(counts: Fraction) -> int:
    doubled = Fraction(counts) * 2
    if doubled.denominator != 1:
        raise ValueError(f"{counts} is not a whole number of half counts")
    return int(doubled)


def from_halves(halves: int) -> Fraction:
    return Fraction(halves, 2)


def as_number(counts: Fraction | int) -> int | float:
    """20 or 1.5: a half is exact in binary floating point, so the float carries no error."""
    value = Fraction(counts)
    return int(value) if value.denominator == 1 else float(value)


def as_text(counts: Fraction | int) -> str:
    return str(as_number(counts))

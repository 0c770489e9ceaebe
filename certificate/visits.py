"""The check-in visit a donation comes from, without certificate/ knowing how visits are kept.

Staff may record a donation by naming the donor's visit instead of their ID number. Visits belong
to appointments/, which depends on this package and not the other way round, so the app gives
certificate appointments' resolver when it is built (wiring.py); with none, no visit is found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from flask import Flask, current_app


@dataclass(frozen=True)
class VisitRef:
    id: int
    donor_id: int
    site_id: int
    open: bool  # a donation may still be recorded for it
    day: date  # the local day of the visit: its donation is collected that day


VisitResolver = Callable[[int], "VisitRef | None"]
_KEY = "visit_resolver"


def use_visit_resolver(app: Flask, resolver: VisitResolver) -> None:
    app.extensions[_KEY] = resolver


def resolve_visit(visit_id: int) -> VisitRef | None:
    resolver = current_app.extensions.get(_KEY)
    return resolver(visit_id) if resolver is not None else None

"""The check-in visit a donation comes from, without certificate/ knowing how visits are kept.

Staff may record a donation by naming the donor's visit instead of their ID number. Visits belong
to appointments/, which depends on this package and not the other way round, so appointments
registers a resolver here when it is imported; with none registered, no visit is ever found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class VisitRef:
    id: int
    donor_id: int
    site_id: int
    open: bool  # a donation may still be recorded for it
    day: date  # the local day of the visit: its donation is collected that day


VisitResolver = Callable[[int], "VisitRef | None"]
_resolver: VisitResolver | None = None


def register_visit_resolver(resolver: VisitResolver) -> None:
    global _resolver
    _resolver = resolver


def resolve_visit(visit_id: int) -> VisitRef | None:
    return _resolver(visit_id) if _resolver is not None else None

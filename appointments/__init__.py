"""Slots, bookings, waiting lists, the health form with consent, and check-in visits.

Importing the package registers its policy sections (`appointments`, `questionnaire`), the visit
resolver certificate/ uses, the listener that fulfils a visit when its donation is recorded, and
the one that removes an erased donor's bookings, waiting places and health forms.
"""

from appointments import checkin, erasure, rules  # noqa: F401  (registrations at import)
from appointments.routes import bp

__all__ = ["bp"]

"""Slots, bookings, waiting lists, the health form with consent, and check-in visits.

Importing the package registers its policy sections (`appointments`, `questionnaire`), the visit
resolver certificate/ uses, and the listener that fulfils a visit when its donation is recorded.
"""

from appointments import checkin, rules  # noqa: F401  (registrations at import)
from appointments.routes import bp

__all__ = ["bp"]

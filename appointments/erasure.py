"""An erased donor's appointments, removed in the erasure's transaction.

What served or described the donor goes: future bookings and waiting places (their places pass
to other donors at once), an open visit, the signed health forms and the check-in codes used.
What blood services must keep stays, pseudonymous: past bookings and visits, which donations
point to.
"""

from __future__ import annotations

from typing import Any

from appointments import bookings, checkin, questionnaire
from donors.models import Donor


def forget_donor(sender: Any, donor: Donor, **extra: Any) -> None:
    checkin.end_visits_for_erasure(donor)
    bookings.withdraw_for_erasure(donor)
    questionnaire.erase_answers(donor)

"""Receivers of the certificate package's events, run inside the transaction that sent them.

The thank-you row commits with the donation and its certificate, or not at all.
"""

from __future__ import annotations

from typing import Any

from certificate.events import donation_recorded
from notifications.services import thank_for_donation


@donation_recorded.connect
def thank_the_donor(sender: Any, donation: Any, **extra: Any) -> None:
    thank_for_donation(donation)

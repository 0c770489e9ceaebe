"""Notifications' reactions to the certificate and donors packages' events, run inside the
transaction that sent them (connected, in order, in wiring.py).

The thank-you row commits with the donation and its certificate, a voided donation with the
cancelling of its unsent thank-you, a login code's row with the code, and an erasure with the
wiping of the donor's texts, or none of them do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from notifications.services import (
    cancel_thanks,
    forget_donor,
    send_login_code,
    tell_old_number,
    tell_registered_holder,
    thank_for_donation,
)


def thank_the_donor(sender: Any, donation: Any, **extra: Any) -> None:
    thank_for_donation(donation)


def unthank_the_donor(sender: Any, donation: Any, **extra: Any) -> None:
    cancel_thanks(donation)


def deliver_the_code(
    sender: Any, code_id: int, mobile: str, code: str, minutes: int, expires_at: datetime, **extra
) -> None:
    send_login_code(code_id, mobile, code, minutes, expires_at)


def tell_the_old_number(sender: Any, audit_id: int, old_mobile: str, **extra: Any) -> None:
    tell_old_number(audit_id, old_mobile)


def tell_the_registered_holder(sender: Any, donor: Any, other_mobile: str, **extra: Any) -> None:
    tell_registered_holder(donor, other_mobile)


def forget_the_donor(sender: Any, donor: Any, **extra: Any) -> None:
    forget_donor(donor.id)

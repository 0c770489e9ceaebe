"""Receivers of the certificate and donors packages' events, run inside the transaction that
sent them.

The thank-you row commits with the donation and its certificate, a voided donation with the
cancelling of its unsent thank-you, a login code's row with the code, and an erasure with the
wiping of the donor's texts, or none of them do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from certificate.events import donation_recorded, donation_voided
from donors.events import (
    donor_erased,
    login_code_issued,
    mobile_changed,
    registration_for_registered_id,
)
from notifications.services import (
    cancel_thanks,
    forget_donor,
    send_login_code,
    tell_old_number,
    tell_registered_holder,
    thank_for_donation,
)


@donation_recorded.connect
def thank_the_donor(sender: Any, donation: Any, **extra: Any) -> None:
    thank_for_donation(donation)


@donation_voided.connect
def unthank_the_donor(sender: Any, donation: Any, **extra: Any) -> None:
    cancel_thanks(donation)


@login_code_issued.connect
def deliver_the_code(
    sender: Any, code_id: int, mobile: str, code: str, minutes: int, expires_at: datetime, **extra
) -> None:
    send_login_code(code_id, mobile, code, minutes, expires_at)


@mobile_changed.connect
def tell_the_old_number(sender: Any, audit_id: int, old_mobile: str, **extra: Any) -> None:
    tell_old_number(audit_id, old_mobile)


@registration_for_registered_id.connect
def tell_the_registered_holder(sender: Any, donor: Any, other_mobile: str, **extra: Any) -> None:
    tell_registered_holder(donor, other_mobile)


@donor_erased.connect
def forget_the_donor(sender: Any, donor: Any, **extra: Any) -> None:
    forget_donor(donor.id)

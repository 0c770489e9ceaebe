"""What the card shows, asked of the package that owns each part."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from certificate.eligibility import Eligibility, eligibility_for_all_kinds
from certificate.history import history_to_confirm
from certificate.models import Certificate, DonorTotals
from certificate.services import latest_certificate, totals_for
from core import clock
from core.policy import policy_for
from donors.models import Donor
from rewards.benefits import DonorBenefits, benefits_of
from rewards.honours import HonoursSummary, honours_summary
from rewards.points import Balance, balance


@dataclass(frozen=True)
class Card:
    donor: Donor
    totals: DonorTotals
    latest_certificate: Certificate | None
    next_eligible: list[Eligibility]
    history_to_confirm: dict[str, Any] | None
    benefits: DonorBenefits
    honours: HonoursSummary
    points: Balance


def card_for(donor: Donor) -> Card:
    return Card(
        donor=donor,
        totals=totals_for(donor),
        latest_certificate=latest_certificate(donor),
        next_eligible=eligibility_for_all_kinds(
            donor, clock.local_today(), policy_for(donor.region)
        ),
        history_to_confirm=history_to_confirm(donor),
        benefits=benefits_of(donor),
        honours=honours_summary(donor),
        points=balance(donor),
    )

"""Imported history: donations a station's export attached to a donor, shown once claimed.

An import matches donors by ID number alone, and an account's ID number is only what its holder
typed at registration. So imported donations stay off everything the donor sees (certificates,
totals, awards, the three frees) until the holder proves they are theirs: by naming one of their
donation numbers in the app, or by showing the ID card to staff at a site. Until then the card
says only that records were found and how to confirm them: no count, dates, sites or amounts.
Eligibility counts them all along: they are real donations, and the intervals and yearly caps
protect the donor whoever holds the account.

Once a donor has claimed, what a later import adds for them shows at once, with its certificates
and in the totals, as the claim gave them the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import exists, select

from certificate import services
from certificate.models import IMPORTED, VALID, Donation
from core import audit, clock, limits
from core.auth import Caller
from core.errors import ApiError, message_for
from core.extensions import db
from core.ids import DinError, parse_din
from donors.models import DONOR_ACTIVE, Donor
from donors.services import find_donor_by_id_number
from sites.models import Site

CLAIM_PATH = "/api/v1/me/history-claims"


def _has_imported(donor: Donor) -> bool:
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Donation.donor_id == donor.id,
                    Donation.source == IMPORTED,
                    Donation.status == VALID,
                )
            )
        )
    )


def history_to_confirm(donor: Donor) -> dict[str, Any] | None:
    """What the card says while imported history waits for its claim, or None when none does.

    That records exist and the two ways to confirm them, nothing more: the account may not be the
    ID card holder's, so even how many there are waits for the proof.
    """
    if donor.history_claimed_at is not None or not _has_imported(donor):
        return None
    return {
        "message": message_for("history_to_confirm"),
        "ways": [
            {
                "way": "donation_number",
                "message": message_for("history_confirm_by_donation_number"),
                "path": CLAIM_PATH,
            },
            {
                "way": "id_card_at_site",
                "message": message_for("history_confirm_at_site"),
                "path": None,
            },
        ],
    }


def _take_over(donor: Donor) -> tuple[int, bool]:
    """Show the donor's imported history: certificates for its valid donations, new totals.

    The donor's row is locked (and read again) first, so two claims at once, the donor's and a
    site's, issue each certificate once. Returns how many imported donations the donor has, and
    whether this call is the one that claimed them.
    """
    db.session.refresh(donor, with_for_update=True)
    newly = donor.history_claimed_at is None
    if newly:
        donor.history_claimed_at = clock.now()
    imported = db.session.scalars(
        select(Donation).where(Donation.donor_id == donor.id, Donation.source == IMPORTED)
    ).all()
    for donation in imported:
        if donation.certificate is None and donation.status == VALID:
            services.issue_certificate(donation, donor)
    services.refresh_totals(donor)
    return len(imported), newly


HISTORY_CLAIM = "HISTORY_CLAIM_LIMIT_PER_DONOR"


def claim_history(donor: Donor, raw_din: str) -> int:
    """Show imported history once the donor proves a donation number from it.

    A bag number is the proof, so guessing one is bounded: a few wrong numbers per donor a day.
    Each guess is counted before it is checked (core.limits), so parallel guesses cannot outrun
    the bound; a right one gives its count back.
    """
    try:
        din = parse_din(raw_din)
    except DinError as error:
        raise ApiError(error.code, 422, errors={"din": [error.code]}) from error
    try:
        attempt = limits.take(HISTORY_CLAIM, str(donor.id))
    except limits.Throttled as throttled:
        raise ApiError("history_claim_too_many", 429, headers=throttled.headers) from None
    match = db.session.scalar(
        select(Donation.id).where(
            Donation.donor_id == donor.id, Donation.din == din.body, Donation.source == IMPORTED
        )
    )
    if match is None:
        audit.record("donor.history_claim_failed", actor=("donor", donor.id))
        db.session.commit()  # the audit trail keeps failed proofs though the request fails
        raise ApiError("history_claim_failed", 422, errors={"din": ["history_claim_failed"]})
    attempt.give_back()
    count, _ = _take_over(donor)
    audit.record("donor.history_claimed", actor=("donor", donor.id), details={"count": count})
    return count


def claim_history_at_site(site: Site, id_number: str, staff: Caller) -> tuple[Donor, int]:
    """Show a registered donor's imported history after staff at `site` checked their ID card.

    The same take-over as the donor's own claim, audited with the staff member and the site.
    Asking again changes nothing and gives the same answer. A donor not yet registered is
    refused: the account that registers later has proven nothing.
    """
    donor = find_donor_by_id_number(id_number)
    if donor is None:
        raise ApiError("donor_not_found", 404)
    services.audit_staff_access(staff, donor)
    if donor.status != DONOR_ACTIVE:
        raise ApiError("history_donor_not_registered", 409)
    if donor.history_claimed_at is None and not _has_imported(donor):
        raise ApiError("history_not_found", 404)
    count, newly = _take_over(donor)
    if newly:
        audit.record(
            "donor.history_claimed",
            actor=("staff", staff.principal_id),
            target=("donor", donor.id),
            details={"count": count, "site": site.id, "proof": "id_card_checked"},
        )
    return donor, count


def show_later_imports(donor_ids: Iterable[int]) -> None:
    """Donors who already claimed see what an import adds for them at once: its certificates,
    and their totals with it (called in the import's transaction)."""
    ids = sorted(set(donor_ids))
    if not ids:
        return
    claimed = db.session.scalars(
        select(Donor).where(Donor.id.in_(ids), Donor.history_claimed_at.is_not(None))
    )
    for donor in claimed:
        _take_over(donor)

"""Whether a donor is at a site now: what lets the site's staff act on the donor by id.

A deferral names the donor by internal id, and ids are sequential: any staff member could defer
any donor, permanently, one id after another. So a deferral is taken only for a donor the site
serves now, as the donor's own traces there show:

- a visit there, open or of today (appointments);
- a booking there, for today or later, not cancelled (appointments);
- a donation there in the last `DEFERRAL_AFTER_DONATION_DAYS` days (test results and post-donation
  information come after the donor has left);
- a look-up by ID number at the site's desk today (`POST /staff/donor-lookup`, audited with the
  site): the one way in for anyone else, and it needs the ID card's number.

Visits and bookings belong to appointments/, which depends on this package and not the other
way round: the app gives certificate appointments' checks when it is built (wiring.py), as it
does its visit resolver (certificate/visits.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from flask import Flask, current_app
from sqlalchemy import select

from certificate.models import VALID, Donation
from core import audit, clock
from core.auth import Caller
from core.extensions import db
from core.lookups import get_or_404
from core.models import AuditEntry
from donors.models import Deferral, Donor
from sites.models import Site
from sites.services import serves_site

PresenceCheck = Callable[[int, int, date], bool]  # (donor id, site id, local today) -> present
_CHECKS = "presence_checks"

STAFF_VIEWED = "donor.viewed_by_staff"
DESK_LOOKUP = "desk_lookup"


def use_presence_checks(app: Flask, *checks: PresenceCheck) -> None:
    """The checks other packages answer (a visit, a booking), beside certificate's own."""
    app.extensions[_CHECKS] = checks


def record_desk_lookup(staff: Caller, site: Site, donor: Donor) -> None:
    """The audit entry of a look-up by ID number: the staff access, and where it happened."""
    audit.record(
        STAFF_VIEWED,
        actor=("staff", staff.principal_id),
        target=("donor", donor.id),
        details={"via": DESK_LOOKUP, "site": site.id},
    )


def _looked_up_at_the_desk(donor_id: int, site_id: int, today: date) -> bool:
    since = clock.as_utc(datetime.combine(today, time(), clock.LOCAL_ZONE))
    entries = db.session.scalars(
        select(AuditEntry.details).where(
            AuditEntry.target_type == "donor",
            AuditEntry.target_id == str(donor_id),
            AuditEntry.at >= since,
            AuditEntry.action == STAFF_VIEWED,
        )
    )
    return any(
        details and details.get("via") == DESK_LOOKUP and details.get("site") == site_id
        for details in entries
    )


def _gave_here_lately(donor_id: int, site_id: int, today: date) -> bool:
    since = today - timedelta(days=current_app.config["DEFERRAL_AFTER_DONATION_DAYS"])
    return (
        db.session.scalar(
            select(Donation.id)
            .where(
                Donation.donor_id == donor_id,
                Donation.site_id == site_id,
                Donation.status == VALID,
                Donation.donation_date >= since,
            )
            .limit(1)
        )
        is not None
    )


def donor_at_site(donor_id: int, site_id: int, today: date) -> bool:
    checks = (_gave_here_lately, _looked_up_at_the_desk, *current_app.extensions.get(_CHECKS, ()))
    return any(check(donor_id, site_id, today) for check in checks)


def served_donor(site: Site, donor_id: int) -> Donor:
    """The donor, if at `site` now; otherwise the very answer an id nobody has gets (404
    donor_not_found), so refusals do not tell which ids exist."""
    present = donor_at_site(donor_id, site.id, clock.local_today())
    return get_or_404(Donor, donor_id, "donor_not_found", visible=lambda _: present)


def served_deferral(staff: Caller, deferral_id: int) -> Deferral:
    """A deferral recorded at a site the caller serves; another site's is answered as unknown."""
    return get_or_404(
        Deferral, deferral_id, visible=lambda deferral: serves_site(staff, deferral.site_id)
    )

"""`flask appointments open-slots` (daily) and `flask appointments sweep` (every minute)."""

from __future__ import annotations

import click

from appointments import housekeeping, schedule
from core.errors import CommandError
from core.extensions import db
from core.i18n import _l
from sites.models import Site

appointments_cli = click.Group("appointments", help="Slots, offers and visits over time.")

NO_SITE = _l("There is no site with the facility code {facility_code}.")


@appointments_cli.command("open-slots")
@click.option("--site", "facility_code", default=None, help="one site's facility code")
def open_slots(facility_code: str | None) -> None:
    """Open slots up to each site's booking horizon, following its schedule (safe to re-run)."""
    if facility_code:
        site = db.session.scalar(db.select(Site).where(Site.facility_code == facility_code))
        if site is None:
            raise CommandError(NO_SITE, facility_code=facility_code)
        reports = {site.facility_code: schedule.open_slots(site)}
    else:
        reports = schedule.open_all_slots()
    db.session.commit()
    for code, report in reports.items():
        click.echo(
            f"{code}: opened {report.opened}, updated {report.updated}, closed {report.closed}, "
            f"bookings cancelled {report.bookings_cancelled}, places offered {report.offers}"
        )


@appointments_cli.command("sweep")
def sweep() -> None:
    """Pass on expired waiting-list offers and close past days' bookings, lists and visits."""
    report = housekeeping.sweep()
    db.session.commit()
    click.echo(
        f"offers expired {report.offers_expired}, bookings lapsed {report.bookings_lapsed}, "
        f"waiting entries lapsed {report.entries_lapsed}, visits closed {report.visits_closed}, "
        f"used check-in codes pruned {report.codes_pruned}"
    )

"""`flask certificate import FILE.csv`: load a station's donation history; `refresh-totals`."""

from __future__ import annotations

import click
from flask import current_app

from certificate.imports import ImportFileError, import_donations, open_export
from certificate.services import refresh_all_totals
from core.errors import CommandError
from core.i18n import _l, for_command_line
from core.messages import MESSAGES
from core.policy import policy_for, regions

certificate_cli = click.Group("certificate", help="Donation records and certificates.")

NO_REGION = _l("There is no policy for the region {region}; choose one of: {regions}.")
LOADED = _l(
    "loaded {loaded}, skipped {skipped} already on record, rejected {rejected},"
    " new pending donors {new_donors}"
)
REJECTED_LINE = _l("Line {line}: {reason}")
MORE_REJECTED = _l("… and {more} more rejected lines")
TOTALS_REFRESHED = _l("Totals recomputed for {donors} donors.")


@certificate_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--region", default=None, help="policy region of the records (default: zhejiang)")
@click.option("--show-errors", default=50, show_default=True, help="bad rows to list")
def import_history(path: str, region: str | None, show_errors: int) -> None:
    """Load past donations from a station's CSV export.

    Bad rows are listed by line with the reason; good rows load; running the same file again
    loads nothing twice (a DIN already on record is skipped).

    \b
    The first row names the columns, in any order:
      id_number      18-character Resident Identity Card number (required)
      name           the donor's name
      din            ISBT 128 donation identification number, with its check character
                     (required)
      kind           whole_blood, apheresis_platelets, ... as the region policy names them
                     (required)
      volume_ml      millilitres, for kinds measured in ml (whole blood)
      units          therapeutic units, for kinds counted in units (platelets)
      donation_date  YYYY-MM-DD (required)
      facility_code  the collecting site's ISBT 128 facility code (default: the DIN's)

    \b
    The file must be UTF-8, with or without a BOM: in Excel choose
    "CSV UTF-8 (Comma delimited)"; a GBK file is refused before anything loads.
    Messages are in Chinese unless LANG or LANGUAGE starts with "en".
    """
    region = region or current_app.config["DEFAULT_REGION"]
    if region not in regions():
        raise CommandError(NO_REGION, region=region, regions=", ".join(regions()))
    policy = policy_for(region)
    try:
        with open_export(path) as stream:
            report = import_donations(stream, policy, region)
    except ImportFileError as error:
        raise CommandError(error.message) from None
    click.echo(
        for_command_line(
            LOADED,
            loaded=report.loaded,
            skipped=report.skipped_existing,
            rejected=report.rejected,
            new_donors=report.new_donors,
        )
    )
    for line, code in report.errors[:show_errors]:
        reason = MESSAGES.get(code, code)
        click.echo("  " + for_command_line(REJECTED_LINE, line=line, reason=reason))
    if report.rejected > show_errors:
        click.echo("  " + for_command_line(MORE_REJECTED, more=report.rejected - show_errors))


@certificate_cli.command("refresh-totals")
def refresh_totals() -> None:
    """Recompute every donor's totals from the records (after the counting rules change)."""
    click.echo(for_command_line(TOTALS_REFRESHED, donors=refresh_all_totals()))

"""`flask certificate import FILE.csv`: load a station's donation history; `refresh-totals`."""

from __future__ import annotations

import click
from flask import current_app

from certificate.imports import COLUMNS, import_donations
from certificate.services import refresh_all_totals
from core.policy import policy_for, regions

certificate_cli = click.Group("certificate", help="Donation records and certificates.")


@certificate_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--region", default=None, help="policy region of the records (default: zhejiang)")
@click.option("--show-errors", default=50, show_default=True, help="bad rows to list")
def import_history(path: str, region: str | None, show_errors: int) -> None:
    """Load past donations; bad rows are listed by line, good rows load, re-runs are safe."""
    region = region or current_app.config["DEFAULT_REGION"]
    if region not in regions():
        raise click.BadParameter(
            f"no policy for {region!r}; choose from {regions()}", param_hint="--region"
        )
    policy = policy_for(region)
    with open(path, newline="", encoding="utf-8-sig") as stream:
        try:
            report = import_donations(stream, policy, region)
        except ValueError as error:
            raise click.ClickException(
                f"{path}: {error}; expected columns {', '.join(COLUMNS)}"
            ) from None
    click.echo(
        f"loaded {report.loaded}, skipped {report.skipped_existing} already on record, "
        f"rejected {report.rejected}, new pending donors {report.new_donors}"
    )
    for line, reason in report.errors[:show_errors]:
        click.echo(f"  line {line}: {reason}")
    if report.rejected > show_errors:
        click.echo(f"  … and {report.rejected - show_errors} more")


@certificate_cli.command("refresh-totals")
def refresh_totals() -> None:
    """Recompute every donor's totals from the records (after the counting rules change)."""
    click.echo(f"totals recomputed for {refresh_all_totals()} donors")

"""Builders for imported history: a station's legacy CSV export, loaded through the CLI."""

from __future__ import annotations

import csv
import itertools
from datetime import date
from pathlib import Path
from typing import Any

from flask import Flask

from certificate.imports import COLUMNS
from core.ids import make_din

_sequence = itertools.count(1)


def fresh_din(facility: str = "W3301", year: int = 2021) -> str:
    """A new DIN with its check character, as printed on a paper certificate."""
    made = make_din(facility, year, 50_000 + next(_sequence))
    return made.body + made.check


def history_row(
    id_number: str,
    day: date,
    *,
    din: str | None = None,
    kind: str = "whole_blood",
    volume_ml: int | None = 400,
    units: int | None = None,
    name: str = "王小明",
    facility: str = "W3301",
) -> dict[str, Any]:
    return {
        "id_number": id_number,
        "name": name,
        "din": din or fresh_din(facility, day.year),
        "kind": kind,
        "volume_ml": "" if volume_ml is None else str(volume_ml),
        "units": "" if units is None else str(units),
        "donation_date": day.isoformat(),
        "facility_code": facility,
    }


def import_history(app: Flask, directory: Path, *rows: dict[str, Any]) -> Any:
    """Write the rows as a station's export and run `flask certificate import` on it."""
    path = directory / f"history-{next(_sequence)}.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    result = app.test_cli_runner().invoke(args=["certificate", "import", str(path)])
    assert result.exit_code == 0, result.output
    return result

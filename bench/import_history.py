"""Certificates benchmark (a): generate a station's legacy export and import it into PostgreSQL.

    .venv/bin/python -m bench.import_history [--rows 1000000] [--donations-per-donor 4]

Prints the time to generate the CSV, the time `flask certificate import` takes on a fresh
PostgreSQL (every row validated: ID check digit and birth date, DIN check character, kind, amount,
date), and the time of a second run of the same file (all rows already on record).
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from stdnum.cn import ric

from bench.harness import flask, machine, migrate, postgres
from core.ids import make_din

# Real Zhejiang district codes (GB/T 2260), so the ID numbers validate as real ones would.
DISTRICTS = ["330102", "330105", "330106", "330108", "330203", "330205", "330302", "330402"]
FACILITIES = ["W3301", "W3302", "W3303", "W3310", "W3320"]
AMOUNTS = [
    ("whole_blood", "400", ""),
    ("whole_blood", "200", ""),
    ("apheresis_platelets", "", "1"),
    ("apheresis_platelets", "", "2"),
]


def id_number(rng: random.Random, index: int) -> str:
    """A distinct valid number per index: birth day from index // 1000, sequence index % 1000."""
    birth = date(1966, 1, 1) + timedelta(days=(index // 1000) * 53 % (365 * 38))
    body = f"{rng.choice(DISTRICTS)}{birth:%Y%m%d}{index % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def generate(path: Path, rows: int, per_donor: int) -> None:
    rng = random.Random(2026)
    sequences: dict[tuple[str, int], int] = {}
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "id_number",
                "name",
                "din",
                "kind",
                "volume_ml",
                "units",
                "donation_date",
                "facility_code",
            ]
        )
        person = ""
        for index in range(rows):
            if index % per_donor == 0:
                person = id_number(rng, index // per_donor)
            day = date(2012, 7, 1) + timedelta(days=rng.randrange(365 * 13))
            facility = rng.choice(FACILITIES)
            key = (facility, day.year)
            sequences[key] = sequences.get(key, 0) + 1
            din = make_din(facility, day.year, sequences[key])
            kind, volume, units = rng.choice(AMOUNTS)
            writer.writerow(
                [
                    person,
                    "献血者",
                    din.body + din.check,
                    kind,
                    volume,
                    units,
                    day.isoformat(),
                    facility,
                ]
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--donations-per-donor", type=int, default=4)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as directory, postgres() as url:
        path = Path(directory) / "history.csv"
        started = time.perf_counter()
        generate(path, args.rows, args.donations_per_donor)
        print(
            f"generated {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in "
            f"{time.perf_counter() - started:.1f} s"
        )
        migrate(url)
        for attempt in ("first import", "same file again"):
            started = time.perf_counter()
            output = flask(url, "certificate", "import", str(path))
            elapsed = time.perf_counter() - started
            print(
                f"{attempt:<16} {elapsed:7.1f} s  {args.rows / elapsed:>9,.0f} rows/s  "
                f"-> {output.splitlines()[0]}"
            )
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()

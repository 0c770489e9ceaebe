"""Loading past donations from a blood station's legacy export (CSV).

Each row is checked on its own (ID number, DIN check character, kind, amount, date); bad rows are
reported with their line numbers while good rows load. Re-running the same file loads nothing
twice: a DIN already on record is skipped. Donors are matched by ID number; unknown ones become
pending records that a later registration takes over (their history then shows once the donor
proves one of its DINs).
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from typing import IO

from sqlalchemy import select

from certificate.history import show_later_imports
from certificate.models import IMPORTED, VALID, Donation
from certificate.policy import KindRule, donation_rules
from core import clock
from core.bulk import insert_rows
from core.crypto import cipher
from core.extensions import db
from core.i18n import Message, _l
from core.ids import DinError, parse_din
from core.policy import PolicyUndecided, RegionPolicy
from donors.identity import IdentityError, parse_resident_id
from donors.models import DONOR_PENDING, Donor

COLUMNS = (
    "id_number",
    "name",
    "din",
    "kind",
    "volume_ml",
    "units",
    "donation_date",
    "facility_code",
)
BATCH = 5000

NOT_UTF8_GBK = _l(
    "{path} is not UTF-8 text: it looks like GBK, as Excel on Chinese Windows saves it. Save it"
    ' as UTF-8 (in Excel: "CSV UTF-8 (Comma delimited)") and import it again.'
)
NOT_UTF8 = _l(
    "{path} is not UTF-8 text (line {line} has bytes that are not UTF-8). Save it as UTF-8 and"
    " import it again."
)
COLUMNS_MISSING = _l(
    "The header row lacks these columns: {missing}. The columns of an export are: {columns}."
)
CSV_MALFORMED = _l(
    "Line {line} is not well-formed CSV (a quote left open, or a field over 128 KB). Correct it"
    " and import the file again; nothing was loaded."
)


class ImportFileError(ValueError):
    """The file as a whole cannot be read; `message` says why and what to do."""

    def __init__(self, message: Message, **values: object) -> None:
        self.message = message.format(**values)
        super().__init__(str(self.message))


def check_utf8(path: str) -> None:
    """Refuse, before any row loads, a file that is not UTF-8 (a BOM is fine)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                bad = max(error.start - (len(error.object) - len(chunk)), 0)
                line += chunk.count(b"\n", 0, bad)
                start = chunk.rfind(b"\n", 0, bad) + 1
                sample = chunk[start : start + 65536]
                sample = sample[: sample.rfind(b"\n") + 1 or len(sample)]
                try:
                    sample.decode("gbk")
                except UnicodeDecodeError:
                    raise ImportFileError(NOT_UTF8, path=path, line=line) from None
                raise ImportFileError(NOT_UTF8_GBK, path=path) from None
            line += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise ImportFileError(NOT_UTF8, path=path, line=line) from None


def check_csv(stream: IO[str]) -> None:
    """Refuse, before any row loads, a file the csv module cannot read to its end."""
    reader = csv.reader(stream)
    try:
        for _record in reader:
            pass
    except csv.Error:
        raise ImportFileError(CSV_MALFORMED, line=reader.line_num) from None


@contextmanager
def open_export(path: str) -> Iterator[IO[str]]:
    """The export as text, once it is known to be UTF-8 (with or without a BOM) and CSV that
    reads to its end: a file refused for either loads nothing."""
    check_utf8(path)
    with open(path, newline="", encoding="utf-8-sig") as stream:
        check_csv(stream)
        stream.seek(0)
        yield stream


@dataclass
class ImportReport:
    loaded: int = 0
    skipped_existing: int = 0
    new_donors: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.errors)


@dataclass(frozen=True)
class ImportRow:
    line: int
    id_number: str
    birth_date: date
    sex: str
    name: str
    din_body: str
    din_flags: str
    din_check: str
    kind: str
    volume_ml: int | None
    units: int | None
    donation_date: date
    facility_code: str


def _int_or_none(text: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 6:
        raise ValueError("amount")
    return int(text)


def _kind_rule(policy: RegionPolicy, kind: str, day: date) -> KindRule:
    """The kind as the standard in force that day measured it.

    History is a record of fact: a donation from before the earliest standard in the policy is
    checked for its kind and unit against the earliest one, and its amount is not judged.
    """
    try:
        return donation_rules(policy).kind(kind, day)
    except KeyError:
        raise ValueError("unknown_donation_kind") from None
    except PolicyUndecided:
        earliest = min(
            donation_rules(policy).standards, key=lambda standard: standard.effective_from
        )
        if day >= earliest.effective_from or kind not in earliest.kinds:
            raise ValueError("unknown_donation_kind") from None
        return replace(earliest.kinds[kind], amounts=None)


def parse_row(line: int, record: dict[str, str], policy: RegionPolicy, today: date) -> ImportRow:
    """One CSV record to a checked row; raises ValueError with a reason code."""
    try:
        resident = parse_resident_id((record.get("id_number") or "").strip())
    except IdentityError as error:
        raise ValueError(error.code) from None
    try:
        din = parse_din(record.get("din") or "")
    except DinError as error:
        raise ValueError(error.code) from None
    try:
        day = date.fromisoformat((record.get("donation_date") or "").strip())
    except ValueError:
        raise ValueError("donation_date_invalid") from None
    if day > today or day < resident.birth_date:
        raise ValueError("donation_date_invalid")
    kind = (record.get("kind") or "").strip()
    rule = _kind_rule(policy, kind, day)
    if not rule.offered:
        raise ValueError("kind_not_offered")
    try:
        volume_ml = _int_or_none(record.get("volume_ml", ""))
        units = _int_or_none(record.get("units", ""))
    except ValueError:
        raise ValueError("amount_not_allowed") from None
    amount, other = (volume_ml, units) if rule.unit == "ml" else (units, volume_ml)
    if rule.volume_required:
        other = None  # the device's volume when the export has it; else the policy's default
    if amount is None or other is not None:
        raise ValueError("amount_unit_mismatch")
    if rule.amounts is not None and amount not in rule.amounts:
        raise ValueError("amount_not_allowed")
    facility = (record.get("facility_code") or din.facility_code).strip()
    return ImportRow(
        line=line,
        id_number=resident.number,
        birth_date=resident.birth_date,
        sex=resident.sex,
        name=(record.get("name") or "").strip()[:100],
        din_body=din.body,
        din_flags=din.flags,
        din_check=din.check,
        kind=kind,
        volume_ml=volume_ml,
        units=units,
        donation_date=day,
        facility_code=facility[:5],
    )


def read_rows(stream: IO[str], policy: RegionPolicy, report: ImportReport) -> Iterator[ImportRow]:
    reader = csv.DictReader(stream)
    missing = [
        name
        for name in ("id_number", "din", "kind", "donation_date")
        if name not in (reader.fieldnames or [])
    ]
    if missing:
        raise ImportFileError(
            COLUMNS_MISSING, missing=", ".join(missing), columns=",".join(COLUMNS)
        )
    today = clock.local_today()
    for record in reader:
        line = reader.line_num
        try:
            yield parse_row(line, record, policy, today)
        except ValueError as error:
            report.errors.append((line, str(error)))


def _batches(rows: Iterable[ImportRow], size: int) -> Iterator[list[ImportRow]]:
    batch: list[ImportRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def import_donations(stream: IO[str], policy: RegionPolicy, region: str) -> ImportReport:
    """Load a CSV export; commits batch by batch so a crash loses at most the current batch."""
    report = ImportReport()
    hasher = cipher()
    for batch in _batches(read_rows(stream, policy, report), BATCH):
        dins = {row.din_body for row in batch}
        known = set(db.session.scalars(select(Donation.din).where(Donation.din.in_(dins))))
        fresh: list[ImportRow] = []
        for row in batch:
            if row.din_body in known:
                report.skipped_existing += 1
                continue
            known.add(row.din_body)
            fresh.append(row)
        if not fresh:
            continue
        hashes = {row.id_number: hasher.lookup_hash("ric", row.id_number) for row in fresh}
        donor_ids = dict(
            db.session.execute(
                select(Donor.id_number_hash, Donor.id).where(
                    Donor.id_number_hash.in_(set(hashes.values()))
                )
            ).all()
        )
        new_people = {}
        for row in fresh:
            digest = hashes[row.id_number]
            if digest not in donor_ids and digest not in new_people:
                new_people[digest] = {
                    "status": DONOR_PENDING,
                    "name": row.name or None,
                    "id_number": row.id_number,
                    "id_number_hash": digest,
                    "birth_date": row.birth_date,
                    "sex": row.sex,
                    "region": region,
                    "created_at": clock.now(),
                }
        if new_people:
            insert_rows(Donor.__table__, list(new_people.values()))
            created = db.session.execute(
                select(Donor.id_number_hash, Donor.id).where(
                    Donor.id_number_hash.in_(list(new_people))
                )
            ).all()
            donor_ids.update(dict(created))
            report.new_donors += len(created)
        now = clock.now()
        insert_rows(
            Donation.__table__,
            [
                {
                    "donor_id": donor_ids[hashes[row.id_number]],
                    "site_id": None,
                    "facility_code": row.facility_code,
                    "staff_id": None,
                    "kind": row.kind,
                    "volume_ml": row.volume_ml,
                    "units": row.units,
                    "collected_at": datetime.combine(
                        row.donation_date, time(12), clock.LOCAL_ZONE
                    ).astimezone(UTC),
                    "donation_date": row.donation_date,
                    "din": row.din_body,
                    "din_flags": row.din_flags,
                    "din_check": row.din_check,
                    "status": VALID,
                    "source": IMPORTED,
                    "region": region,
                    "created_at": now,
                }
                for row in fresh
            ],
        )
        show_later_imports(donor_ids[hashes[row.id_number]] for row in fresh)
        db.session.commit()
        report.loaded += len(fresh)
    return report

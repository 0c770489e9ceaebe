"""Importing the blood-fee reductions a station's old system already made (issue 15, item 8), so
that every donor's pools are right on the first day.

The file is a CSV export (UTF-8, with or without a BOM; a GBK file, as Excel on Chinese Windows
saves it, or a malformed one is refused before any row is read), one bill a row. Each row is
checked on its own and has one outcome, reported by line (certificate/imports.py's shape):

- **imported**: a reduction (channel `import`, status `imported`: the old system's amounts, not
  recomputed) and the ledger draws of its `used_ml` from the donor's windows as they stood on the
  transfusion date, soonest-ending first (`plan_draws`), under `lock_pools`;
- **skipped**: its bill (`bills.bill_key`) is already reduced, by an earlier run of an import
  (`already_imported`: re-running a file imports nothing twice) or at a hospital or by a claim
  (`already_reduced`);
- **refused**, with the reason and the column: an ID number that is not one, a donor nobody has,
  a relative the donor has not linked (`relative_not_linked`: links are never made here) or not
  verified, a date that is not one, an amount out of range, or ml the windows cannot absorb
  (`exceeds_entitlement`: nothing of the row is imported, never the part that fits).

Rows are taken in the file's order, each in its own savepoint, and the caller commits once.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from blooduse import bills
from blooduse.entitlement import entitlement, plan_draws
from blooduse.ledger import lock_pools, record_draws
from blooduse.models import FROM_IMPORT, IMPORTED, BloodFeeReduction, Hospital
from core import audit, clock
from core.auth import Caller
from core.errors import ApiError
from core.extensions import db
from donors import family
from donors.identity import IdentityError, parse_resident_id
from donors.models import LINK_VERIFIED, Donor, FamilyLink
from donors.services import id_number_hash

COLUMNS = (
    "donor_id_number",
    "patient_id_number",
    "relation",
    "hospital_code",
    "hospital_name",
    "bill_number",
    "transfused_on",
    "volume_ml",
    "fee_cents",
    "reduction_cents",
    "used_ml",
)
REQUIRED = (
    "donor_id_number",
    "bill_number",
    "transfused_on",
    "volume_ml",
    "fee_cents",
    "reduction_cents",
    "used_ml",
)
# Bounds that keep a typo from reaching the database: no bill comes near them.
MAX_ML = 1_000_000
MAX_CENTS = 1_000_000_000

IMPORTED_ROW = "imported"
SKIPPED_ROW = "skipped"
REFUSED_ROW = "refused"


@dataclass(frozen=True)
class RowOutcome:
    line: int
    outcome: str  # imported | skipped | refused
    reason: str | None = None
    column: str | None = None
    bill_number: str | None = None
    reduction_id: int | None = None


@dataclass
class ImportReport:
    rows: list[RowOutcome] = field(default_factory=list)

    def _count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def imported(self) -> int:
        return self._count(IMPORTED_ROW)

    @property
    def skipped(self) -> int:
        return self._count(SKIPPED_ROW)

    @property
    def refused(self) -> int:
        return self._count(REFUSED_ROW)


class RowRefused(ValueError):
    def __init__(self, reason: str, column: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.column = reason, column


@dataclass(frozen=True)
class LegacyBill:
    donor: Donor
    link: FamilyLink | None
    hospital: Hospital | None
    hospital_name: str
    bill_number: str
    transfused_on: date
    volume_ml: int
    fee_cents: int
    reduction_cents: int
    used_ml: int

    @property
    def key(self) -> str:
        code = self.hospital.code if self.hospital else None
        return bills.bill_key(self.bill_number, code, self.hospital_name)


# ---------------------------------------------------------------- the file


def read_export(data: bytes) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows of the export with their line numbers, once the whole file is known to be UTF-8
    CSV with the needed columns: a file refused for that imports nothing (422)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            data.decode("gbk")
        except UnicodeDecodeError:
            raise ApiError(
                "import_file_not_utf8", 422, errors={"file": ["import_file_not_utf8"]}
            ) from None
        raise ApiError("import_file_gbk", 422, errors={"file": ["import_file_gbk"]}) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        records = [(reader.line_num, record) for record in reader]
    except csv.Error:
        raise ApiError(
            "import_file_malformed", 422, errors={"line": [str(reader.line_num)]}
        ) from None
    missing = [name for name in REQUIRED if name not in (reader.fieldnames or [])]
    if "hospital_code" not in (reader.fieldnames or []) and "hospital_name" not in (
        reader.fieldnames or []
    ):
        missing.append("hospital_code|hospital_name")
    if missing:
        raise ApiError("import_columns_missing", 422, errors={"columns": missing})
    for line, record in records:
        yield line, {key: (value or "").strip() for key, value in record.items() if key}


# ---------------------------------------------------------------- one row


def _resident(record: dict[str, str], column: str) -> str:
    try:
        return parse_resident_id(record.get(column, "")).number
    except IdentityError as error:
        raise RowRefused(error.code, column) from None


def _amount(record: dict[str, str], column: str, largest: int) -> int:
    text = record.get(column, "")
    if not text.isdigit() or int(text) > largest:
        raise RowRefused("amount_invalid", column)
    return int(text)


def _day(record: dict[str, str], column: str, today: date) -> date:
    try:
        day = date.fromisoformat(record.get(column, ""))
    except ValueError:
        raise RowRefused("transfused_on_invalid", column) from None
    if day > today:
        raise RowRefused("transfused_on_invalid", column)
    return day


def _hospital(record: dict[str, str]) -> tuple[Hospital | None, str]:
    code, name = record.get("hospital_code", ""), record.get("hospital_name", "")
    if code:
        hospital = db.session.scalar(select(Hospital).where(Hospital.code == code))
        if hospital is None:
            raise RowRefused("hospital_unknown", "hospital_code")
        return hospital, hospital.name
    if not name or len(name) > 200:
        raise RowRefused("bill_hospital_missing", "hospital_name")
    named = bills.hospital_named(name)
    if len(named) > 1:
        raise RowRefused("hospital_name_ambiguous", "hospital_name")
    return (named[0], named[0].name) if named else (None, name)


def _patient_link(donor: Donor, record: dict[str, str]) -> FamilyLink | None:
    """None for the donor themself; the donor's verified link to the patient otherwise."""
    if not record.get("patient_id_number"):
        return None
    patient = _resident(record, "patient_id_number")
    digest = id_number_hash(patient)
    if digest == donor.id_number_hash:
        return None
    links = [link for link in family.links_naming(digest) if link.donor_id == donor.id]
    if not links:
        raise RowRefused("relative_not_linked", "patient_id_number")
    link = next((row for row in links if row.status == LINK_VERIFIED), None)
    if link is None:
        raise RowRefused("relative_not_verified", "patient_id_number")
    relation = record.get("relation", "")
    if relation and relation != link.relation:
        raise RowRefused("relation_mismatch", "relation")
    return link


def parse_row(record: dict[str, str], today: date) -> LegacyBill:
    donor_number = _resident(record, "donor_id_number")
    digest = id_number_hash(donor_number)
    donor = db.session.scalar(select(Donor).where(Donor.id_number_hash == digest))
    if donor is None:
        raise RowRefused("donor_unknown", "donor_id_number")
    link = _patient_link(donor, record)
    hospital, hospital_name = _hospital(record)
    bill_number = record.get("bill_number", "")
    if not bill_number or len(bill_number) > 64:
        raise RowRefused("bill_number_missing", "bill_number")
    volume = _amount(record, "volume_ml", MAX_ML)
    fee = _amount(record, "fee_cents", MAX_CENTS)
    reduction = _amount(record, "reduction_cents", MAX_CENTS)
    used = _amount(record, "used_ml", MAX_ML)
    if reduction > fee:
        raise RowRefused("amount_invalid", "reduction_cents")
    if used > volume:
        raise RowRefused("amount_invalid", "used_ml")
    return LegacyBill(
        donor=donor,
        link=link,
        hospital=hospital,
        hospital_name=hospital_name,
        bill_number=bill_number,
        transfused_on=_day(record, "transfused_on", today),
        volume_ml=volume,
        fee_cents=fee,
        reduction_cents=reduction,
        used_ml=used,
    )


def _import_bill(bill: LegacyBill, staff: Caller) -> BloodFeeReduction:
    lock_pools(bill.donor.id)
    found = entitlement(bill.donor, bill.transfused_on, bill.link, unclaimed_history=True)
    draws = plan_draws(found, bill.used_ml)
    if bills.covered_ml(draws) < bill.used_ml:
        raise RowRefused("exceeds_entitlement", "used_ml")
    reduction = BloodFeeReduction(
        channel=FROM_IMPORT,
        status=IMPORTED,
        bill_key=bill.key,
        bill_number=bill.bill_number,
        hospital_id=bill.hospital.id if bill.hospital else None,
        hospital_name=bill.hospital_name,
        donor_id=bill.donor.id,
        family_link_id=bill.link.id if bill.link else None,
        region=draws[0].window.region if draws else bill.donor.region,
        transfused_on=bill.transfused_on,
        components=[],
        volume_ml=bill.volume_ml,
        fee_cents=bill.fee_cents,
        covered_ml=bill.used_ml,
        reduction_cents=bill.reduction_cents,
        rule={"pool": found.pool, "windows": bills.drawn_windows(draws)},
        created_by_type="staff",
        created_by_id=staff.principal_id,
    )
    db.session.add(reduction)
    db.session.flush()
    record_draws(reduction, found.pool, draws)
    return reduction


def _skipped_as(key: str) -> str | None:
    channel = db.session.scalar(
        select(BloodFeeReduction.channel).where(BloodFeeReduction.bill_key == key)
    )
    if channel is None:
        return None
    return "already_imported" if channel == FROM_IMPORT else "already_reduced"


# ---------------------------------------------------------------- the whole file


def import_earlier_use(data: bytes, staff: Caller) -> ImportReport:
    """Import every row that can be, and say what became of each; the caller commits."""
    report = ImportReport()
    today = clock.local_today()
    for line, record in read_export(data):
        bill_number = record.get("bill_number") or None
        try:
            bill = parse_row(record, today)
            skipped = _skipped_as(bill.key)
            if skipped:
                report.rows.append(RowOutcome(line, SKIPPED_ROW, skipped, None, bill_number))
                continue
            with db.session.begin_nested():
                reduction = _import_bill(bill, staff)
        except RowRefused as refusal:
            report.rows.append(
                RowOutcome(line, REFUSED_ROW, refusal.reason, refusal.column, bill_number)
            )
            continue
        report.rows.append(RowOutcome(line, IMPORTED_ROW, None, None, bill_number, reduction.id))
    audit.record(
        "blood_use.imported",
        actor=("staff", staff.principal_id),
        details={
            "imported": report.imported,
            "skipped": report.skipped,
            "refused": report.refused,
        },
    )
    return report

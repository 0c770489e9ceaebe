"""Gates: operators and their devices, checking codes online, offline uses, usage for settlement.

A gate device is bound to one operator (and so one region) and one benefit kind. Online, a gate
sends each code it scans and gets allow or deny with a reason; the use is recorded once, so the
same code is refused a second time. Offline, a gate checks codes with the public keys alone and
uploads its uses later, each with the code itself as evidence, idempotently by the code's id.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Insert,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from core import audit, auth, clock, metrics
from core.auth import Caller
from core.errors import ApiError, message_for
from core.extensions import db
from core.lookups import get_or_404
from core.masking import mask_name
from core.models import Device
from core.policy import policy_for, regions
from core.signing import keyring
from core.spreadsheet import spreadsheet_cell
from donors.models import Donor
from rewards.codes import BenefitCode, CodeRejected, CodeVerifier
from rewards.models import (
    OFFLINE,
    ONLINE,
    BenefitHolder,
    BenefitHolding,
    BenefitUse,
    GateDevice,
    GateOperator,
)
from rewards.rules import three_free

ALLOW = "allow"
DENY = "deny"
ALLOWED = "allowed"
WRONG_REGION = "wrong_region"
WRONG_KIND = "wrong_kind"
NOT_HELD = "not_held"
REPLAYED = "replayed"
USED_IN_FUTURE = "used_in_future"
USED_BEFORE_ISSUE = "used_before_issue"
UPLOAD_TOO_LATE = "upload_too_late"
RECORDED = "recorded"
DUPLICATE = "duplicate"
REJECTED = "rejected"

CATEGORIES = ("transit", "park", "scenic_area", "museum", "clinic", "hospital", "other")

GATE_DECISIONS = metrics.counter(
    "gate_decisions_total",
    "Benefit codes decided: online (allow or deny) and uploaded offline uses (recorded,"
    " duplicate or rejected), by reason.",
    ("mode", "decision", "reason"),
)


# ---------------------------------------------------------------- operators and devices


def create_operator(fields: dict[str, Any], admin: Caller) -> GateOperator:
    region = fields["region"]
    if region not in regions():
        raise ApiError("region_unknown", 422, errors={"region": ["region_unknown"]})
    section = three_free(policy_for(region))
    if section is None or fields["benefit_kind"] not in section.all_kinds():
        raise ApiError(
            "benefit_kind_unknown", 422, errors={"benefit_kind": ["benefit_kind_unknown"]}
        )
    operator = GateOperator(**fields)
    db.session.add(operator)
    db.session.flush()
    audit.record(
        "gate_operator.created",
        actor=("staff", admin.principal_id),
        target=("gate_operator", operator.id),
    )
    return operator


def get_operator(operator_id: int) -> GateOperator:
    return get_or_404(GateOperator, operator_id)


def operators_query(region: str | None = None) -> Select:
    query = select(GateOperator).order_by(GateOperator.id)
    return query.where(GateOperator.region == region) if region else query


def _operator_devices(operator: GateOperator) -> list[Device]:
    return list(
        db.session.scalars(
            select(Device)
            .join(GateDevice, GateDevice.device_id == Device.id)
            .where(GateDevice.operator_id == operator.id)
        )
    )


def deactivate_operator(operator: GateOperator, admin: Caller) -> GateOperator:
    """End an operator's service: every device of theirs stops working at once."""
    if operator.active:
        operator.active = False
        operator.deactivated_at = clock.now()
        for device in _operator_devices(operator):
            if device.active:
                auth.revoke_device(device)
        audit.record(
            "gate_operator.deactivated",
            actor=("staff", admin.principal_id),
            target=("gate_operator", operator.id),
        )
    return operator


def create_gate_device(
    operator: GateOperator, name: str, location: str | None, admin: Caller | None
) -> tuple[Device, GateDevice, str]:
    """A device credential for one of the operator's gates; the secret is returned once.

    `admin` is None when the device is made from the shell, which the audit log then names.
    """
    if not operator.active:
        raise ApiError("operator_inactive", 409)
    device, secret = auth.create_device(auth.GATE, name, operator.benefit_kind)
    link = GateDevice(device_id=device.id, operator_id=operator.id, location=location)
    db.session.add(link)
    audit.record(
        "gate_device.created",
        actor=("staff", admin.principal_id) if admin else ("shell", None),
        target=("device", device.id),
        details={"operator": operator.id},
    )
    db.session.flush()
    return device, link, secret


def make_gate_device(name: str, options: dict[str, Any]) -> tuple[Device, str]:
    """A gate made from the shell (`flask users create-device --role gate`), bound to its operator
    as one an admin makes is: a gate of no operator would refuse every code it is shown."""
    operator_id = options.get("operator")
    if operator_id is None:
        raise ApiError(
            "gate_operator_required", 422, errors={"operator": ["gate_operator_required"]}
        )
    operator = get_or_404(
        GateOperator,
        operator_id,
        "gate_operator_unknown",
        errors={"operator": ["gate_operator_unknown"]},
    )
    kind = options.get("benefit_kind")
    if kind is not None and kind != operator.benefit_kind:
        section = three_free(policy_for(operator.region))
        known = section.all_kinds() if section else set()
        code = "benefit_kind_not_operators" if kind in known else "benefit_kind_unknown"
        raise ApiError(code, 422, errors={"benefit_kind": [code]})
    device, _, secret = create_gate_device(operator, name, options.get("location"), None)
    return device, secret


def gate_device(client_id: str) -> tuple[Device, GateDevice]:
    row = db.session.execute(
        select(Device, GateDevice)
        .join(GateDevice, GateDevice.device_id == Device.id)
        .where(Device.client_id == client_id)
    ).first()
    if row is None:
        raise ApiError("not_found", 404)
    return row[0], row[1]


def operator_devices_query(operator: GateOperator) -> Select:
    """The operator's devices, as rows of a device and its link (like a BoundDevice)."""
    device, link = aliased(Device, name="device"), aliased(GateDevice, name="link")
    return (
        select(device, link)
        .join(link, link.device_id == device.id)
        .where(link.operator_id == operator.id)
        .order_by(device.id)
    )


class BoundDevice(NamedTuple):
    """A gate's device credential and its binding to the operator it serves."""

    device: Device
    link: GateDevice


class IssuedDevice(NamedTuple):
    """A gate device with the secret just issued to it, which is shown this once."""

    device: Device
    link: GateDevice
    client_secret: str


def rotate_gate_device(client_id: str, admin: Caller) -> IssuedDevice:
    device, link = gate_device(client_id)
    if not device.active:
        raise ApiError("device_revoked", 409)
    secret = auth.rotate_device_secret(device)
    audit.record(
        "gate_device.rotated", actor=("staff", admin.principal_id), target=("device", device.id)
    )
    return IssuedDevice(device, link, secret)


def revoke_gate_device(client_id: str, admin: Caller) -> BoundDevice:
    device, link = gate_device(client_id)
    if device.active:
        auth.revoke_device(device)
        audit.record(
            "gate_device.revoked", actor=("staff", admin.principal_id), target=("device", device.id)
        )
    return BoundDevice(device, link)


# ---------------------------------------------------------------- checking codes


@dataclass(frozen=True)
class Gate:
    device_id: int
    operator_id: int
    region: str
    benefit_kind: str


def gate_of(caller: Caller) -> Gate:
    """The gate behind a device token: its operator must be registered and active.

    Kept per process and login session once found: a device's operator and region never change,
    and deactivating the operator revokes the device's sessions, which every use of a gate checks.
    The first look-up checks the session itself, so a revoked device is told so (401) even where
    its view checks the session later (`roles_required`).
    """
    known = current_app.extensions.setdefault("benefit_gates", {})
    found = known.get(caller.session_id)
    if found is not None:
        return found
    auth.require_live_session(caller.session_id)
    row = db.session.execute(
        select(GateOperator.id, GateOperator.region, GateOperator.active)
        .join(GateDevice, GateDevice.operator_id == GateOperator.id)
        .where(GateDevice.device_id == caller.principal_id)
    ).first()
    if row is None:
        raise ApiError("gate_not_registered", 403)
    if not row.active:
        raise ApiError("operator_inactive", 403)
    found = Gate(caller.principal_id, row.id, row.region, caller.claims.get("kind") or "")
    if len(known) < 10_000:
        known[caller.session_id] = found
    return found


def verifier() -> CodeVerifier:
    found = current_app.extensions.get("benefit_code_verifier")
    if found is None:
        found = CodeVerifier({kid: key.public for kid, key in keyring().keys.items()})
        current_app.extensions["benefit_code_verifier"] = found
    return found


def _token_code(gate: Gate, on: date) -> str | None:
    section = three_free(policy_for(gate.region))
    edition = section.edition(on) if section else None
    benefit = edition.benefit(gate.benefit_kind) if edition else None
    return benefit.token_code if benefit else None


def offline_kit(gate: Gate) -> dict[str, Any]:
    """What a gate downloads while online to check codes offline: keys, region, benefit letter,
    and how long it may be relied on.

    `server_time` lets the gate check expiry by the server's clock rather than its own (its
    offset at download); the kit serves until `valid_until`, the offline upload window after
    download, so every use it admits can still be uploaded when it is used the most.
    """
    config = current_app.config
    now = clock.now()
    token_code = _token_code(gate, clock.to_local(now).date())
    if token_code is None:
        raise ApiError("benefit_kind_unknown", 409)
    return {
        "region": gate.region,
        "benefit_kind": gate.benefit_kind,
        "token_code": token_code,
        "code_ttl": int(config["BENEFIT_CODE_TTL"].total_seconds()),
        "jwks": keyring().jwks(),
        "server_time": now,
        "valid_until": now + config["BENEFIT_OFFLINE_MAX_AGE"],
        "clock_skew": int(config["BENEFIT_OFFLINE_CLOCK_SKEW"].total_seconds()),
        "batch_max": config["BENEFIT_OFFLINE_BATCH_MAX"],
    }


def _admits(code: BenefitCode, gate: Gate, on: date) -> str | None:
    """Why this gate may not admit the code's holder, or None."""
    if code.region != gate.region:
        return WRONG_REGION
    token_code = _token_code(gate, on)
    if token_code is None or not code.names(token_code):
        return WRONG_KIND
    return None


def _holder_at(ref: str, region: str, moment: datetime | None) -> tuple[int, str | None] | None:
    """(donor id, name) if the pseudonym's donor held the region's benefits at `moment`
    (None: now, i.e. an open holding)."""
    standing: ColumnElement[bool]
    if moment is None:
        standing = BenefitHolding.withdrawn_at.is_(None)
    else:
        standing = and_(
            BenefitHolding.since <= moment,
            or_(BenefitHolding.withdrawn_at.is_(None), BenefitHolding.withdrawn_at > moment),
        )
    row = (
        db.session.connection()
        .execute(
            select(BenefitHolder.donor_id, Donor.name)
            .join(BenefitHolding, BenefitHolding.donor_id == BenefitHolder.donor_id)
            .join(Donor, Donor.id == BenefitHolder.donor_id)
            .where(BenefitHolder.ref == ref, BenefitHolding.region == region, standing)
            .limit(1)
        )
        .first()
    )
    return (row.donor_id, row.name) if row else None


def _insert_use(values: dict[str, Any]) -> bool:
    """Record a use unless its code was used before; True when this call recorded it."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(BenefitUse)
        .values(recorded_at=clock.now(), **values)
        .on_conflict_do_nothing(index_elements=["ref", "jti"])
        .returning(BenefitUse.id)
    )
    return db.session.connection().execute(statement).scalar() is not None


def _decision(outcome: str, reason: str, gate: Gate, name: str | None = None) -> dict[str, Any]:
    GATE_DECISIONS.labels(ONLINE, outcome, reason).inc()
    return {
        "decision": outcome,
        "reason": reason,
        "message": message_for(f"gate_{reason}"),
        "benefit_kind": gate.benefit_kind,
        "name": mask_name(name),
        "checked_at": clock.now(),
    }


_ADMISSION_COLUMNS = (
    "ref",
    "jti",
    "donor_id",
    "operator_id",
    "device_id",
    "region",
    "benefit_kind",
    "used_at",
    "used_on",
    "mode",
    "recorded_at",
)


_admission_statements: dict[str, Insert] = {}


def _admission(dialect: str) -> Insert:
    """One statement that admits a holder at a gate, built once per dialect.

    It records the use only if the device's login session is open, the code's holder stands in
    the gate's region now and the code was never used, and returns the holder's name: a gate at
    rush hour gets its answer in one round trip that is its own transaction.
    """
    found = _admission_statements.get(dialect)
    if found is not None:
        return found
    columns = BenefitUse.__table__.c
    holder = (
        select(
            bindparam("ref", type_=columns.ref.type),
            bindparam("jti", type_=columns.jti.type),
            BenefitHolder.donor_id,
            bindparam("operator_id", type_=columns.operator_id.type),
            bindparam("device_id", type_=columns.device_id.type),
            bindparam("region", type_=columns.region.type),
            bindparam("benefit_kind", type_=columns.benefit_kind.type),
            bindparam("used_at", type_=columns.used_at.type),
            bindparam("used_on", type_=columns.used_on.type),
            literal(ONLINE, columns.mode.type),
            bindparam("recorded_at", type_=columns.recorded_at.type),
        )
        .join(BenefitHolding, BenefitHolding.donor_id == BenefitHolder.donor_id)
        .where(
            BenefitHolder.ref == bindparam("ref"),
            BenefitHolding.region == bindparam("region"),
            BenefitHolding.withdrawn_at.is_(None),
            auth.live_session(bindparam("session_id")),
        )
        .limit(1)
    )
    # RETURNING may only name the inserted row, so the holder's name comes by a subquery on it.
    name = (
        select(Donor.name)
        .where(Donor.id == literal_column(f"{BenefitUse.__tablename__}.donor_id"))
        .scalar_subquery()
    )
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    found = (
        insert(BenefitUse)
        .from_select(_ADMISSION_COLUMNS, holder)
        .on_conflict_do_nothing(index_elements=["ref", "jti"])
        .returning(name)
    )
    _admission_statements[dialect] = found
    return found


def _admit(
    code: BenefitCode, gate: Gate, session_id: str, now: datetime
) -> tuple[bool, str | None]:
    """(admitted, holder's name): the use recorded and committed, or nothing written."""
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        row = connection.execute(
            _admission(connection.dialect.name),
            {
                "ref": code.ref,
                "jti": code.jti,
                "operator_id": gate.operator_id,
                "device_id": gate.device_id,
                "region": gate.region,
                "benefit_kind": gate.benefit_kind,
                "used_at": now,
                "used_on": clock.to_local(now).date(),
                "recorded_at": now,
                "session_id": session_id,
            },
        ).first()
    return (row is not None, row[0] if row else None)


def verify_online(text: str, gate: Gate, session_id: str) -> dict[str, Any]:
    """Check a scanned code as the gate stands: signature, expiry, kind, standing now, replay.

    The caller's view leaves the login-session check to this function (`roles_required`): an
    admission checks it in the same statement, and every refusal checks it first.
    """
    now = clock.now()
    try:
        code = verifier().verify(text, now.timestamp())
    except CodeRejected as rejected:
        auth.require_live_session(session_id)
        return _decision(DENY, rejected.reason, gate)
    refused = _admits(code, gate, clock.to_local(now).date())
    if refused:
        auth.require_live_session(session_id)
        return _decision(DENY, refused, gate)
    admitted, name = _admit(code, gate, session_id, now)
    if admitted:
        auth.session_checked()
        return _decision(ALLOW, ALLOWED, gate, name)
    auth.require_live_session(session_id)
    if _holder_at(code.ref, gate.region, None) is None:
        return _decision(DENY, NOT_HELD, gate)
    return _decision(DENY, REPLAYED, gate)


def _offline_outcome(item: dict[str, Any], gate: Gate, now: datetime) -> dict[str, Any]:
    config = current_app.config
    skew: timedelta = config["BENEFIT_OFFLINE_CLOCK_SKEW"]
    used_at: datetime = item["used_at"]
    try:
        code = verifier().verify(item["code"], used_at.timestamp(), skew.total_seconds())
    except CodeRejected as rejected:
        return {"outcome": REJECTED, "reason": rejected.reason}
    result: dict[str, Any] = {"jti": code.jti}
    issued = code.exp - config["BENEFIT_CODE_TTL"].total_seconds()
    reason: str | None
    if used_at > now + skew:
        reason = USED_IN_FUTURE
    elif used_at.timestamp() < issued - skew.total_seconds():
        reason = USED_BEFORE_ISSUE
    elif used_at < now - config["BENEFIT_OFFLINE_MAX_AGE"]:
        reason = UPLOAD_TOO_LATE
    else:
        reason = _admits(code, gate, clock.to_local(used_at).date())
    holder = None if reason else _holder_at(code.ref, gate.region, used_at)
    if reason is None and holder is None:
        reason = NOT_HELD
    if reason or holder is None:
        return {**result, "outcome": REJECTED, "reason": reason}
    recorded = _insert_use(
        {
            "ref": code.ref,
            "jti": code.jti,
            "donor_id": holder[0],
            "operator_id": gate.operator_id,
            "device_id": gate.device_id,
            "region": gate.region,
            "benefit_kind": gate.benefit_kind,
            "used_at": used_at,
            "used_on": clock.to_local(used_at).date(),
            "mode": OFFLINE,
        }
    )
    if recorded:
        return {**result, "outcome": RECORDED, "reason": ALLOWED}
    first = db.session.execute(
        select(BenefitUse).where(BenefitUse.ref == code.ref, BenefitUse.jti == code.jti)
    ).scalar_one()
    if first.device_id == gate.device_id and first.mode == OFFLINE:
        return {**result, "outcome": DUPLICATE, "reason": DUPLICATE}
    return {**result, "outcome": REJECTED, "reason": REPLAYED}


def upload_offline(uses: list[dict[str, Any]], gate: Gate) -> dict[str, Any]:
    """Record the uses a gate admitted while offline; sending a batch again records nothing twice.

    Each use carries the code itself: it proves the holder showed a code we signed, valid at the
    time of use, so settlement never rests on a gate's word alone.
    """
    now = clock.now()
    results = []
    for index, item in enumerate(uses):
        result = _offline_outcome(item, gate, now)
        GATE_DECISIONS.labels(OFFLINE, result["outcome"], result["reason"]).inc()
        results.append({"index": index, **result})
    summary = {key: sum(r["outcome"] == key for r in results) for key in (RECORDED, DUPLICATE)}
    summary[REJECTED] = len(results) - summary[RECORDED] - summary[DUPLICATE]
    return {**summary, "results": results}


# ---------------------------------------------------------------- usage for settlement

USAGE_COLUMNS = ("day", "operator_id", "operator_name", "benefit_kind", "uses", "online", "offline")


def check_range(start: date, end: date) -> None:
    if end < start:
        raise ApiError("usage_range_invalid", 422, errors={"to": ["usage_range_invalid"]})
    if (end - start).days + 1 > current_app.config["BENEFIT_USAGE_MAX_DAYS"]:
        raise ApiError("usage_range_too_long", 422, errors={"to": ["usage_range_too_long"]})


def usage_query(start: date, end: date, operator_id: int | None = None) -> Select:
    """Uses per operator, local day and benefit kind in [start, end]."""
    query = (
        select(
            BenefitUse.used_on.label("day"),
            BenefitUse.operator_id,
            GateOperator.name.label("operator_name"),
            BenefitUse.benefit_kind,
            func.count().label("uses"),
            func.sum(case((BenefitUse.mode == ONLINE, 1), else_=0)).label("online"),
            func.sum(case((BenefitUse.mode == OFFLINE, 1), else_=0)).label("offline"),
        )
        .join(GateOperator, GateOperator.id == BenefitUse.operator_id)
        .where(BenefitUse.used_on >= start, BenefitUse.used_on <= end)
        .group_by(
            BenefitUse.used_on, BenefitUse.operator_id, GateOperator.name, BenefitUse.benefit_kind
        )
        .order_by(BenefitUse.used_on, BenefitUse.operator_id, BenefitUse.benefit_kind)
    )
    if operator_id is not None:
        query = query.where(BenefitUse.operator_id == operator_id)
    return query


def usage_csv(query: Select) -> str:
    """The whole range as CSV (UTF-8 with a BOM, so spreadsheets show the Chinese names)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(USAGE_COLUMNS)
    for row in db.session.execute(query):
        writer.writerow([spreadsheet_cell(getattr(row, column)) for column in USAGE_COLUMNS])
    return buffer.getvalue()

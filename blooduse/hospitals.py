"""Hospitals and their cashiers' device credentials (role `hospital`, bound to one hospital).

A hospital is registered by an administrator with its region; each cashier's system gets a
device credential bound to it, made by an administrator (or from the shell:
`flask users create-device --role hospital --hospital ID`). Everything a hospital does is scoped
to the hospital its device is bound to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Select, select

from blooduse.models import Hospital, HospitalDevice
from core import audit, auth
from core.auth import Caller
from core.errors import ApiError
from core.extensions import db
from core.lookups import get_or_404
from core.models import Device
from core.policy import regions


@dataclass(frozen=True)
class Cashier:
    """The hospital behind a device token."""

    device_id: int
    hospital_id: int
    region: str
    name: str
    code: str


def create_hospital(fields: dict[str, Any], admin: Caller | None) -> Hospital:
    if fields["region"] not in regions():
        raise ApiError("region_unknown", 422, errors={"region": ["region_unknown"]})
    if db.session.scalar(select(Hospital.id).where(Hospital.code == fields["code"])):
        raise ApiError("hospital_code_taken", 409, errors={"code": ["hospital_code_taken"]})
    hospital = Hospital(code=fields["code"], name=fields["name"], region=fields["region"])
    db.session.add(hospital)
    db.session.flush()
    audit.record(
        "hospital.created",
        actor=("staff", admin.principal_id) if admin else ("shell", None),
        target=("hospital", hospital.id),
    )
    return hospital


def get_hospital(hospital_id: int) -> Hospital:
    return get_or_404(Hospital, hospital_id, "hospital_unknown")


def hospitals_query(region: str | None = None) -> Select:
    query = select(Hospital).order_by(Hospital.id)
    return query if region is None else query.where(Hospital.region == region)


def deactivate_hospital(hospital: Hospital, admin: Caller) -> Hospital:
    """Its devices' sessions end at once; its settled bills stay as they are."""
    hospital.active = False
    for device_id in db.session.scalars(
        select(HospitalDevice.device_id).where(HospitalDevice.hospital_id == hospital.id)
    ):
        auth.revoke_all_sessions("device", device_id, "hospital_deactivated")
    audit.record(
        "hospital.deactivated",
        actor=("staff", admin.principal_id),
        target=("hospital", hospital.id),
    )
    return hospital


class IssuedDevice(NamedTuple):
    """A cashier's device with the secret just issued to it, which is shown this once."""

    device: Device
    hospital_id: int
    client_secret: str


def create_hospital_device(
    hospital: Hospital, name: str, admin: Caller | None
) -> tuple[Device, str]:
    """A cashier's credential bound to the hospital; the secret is returned once."""
    if not hospital.active:
        raise ApiError("hospital_inactive", 409)
    device, secret = auth.create_device(auth.HOSPITAL, name)
    db.session.add(HospitalDevice(device_id=device.id, hospital_id=hospital.id))
    audit.record(
        "hospital_device.created",
        actor=("staff", admin.principal_id) if admin else ("shell", None),
        target=("device", device.id),
        details={"hospital": hospital.id},
    )
    db.session.flush()
    return device, secret


def make_hospital_device(name: str, options: dict[str, Any]) -> tuple[Device, str]:
    """A hospital device made from the shell, bound to its hospital as one an admin makes is."""
    unused = sorted(k for k, v in options.items() if v is not None and k != "hospital")
    if unused:
        raise ApiError(
            "device_option_unused", 422, errors={key: ["device_option_unused"] for key in unused}
        )
    hospital_id = options.get("hospital")
    if hospital_id is None:
        raise ApiError("hospital_required", 422, errors={"hospital": ["hospital_required"]})
    hospital = get_or_404(
        Hospital, hospital_id, "hospital_unknown", errors={"hospital": ["hospital_unknown"]}
    )
    return create_hospital_device(hospital, name, None)


def cashier_of(caller: Caller) -> Cashier:
    """The hospital behind a device token: registered and active, checked on every call (the
    session too, so a revoked device is told 401)."""
    auth.require_live_session(caller.session_id)
    row = db.session.execute(
        select(Hospital)
        .join(HospitalDevice, HospitalDevice.hospital_id == Hospital.id)
        .where(HospitalDevice.device_id == caller.principal_id)
    ).scalar_one_or_none()
    if row is None:
        raise ApiError("hospital_not_registered", 403)
    if not row.active:
        raise ApiError("hospital_inactive", 403)
    return Cashier(caller.principal_id, row.id, row.region, row.name, row.code)

"""`flask users ...`: create staff, administrators and device credentials from the shell."""

from __future__ import annotations

import getpass
from collections.abc import Mapping

import click
from flask import current_app
from sqlalchemy import select

from core import auth
from core.errors import ApiError, CommandError
from core.extensions import db
from core.i18n import _l
from core.messages import MESSAGES
from core.models import Device
from sites import services
from sites.models import StaffUser

users_cli = click.Group("users", help="Create and manage staff, administrators and devices.")

PASSWORD_TOO_SHORT = _l("Use a password of at least {length} characters.")
NO_STAFF_USER = _l("There is no staff user {username}.")
NO_DEVICE = _l("There is no device {client_id}.")
REFUSED_OPTIONS = _l("{reason} {options}")
LOCKS_IN_SERVER_MEMORY = _l(
    "Failed logins are counted in each server process's memory (RATELIMIT_STORAGE_URI is"
    " memory://), which this shell cannot see: unlock through the API"
    " (POST /api/v1/admin/staff/<id>/unlock), or count them in Redis."
)


def _say_where_locks_live() -> None:
    """A shell is a process of its own: with the development store it sees no server's counts."""
    if current_app.config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        click.echo(str(LOCKS_IN_SERVER_MEMORY), err=True)


def _fail(error: ApiError) -> None:
    raise CommandError.from_api_error(error) from None


@users_cli.command("create-staff")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="At least STAFF_PASSWORD_MIN_LENGTH characters (10). Leave it out to be asked for it:"
    " typed twice, not shown (a password given here stays in the shell's history).",
)
@click.option("--site", "facility_codes", multiple=True, help="ISBT 128 facility code; repeat")
@click.option("--admin", is_flag=True, help="A station administrator instead of site staff")
def create_staff(
    username: str, display_name: str, password: str, facility_codes: tuple[str, ...], admin: bool
) -> None:
    """Create a staff member bound to sites, or an administrator.

    The password is asked for (twice, hidden) unless --password is given.
    """
    if len(password) < current_app.config["STAFF_PASSWORD_MIN_LENGTH"]:
        raise CommandError(
            PASSWORD_TOO_SHORT, length=current_app.config["STAFF_PASSWORD_MIN_LENGTH"]
        )
    try:
        user = services.create_staff(
            username=username,
            display_name=display_name,
            password=password,
            role=auth.ADMIN if admin else auth.STAFF,
            facility_codes=list(facility_codes),
        )
    except ApiError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"created {user.role} {user.username} (id {user.id}) for sites {user.site_ids}")


@users_cli.command("set-sites")
@click.argument("username")
@click.option("--site", "facility_codes", multiple=True, required=True)
def set_sites(username: str, facility_codes: tuple[str, ...]) -> None:
    """Replace the sites a staff member serves (ends their current logins)."""
    user = _staff(username)
    try:
        services.assign_sites(user, list(facility_codes))
    except ApiError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"{username} now serves {user.site_ids}")


@users_cli.command("disable")
@click.argument("username")
def disable(username: str) -> None:
    """Disable a staff member or administrator and end their logins."""
    services.disable_staff(_staff(username))
    db.session.commit()
    click.echo(f"disabled {username}")


@users_cli.command("unlock")
@click.argument("username")
@click.option("--reason", default=None, help="Why, for the audit log.")
def unlock(username: str, reason: str | None) -> None:
    """End a staff member's or administrator's login lock and forget their failed logins.

    Audited as done from the shell, with the operating-system user who ran it.
    """
    _say_where_locks_live()
    user = _staff(username)
    was_locked = services.unlock_staff(
        user, ("shell", None), reason=reason, os_user=getpass.getuser()
    )
    db.session.commit()
    click.echo(f"unlocked {username}" if was_locked else f"{username} was not locked")


@users_cli.command("create-device")
@click.option(
    "--role",
    type=click.Choice(auth.DEVICE_ROLES),
    required=True,
    help="gate: a turnstile or desk that checks benefit codes; hospital; station_system.",
)
@click.option("--name", required=True, help="What the device is called, e.g. 地铁1号线闸机.")
@click.option(
    "--operator",
    "operator_id",
    type=int,
    default=None,
    help="Gates, required: the id of the gate operator the gate belongs to (an administrator "
    "registers operators with POST /api/v1/admin/gate-operators; GET lists them).",
)
@click.option(
    "--benefit-kind",
    default=None,
    help="Gates: the benefit the gate admits to. It is the operator's (the default), one of "
    "the three_free benefits of the operator's region policy.",
)
@click.option("--location", default=None, help="Gates: where it stands, e.g. 武林广场站.")
@click.option(
    "--hospital",
    "hospital_id",
    type=int,
    default=None,
    help="Hospitals, required: the id of the hospital the cashier's device belongs to (an "
    "administrator registers hospitals with POST /api/v1/admin/hospitals; GET lists them).",
)
def create_device(
    role: str,
    name: str,
    operator_id: int | None,
    benefit_kind: str | None,
    location: str | None,
    hospital_id: int | None,
) -> None:
    """Create a device credential and print its client_id and client_secret (shown this once).

    A gate belongs to a gate operator and checks the operator's benefit in the operator's
    region, so --operator is required for --role gate; a hospital's device belongs to its
    hospital, so --hospital is required for --role hospital. The device logs in with
    POST /api/v1/auth/device-token.
    """
    options = {
        "operator": operator_id,
        "benefit_kind": benefit_kind,
        "location": location,
        "hospital": hospital_id,
    }
    try:
        device, secret = auth.make_device(role, name, options)
    except ApiError as error:
        raise _refused(error, options) from None
    db.session.commit()
    click.echo(f"client_id={device.client_id}\nclient_secret={secret}")


@users_cli.command("rotate-device")
@click.argument("client_id")
def rotate_device(client_id: str) -> None:
    """Give a device a new secret; the old one and its tokens stop working."""
    secret = auth.rotate_device_secret(_device(client_id))
    db.session.commit()
    click.echo(f"client_secret={secret}")


@users_cli.command("revoke-device")
@click.argument("client_id")
def revoke_device(client_id: str) -> None:
    """Revoke a device for good."""
    auth.revoke_device(_device(client_id))
    db.session.commit()
    click.echo(f"revoked {client_id}")


@users_cli.command("list")
def list_users() -> None:
    """List staff, administrators and devices."""
    _say_where_locks_live()
    for user in db.session.scalars(select(StaffUser).order_by(StaffUser.id)):
        state = "active" if user.active else "disabled"
        if user.active and services.login_lock(user).waiting:
            state = "locked"
        click.echo(f"{user.role:8} {user.username:20} {state:9} sites={user.site_ids}")
    for device in db.session.scalars(select(Device).order_by(Device.id)):
        state = "active" if device.active else "revoked"
        click.echo(f"{device.role:8} {device.client_id:20} {state:9} {device.name}")


def _refused(error: ApiError, options: Mapping[str, object]) -> CommandError:
    """The refusal as a sentence, naming the options (and values) it is about."""
    named = []
    for key in error.errors or {}:
        value = options.get(key)
        named.append(f"(--{key.replace('_', '-')}{'' if value is None else f' {value}'})")
    return CommandError(REFUSED_OPTIONS, reason=MESSAGES[error.code], options=" ".join(named))


def _staff(username: str) -> StaffUser:
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None:
        raise CommandError(NO_STAFF_USER, username=username)
    return user


def _device(client_id: str) -> Device:
    device = db.session.scalar(select(Device).where(Device.client_id == client_id))
    if device is None:
        raise CommandError(NO_DEVICE, client_id=client_id)
    return device

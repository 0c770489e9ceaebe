"""Sites and staff: creation, listing, password login, and the site scope of every staff action."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Select, select

from core import audit, clock, limits
from core.auth import ADMIN, STAFF, Caller, issue_tokens, revoke_all_sessions
from core.crypto import dummy_password_hash, hash_password, verify_password
from core.errors import ApiError
from core.extensions import db
from core.limits import address_key
from core.lookups import get_or_404
from core.policy import regions
from sites.models import Site, StaffUser

# ISBT 128 Facility Identification Number: one letter (A–N, P–Z) and four digits.
FACILITY_CODE = re.compile(r"^[A-NP-Z][0-9]{4}$")


def is_facility_code(value: str) -> bool:
    return bool(FACILITY_CODE.match(value))


def _require_known_region(region: str | None) -> None:
    """A site's pages and rules are read from its region's policy: a region with none would
    make every one of them fail."""
    if region is not None and region not in regions():
        raise ApiError("region_unknown", 422, errors={"region": ["region_unknown"]})


def create_site(fields: dict[str, Any], actor: Caller) -> Site:
    _require_known_region(fields.get("region"))
    if db.session.scalar(select(Site.id).where(Site.facility_code == fields["facility_code"])):
        raise ApiError(
            "facility_code_taken", 409, errors={"facility_code": ["facility_code_taken"]}
        )
    site = Site(**fields)
    db.session.add(site)
    db.session.flush()
    audit.record("site.created", actor=("staff", actor.principal_id), target=("site", site.id))
    return site


def update_site(site: Site, changes: dict[str, Any], actor: Caller) -> Site:
    _require_known_region(changes.get("region"))
    code = changes.get("facility_code")
    if code and code != site.facility_code:
        if db.session.scalar(select(Site.id).where(Site.facility_code == code)):
            raise ApiError(
                "facility_code_taken", 409, errors={"facility_code": ["facility_code_taken"]}
            )
    for key, value in changes.items():
        setattr(site, key, value)
    audit.record(
        "site.updated",
        actor=("staff", actor.principal_id),
        target=("site", site.id),
        details={"fields": sorted(changes)},
    )
    return site


def get_site(site_id: int, *, include_inactive: bool = False) -> Site:
    return get_or_404(Site, site_id, visible=lambda site: site.active or include_inactive)


def sites_query(
    *, city: str | None = None, kind: str | None = None, include_inactive: bool = False
) -> Select:
    query = select(Site).order_by(Site.city, Site.name, Site.id)
    if not include_inactive:
        query = query.where(Site.active.is_(True))
    if city:
        query = query.where(Site.city == city)
    if kind:
        query = query.where(Site.kind == kind)
    return query


def create_staff(
    *, username: str, display_name: str, password: str, role: str, facility_codes: list[str]
) -> StaffUser:
    if role not in (STAFF, ADMIN):
        raise ValueError("role must be staff or admin")
    if db.session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
        raise ApiError("username_taken", 409)
    sites = _sites_by_code(facility_codes)
    user = StaffUser(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
        sites=sites,
    )
    db.session.add(user)
    db.session.flush()
    return user


def _sites_by_code(codes: list[str]) -> list[Site]:
    sites = list(db.session.scalars(select(Site).where(Site.facility_code.in_(codes))))
    missing = set(codes) - {site.facility_code for site in sites}
    if missing:
        raise ApiError("not_found", 404, errors={"facility_codes": sorted(missing)})
    return sites


def assign_sites(user: StaffUser, facility_codes: list[str]) -> StaffUser:
    user.sites = _sites_by_code(facility_codes)
    revoke_all_sessions("staff", user.id, "sites_changed")
    return user


def disable_staff(user: StaffUser) -> None:
    user.active = False
    revoke_all_sessions("staff", user.id, "disabled")


STAFF_LOGIN_PER_ADDRESS = "STAFF_LOGIN_LIMIT_PER_ADDRESS"
STAFF_LOGIN_PER_ACCOUNT = "STAFF_LOGIN_LIMIT_PER_ACCOUNT"


def staff_login(username: str, password: str, client_ip: str) -> dict[str, Any]:
    """Password login, bounded per client address and per account, that locks out nobody else.

    An address that keeps failing must wait (429 login_throttled) before its next password is
    even checked, whichever account it tries. An account locks after repeated failures, for
    longer once they go on (core.limits: its windows), but its lock holds back only addresses
    that have failed: the right password from an address with no failures still logs in, so
    whoever keeps failing at `admin` locks out only themselves. An unknown name, a wrong password
    and a locked account get one answer (401 login_failed) after the same password hashing.
    """
    try:
        attempt = limits.take(STAFF_LOGIN_PER_ADDRESS, address_key(client_ip))
    except limits.Throttled as throttled:
        raise ApiError("login_throttled", 429, headers=throttled.headers) from None
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
    right = verify_password(user.password_hash if user else dummy_password_hash(), password)
    if user is None:
        raise ApiError("login_failed", 401)
    account = str(user.id)
    locked = limits.standing(STAFF_LOGIN_PER_ACCOUNT, account).waiting
    if not right:
        failure = limits.take(STAFF_LOGIN_PER_ACCOUNT, account, enforce=False)
        if failure.filled:
            audit.record("staff.locked", actor=("staff", user.id), target=("staff", user.id))
            db.session.commit()
        raise ApiError("login_failed", 401)
    if locked and attempt.failures_before:
        raise ApiError("login_failed", 401)
    if not user.active:
        raise ApiError("account_disabled", 403)
    attempt.give_back()
    if not locked:  # a lock ends by itself or by an administrator, not by the login it let through
        limits.forget(STAFF_LOGIN_PER_ACCOUNT, account)
    user.last_login_at = clock.now()
    audit.record("staff.login", actor=("staff", user.id))
    return issue_tokens("staff", user.id, user.role)


def login_lock(user: StaffUser) -> limits.Standing:
    """The account's remembered failed logins and how long its lock still holds."""
    return limits.standing(STAFF_LOGIN_PER_ACCOUNT, str(user.id))


def unlock_staff(user: StaffUser, actor: tuple[str, int | None], **details: Any) -> bool:
    """Forget the account's failed logins, ending its lock; audited. Whether it was locked."""
    locked = login_lock(user).waiting
    forgotten = limits.forget(STAFF_LOGIN_PER_ACCOUNT, str(user.id))
    audit.record(
        "staff.unlocked",
        actor=actor,
        target=("staff", user.id),
        details={"was_locked": locked, "had_failures": forgotten, **details},
    )
    return locked


def get_staff(staff_id: int) -> StaffUser:
    return get_or_404(StaffUser, staff_id)


def current_staff(who: Caller) -> StaffUser:
    user = db.session.get(StaffUser, who.principal_id)
    if user is None or not user.active:
        raise ApiError("token_revoked", 401)
    return user


def serves_site(who: Caller, site_id: int) -> bool:
    """Whether the caller works at the site (admins serve every site)."""
    return who.role == ADMIN or site_id in current_staff(who).site_ids


def require_site(who: Caller, site_id: int) -> Site:
    """The site, if the caller serves it (admins serve every site); 403 otherwise."""
    site = get_site(site_id, include_inactive=True)
    if not serves_site(who, site_id):
        raise ApiError("site_not_served", 403)
    return site


def update_notice(site: Site, notice: str | None, who: Caller) -> Site:
    site.notice = notice
    audit.record("site.notice", actor=("staff", who.principal_id), target=("site", site.id))
    return site

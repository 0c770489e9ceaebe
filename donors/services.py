"""Donor accounts: one-time codes, registration, login, profile, mobile change and erasure.

No `request` in here: callers pass what they know (the mobile number, the client's address), so
the CLI and the tests use the same rules as the API.
"""

from __future__ import annotations

import hmac
import math
import secrets
from datetime import datetime, time, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, func, select, update

from core import audit, clock, limits
from core.auth import DONOR, issue_tokens, revoke_all_sessions
from core.crypto import cipher
from core.errors import ApiError, message_for
from core.extensions import db
from core.limits import address_key
from core.lookups import get_or_404
from donors.events import (
    donor_erased,
    login_code_issued,
    mobile_changed,
    registration_for_registered_id,
)
from donors.faces import erase_face
from donors.identity import ResidentId
from donors.models import DONOR_ACTIVE, DONOR_ERASED, Deferral, Donor, OneTimeCode


def mobile_hash(e164: str) -> str:
    return cipher().lookup_hash("mobile", e164)


def id_number_hash(id_number: str) -> str:
    return cipher().lookup_hash("ric", id_number)


OTP_SEND_PER_NUMBER = "OTP_SEND_LIMIT_PER_NUMBER"
OTP_RESEND_PER_NUMBER = "OTP_RESEND_LIMIT_PER_NUMBER"
OTP_SEND_PER_ADDRESS = "OTP_SEND_LIMIT_PER_ADDRESS"
OTP_GUESS_PER_ADDRESS = "OTP_GUESS_LIMIT_PER_ADDRESS"


def request_code(e164: str, client_ip: str) -> dict[str, int]:
    """Issue a login code for a mobile number, within the resend, daily and per-address limits.

    The answer is the same whether or not the number belongs to a donor, so the endpoint
    cannot be used to learn who donates.
    """
    taken: list[limits.Attempt] = []
    try:
        for budget, key, refusal in _send_budgets(e164, client_ip):
            taken.append(_take_send(budget, key, refusal))
    except ApiError:
        for attempt in taken:  # a refused request sends nothing, so it counts nowhere
            attempt.give_back()
        db.session.commit()
        raise
    issue_code(e164)
    return code_sent()


def _send_budgets(e164: str, client_ip: str) -> list[tuple[str, str, str]]:
    """Each limit a text to `e164` asked from `client_ip` counts in: budget, key, refusal."""
    subject = mobile_hash(e164)
    return [
        (OTP_SEND_PER_ADDRESS, address_key(client_ip), "otp_ip_limit"),
        (OTP_RESEND_PER_NUMBER, subject, "otp_resend_too_soon"),
        (OTP_SEND_PER_NUMBER, f"{subject}:{clock.local_today().isoformat()}", "otp_daily_limit"),
    ]


def _take_send(budget: str, key: str, refusal: str) -> limits.Attempt:
    try:
        return limits.take(budget, key)
    except limits.Throttled as throttled:
        headers = throttled.headers
        if budget == OTP_SEND_PER_NUMBER:  # the count starts again at Beijing midnight
            headers = {"Retry-After": str(_seconds_to_local_midnight())}
        raise ApiError(refusal, 429, headers=headers) from None


def _seconds_to_local_midnight() -> int:
    now = clock.local_now()
    midnight = datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=now.tzinfo)
    return max(1, math.ceil((midnight - now).total_seconds()))


def code_sent() -> dict[str, int]:
    """What a client is told after a code went (or, for registration, may have gone) out."""
    config = current_app.config
    return {
        "expires_in": int(config["OTP_TTL"].total_seconds()),
        "resend_after": int(limits.windows(OTP_RESEND_PER_NUMBER)[0].get_expiry()),
    }


def issue_code(e164: str) -> None:
    """Store a new code for the number (superseding any live one) and have it delivered."""
    config = current_app.config
    now = clock.now()
    subject = mobile_hash(e164)
    for pending in db.session.scalars(
        select(OneTimeCode).where(
            OneTimeCode.mobile_hash == subject,
            OneTimeCode.consumed_at.is_(None),
            OneTimeCode.superseded_at.is_(None),
        )
    ):
        pending.superseded_at = now

    length = config["OTP_LENGTH"]
    code = f"{secrets.randbelow(10**length):0{length}d}"
    ttl = config["OTP_TTL"]
    row = OneTimeCode(
        mobile_hash=subject,
        code_hash=cipher().code_hash(subject, code),
        created_at=now,
        expires_at=now + ttl,
    )
    db.session.add(row)
    db.session.flush()
    delivered_by = login_code_issued.send(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        code_id=row.id,
        mobile=e164,
        code=code,
        minutes=int(ttl.total_seconds() // 60),
        expires_at=row.expires_at,
    )
    if not delivered_by:  # a code nobody sends would lock the donor out without a word
        raise RuntimeError("no receiver of donors.events.login_code_issued")


def check_code(e164: str, code: str, client_ip: str, *, spend: bool = True) -> None:
    """Accept the number's latest live code; count every guess, per code and per address.

    A guess first takes an attempt from its client address's budget (core.limits) and one of
    the code's own (a conditional UPDATE: attempts < OTP_MAX_ATTEMPTS), both committed before the
    code is compared, so parallel guesses cannot outrun either count and a wrong guess counts
    whatever becomes of its request. One address therefore cannot burn a donor's code unslowed.
    A right code is spent (`spend`) in a commit of its own as well: a registration that then
    fails has used it up. Call it before the request changes anything else.
    """
    config = current_app.config
    try:
        attempt = limits.take(OTP_GUESS_PER_ADDRESS, address_key(client_ip))
    except limits.Throttled as throttled:
        raise ApiError("otp_guess_throttled", 429, headers=throttled.headers) from None
    subject = mobile_hash(e164)
    now = clock.now()
    max_attempts = config["OTP_MAX_ATTEMPTS"]
    live = db.session.scalar(
        select(OneTimeCode.id)
        .where(
            OneTimeCode.mobile_hash == subject,
            OneTimeCode.consumed_at.is_(None),
            OneTimeCode.superseded_at.is_(None),
        )
        .order_by(OneTimeCode.created_at.desc())
        .limit(1)
    )
    if live is None:
        raise ApiError("otp_invalid", 400)
    codes = OneTimeCode.__table__
    still_live = (
        codes.c.id == live,
        codes.c.consumed_at.is_(None),
        codes.c.superseded_at.is_(None),
        codes.c.expires_at > now,
    )
    counted = db.session.execute(
        update(codes)
        .where(*still_live, codes.c.attempts < max_attempts)
        .values(attempts=codes.c.attempts + 1)
        .returning(codes.c.code_hash, codes.c.attempts)
    ).one_or_none()
    db.session.commit()
    if counted is None:  # spent, superseded or expired meanwhile, or out of attempts
        out_of_attempts = db.session.scalar(
            select(func.count()).select_from(codes).where(*still_live)
        )
        raise (
            ApiError("otp_too_many_attempts", 429)
            if out_of_attempts
            else ApiError("otp_invalid", 400)
        )
    if not hmac.compare_digest(counted.code_hash, cipher().code_hash(subject, code)):
        if counted.attempts >= max_attempts:
            raise ApiError("otp_too_many_attempts", 429)
        raise ApiError("otp_invalid", 400)
    attempt.give_back()
    if spend:
        spent = cast(
            CursorResult[Any],
            db.session.execute(
                update(codes)
                .where(codes.c.id == live, codes.c.consumed_at.is_(None))
                .values(consumed_at=now)
            ),
        ).rowcount
    db.session.commit()
    if spend and not spent:  # a parallel request with the same code spent it first
        raise ApiError("otp_invalid", 400)


def find_donor_by_mobile(e164: str) -> Donor | None:
    return db.session.scalar(select(Donor).where(Donor.mobile_hash == mobile_hash(e164)))


def find_donor_by_id_number(id_number: str) -> Donor | None:
    return db.session.scalar(select(Donor).where(Donor.id_number_hash == id_number_hash(id_number)))


def register_donor(
    *,
    name: str,
    resident_id: ResidentId,
    e164: str,
    code: str,
    client_ip: str,
    abo: str | None = None,
    rhd: str | None = None,
    city: str | None = None,
) -> Donor | None:
    """Register, continuing by SMS whatever the ID number: the answer reveals nobody.

    The code is spent first, whatever follows, so one code tests one ID number. A free ID number
    (or a pending or erased record's) gets the account, and its new number a login code. An ID
    number that an account holds already changes nothing: the number on record is told that
    someone tried, with the other number masked, and how its holder moves the account to a new
    phone. The caller hears the same in both cases. Returns the new account, if one was made.
    """
    check_code(e164, code, client_ip)
    if find_donor_by_mobile(e164) is not None:  # the caller just proved this number is theirs
        raise ApiError("mobile_taken", 409, errors={"mobile": ["mobile_taken"]})
    donor = find_donor_by_id_number(resident_id.number)
    if donor is not None and donor.status == DONOR_ACTIVE:
        _tell_registered_holder(donor, e164)
        return None
    if donor is None:
        donor = Donor(id_number_hash=id_number_hash(resident_id.number))
        db.session.add(donor)
    donor.status = DONOR_ACTIVE
    donor.name = name
    donor.id_number = resident_id.number
    donor.birth_date = resident_id.birth_date
    donor.sex = resident_id.sex
    donor.mobile = e164
    donor.mobile_hash = mobile_hash(e164)
    donor.erased_at = None
    donor.city = city
    if abo:
        donor.abo, donor.rhd, donor.blood_group_source = abo, rhd, "self_reported"
    db.session.flush()
    audit.record("donor.registered", actor=("donor", donor.id), target=("donor", donor.id))
    for budget, key, _ in _send_budgets(e164, client_ip):  # proven a moment ago: it goes
        limits.take(budget, key, enforce=False)
    issue_code(e164)
    return donor


def registration_accepted() -> dict[str, Any]:
    """The one answer to a registration whose code was right, whoever holds the ID number."""
    return {"message": message_for("registration_continues_by_sms"), **code_sent()}


def _tell_registered_holder(donor: Donor, e164: str) -> None:
    audit.record(
        "donor.registration_refused", actor=("anonymous", None), target=("donor", donor.id)
    )
    db.session.flush()
    registration_for_registered_id.send(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        donor=donor,
        other_mobile=e164,
    )


def login_donor(e164: str, code: str, client_ip: str) -> tuple[Donor, dict[str, Any]]:
    """Tokens for the code sent to a registered number.

    A right code for a number nobody registered is told so (only the number's holder learns
    it) and stays usable for registering.
    """
    donor = find_donor_by_mobile(e164)
    check_code(e164, code, client_ip, spend=donor is not None)
    if donor is None:
        raise ApiError("not_registered", 404)
    return donor, issue_tokens("donor", donor.id, DONOR)


def get_donor(donor_id: int) -> Donor:
    donor = db.session.get(Donor, donor_id)
    if donor is None or donor.status != DONOR_ACTIVE:
        raise ApiError("token_revoked", 401)
    return donor


def update_profile(donor: Donor, changes: dict[str, Any]) -> Donor:
    """The fields a donor may change alone; identity fields need staff and documents."""
    if "blood_group" in changes:
        group = changes["blood_group"]
        if group is None:
            donor.abo = donor.rhd = donor.blood_group_source = None
        elif donor.blood_group_source != "laboratory":
            donor.abo, donor.rhd, donor.blood_group_source = (
                group["abo"],
                group["rhd"],
                "self_reported",
            )
    if "city" in changes:
        donor.city = changes["city"]
    return donor


def change_mobile(donor: Donor, new_e164: str, code: str, client_ip: str) -> Donor:
    """Move the account to a number the donor proves to hold; the old number is told."""
    check_code(new_e164, code, client_ip)
    return _move_to(donor, new_e164, actor=("donor", donor.id))


def move_mobile_at_site(
    id_number: str, new_e164: str, code: str, client_ip: str, *, staff_id: int, site_id: int
) -> Donor:
    """The way forward for a donor whose phone on record is gone: at a donation site, staff check
    the ID card and the donor proves the new number with a code sent to it.

    Every login of the old phone ends and the old number is told; audited with the staff member
    and the site.
    """
    donor = find_donor_by_id_number(id_number)
    if donor is None or donor.status != DONOR_ACTIVE:
        raise ApiError("donor_not_found", 404)
    check_code(new_e164, code, client_ip)
    _move_to(
        donor,
        new_e164,
        actor=("staff", staff_id),
        details={"site": site_id, "proof": "id_card_checked"},
    )
    revoke_all_sessions("donor", donor.id, "mobile_moved_at_site")
    return donor


def _move_to(
    donor: Donor,
    new_e164: str,
    *,
    actor: tuple[str, int | None],
    details: dict[str, Any] | None = None,
) -> Donor:
    other = find_donor_by_mobile(new_e164)
    if other is not None and other.id != donor.id:
        raise ApiError("mobile_taken", 409, errors={"mobile": ["mobile_taken"]})
    old = donor.mobile
    donor.mobile = new_e164
    donor.mobile_hash = mobile_hash(new_e164)
    entry = audit.record(
        "donor.mobile_changed", actor=actor, target=("donor", donor.id), details=details
    )
    if old and old != new_e164:
        db.session.flush()
        mobile_changed.send(current_app._get_current_object(), audit_id=entry.id, old_mobile=old)  # type: ignore[attr-defined]
    return donor


def erase_donor(donor: Donor, code: str, client_ip: str) -> None:
    """Erase what identifies the donor, keeping the pseudonymised donation records.

    Blood services must keep donation records for traceability, so the row, its keyed ID hash,
    birth date, sex and blood group stay; the name, ID number, mobile number and face go, and
    every login ends. Registering again with the same ID number takes the record back. Other
    packages remove what they hold about the donor on `donor_erased`, in this transaction.
    """
    if donor.mobile is None:
        raise ApiError("donor_erased", 409)
    check_code(donor.mobile, code, client_ip)
    donor.name = None
    donor.id_number = None
    donor.mobile = None
    donor.mobile_hash = None
    donor.city = None
    donor.status = DONOR_ERASED
    donor.erased_at = clock.now()
    erase_face(donor, actor=("donor", donor.id), reason="donor_erased")
    revoke_all_sessions("donor", donor.id, "erased")
    donor_erased.send(current_app._get_current_object(), donor=donor)  # type: ignore[attr-defined]
    audit.record("donor.erased", actor=("donor", donor.id), target=("donor", donor.id))


def lift_deferral(deferral: Deferral, staff_id: int) -> Deferral:
    """End a deferral early (recorded in error, or no longer needed); idempotent."""
    if deferral.lifted_at is None:
        deferral.lifted_at = clock.now()
        deferral.lifted_by = staff_id
        audit.record(
            "donor.deferral_lifted",
            actor=("staff", staff_id),
            target=("donor", deferral.donor_id),
            details={"deferral": deferral.id},
        )
    return deferral


def donor_by_id(donor_id: int) -> Donor:
    return get_or_404(Donor, donor_id, "donor_not_found")

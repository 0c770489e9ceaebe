"""Resident Identity Card numbers and mobile numbers: parsed by maintained libraries, not by us."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache

import phonenumbers
from stdnum import exceptions as stdnum_errors
from stdnum import numdb
from stdnum.cn import ric
from stdnum.util import isdigits

from core import clock


class IdentityError(ValueError):
    """The value is not a usable ID or mobile number; `code` names why (see core.messages)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: date
    sex: str  # from the sequence code: a hint only, staff verify


_CANONICAL = re.compile(r"^[0-9]{17}[0-9X]$")  # already compact: skip stdnum's slow clean()


@cache
def _region_code_known(code: str) -> bool:
    """The address code is in GB/T 2260 at some time, whatever the birth year.

    python-stdnum's `ric.validate` also requires the county to have existed in the birth year,
    but the code is the one in force when the number was issued: a donor born in 1970 in
    Hangzhou's 上城区 holds a 330102 number although that code dates from 1983 (POLICY.md §6
    asks for this fallback). Cached: a few thousand codes serve every donor, and the lookup is
    most of the cost of a bulk import.
    """
    return bool(numdb.get("cn/loc").info(code)[-1][1])


def parse_resident_id(raw: str) -> ResidentId:
    """Validate length, check digit (ISO 7064 MOD 11-2), birth date and address code (GB 11643)."""
    number = raw if _CANONICAL.match(raw) else ric.compact(raw)
    if len(number) != 18:
        raise IdentityError("id_number_length")
    if not isdigits(number[:-1]):
        raise IdentityError("id_number_format")
    if number[-1] != ric.calc_check_digit(number):
        raise IdentityError("id_number_checksum")
    try:
        birth = ric.get_birth_date(number)
    except stdnum_errors.InvalidComponent as exc:
        raise IdentityError("id_number_component") from exc
    if not _region_code_known(number[:6]):
        raise IdentityError("id_number_component")
    if birth > clock.local_today():
        raise IdentityError("id_number_birth_date")
    sex = "male" if int(number[16]) % 2 == 1 else "female"
    return ResidentId(number=number, birth_date=birth, sex=sex)


def parse_mobile(raw: str) -> str:
    """A mainland China mobile number in E.164 form (`+8613812345678`)."""
    try:
        parsed = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException as exc:
        raise IdentityError("mobile_format") from exc
    if parsed.country_code != 86 or not phonenumbers.is_valid_number(parsed):
        raise IdentityError("mobile_not_cn")
    if phonenumbers.number_type(parsed) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise IdentityError("mobile_not_mobile")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

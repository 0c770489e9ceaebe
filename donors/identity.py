"""Resident Identity Card numbers and mobile numbers: parsed by maintained libraries, not by us."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import phonenumbers
from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric

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


def _region_code_known(number: str) -> bool:
    """The address code is in GB/T 2260 at some time, whatever the birth year.

    python-stdnum also requires the county to have existed in the birth year, but the code is
    the one in force when the number was issued: a donor born in 1970 in Hangzhou's 上城区 holds
    a 330102 number although that code dates from 1983 (POLICY.md §6 asks for this fallback).
    """
    from stdnum import numdb

    return bool(numdb.get("cn/loc").info(number[:6])[-1][1])


def parse_resident_id(raw: str) -> ResidentId:
    """Validate check digit, region code and birth date (GB 11643-1999, via python-stdnum)."""
    try:
        try:
            number = ric.validate(raw.upper())
        except stdnum_errors.InvalidComponent:
            number = ric.compact(raw)
            ric.get_birth_date(number)  # a date that does not exist stays an error
            if not _region_code_known(number):
                raise
    except stdnum_errors.InvalidChecksum as exc:
        raise IdentityError("id_number_checksum") from exc
    except stdnum_errors.InvalidLength as exc:
        raise IdentityError("id_number_length") from exc
    except stdnum_errors.InvalidComponent as exc:
        raise IdentityError("id_number_component") from exc
    except stdnum_errors.ValidationError as exc:
        raise IdentityError("id_number_format") from exc
    birth = ric.get_birth_date(number)
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

"""Identifiers printed on bags and certificates: ISBT 128 DINs and certificate numbers.

A Donation Identification Number is the facility's FIN (one letter A–N/P–Z and four digits),
a two-digit year, a six-digit sequence, two flag characters, and a check character computed by
ISO/IEC 7064 mod 37-2 over the thirteen characters before the flags. Flag "00" means no flag;
flags 60–96 carry the same checksum for bar-code readers (60 + checksum).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum.iso7064 import mod_37_2

_FIN = r"[A-NP-Z][0-9]{4}"
_BODY = re.compile(rf"^({_FIN})([0-9]{{2}})([0-9]{{6}})$")
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"


class DinError(ValueError):
    """Not a valid DIN; `code` names why (see core.messages)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Din:
    facility_code: str
    year: str
    sequence: str
    flags: str
    check: str

    @property
    def body(self) -> str:
        """The thirteen characters that identify the donation world-wide."""
        return f"{self.facility_code}{self.year}{self.sequence}"

    @property
    def printed(self) -> str:
        """Eye-readable form, as printed under the bar code: `G1234 26 000123 00 H`."""
        return f"{self.facility_code} {self.year} {self.sequence} {self.flags} {self.check}"


def check_character(body: str) -> str:
    return mod_37_2.calc_check_digit(body)


def checksum_flags(body: str) -> str:
    """Type 2 flag characters: 60 plus the mod 37-2 checksum value."""
    return f"{60 + _ALPHABET.index(check_character(body))}"


def parse_din(raw: str) -> Din:
    """Accept a scanned bar code (`=` + 13 + flags) or the printed form (13 [+ flags] + check)."""
    text = re.sub(r"[\s-]", "", raw).upper()
    if text.startswith("="):
        text = text[1:]
        if len(text) != 15:
            raise DinError("din_format")
        body, flags, check = text[:13], text[13:], None
    elif len(text) == 14:
        body, flags, check = text[:13], "00", text[13]
    elif len(text) == 16:
        body, flags, check = text[:13], text[13:15], text[15]
    else:
        raise DinError("din_format")
    match = _BODY.match(body)
    if not match or not re.fullmatch(r"[0-9]{2}", flags):
        raise DinError("din_format")
    expected = check_character(body)
    if check is not None and check != expected:
        raise DinError("din_check_character")
    if 60 <= int(flags) <= 96 and flags != checksum_flags(body):
        raise DinError("din_check_character")
    return Din(match.group(1), match.group(2), match.group(3), flags, expected)


def make_din(facility_code: str, year: int, sequence: int, flags: str = "00") -> Din:
    """A new DIN for a bag labelled by this service rather than scanned."""
    body = f"{facility_code}{year % 100:02d}{sequence:06d}"
    if not _BODY.match(body) or sequence > 999_999:
        raise DinError("din_format")
    return Din(facility_code, body[5:7], body[7:], flags, check_character(body))


def certificate_number(year: int, sequence: int) -> str:
    """`2026-0000-0123-H`: year, an eight-digit sequence and a mod 37-2 check character."""
    digits = f"{year:04d}{sequence:08d}"
    check = check_character(digits)
    return f"{digits[:4]}-{digits[4:8]}-{digits[8:]}-{check}"


def is_certificate_number(text: str) -> bool:
    match = re.fullmatch(r"([0-9]{4})-([0-9]{4})-([0-9]{4})-([0-9A-Z*])", text)
    if not match:
        return False
    digits = "".join(match.groups()[:3])
    return check_character(digits) == match.group(4)

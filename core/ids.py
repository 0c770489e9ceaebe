"""Identifiers printed on bags and certificates: ISBT 128 DINs and certificate numbers.

A Donation Identification Number is the facility's FIN (one letter A–N/P–Z and four digits),
a two-digit year, a six-digit sequence, two flag characters, and a check character computed by
ISO/IEC 7064 mod 37-2 over the thirteen characters before the flags. Flag "00" means no flag;
flags 60–96 carry the same checksum for bar-code readers (60 + checksum).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from stdnum.iso7064 import mod_37_2, mod_37_36

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


# Certificate numbers. Those issued first were the year, a sequence and a MOD 37-2 check
# character (`2026-0000-0123-H`): 14 guesses found every demo certificate, and a check `*` fell
# off the end of an SMS link. New numbers are the year, 80 random bits in Crockford's base 32
# (no I, L, O or U to misread) and a MOD 37-36 check character, 0-9 or A-Z.
_RANDOM_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_GROUPS = 4
_GROUP = 4
_CERTIFICATE = re.compile(
    rf"([0-9]{{4}})((?:-[{_RANDOM_ALPHABET}]{{{_GROUP}}}){{{_RANDOM_GROUPS}}})-([0-9A-Z])"
)
_SEQUENTIAL = re.compile(r"([0-9]{4})-([0-9]{4})-([0-9]{4})-([0-9A-Z*])")
_SEQUENTIAL_UNCHECKED = re.compile(r"([0-9]{4})-([0-9]{4})-([0-9]{4})-?")


def certificate_number(year: int) -> str:
    """`2026-7KQ3-M9XD-R2HF-4TBW-V`: nothing in it tells another certificate's number."""
    body = "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(_RANDOM_GROUPS * _GROUP))
    groups = [body[start : start + _GROUP] for start in range(0, len(body), _GROUP)]
    return "-".join([f"{year:04d}", *groups, mod_37_36.calc_check_digit(f"{year:04d}{body}")])


def is_sequential_certificate_number(text: str) -> bool:
    """A number of the first, guessable form (year, sequence, MOD 37-2 check)."""
    match = _SEQUENTIAL.fullmatch(text)
    return match is not None and check_character("".join(match.groups()[:3])) == match.group(4)


def is_certificate_number(text: str) -> bool:
    match = _CERTIFICATE.fullmatch(text)
    if match:
        body = match.group(1) + match.group(2).replace("-", "")
        return mod_37_36.calc_check_digit(body) == match.group(3)
    return is_sequential_certificate_number(text)


def normalise_certificate_number(text: str) -> str | None:
    """The number as issued, from what someone typed or a link brought; None if it is none.

    Letters may come in lower case. A sequential number whose check is `*` arrives without it
    when a phone's link detection cut it off the SMS link; its three groups name it alone.
    """
    text = text.strip().upper()
    if is_certificate_number(text):
        return text
    unchecked = _SEQUENTIAL_UNCHECKED.fullmatch(text)
    if unchecked and check_character("".join(unchecked.groups())) == "*":
        return "-".join([*unchecked.groups(), "*"])
    return None

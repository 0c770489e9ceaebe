"""Certificates as they were issued before numbers became unguessable (issue 18 item 8)."""

from __future__ import annotations

from sqlalchemy import select

from certificate.models import Certificate
from certificate.services import CERTIFICATE_TOKEN_TYPE
from core.extensions import db
from core.ids import check_character
from core.signing import keyring


def sequential_number(year: int, sequence: int) -> str:
    """A number of the first form: the year, an eight-digit sequence and a MOD 37-2 check."""
    digits = f"{year:04d}{sequence:08d}"
    return f"{digits[:4]}-{digits[4:8]}-{digits[8:]}-{check_character(digits)}"


def issued_before(number: str, sequence: int) -> str:
    """Give the certificate `number` the sequential number `sequence`, signed as it was then
    (the token named no site name); returns the sequential number."""
    certificate = db.session.scalar(select(Certificate).where(Certificate.number == number))
    ring = keyring()
    claims = ring.verify(certificate.signed_token, CERTIFICATE_TOKEN_TYPE, verify_exp=False)
    old = sequential_number(int(claims["date"][:4]), sequence)
    claims = {key: value for key, value in claims.items() if key != "site_name"}
    certificate.number = old
    certificate.signed_token = ring.sign({**claims, "no": old}, CERTIFICATE_TOKEN_TYPE)
    db.session.commit()
    return old

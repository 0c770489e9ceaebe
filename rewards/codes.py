"""Benefit codes checked with public keys alone: the same check online and at an offline gate.

A benefit code is a compact JWS (EdDSA, `kid` and `typ` "benefit+jwt" in the header) whose
claims are kept few and short so that its QR code stays small enough for a turnstile scanner:

    {"sub": pseudonym, "rg": region, "bk": one letter per benefit held, "jti": id, "exp": time}

The check is written directly against `cryptography` rather than through a JOSE library: a gate
at rush hour checks codes all day, and the work besides the signature itself should stay small.
Any JOSE library can still verify a code with the JWK set from `/.well-known/jwks.json`.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TOKEN_TYPE = "benefit+jwt"
ALGORITHM = "EdDSA"
MAX_CODE_LENGTH = 1024
_HEADER_CACHE_SIZE = 64

# Reasons a code is refused (also the reason codes a gate shows).
CODE_INVALID = "code_invalid"
CODE_EXPIRED = "code_expired"


class CodeRejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class BenefitCode:
    ref: str
    region: str
    token_codes: str
    jti: str
    exp: int

    def names(self, token_code: str) -> bool:
        return token_code in self.token_codes


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def public_keys_from_jwks(jwks: dict[str, Any]) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 keys of a JWK set, by kid (other key types are ignored)."""
    keys = {}
    for jwk in jwks.get("keys", []):
        if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and "kid" in jwk:
            keys[jwk["kid"]] = Ed25519PublicKey.from_public_bytes(_b64decode(jwk["x"]))
    return keys


class CodeVerifier:
    """Checks signature, type and expiry of benefit codes against a set of public keys."""

    def __init__(self, keys: dict[str, Ed25519PublicKey]) -> None:
        self._keys = dict(keys)
        self._by_header: dict[str, Ed25519PublicKey] = {}

    def _key_for(self, header_segment: str) -> Ed25519PublicKey:
        key = self._by_header.get(header_segment)
        if key is not None:
            return key
        try:
            header = json.loads(_b64decode(header_segment))
            if header.get("alg") != ALGORITHM or header.get("typ") != TOKEN_TYPE:
                raise CodeRejected(CODE_INVALID)
            key = self._keys[header["kid"]]
        except (ValueError, TypeError, KeyError, AttributeError, binascii.Error):
            raise CodeRejected(CODE_INVALID) from None
        if len(self._by_header) < _HEADER_CACHE_SIZE:
            self._by_header[header_segment] = key
        return key

    def verify(self, code: str, now: float, leeway: float = 0) -> BenefitCode:
        """The code's claims if it is ours, intact and unexpired; CodeRejected otherwise."""
        if len(code) > MAX_CODE_LENGTH:
            raise CodeRejected(CODE_INVALID)
        parts = code.split(".")
        if len(parts) != 3:
            raise CodeRejected(CODE_INVALID)
        header, payload, signature = parts
        key = self._key_for(header)
        try:
            key.verify(_b64decode(signature), f"{header}.{payload}".encode("ascii"))
            claims = json.loads(_b64decode(payload))
            found = BenefitCode(
                claims["sub"], claims["rg"], claims["bk"], claims["jti"], claims["exp"]
            )
        except (InvalidSignature, ValueError, TypeError, KeyError, binascii.Error):
            raise CodeRejected(CODE_INVALID) from None
        if not (
            isinstance(found.exp, int)
            and all(isinstance(v, str) for v in (found.ref, found.region, found.token_codes))
            and isinstance(found.jti, str)
        ):
            raise CodeRejected(CODE_INVALID)
        if found.exp + leeway < now:
            raise CodeRejected(CODE_EXPIRED)
        return found


class OfflineGate:
    """A gate without a network: public keys, its region and benefit, and the codes it admitted.

    It refuses a code it has already admitted until the code expires; two gates sharing no
    network cannot know of each other's admissions, so the server settles those on upload.
    """

    def __init__(
        self, keys: dict[str, Ed25519PublicKey], region: str, token_code: str, leeway: float = 0
    ) -> None:
        self.verifier = CodeVerifier(keys)
        self.region, self.token_code, self.leeway = region, token_code, leeway
        self._admitted: dict[tuple[str, str], int] = {}

    def remember(self, code: str, now: float) -> None:
        """Refuse `code` from now on as one this gate admitted before (read back from its journal,
        so a restarted gate still knows what it let through); an expired one is not kept."""
        try:
            claims = json.loads(_b64decode(code.split(".")[1]))
            ref, jti, exp = claims["sub"], claims["jti"], int(claims["exp"])
        except (IndexError, ValueError, TypeError, KeyError, AttributeError, binascii.Error):
            return  # not a code: nothing this gate could have admitted
        if isinstance(ref, str) and isinstance(jti, str) and exp + self.leeway >= now:
            self._admitted[(ref, jti)] = exp

    def check(self, code: str, now: float) -> tuple[str, BenefitCode | None]:
        """(reason, claims): reason "allowed" admits; anything else is why not."""
        try:
            found = self.verifier.verify(code, now, self.leeway)
        except CodeRejected as rejected:
            return rejected.reason, None
        if found.region != self.region:
            return "wrong_region", found
        if not found.names(self.token_code):
            return "wrong_kind", found
        key = (found.ref, found.jti)
        if key in self._admitted:
            return "replayed", found
        if len(self._admitted) > 10_000:
            self._admitted = {
                k: exp for k, exp in self._admitted.items() if exp + self.leeway >= now
            }
        self._admitted[key] = found.exp
        return "allowed", found

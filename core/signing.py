"""Ed25519 signatures for certificates, check-in, benefit and redemption codes.

Tokens are compact JWS (alg EdDSA) with a `kid` header, so any JOSE library can check them
offline against `/.well-known/jwks.json`. Keys rotate by adding a new key, making it active, and
keeping the old one in the ring (verify-only) until nothing signed with it matters.

A short-lived code (a donor's check-in code, a redemption's pick-up code) is one such token for
a QR code on the donor's screen: `rotating_code` signs it, `read_rotating_code` reads it back.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import Flask, current_app

ALGORITHM = "EdDSA"


class SignatureInvalid(ValueError):
    """The token is forged, altered, malformed or signed by a key we do not know."""


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def jwk(self) -> dict[str, str]:
        raw = self.public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64url(raw),
            "kid": self.kid,
            "use": "sig",
            "alg": ALGORITHM,
        }


class KeyRing:
    def __init__(self, seeds: dict[str, str], active_kid: str) -> None:
        if active_kid not in seeds:
            raise ValueError(f"SIGNING_ACTIVE_KID {active_kid!r} is not in SIGNING_KEYS")
        self.keys = {
            kid: SigningKey(kid, Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed)))
            for kid, seed in seeds.items()
        }
        self.active = self.keys[active_kid]

    def sign(self, claims: dict[str, Any], typ: str) -> str:
        return jwt.encode(
            claims,
            self.active.private,
            algorithm=ALGORITHM,
            headers={"kid": self.active.kid, "typ": typ},
        )

    def verify(self, token: str, typ: str, *, verify_exp: bool = True) -> dict[str, Any]:
        """Claims of a token we signed; raises SignatureInvalid for anything else."""
        try:
            header = jwt.get_unverified_header(token)
            key = self.keys[header["kid"]]
            if header.get("typ") != typ:
                raise SignatureInvalid("wrong token type")
            return jwt.decode(
                token,
                key.public,
                algorithms=[ALGORITHM],
                options={"verify_exp": verify_exp, "require": []},
            )
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            if isinstance(exc, jwt.ExpiredSignatureError):
                raise
            raise SignatureInvalid(str(exc)) from exc

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [key.jwk() for key in self.keys.values()]}


def parse_key_setting(value: str | dict[str, str]) -> dict[str, str]:
    """SIGNING_KEYS is a JSON object `{kid: base64 of a 32-byte Ed25519 seed}`."""
    seeds = json.loads(value) if isinstance(value, str) else dict(value)
    if not isinstance(seeds, dict) or not seeds:
        raise ValueError("SIGNING_KEYS must be a non-empty JSON object of kid -> seed")
    for kid, seed in seeds.items():
        if len(base64.b64decode(seed)) != 32:
            raise ValueError(f"SIGNING_KEYS[{kid!r}] must be base64 of 32 bytes")
    return seeds


def init_app(app: Flask) -> None:
    seeds = parse_key_setting(app.config["SIGNING_KEYS"])
    app.extensions["keyring"] = KeyRing(seeds, app.config["SIGNING_ACTIVE_KID"])


def keyring() -> KeyRing:
    return current_app.extensions["keyring"]


# ---------------------------------------------------------------- short-lived codes


class CodeExpired(ValueError):
    """A short-lived code we signed, past its expiry by the service's clock."""


@dataclass(frozen=True)
class RotatingCode:
    code: str
    expires_at: datetime
    expires_in: int  # seconds


def rotating_code(
    typ: str,
    subject: str,
    life: timedelta,
    *,
    scope: str,
    claims: dict[str, Any] | None = None,
    used: Callable[[str], bool] = lambda jti: False,
    jti_length: int = 22,
) -> RotatingCode:
    """A code naming `subject` (and `claims`) that the app fetches again before it expires.

    Codes rotate every half of their life: every fetch within one step gets the same code (its
    `jti` a keyed hash of the `scope`, the subject and the step, and Ed25519 signatures are
    deterministic), so the app's polls and the QR images of one code cost one drawing, in any
    worker. A step's code once `used` is not handed out again: a fresh random one is instead.
    The expiry is checked against the service's clock (`read_rotating_code`), not the token
    library's, so tests can move time past it.
    """
    from core import clock
    from core.crypto import cipher

    seconds = int(life.total_seconds())
    step = max(seconds // 2, 1)
    now = clock.now().timestamp()
    window = int(now // step)
    jti = cipher().lookup_hash(scope, f"{subject}:{window}")[:jti_length]
    expires = (window + 2) * step  # between half the life and the whole life from now
    if used(jti):
        jti, expires = secrets.token_urlsafe(16), int(now) + seconds
    token = keyring().sign({**(claims or {}), "sub": subject, "jti": jti, "exp": expires}, typ)
    expires_at = datetime.fromtimestamp(expires, UTC)
    return RotatingCode(token, expires_at, max(int((expires_at - clock.now()).total_seconds()), 0))


def read_rotating_code(code: str, typ: str) -> dict[str, Any]:
    """The claims of a code `rotating_code` signed: SignatureInvalid for anything else (its
    `sub`, `jti` and `exp` missing included), CodeExpired once the service's clock passes it."""
    from core import clock

    claims = keyring().verify(code, typ, verify_exp=False)
    try:
        str(claims["sub"]), str(claims["jti"])
        expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as error:
        raise SignatureInvalid(str(error)) from error
    if expires_at <= clock.now():
        raise CodeExpired(typ)
    return claims

"""Field encryption (AES-GCM), keyed look-up hashes (HMAC-SHA256) and password hashing.

Sensitive values (ID numbers, mobile numbers, later health answers and face encodings) are stored
as ciphertext; equality look-ups go through a keyed hash so the plaintext is never needed to
find a row, and the hash alone cannot be reversed by enumerating the small ID-number space.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask, current_app
from werkzeug.security import check_password_hash, generate_password_hash

CIPHERTEXT_VERSION = "v1"


class FieldCipher:
    """Encrypts short text values; each value gets a fresh 96-bit nonce."""

    def __init__(self, key_b64: str, lookup_key_b64: str, otp_key_b64: str) -> None:
        self._aead = AESGCM(_key(key_b64, "FIELD_ENCRYPTION_KEY"))
        self._lookup_key = _key(lookup_key_b64, "LOOKUP_HASH_KEY")
        self._otp_key = _key(otp_key_b64, "OTP_HASH_KEY")

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), None)
        return f"{CIPHERTEXT_VERSION}:" + base64.b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, token: str) -> str:
        version, _, body = token.partition(":")
        if version != CIPHERTEXT_VERSION:
            raise ValueError("unknown ciphertext version")
        raw = base64.b64decode(body)
        try:
            return self._aead.decrypt(raw[:12], raw[12:], None).decode("utf-8")
        except InvalidTag as exc:
            raise ValueError("ciphertext does not verify with the configured key") from exc

    def encrypt_bytes(self, plaintext: bytes) -> bytes:
        """Files (a photographed bill, a household register): nonce and sealed bytes, raw."""
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext, None)

    def decrypt_bytes(self, sealed: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], None)
        except InvalidTag as exc:
            raise ValueError("ciphertext does not verify with the configured key") from exc

    def lookup_hash(self, kind: str, value: str) -> str:
        """A stable pseudonym for equality look-ups; `kind` keeps ID and mobile spaces apart."""
        message = f"{kind}:{value}".encode()
        return hmac.new(self._lookup_key, message, hashlib.sha256).hexdigest()

    def code_hash(self, subject: str, code: str) -> str:
        """Hash of a one-time code, keyed so a leaked table cannot be brute-forced offline."""
        message = f"{subject}:{code}".encode()
        return hmac.new(self._otp_key, message, hashlib.sha256).hexdigest()


def _key(key_b64: str, name: str) -> bytes:
    raw = base64.b64decode(key_b64)
    if len(raw) != 32:
        raise ValueError(f"{name} must be base64 of 32 bytes")
    return raw


def init_app(app: Flask) -> None:
    app.extensions["field_cipher"] = FieldCipher(
        app.config["FIELD_ENCRYPTION_KEY"],
        app.config["LOOKUP_HASH_KEY"],
        app.config["OTP_HASH_KEY"],
    )


def cipher() -> FieldCipher:
    return current_app.extensions["field_cipher"]


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def verify_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)


@cache
def dummy_password_hash() -> str:
    """Checked against when the login name is unknown, so timing does not reveal which exist."""
    return hash_password(base64.b64encode(os.urandom(16)).decode())

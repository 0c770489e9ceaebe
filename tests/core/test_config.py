"""Configuration profiles; production refuses published development keys (item 3)."""

from __future__ import annotations

import base64
import json
import os

import pytest

from app import create_app
from core.config import ConfigError, load_config

STRONG = {
    "SECRET_KEY": "s" * 40,
    "JWT_SECRET_KEY": "j" * 40,
    "FIELD_ENCRYPTION_KEY": base64.b64encode(os.urandom(32)).decode(),
    "LOOKUP_HASH_KEY": base64.b64encode(os.urandom(32)).decode(),
    "OTP_HASH_KEY": base64.b64encode(os.urandom(32)).decode(),
    "SIGNING_KEYS": json.dumps({"k2026": base64.b64encode(os.urandom(32)).decode()}),
    "SIGNING_ACTIVE_KID": "k2026",
    "SQLALCHEMY_DATABASE_URI": "postgresql://db.example/donors",
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
}


def test_production_refuses_development_secrets_and_names_them():
    with pytest.raises(ConfigError) as raised:
        load_config("production", {"SQLALCHEMY_DATABASE_URI": "postgresql://x/y"})
    for key in ("SECRET_KEY", "JWT_SECRET_KEY", "FIELD_ENCRYPTION_KEY", "LOOKUP_HASH_KEY"):
        assert key in str(raised.value)


def test_production_names_the_one_weak_secret():
    settings = {**STRONG, "OTP_HASH_KEY": load_config("development")["OTP_HASH_KEY"]}
    with pytest.raises(ConfigError, match="OTP_HASH_KEY"):
        load_config("production", settings)


def test_production_refuses_the_development_signing_key_among_others():
    dev_seed = next(iter(json.loads(load_config("development")["SIGNING_KEYS"]).values()))
    keys = json.dumps({"k2026": json.loads(STRONG["SIGNING_KEYS"])["k2026"], "old": dev_seed})
    with pytest.raises(ConfigError, match="SIGNING_KEYS"):
        load_config("production", {**STRONG, "SIGNING_KEYS": keys})


def test_production_refuses_sqlite():
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load_config("production", {**STRONG, "SQLALCHEMY_DATABASE_URI": "sqlite:///x.db"})


def test_production_refuses_rate_limits_kept_in_one_workers_memory():
    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI"):
        load_config("production", {**STRONG, "RATELIMIT_STORAGE_URI": "memory://"})


def test_production_refuses_a_short_encryption_key():
    short = base64.b64encode(b"k" * 16).decode()
    with pytest.raises(ConfigError, match="FIELD_ENCRYPTION_KEY"):
        load_config("production", {**STRONG, "FIELD_ENCRYPTION_KEY": short})


def test_production_starts_with_strong_secrets():
    app = create_app({"APP_ENV": "production", **STRONG})
    assert app.config["ENV_NAME"] == "production"
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_database_url_selects_the_database(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h:5432/d")
    assert (
        load_config("development")["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h:5432/d"
    )


def test_development_is_the_default_profile(monkeypatch):
    monkeypatch.delenv("APP_ENV", raising=False)
    assert load_config()["ENV_NAME"] == "development"


def test_unknown_profile_is_refused():
    with pytest.raises(ConfigError, match="APP_ENV"):
        load_config("staging")

"""Configuration profiles: the profile is named, never defaulted; production refuses what is not
production (issue 18 item 3), and names each setting at fault."""

from __future__ import annotations

import base64
import json
import os
import secrets

import pytest

from app import PACKAGE_SETTINGS, create_app
from core.config import DEV_JWT_SECRET_KEY, ConfigError, PackageSettings, load_config


def random_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


STRONG = {
    "SECRET_KEY": secrets.token_urlsafe(32),
    "JWT_SECRET_KEY": secrets.token_urlsafe(32),
    "FIELD_ENCRYPTION_KEY": random_key(),
    "LOOKUP_HASH_KEY": random_key(),
    "OTP_HASH_KEY": random_key(),
    "SIGNING_KEYS": json.dumps({"k2026": random_key()}),
    "SIGNING_ACTIVE_KID": "k2026",
    "SQLALCHEMY_DATABASE_URI": "postgresql://db.example/donors",
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
    "PUBLIC_BASE_URL": "https://xianxue.example.cn",
    "SMS_BACKEND": "twilio",
    "TWILIO_ACCOUNT_SID": "AC" + "0123456789abcdef" * 2,
    "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
    "TWILIO_FROM": "+8610690000",
}


@pytest.fixture(autouse=True)
def no_profile_in_the_environment(monkeypatch):
    """These tests say the profile themselves; the shell running them may have one set."""
    for name in ("APP_ENV", "FLASK_ENV", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def refused(**changes) -> str:
    with pytest.raises(ConfigError) as raised:
        load_config("production", {**STRONG, **changes})
    return str(raised.value)


def test_production_starts_with_strong_secrets():
    app = create_app({"APP_ENV": "production", **STRONG})
    assert app.config["ENV_NAME"] == "production"
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_there_is_no_default_profile():
    # Issue 18 item 3: a silent development default served with the published keys.
    with pytest.raises(ConfigError, match="APP_ENV"):
        load_config()
    with pytest.raises(ConfigError, match="APP_ENV"):
        create_app()


def test_flask_env_is_not_a_profile(monkeypatch):
    # Issue 18 item 3: FLASK_ENV=production with a PostgreSQL URL served the development keys.
    monkeypatch.setenv("FLASK_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.example/donors")
    with pytest.raises(ConfigError, match="APP_ENV"):
        load_config()
    monkeypatch.setenv("APP_ENV", "development")
    with pytest.raises(ConfigError, match="FLASK_ENV"):
        load_config()


@pytest.mark.parametrize("profile", ["testing", "development"])
def test_the_published_keys_never_reach_a_shared_database(monkeypatch, profile):
    # Issue 18 item 3: APP_ENV=testing with a PostgreSQL URL served the published JWT secret.
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.example:5432/donors")
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load_config(profile)


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///instance/donor.sqlite3",
        "sqlite://",
        "postgresql://postgres@127.0.0.1:5432/donor_test",
        "postgresql://u@localhost/d",
        "postgresql://u@[::1]:5432/d",
        "postgresql:///d?host=/var/run/postgresql",
    ],
)
def test_the_suite_and_the_demo_run_on_this_machines_databases(url):
    settings = load_config("testing", {"SQLALCHEMY_DATABASE_URI": url})
    assert settings["ENV_NAME"] == "testing"


def test_every_development_secret_is_refused_and_named():
    message = str(
        pytest.raises(
            ConfigError,
            load_config,
            "production",
            {"SQLALCHEMY_DATABASE_URI": "postgresql://x/y"},
        ).value
    )
    for key in (
        "SECRET_KEY",
        "JWT_SECRET_KEY",
        "FIELD_ENCRYPTION_KEY",
        "LOOKUP_HASH_KEY",
        "OTP_HASH_KEY",
        "SIGNING_KEYS[dev-1]",
        "SMS_BACKEND",
        "PUBLIC_BASE_URL",
        "RATELIMIT_STORAGE_URI",
    ):
        assert key in message


def test_the_published_jwt_secret_is_refused():
    assert "JWT_SECRET_KEY is the published" in refused(JWT_SECRET_KEY=DEV_JWT_SECRET_KEY)


@pytest.mark.parametrize("secret", ["short-secret", "ab" * 20, "s" * 40])
def test_short_or_patterned_secrets_are_refused(secret):
    assert "JWT_SECRET_KEY" in refused(JWT_SECRET_KEY=secret)
    assert "SECRET_KEY" in refused(SECRET_KEY=secret)


def test_one_secret_for_flask_and_tokens_is_refused():
    assert "JWT_SECRET_KEY must differ" in refused(JWT_SECRET_KEY=STRONG["SECRET_KEY"])


def test_a_published_otp_key_is_named():
    development = load_config("development")["OTP_HASH_KEY"]
    assert "OTP_HASH_KEY is a published" in refused(OTP_HASH_KEY=development)


@pytest.mark.parametrize("raw", [bytes(32), b"\x01\x02" * 16, b"k" * 16, b"k" * 48])
def test_a_short_all_zero_or_patterned_key_is_refused(raw):
    assert "FIELD_ENCRYPTION_KEY" in refused(FIELD_ENCRYPTION_KEY=base64.b64encode(raw).decode())


def test_a_key_that_is_not_base64_is_refused():
    assert "LOOKUP_HASH_KEY must be base64" in refused(LOOKUP_HASH_KEY="not base64 at all!")


def test_the_field_key_equal_to_the_lookup_key_is_refused():
    message = refused(LOOKUP_HASH_KEY=STRONG["FIELD_ENCRYPTION_KEY"])
    assert "LOOKUP_HASH_KEY must differ from FIELD_ENCRYPTION_KEY" in message


def test_the_development_signing_key_is_refused_among_others():
    dev_seed = next(iter(json.loads(load_config("development")["SIGNING_KEYS"]).values()))
    keys = json.dumps({"k2026": json.loads(STRONG["SIGNING_KEYS"])["k2026"], "old": dev_seed})
    assert "SIGNING_KEYS[old] is a published" in refused(SIGNING_KEYS=keys)


def test_a_short_or_zero_signing_key_is_refused():
    short = json.dumps({"k2026": base64.b64encode(os.urandom(16)).decode()})
    assert "SIGNING_KEYS[k2026]" in refused(SIGNING_KEYS=short)
    zero = json.dumps({"k2026": base64.b64encode(bytes(32)).decode()})
    assert "SIGNING_KEYS[k2026]" in refused(SIGNING_KEYS=zero)


def test_a_signing_key_reused_as_a_field_key_is_refused():
    seed = json.loads(STRONG["SIGNING_KEYS"])["k2026"]
    assert "must differ from FIELD_ENCRYPTION_KEY" in refused(
        SIGNING_KEYS=json.dumps({"k2026": seed, "k2027": STRONG["FIELD_ENCRYPTION_KEY"]})
    )


def test_the_active_signing_key_must_be_in_the_ring():
    assert "SIGNING_ACTIVE_KID" in refused(SIGNING_ACTIVE_KID="k2099")


@pytest.mark.parametrize("backend", ["console", "memory"])
def test_sms_backends_that_keep_codes_in_the_server_are_refused(backend):
    # Issue 18 item 3: production started with the console backend (login codes in the log).
    assert f"SMS_BACKEND={backend}" in refused(SMS_BACKEND=backend)


def test_twilio_without_credentials_is_refused():
    message = refused(TWILIO_AUTH_TOKEN="", TWILIO_FROM="")
    assert "TWILIO_AUTH_TOKEN" in message and "TWILIO_FROM" in message


def test_twilio_must_be_reached_over_https():
    assert "TWILIO_API_BASE" in refused(TWILIO_API_BASE="http://127.0.0.1:8080")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5000",
        "https://127.0.0.1",
        "https://localhost:8443",
        "https://[::1]/",
        "https://0.0.0.0",
        "http://xianxue.example.cn",
        "xianxue.example.cn",
    ],
)
def test_a_public_url_phones_cannot_open_is_refused(url):
    assert "PUBLIC_BASE_URL" in refused(PUBLIC_BASE_URL=url)


def test_production_refuses_sqlite():
    assert "DATABASE_URL" in refused(SQLALCHEMY_DATABASE_URI="sqlite:///x.db")


def test_production_refuses_rate_limits_kept_in_one_workers_memory():
    assert "RATELIMIT_STORAGE_URI" in refused(RATELIMIT_STORAGE_URI="memory://")


def test_database_url_selects_the_database(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@127.0.0.1:5432/d")
    assert (
        load_config("development")["SQLALCHEMY_DATABASE_URI"]
        == "postgresql+psycopg://u@127.0.0.1:5432/d"
    )


def test_the_profile_comes_from_app_env(monkeypatch):
    monkeypatch.setenv("APP_ENV", "development")
    assert load_config()["ENV_NAME"] == "development"


def test_unknown_profile_is_refused():
    with pytest.raises(ConfigError, match="APP_ENV"):
        load_config("staging")


def test_an_environment_setting_is_parsed_once_into_its_type(monkeypatch):
    # Issue 13: no use site converts a setting; a number from the environment is one at start-up.
    monkeypatch.setenv("NOTIFY_LEASE_SECONDS", "240")
    monkeypatch.setenv("TWILIO_TIMEOUT_SECONDS", "7.5")
    monkeypatch.setenv("TRUSTED_PROXY_HOPS", "1")
    settings = load_config("testing", packages=PACKAGE_SETTINGS)
    assert settings["NOTIFY_LEASE_SECONDS"] == 240
    assert settings["TWILIO_TIMEOUT_SECONDS"] == 7.5
    assert settings["TRUSTED_PROXY_HOPS"] == 1


def test_a_number_setting_that_is_not_one_stops_the_start_naming_it(monkeypatch):
    monkeypatch.setenv("NOTIFY_BATCH_SIZE", "a hundred")
    with pytest.raises(ConfigError, match="NOTIFY_BATCH_SIZE must be a whole number"):
        load_config("testing", packages=PACKAGE_SETTINGS)


def test_settings_nothing_reads_are_gone():
    # Issue 13: the clock's zone is core.clock's; Flask no longer reads JSON_AS_ASCII.
    settings = load_config("testing")
    assert "TIMEZONE" not in settings and "JSON_AS_ASCII" not in settings


def test_each_packages_defaults_are_merged_before_the_environment(monkeypatch):
    # Issue 13: core/config.py keeps only shared settings; a package's are in its settings.py.
    from core.config import BaseConfig

    assert not hasattr(BaseConfig, "NOTIFY_BATCH_SIZE") and not hasattr(
        BaseConfig, "FACE_MIN_FACE_PIXELS"
    )
    settings = load_config("testing", packages=PACKAGE_SETTINGS)
    assert settings["NOTIFY_BATCH_SIZE"] == 100 and settings["FACE_MIN_FACE_PIXELS"] == 80
    monkeypatch.setenv("VERIFY_RATE_LIMIT", "10/minute")
    assert load_config("testing", packages=PACKAGE_SETTINGS)["VERIFY_RATE_LIMIT"] == "10/minute"


def test_a_setting_defined_twice_stops_the_start():
    twice = PackageSettings(defaults={"OTP_LENGTH": 8})
    with pytest.raises(ConfigError, match="OTP_LENGTH is defined twice"):
        load_config("testing", packages=[twice])


@pytest.mark.parametrize(
    "key", ["STAFF_LOGIN_LIMIT_PER_ADDRESS", "OTP_GUESS_LIMIT_PER_ADDRESS", "VERIFY_RATE_LIMIT"]
)
def test_a_limit_the_limiter_cannot_read_stops_the_start(key):
    # Issue 13 item 5: every limit is the limiter's; a typo would answer 500 on its routes.
    with pytest.raises(ConfigError, match=key):
        load_config("testing", {key: "five a minute"})


def test_production_takes_a_twilio_stand_in_on_loopback_only_when_told(monkeypatch):
    # Issue 17 item 1: the production set on one machine has no way out to Twilio.
    stand_in = {"TWILIO_API_BASE": "http://127.0.0.1:8999"}
    assert "TWILIO_API_BASE" in refused(**stand_in)
    settings = load_config("production", {**STRONG, **stand_in, "SMS_STAND_IN_ON_LOOPBACK": True})
    assert settings["TWILIO_API_BASE"] == "http://127.0.0.1:8999"
    elsewhere = {"TWILIO_API_BASE": "http://sms.example.cn", "SMS_STAND_IN_ON_LOOPBACK": True}
    assert "TWILIO_API_BASE" in refused(**elsewhere)


def test_a_true_or_false_setting_from_the_environment_is_read_as_one(monkeypatch):
    monkeypatch.setenv("SMS_STAND_IN_ON_LOOPBACK", "0")
    assert load_config("testing")["SMS_STAND_IN_ON_LOOPBACK"] is False
    monkeypatch.setenv("SMS_STAND_IN_ON_LOOPBACK", "true")
    assert load_config("testing")["SMS_STAND_IN_ON_LOOPBACK"] is True
    monkeypatch.setenv("SMS_STAND_IN_ON_LOOPBACK", "maybe")
    with pytest.raises(ConfigError, match="SMS_STAND_IN_ON_LOOPBACK"):
        load_config("testing")

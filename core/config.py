"""Configuration profiles: development, testing, production, chosen by `APP_ENV` and nothing else.

There is no default profile: the README's two commands and the test suite name theirs. Secrets
come from the environment. Development and testing carry fixed, published keys so the demo and
the suite run with no set-up, so they run only against SQLite or a database on this machine;
production refuses to start with any published, short or degenerate key, a development SMS
backend or a public URL phones cannot open, and names each setting at fault.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from limits import parse_many
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from core.logs import LOG_FORMATS

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Public on purpose: they exist only so that development and tests need no set-up.
DEV_SECRET_KEY = "dev-secret-key-not-for-production"
DEV_JWT_SECRET_KEY = "dev-jwt-secret-key-not-for-production-0123456789"
DEV_FIELD_KEY = base64.b64encode(b"D" * 32).decode()
DEV_LOOKUP_KEY = base64.b64encode(b"L" * 32).decode()
DEV_OTP_KEY = base64.b64encode(b"O" * 32).decode()
DEV_SIGNING_KEYS = json.dumps({"dev-1": base64.b64encode(b"S" * 32).decode()})

DEV_SECRETS = {
    "SECRET_KEY": DEV_SECRET_KEY,
    "JWT_SECRET_KEY": DEV_JWT_SECRET_KEY,
    "FIELD_ENCRYPTION_KEY": DEV_FIELD_KEY,
    "LOOKUP_HASH_KEY": DEV_LOOKUP_KEY,
    "OTP_HASH_KEY": DEV_OTP_KEY,
    "SIGNING_KEYS": DEV_SIGNING_KEYS,
}


class BaseConfig:
    ENV_NAME = "base"
    SECRET_KEY = DEV_SECRET_KEY
    JWT_SECRET_KEY = DEV_JWT_SECRET_KEY
    FIELD_ENCRYPTION_KEY = DEV_FIELD_KEY
    LOOKUP_HASH_KEY = DEV_LOOKUP_KEY
    OTP_HASH_KEY = DEV_OTP_KEY
    SIGNING_KEYS = DEV_SIGNING_KEYS
    SIGNING_ACTIVE_KID = "dev-1"
    # Where donors' phones open verification links; the QR codes carry it.
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"

    SQLALCHEMY_DATABASE_URI = f"sqlite:///{PROJECT_ROOT / 'instance' / 'donor.sqlite3'}"
    # hide_parameters: a failing statement's values (personal data) never reach logs or errors.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"hide_parameters": True}
    DATABASE_PING_AFTER_IDLE_SECONDS = 1.0  # see core.extensions.ping_idle_connections
    MAX_CONTENT_LENGTH = 1 * 1024 * 1024
    AUDIT_EXPORT_MAX_ROWS = 100_000  # one CSV of the audit log (GET /admin/audit.csv)

    # Rotating JWT_SECRET_KEY: the keys it replaced, still accepted for tokens they signed until
    # those expire (the refresh tokens' life), then dropped. Comma-separated in the environment.
    JWT_PREVIOUS_SECRET_KEYS: tuple[str, ...] = ()
    JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=15)
    JWT_REFRESH_TOKEN_EXPIRES = timedelta(days=30)
    JWT_TOKEN_LOCATION = ["headers"]
    JWT_ALGORITHM = "HS256"
    JWT_ERROR_MESSAGE_KEY = "message"

    API_TITLE = "Electronic blood-donation certificate API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    # Swagger UI's scripts and styles come from the app (the swagger-ui-bundle package, served by
    # core/docs.py), so /docs works on a network that reaches no CDN; no online validator either.
    OPENAPI_SWAGGER_UI_URL = "/docs/assets/"
    OPENAPI_SWAGGER_UI_CONFIG = {"validatorUrl": None}

    # Languages (core/i18n.py): Chinese unless a request's Accept-Language prefers English.
    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_TRANSLATION_DIRECTORIES = str(PROJECT_ROOT / "translations")

    # One-time codes. Operational limits, not regulators' figures.
    OTP_LENGTH = 6
    OTP_TTL = timedelta(minutes=5)
    OTP_MAX_ATTEMPTS = 5  # guesses at one code, right or wrong
    # Budgets (core.limits: fixed windows from a key's first count, the shortest first).
    # Wrong codes from one client address, whatever the number: fewer a minute than a code's own
    # attempts, so one address cannot burn a donor's code unslowed.
    OTP_GUESS_LIMIT_PER_ADDRESS = "4 per minute; 8 per 10 minutes; 12 per hour"
    OTP_RESEND_LIMIT_PER_NUMBER = "1 per minute"  # the app is told to offer a resend after it
    OTP_SEND_LIMIT_PER_NUMBER = "10 per day"  # counted per Beijing calendar day
    OTP_SEND_LIMIT_PER_ADDRESS = "30 per hour"

    PASSWORD_HASH_METHOD = "scrypt"
    STAFF_PASSWORD_MIN_LENGTH = 10  # `flask users create-staff`
    # Staff logins (core.limits). An address that keeps failing waits before it can lock an
    # account. An account locks after 5 failures until its first window ends, and after 10 until
    # its day ends; the lock holds back only addresses that have failed, so the right password
    # from anywhere else still works.
    STAFF_LOGIN_LIMIT_PER_ADDRESS = "3 per minute; 6 per 10 minutes; 10 per hour"
    STAFF_LOGIN_LIMIT_PER_ACCOUNT = "5 per 15 minutes; 10 per day"
    # How many reverse proxies in front of the app append to X-Forwarded-For: every limit per
    # client address counts the address the nearest of them saw (0: the app faces clients).
    TRUSTED_PROXY_HOPS = 0

    # Security headers (core/headers.py). HSTS only where the service is reached over HTTPS
    # alone (production); CORS only for the origins listed (comma-separated in the environment,
    # each as `https://host[:port]`): the app's own pages need none.
    HSTS_SECONDS = 0
    CORS_ALLOWED_ORIGINS: tuple[str, ...] = ()

    RATELIMIT_STORAGE_URI = "memory://"  # production: redis://…
    # A store that cannot be reached raises limits' StorageError: core.errors answers 503.
    RATELIMIT_STORAGE_OPTIONS = {"wrap_exceptions": True}
    RATELIMIT_HEADERS_ENABLED = True

    # Region policies (policies/<region>.toml); a site or donor names its region.
    POLICY_DIR = str(PROJECT_ROOT / "policies")
    DEFAULT_REGION = "zhejiang"

    SMS_BACKEND = "console"
    SMS_SIGNATURE = "【无偿献血】"
    # Twilio (SMS_BACKEND=twilio): the sender is a number or a messaging service.
    TWILIO_ACCOUNT_SID = ""
    TWILIO_AUTH_TOKEN = ""
    TWILIO_FROM = ""
    TWILIO_MESSAGING_SERVICE_SID = ""
    TWILIO_API_BASE = ""  # empty: Twilio itself; tests point it at a stub on loopback
    # Production accepts a Twilio stand-in on loopback only when this says so: the production
    # set on one machine (scripts/serve-production), which has no way out to Twilio.
    SMS_STAND_IN_ON_LOOPBACK = False
    TWILIO_TIMEOUT_SECONDS = 10.0
    # Request bodies carrying base64 photos (core.requests.allows_images: faces).
    FACE_REQUEST_MAX_BYTES = 8 * 1024 * 1024  # a JSON body carrying base64 images

    # QR images (core/qr.py). Per donor, the check-in, benefit and certificate QR images together:
    # an app polls a rotating code about twice a minute; each drawing costs milliseconds of CPU.
    QR_IMAGE_RATE_LIMIT = "30/minute"
    QR_CACHE_ENTRIES = 2048  # drawings kept per worker process (a few KB each)
    # (end of QR images)

    # Logs (core/logs.py): `plain` lines, or `json`, one object per line with the request id.
    LOG_FORMAT = "plain"
    # GET /metrics (core/metrics.py) answers only a bearer of this token; empty: it answers 404.
    METRICS_TOKEN = ""


class DevelopmentConfig(BaseConfig):
    ENV_NAME = "development"


class TestingConfig(BaseConfig):
    ENV_NAME = "testing"
    TESTING = True
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    SMS_BACKEND = "memory"
    PASSWORD_HASH_METHOD = "scrypt:1024:8:1"  # cheap on purpose: tests hash many passwords


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"
    HSTS_SECONDS = 365 * 24 * 3600
    LOG_FORMAT = "json"
    SQLALCHEMY_ENGINE_OPTIONS = {
        "hide_parameters": True,
        "pool_size": 10,
        "max_overflow": 10,
    }


PROFILES = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}

ENV_OVERRIDES = (
    "SECRET_KEY",
    "JWT_SECRET_KEY",
    "JWT_PREVIOUS_SECRET_KEYS",
    "FIELD_ENCRYPTION_KEY",
    "LOOKUP_HASH_KEY",
    "OTP_HASH_KEY",
    "SIGNING_KEYS",
    "SIGNING_ACTIVE_KID",
    "PUBLIC_BASE_URL",
    "TRUSTED_PROXY_HOPS",
    "HSTS_SECONDS",
    "CORS_ALLOWED_ORIGINS",
    "RATELIMIT_STORAGE_URI",
    "SMS_BACKEND",
    "SMS_SIGNATURE",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_FROM",
    "TWILIO_MESSAGING_SERVICE_SID",
    "TWILIO_API_BASE",
    "SMS_STAND_IN_ON_LOOPBACK",
    "TWILIO_TIMEOUT_SECONDS",
    "POLICY_DIR",
    "DEFAULT_REGION",
    "LOG_FORMAT",
    "METRICS_TOKEN",
)


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says which setting and why."""


@dataclass(frozen=True)
class PackageSettings:
    """A domain package's operational settings (its `settings.py`): their typed defaults, and
    which of them the environment may set. Core keeps only the shared ones."""

    defaults: Mapping[str, object]
    from_environment: tuple[str, ...] = ()


# What production accepts as a secret. Operational choices, not regulations: a secret shorter
# than this, or made of fewer different characters (bytes, for keys), was typed or patterned
# by hand, not generated.
SECRET_MIN_CHARACTERS = 32
SECRET_MIN_DISTINCT = 8
KEY_BYTES = 32
# SMS backends that never reach a phone: the console writes codes to the log, memory keeps them.
DEVELOPMENT_SMS_BACKENDS = ("console", "memory")
BYTE_KEYS = ("FIELD_ENCRYPTION_KEY", "LOOKUP_HASH_KEY", "OTP_HASH_KEY")
TEXT_SECRETS = ("SECRET_KEY", "JWT_SECRET_KEY")


def load_config(
    profile: str | None = None,
    overrides: dict | None = None,
    packages: Iterable[PackageSettings] = (),
) -> dict:
    """Build the settings for a profile with the packages' defaults, applying the environment,
    then explicit overrides. A setting two of them define stops the start.

    The profile is `profile`, else `APP_ENV`; there is no default, as a silent development
    profile serves with published keys.
    """
    name = profile or os.environ.get("APP_ENV")
    if not name:
        raise ConfigError(
            "APP_ENV is not set: set APP_ENV=production (scripts/serve-demo sets development,"
            " the test suite sets testing)"
        )
    if name not in PROFILES:
        raise ConfigError(f"Unknown APP_ENV {name!r}; choose one of {sorted(PROFILES)}")
    flask_env = os.environ.get("FLASK_ENV")
    if flask_env and flask_env != name:
        raise ConfigError(
            f"FLASK_ENV={flask_env!r} disagrees with APP_ENV={name!r}: only APP_ENV chooses the"
            " profile here; unset FLASK_ENV or set APP_ENV to what you meant"
        )
    cls = PROFILES[name]
    settings = {key: getattr(cls, key) for key in dir(cls) if key.isupper()}
    from_environment = list(ENV_OVERRIDES)
    for package in packages:
        for key, value in package.defaults.items():
            if key in settings:
                raise ConfigError(f"{key} is defined twice (core.config and a package's settings)")
            settings[key] = value
        from_environment.extend(package.from_environment)
    if os.environ.get("DATABASE_URL"):
        settings["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(os.environ["DATABASE_URL"])
    for key in from_environment:
        if os.environ.get(key):
            settings[key] = typed_setting(key, os.environ[key], settings[key])
    settings.update(overrides or {})
    refuse_unreadable_limits(settings)
    if settings["LOG_FORMAT"] not in LOG_FORMATS:
        raise ConfigError(
            f"LOG_FORMAT must be one of {LOG_FORMATS}, got {settings['LOG_FORMAT']!r}"
        )
    settings["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        settings["SQLALCHEMY_DATABASE_URI"]
    )
    if name == "production":
        refuse_development_secrets(settings)
    else:
        refuse_shared_database(name, settings)
    return settings


def refuse_unreadable_limits(settings: dict) -> None:
    """Every limit (a setting whose name says LIMIT and whose value is text) reads as the
    limiter's windows, or the start stops: a typo would otherwise answer 500 on its routes."""
    for key, value in settings.items():
        if "_LIMIT" not in key or not isinstance(value, str):
            continue
        try:
            parse_many(value)
        except ValueError:
            raise ConfigError(
                f"{key} must be limits such as '5 per minute; 20 per hour', got {value!r}"
            ) from None


def typed_setting(key: str, text: str, default: object) -> object:
    """An environment value as the type of the setting's default, parsed once at start-up so no
    use site converts it; a value that is not one names the setting."""
    if isinstance(default, tuple):
        return tuple(item.strip() for item in text.split(",") if item.strip())
    if isinstance(default, bool):
        if text.lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            raise ConfigError(f"{key} must be true or false (1/0), got {text!r}")
        return text.lower() in ("1", "true", "yes", "on")
    if not isinstance(default, int | float):
        return text
    try:
        return type(default)(text)
    except ValueError:
        kind = "a whole number" if isinstance(default, int) else "a number"
        raise ConfigError(f"{key} must be {kind}, got {text!r}") from None


def normalise_database_url(url: str) -> str:
    """Accept the common `postgres://` and `postgresql://` forms and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def database_on_this_machine(url: str) -> bool:
    """SQLite, or a server reached over loopback or a local socket."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return False
    if parsed.get_backend_name() == "sqlite":
        return True
    host = parsed.host or parsed.query.get("host") or ""
    if isinstance(host, tuple):
        host = host[0] if len(host) == 1 else ""
    return host == "" or host.startswith("/") or _is_loopback(host)


def refuse_shared_database(name: str, settings: dict) -> None:
    """Development and testing sign and encrypt with published keys: never near real data."""
    if not database_on_this_machine(settings["SQLALCHEMY_DATABASE_URI"]):
        raise ConfigError(
            f"APP_ENV={name} uses the published development keys, so its DATABASE_URL must be"
            " SQLite or a server on this machine (localhost, 127.0.0.1, ::1 or a local socket);"
            " a shared database runs with APP_ENV=production and its own keys"
        )


def _decoded_key(settings: dict, key: str, problems: list[str]) -> bytes | None:
    try:
        raw = base64.b64decode(settings[key], validate=True)
    except (binascii.Error, ValueError, TypeError):
        problems.append(f"{key} must be base64 of {KEY_BYTES} random bytes")
        return None
    if len(raw) != KEY_BYTES:
        problems.append(f"{key} must be base64 of {KEY_BYTES} random bytes, got {len(raw)}")
        return None
    return raw


def _signing_seeds(settings: dict, problems: list[str]) -> dict[str, bytes]:
    value = settings["SIGNING_KEYS"]
    try:
        seeds = json.loads(value) if isinstance(value, str) else dict(value)
    except (ValueError, TypeError):
        seeds = None
    if not isinstance(seeds, dict) or not seeds:
        problems.append("SIGNING_KEYS must be a JSON object of kid -> base64 seed")
        return {}
    decoded = {}
    for kid, seed in seeds.items():
        raw = _decoded_key({f"SIGNING_KEYS[{kid}]": seed}, f"SIGNING_KEYS[{kid}]", problems)
        if raw is not None:
            decoded[kid] = raw
    if settings.get("SIGNING_ACTIVE_KID") not in seeds:
        problems.append(
            f"SIGNING_ACTIVE_KID {settings.get('SIGNING_ACTIVE_KID')!r} is not in SIGNING_KEYS"
        )
    return decoded


def _text_secret_problems(settings: dict) -> list[str]:
    problems = []
    # The metrics token may be left empty (the endpoint is then off); one that is set is a secret.
    optional = ("METRICS_TOKEN",) if settings.get("METRICS_TOKEN") else ()
    for key in TEXT_SECRETS + optional:
        value = settings.get(key) or ""
        if value == DEV_SECRETS.get(key):
            problems.append(f"{key} is the published development value")
        elif len(value) < SECRET_MIN_CHARACTERS:
            problems.append(f"{key} must be at least {SECRET_MIN_CHARACTERS} characters")
        elif len(set(value)) < SECRET_MIN_DISTINCT:
            problems.append(f"{key} is not random (a few characters repeated)")
    if settings.get("SECRET_KEY") and settings.get("SECRET_KEY") == settings.get("JWT_SECRET_KEY"):
        problems.append("JWT_SECRET_KEY must differ from SECRET_KEY")
    for number, value in enumerate(settings.get("JWT_PREVIOUS_SECRET_KEYS") or (), start=1):
        if value == DEV_SECRETS["JWT_SECRET_KEY"] or len(value) < SECRET_MIN_CHARACTERS:
            problems.append(f"JWT_PREVIOUS_SECRET_KEYS[{number}] is published or too short")
        elif value == settings.get("JWT_SECRET_KEY"):
            problems.append(f"JWT_PREVIOUS_SECRET_KEYS[{number}] is the current JWT_SECRET_KEY")
    if optional and settings["METRICS_TOKEN"] in (settings.get(key) for key in TEXT_SECRETS):
        problems.append("METRICS_TOKEN must differ from SECRET_KEY and JWT_SECRET_KEY")
    return problems


def _key_problems(settings: dict) -> list[str]:
    problems: list[str] = []
    keys = {key: _decoded_key(settings, key, problems) for key in BYTE_KEYS}
    seeds = _signing_seeds(settings, problems)
    published = {base64.b64decode(DEV_SECRETS[key]) for key in BYTE_KEYS}
    published |= {base64.b64decode(seed) for seed in json.loads(DEV_SIGNING_KEYS).values()}
    named = {key: raw for key, raw in keys.items() if raw is not None}
    named |= {f"SIGNING_KEYS[{kid}]": raw for kid, raw in seeds.items()}
    seen: dict[bytes, str] = {}
    for key, raw in named.items():
        if raw in published:
            problems.append(f"{key} is a published development key")
        elif len(set(raw)) < SECRET_MIN_DISTINCT:
            problems.append(f"{key} is not random (all zero, or a few bytes repeated)")
        elif raw in seen:
            problems.append(f"{key} must differ from {seen[raw]}")
        else:
            seen[raw] = key
    return problems


def _sms_problems(settings: dict) -> list[str]:
    backend = settings.get("SMS_BACKEND")
    if backend in DEVELOPMENT_SMS_BACKENDS:
        return [
            f"SMS_BACKEND={backend} never reaches a phone (login codes would stay in the"
            " server); set SMS_BACKEND=twilio"
        ]
    if backend != "twilio":
        return []  # an unknown backend is refused where backends are chosen
    problems = []
    if not (settings["TWILIO_ACCOUNT_SID"] and settings["TWILIO_AUTH_TOKEN"]):
        problems.append("SMS_BACKEND=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
    if not (settings["TWILIO_FROM"] or settings["TWILIO_MESSAGING_SERVICE_SID"]):
        problems.append("SMS_BACKEND=twilio needs TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID")
    base = settings.get("TWILIO_API_BASE")
    stand_in = settings.get("SMS_STAND_IN_ON_LOOPBACK") and base and _loopback_url(base)
    if base and not stand_in and not _public_https(base):
        problems.append("TWILIO_API_BASE must be empty (Twilio itself) or a public https URL")
    return problems


def _loopback_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and _is_loopback(parts.hostname or "")


def _public_https(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return False
    return not _is_loopback(parts.hostname)


def refuse_development_secrets(settings: dict) -> None:
    """Production must never run with a published, short or degenerate key, an SMS backend that
    keeps codes in the server, a public URL phones cannot open, or storage one worker owns.

    Every problem is named in one message, so one start shows all that must be set.
    """
    problems = _text_secret_problems(settings) + _key_problems(settings)
    problems += _sms_problems(settings)
    if not _public_https(settings.get("PUBLIC_BASE_URL") or ""):
        problems.append(
            "PUBLIC_BASE_URL must be the https address phones open (not loopback): QR codes"
            " and messages carry it"
        )
    if settings["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        problems.append("DATABASE_URL must name a PostgreSQL database in production")
    if settings["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        problems.append(
            "RATELIMIT_STORAGE_URI must name a shared store (redis://…) in production: limits"
            " kept in each worker's memory multiply with the workers (login codes, face checks)"
        )
    if problems:
        raise ConfigError(
            "Refusing to start in production: " + "; ".join(problems) + ". Set them in the"
            " environment (README, Configuration)."
        )

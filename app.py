"""The application factory: wires configuration, extensions, blueprints, CLI and error handlers.

It does no database work and no network calls; the schema comes from `flask db upgrade`.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import appointments
import blooduse
import card
import certificate
import console
import donors
import notifications
import rewards
import sites
import teams
import wiring
from blooduse import settings as blooduse_settings
from certificate import settings as certificate_settings
from core import (
    audit_routes,
    auth,
    crypto,
    docs,
    headers,
    health,
    http,
    i18n,
    logs,
    metrics,
    policy,
    signing,
)
from core import routes as core_routes
from core.config import load_config
from core.errors import ErrorShapingApi, register_error_handlers
from core.extensions import (
    db,
    jwt,
    keep_result_rows_out_of_logs,
    limiter,
    migrate,
    ping_idle_connections,
)
from donors import settings as donors_settings
from notifications import settings as notifications_settings
from rewards import settings as rewards_settings
from teams import settings as teams_settings

api = ErrorShapingApi()
# Each package's operational settings, merged over core's before the environment is applied.
PACKAGE_SETTINGS = (
    blooduse_settings.SETTINGS,
    certificate_settings.SETTINGS,
    donors_settings.SETTINGS,
    notifications_settings.SETTINGS,
    rewards_settings.SETTINGS,
    teams_settings.SETTINGS,
)


def create_app(config: str | dict | None = None) -> Flask:
    """Build the app. `config` is a profile name, or a dict of overrides on the default profile."""
    app = Flask(__name__, instance_relative_config=True)
    if isinstance(config, dict):
        settings = load_config(config.get("APP_ENV"), config, PACKAGE_SETTINGS)
    else:
        settings = load_config(config, packages=PACKAGE_SETTINGS)
    app.config.update(settings)
    logs.init_app(app)  # first: its request hook runs before every other
    metrics.init_app(app)
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops:  # per-address limits must count the client's address, not the proxy's
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops)  # type: ignore[method-assign]
    # Flask types app.json as the JSONProvider interface; it is the DefaultJSONProvider here.
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    keep_result_rows_out_of_logs()
    i18n.init_app(app)

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            ping_idle_connections(db.engine, app.config["DATABASE_PING_AFTER_IDLE_SECONDS"])
    migrate.init_app(app, db, directory=str(app.root_path) + "/migrations", compare_type=True)
    jwt.init_app(app)
    limiter.init_app(app)
    crypto.init_app(app)
    signing.init_app(app)
    auth.init_app(app)
    http.init_app(app)
    headers.init_app(app)
    api.init_app(
        app,
        spec_kwargs={
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                }
            }
        },
    )
    register_error_handlers(app)
    register_blueprints(app)
    register_packages(app)
    policy.init_app(app)
    register_cli(app)
    return app


def register_blueprints(app: Flask) -> None:
    app.register_blueprint(docs.bp)
    app.register_blueprint(console.bp)
    api.register_blueprint(health.bp)
    api.register_blueprint(core_routes.bp, url_prefix="/api/v1")
    api.register_blueprint(audit_routes.bp, url_prefix="/api/v1")
    api.register_blueprint(donors.bp, url_prefix="/api/v1")
    api.register_blueprint(donors.family_bp, url_prefix="/api/v1")
    api.register_blueprint(sites.bp, url_prefix="/api/v1")
    api.register_blueprint(certificate.bp, url_prefix="/api/v1")
    api.register_blueprint(appointments.bp, url_prefix="/api/v1")
    api.register_blueprint(rewards.bp, url_prefix="/api/v1")
    api.register_blueprint(rewards.store_bp, url_prefix="/api/v1")
    api.register_blueprint(card.bp, url_prefix="/api/v1")
    api.register_blueprint(blooduse.bp, url_prefix="/api/v1")
    api.register_blueprint(teams.bp, url_prefix="/api/v1")
    api.register_blueprint(blooduse.hospital_bp, url_prefix="/api/v1")
    api.register_blueprint(blooduse.admin_bp, url_prefix="/api/v1")
    api.register_blueprint(teams.callouts_bp, url_prefix="/api/v1")
    api.register_blueprint(notifications.bp, url_prefix="/api/v1")
    api.register_blueprint(blooduse.admissions_bp, url_prefix="/api/v1")
    api.register_blueprint(blooduse.claims_bp, url_prefix="/api/v1")
    api.register_blueprint(certificate.public_bp)
    api.register_blueprint(rewards.public_bp)
    api.register_blueprint(teams.callout_public_bp)
    api.register_blueprint(core_routes.keys_bp)
    api.register_blueprint(notifications.webhooks_bp)


def register_packages(app: Flask) -> None:
    """What each package owns (its error texts, policy sections, conditions, workers), then
    what connects them (wiring.py: every reaction to another package's events, in order). The
    policies are loaded after this, with every package's sections known."""
    donors.init_app(app)
    sites.init_app(app)
    certificate.init_app(app)
    appointments.init_app(app)
    rewards.init_app(app)
    blooduse.init_app(app)
    teams.init_app(app)
    notifications.init_app(app)
    wiring.init_app(app)


def register_cli(app: Flask) -> None:
    from appointments.cli import appointments_cli
    from certificate.cli import certificate_cli
    from demo import demo_cli
    from notifications.cli import notifications_cli
    from sites.cli import users_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(certificate_cli)
    app.cli.add_command(notifications_cli)
    app.cli.add_command(appointments_cli)

"""The application factory: wires configuration, extensions, blueprints, CLI and error handlers.

It does no database work and no network calls; the schema comes from `flask db upgrade`.
"""

from __future__ import annotations

import logging

from flask import Flask

from core import auth, crypto, http, policy, signing
from core.config import load_config
from core.errors import ErrorShapingApi, register_error_handlers
from core.extensions import db, jwt, limiter, migrate

api = ErrorShapingApi()


def create_app(config: str | dict | None = None) -> Flask:
    """Build the app. `config` is a profile name, or a dict of overrides on the default profile."""
    app = Flask(__name__, instance_relative_config=True)
    if isinstance(config, dict):
        settings = load_config(config.get("APP_ENV"), config)
    else:
        settings = load_config(config)
    app.config.update(settings)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path) + "/migrations", compare_type=True)
    jwt.init_app(app)
    limiter.init_app(app)
    crypto.init_app(app)
    signing.init_app(app)
    auth.init_app(app)
    http.init_app(app)
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
    # After the blueprints: importing a domain package registers the policy sections it reads.
    policy.init_app(app)
    register_cli(app)
    return app


def register_blueprints(app: Flask) -> None:
    from appointments import bp as appointments_bp
    from certificate import bp as certificate_bp
    from certificate import public_bp as verification_bp
    from core.health import bp as health_bp
    from core.routes import bp as auth_bp
    from core.routes import keys_bp
    from donors import bp as donors_bp
    from sites import bp as sites_bp

    api.register_blueprint(health_bp)
    api.register_blueprint(auth_bp, url_prefix="/api/v1")
    api.register_blueprint(donors_bp, url_prefix="/api/v1")
    api.register_blueprint(sites_bp, url_prefix="/api/v1")
    api.register_blueprint(certificate_bp, url_prefix="/api/v1")
    api.register_blueprint(appointments_bp, url_prefix="/api/v1")
    api.register_blueprint(verification_bp)
    api.register_blueprint(keys_bp)


def register_cli(app: Flask) -> None:
    from appointments.cli import appointments_cli
    from certificate.cli import certificate_cli
    from demo import demo_cli
    from sites.cli import users_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(certificate_cli)
    app.cli.add_command(appointments_cli)

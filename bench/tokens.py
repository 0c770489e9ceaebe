"""Tokens for benchmark clients, minted through the service's own auth (no HTTP round trip)."""

from __future__ import annotations

from bench.harness import app_env


def donor_token(database_url: str, mobile_e164: str) -> str:
    import os

    os.environ.update(app_env(database_url))
    from app import create_app
    from core import auth
    from core.extensions import db
    from donors.services import find_donor_by_mobile

    app = create_app()
    with app.app_context():
        donor = find_donor_by_mobile(mobile_e164)
        tokens = auth.issue_tokens("donor", donor.id, auth.DONOR)
        db.session.commit()
        db.engine.dispose()
    return tokens["access_token"]

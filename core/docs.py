"""Swagger UI's own scripts and styles for /docs, from the swagger-ui-bundle package.

flask-smorest's page loads them from OPENAPI_SWAGGER_UI_URL, which points here: on a network that
reaches no CDN the docs still work.
"""

from __future__ import annotations

from flask import Blueprint
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint(
    "docs_assets", __name__, static_folder=str(swagger_ui_path), static_url_path="/docs/assets"
)

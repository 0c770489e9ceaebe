"""Serving the consoles: the page shells, our scripts and styles, and the pinned vendor files."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, send_file, send_from_directory

from console import assets, gate_page, hospital_page, staff_page
from console.page import Page
from core.i18n import get_locale

bp = Blueprint("console", __name__, template_folder="templates")

PAGES: dict[str, Page] = {
    page.name: page for page in (staff_page.PAGE, gate_page.PAGE, hospital_page.PAGE)
}
VENDOR_MAX_AGE = 365 * 24 * 3600  # the address names the version: never stale


def _render(page: Page) -> Response:
    language = get_locale().language if get_locale() else "zh"
    html = render_template(
        page.template,
        page=page,
        texts=page.texts_in_reader_language(),
        lang="en" if language == "en" else "zh-CN",
        vendor=assets.vendor_url,
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Language"] = "en" if language == "en" else "zh"
    response.headers["Vary"] = "Accept-Language"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/console/")
def staff_console() -> Response:
    return _render(PAGES["staff"])


@bp.get("/gate/")
def gate_console() -> Response:
    return _render(PAGES["gate"])


@bp.get("/hospital/")
def hospital_console() -> Response:
    return _render(PAGES["hospital"])


@bp.get("/gate/sw.js")
def gate_service_worker() -> Response:
    """The gate's service worker, served from /gate/ so that it may control the gate page."""
    response = send_file(assets.STATIC / "gate-sw.js", mimetype="text/javascript", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    # A worker runs under its own script's policy: it fetches the page's files to keep them.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; connect-src 'self'; script-src 'self'"
    )
    return response


@bp.get("/console/static/<path:filename>")
def static_file(filename: str) -> Response:
    response = send_from_directory(assets.STATIC, filename, max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/console/vendor/<string(maxlength=80):package_at_version>/<string(maxlength=80):name>")
def vendor_file(package_at_version: str, name: str) -> Response:
    found = assets.vendor_file(package_at_version, name)
    if found is None:
        abort(404)
    response = send_file(found, max_age=VENDOR_MAX_AGE)
    response.headers["Cache-Control"] = f"public, max-age={VENDOR_MAX_AGE}, immutable"
    return response

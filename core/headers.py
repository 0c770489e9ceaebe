"""Security headers on every response, and cross-origin calls only from configured origins.

Every response: no MIME sniffing, no referrer, never framed. HTML pages (the consoles, the public
verification and reply pages) carry a strict content security policy: scripts, styles, images and
connections from the app itself only, no inline script or style, and WebAssembly compiled from the
app's own files (the consoles' barcode reader); the camera only for the app's own pages. Other
responses (JSON, images, CSV) get a policy that lets them run nothing at all. Swagger UI's page
(/docs) is flask-smorest's and starts itself with an inline script: it alone may run one.

HSTS is sent when `HSTS_SECONDS` is set (production: a year): browsers then refuse plain HTTP.

CORS: browsers may call the API from another origin only when that origin is listed in
`CORS_ALLOWED_ORIGINS` (empty by default: the consoles and pages are served by the app itself and
need none). A listed origin's preflight is answered with the methods and headers the API takes.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request

HTML_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
DOCS_POLICY = HTML_POLICY.replace(
    "script-src 'self' 'wasm-unsafe-eval'", "script-src 'self' 'unsafe-inline'"
).replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
NOTHING_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"

CORS_METHODS = "GET, POST, PUT, PATCH, DELETE"
CORS_HEADERS = "Authorization, Content-Type, Idempotency-Key, Accept-Language"
CORS_EXPOSED = (
    "Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Location, X-Request-ID"
)
CORS_MAX_AGE = "600"


def _allowed_origin() -> str | None:
    origin = request.headers.get("Origin")
    if origin and origin in current_app.config["CORS_ALLOWED_ORIGINS"]:
        return origin
    return None


def _answer_preflight() -> Response | None:
    """A CORS preflight from a listed origin, answered before the route (which takes no OPTIONS
    of its own); one from any other origin falls through to Flask's plain OPTIONS answer, which
    carries no CORS header, so the browser refuses the call."""
    if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
        return None
    origin = _allowed_origin()
    if origin is None:
        return None
    response = current_app.make_default_options_response()
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
    response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
    response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE
    response.headers.add("Vary", "Origin")
    return response


def _secure(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    if response.mimetype == "text/html":
        policy = DOCS_POLICY if request.path.startswith("/docs") else HTML_POLICY
        headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
    else:
        policy = NOTHING_POLICY
    headers.setdefault("Content-Security-Policy", policy)
    seconds = current_app.config["HSTS_SECONDS"]
    if seconds:
        headers.setdefault("Strict-Transport-Security", f"max-age={seconds}; includeSubDomains")
    origin = _allowed_origin()
    if origin is not None and "Access-Control-Allow-Origin" not in headers:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = CORS_EXPOSED
    if current_app.config["CORS_ALLOWED_ORIGINS"]:
        headers.add("Vary", "Origin")
    return response


def init_app(app: Flask) -> None:
    app.before_request(_answer_preflight)
    app.after_request(_secure)

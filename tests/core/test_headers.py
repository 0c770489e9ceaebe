"""Security headers (issue 17 item 6): no sniffing, no framing, a strict content security policy on
HTML pages, HSTS where configured, and CORS only for the configured origins."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask

from app import create_app
from core.extensions import db

ORIGIN = "https://mini.example.cn"


@pytest.fixture
def configured(database_url: str) -> Iterator[Flask]:
    built = create_app(
        {
            "APP_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "HSTS_SECONDS": 31536000,
            "CORS_ALLOWED_ORIGINS": (ORIGIN,),
        }
    )
    yield built
    with built.app_context():
        db.engine.dispose()  # its connections closed now, not by the garbage collector


def test_every_response_forbids_sniffing_framing_and_referrers(client):
    for path in ("/healthz", "/api/v1/sites", "/console/", "/api/v1/me"):
        headers = client.get(path).headers
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "no-referrer", path
        assert headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path


def test_a_json_answer_may_run_nothing(client):
    policy = client.get("/api/v1/sites").headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'")
    assert "script-src" not in policy


def test_html_pages_allow_only_the_apps_own_scripts_and_styles(client):
    policy = client.get("/console/").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self' 'wasm-unsafe-eval'"
    assert directives["style-src"] == "'self'"
    assert "unsafe-inline" not in policy and "'unsafe-eval'" not in policy
    assert "camera=(self)" in client.get("/console/").headers["Permissions-Policy"]


def test_the_public_pages_carry_no_inline_script_or_style(client):
    # The strict policy would block them: scripts and styles are files of the app.
    for path in ("/console/", "/gate/", "/hospital/", "/v/2026-0000-0000-0"):
        html = client.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
        assert "<style" not in html, path
        assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", html), path
        assert not re.search(r"\son[a-z]+=", html), path


def test_no_hsts_unless_configured_and_a_year_in_production(client, configured):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    sent = configured.test_client().get("/api/v1/sites").headers["Strict-Transport-Security"]
    assert sent == "max-age=31536000; includeSubDomains"
    from core.config import ProductionConfig

    assert ProductionConfig.HSTS_SECONDS == 365 * 24 * 3600


def test_a_listed_origin_may_call_the_api_and_its_preflight_is_answered(configured):
    client = configured.test_client()
    preflight = client.options(
        "/api/v1/auth/otp",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Idempotency-Key" in preflight.headers["Access-Control-Allow-Headers"]
    answer = client.get("/api/v1/sites", headers={"Origin": ORIGIN})
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in answer.headers.get_all("Vary")


def test_another_origin_gets_no_cors_permission(configured, client):
    for app_client in (configured.test_client(), client):
        answer = app_client.get("/api/v1/sites", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in answer.headers
        preflight = app_client.options(
            "/api/v1/auth/otp",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "Access-Control-Allow-Origin" not in preflight.headers


def test_a_cors_origin_list_comes_from_the_environment_comma_separated(monkeypatch):
    from core.config import load_config

    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "https://a.example.cn, https://b.example.cn")
    settings = load_config("testing")
    assert settings["CORS_ALLOWED_ORIGINS"] == ("https://a.example.cn", "https://b.example.cn")


def test_the_gate_service_worker_may_fetch_the_apps_own_files_and_nothing_else(client):
    # A worker runs under its own script's policy; the gate's keeps the page's files offline.
    with client.get("/gate/sw.js") as response:
        policy = response.headers["Content-Security-Policy"]
    assert "connect-src 'self'" in policy and policy.startswith("default-src 'none'")

"""QR images: a bounded cache of drawings, and one limit per donor for all of a donor's QR
images (issue 18 item 9: drawing is CPU-bound, and every image route was unlimited)."""

from __future__ import annotations

from core.qr import PNG, SVG, render, render_cache
from tests.factories import bearer
from tests.factories.appointments import quick_donor


def test_the_cache_keeps_the_most_recently_used_drawings_up_to_its_size(app, monkeypatch):
    monkeypatch.setitem(app.config, "QR_CACHE_ENTRIES", 2)
    render_cache.clear()
    first = render_cache.image("https://example.cn/v/1", PNG, 6)
    assert first == render("https://example.cn/v/1", PNG)
    render_cache.image("https://example.cn/v/2", PNG, 6)
    assert render_cache.image("https://example.cn/v/1", PNG, 6) is first  # used again: kept
    render_cache.image("https://example.cn/v/3", SVG, 6)
    assert len(render_cache) == 2
    assert render_cache.image("https://example.cn/v/1", PNG, 6) is first
    render_cache.clear()


def test_a_cache_of_size_zero_keeps_nothing(app, monkeypatch):
    monkeypatch.setitem(app.config, "QR_CACHE_ENTRIES", 0)
    render_cache.clear()
    assert render_cache.image("https://example.cn/v/1", SVG, 6).startswith(b"<?xml")
    assert len(render_cache) == 0


def test_a_donors_qr_images_share_one_limit(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "QR_IMAGE_RATE_LIMIT", "3/minute")
    _, token = quick_donor()
    headers = bearer(token)
    assert client.get("/api/v1/me/checkin-code/qr.png", headers=headers).status_code == 200
    # No benefit held and no such certificate: refused, and counted all the same.
    assert client.get("/api/v1/me/benefit-code/qr.svg", headers=headers).status_code == 409
    assert (
        client.get("/api/v1/certificates/2026-0000-0001-X/qr.png", headers=headers).status_code
        == 404
    )
    limited = client.get("/api/v1/me/checkin-code/qr.svg", headers=headers)
    assert limited.status_code == 429 and limited.get_json()["code"] == "rate_limited"
    _, other = quick_donor()
    assert client.get("/api/v1/me/checkin-code/qr.svg", headers=bearer(other)).status_code == 200

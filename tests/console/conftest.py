"""Fixtures for the consoles' browser tests: the app on a live port, Chromium with or without a
fake camera, screenshots of each step, and the accessibility check (tests/browser.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.browser import (
    LiveServer,
    Screenshots,
    ensure_chromium,
    launch_arguments,
    watch_policy_violations,
)

# The browser reaches the app through a socket, so it sees only what tests commit.
pytestmark = pytest.mark.committed_db


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    server = LiveServer(app).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ensure_chromium()
    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def browser(playwright_driver: Any) -> Iterator[Callable[..., Any]]:
    """`browser(camera=None, locale="zh-CN")`: a new Chromium and a page in it, a fake camera
    playing `camera` (a Y4M file) when given; closed after the test, which fails if a page broke
    the content security policy (an inline script or style, a call to another origin)."""
    opened: list[Any] = []
    refusals: list[list[str]] = []

    def launch(camera: Path | None = None, locale: str = "zh-CN", **context: Any) -> Any:
        chromium = playwright_driver.chromium.launch(
            executable_path=ensure_chromium(), args=launch_arguments(camera)
        )
        opened.append(chromium)
        settings = {"locale": locale, "viewport": {"width": 1280, "height": 800}, **context}
        page = chromium.new_context(**settings).new_page()
        page.set_default_timeout(20_000)
        refusals.append(watch_policy_violations(page))
        return page

    yield launch
    for chromium in opened:
        chromium.close()
    assert [refused for page in refusals for refused in page] == []


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Screenshots:
    return Screenshots(request.node.name)

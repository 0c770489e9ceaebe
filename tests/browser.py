"""A real browser for the consoles' tests: Debian's chromium, driven by Playwright.

Playwright's own browser download is not reachable here, so the tests launch the distribution's
`chromium` (`executable_path`), with a small CJK font so that screenshots show Chinese; as root
they are installed with apt-get when missing (scripts/setup-system does so before the suite).
The app runs in a thread of the test process (`LiveServer`), on the test's database, which the
test commits to (`committed_db`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from core.config import PROJECT_ROOT
from ops.machine import ensure_program

CHROMIUM_PACKAGES = ("chromium", "fonts-wqy-microhei")
# Without these Chromium reaches for Google's services at every start, which this machine's
# closed network refuses.
QUIET_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
AXE = PROJECT_ROOT / "console" / "node_modules" / "axe-core" / "axe.min.js"
OUTPUT = Path(os.environ.get("TEST_OUTPUT_DIR", PROJECT_ROOT / "test-output"))


def ensure_chromium() -> str:
    return ensure_program("chromium", *CHROMIUM_PACKAGES)
    if os.geteuid() == 0:
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *CHROMIUM_PACKAGES]
        if subprocess.run(install, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True)
            subprocess.run(install, check=True, capture_output=True)
        found = shutil.which("chromium")
    if not found:
        raise RuntimeError("chromium is missing: apt-get install chromium fonts-wqy-microhei")
    return found


def launch_arguments(camera: Path | None = None) -> list[str]:
    """Chromium's flags; with `camera`, a fake camera playing that Y4M file, allowed at once."""
    flags = list(QUIET_FLAGS)
    if camera is not None:
        flags += [
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={camera}",
        ]
    return flags


class LiveServer:
    """The app served on loopback from a thread of this process (werkzeug, threaded)."""

    def __init__(self, app: Flask) -> None:
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def watch_policy_violations(page: Any) -> list[str]:
    """The page's content-security-policy refusals, as Chromium reports them in the console;
    the list grows while the page lives."""
    refused: list[str] = []

    def note(message: Any) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", note)
    return refused


class Screenshots:
    """Screenshots of a test's steps, numbered in order, in the run's output folder
    (test-output/console/<test>/, or under $TEST_OUTPUT_DIR)."""

    def __init__(self, test_name: str) -> None:
        self.folder = OUTPUT / "console" / re.sub(r"[^\w.-]+", "_", test_name)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.count = 0

    def take(self, page: Any, step: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


def accessibility_problems(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each."""
    if page.evaluate("typeof axe") == "undefined":
        # Evaluated through the debugging protocol, which the page's content security policy
        # does not govern: the page itself may load only the app's own scripts.
        page.evaluate(AXE.read_text(encoding="utf-8"))
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .filter(v => v.impact === "serious" || v.impact === "critical")
            .map(v => `${v.impact} ${v.id}: ${v.help} at `
                      + v.nodes.map(n => n.target.join(" ")).join(", "))"""
    )
    return list(violations)

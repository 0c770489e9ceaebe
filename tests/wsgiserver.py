"""One server process of the app, on loopback, with the settings of its environment.

`serving(env)` starts it (werkzeug, threaded) and stops it: for tests that need what a single
process hides, such as two processes counting against one limiter store.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import requests

from core.config import PROJECT_ROOT
from ops.machine import free_port
from tests.timetravel import at_service_time


@contextmanager
def serving(env: dict[str, str]) -> Iterator[str]:
    """The base URL of a server process run with `env` over this process's environment."""
    port = free_port()
    command = at_service_time(__file__, str(port))
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed below, after the process
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env={**os.environ, "APP_ENV": "testing", "SMS_BACKEND": "memory", **env},
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code < 500:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                said = log.read().decode(errors="replace")
                raise RuntimeError(f"the server did not start:\n{said[-2000:]}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _serve(port: int) -> None:
    from werkzeug.serving import make_server

    from app import create_app

    make_server("127.0.0.1", port, create_app(), threaded=True).serve_forever()


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_ROOT))
    _serve(int(sys.argv[1]))

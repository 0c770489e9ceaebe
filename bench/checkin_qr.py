"""Check-in QR images per second, before and after the rotation-step cache (issue 18 item 9).

    .venv/bin/python -m bench.checkin_qr [--seconds 5]

In one process, through the real route (`GET /me/checkin-code/qr.png`: token check, the
donor's code, drawing) on a throwaway SQLite database, with the per-donor limit lifted:

- before: every request draws a new code, as when each fetch minted a fresh code and nothing
  was cached (here: the cache off, and the clock a rotation step further at each request);
- after, cold: the cache on, every request a new code (the worst case: each one drawn and kept);
- after, cached: the cache on, the same rotation step (an app polling, or PNG then SVG).

The bare drawing of one code (PNG and SVG, no HTTP) is printed first, for the CPU it costs.
Divide by the workers' cores for a deployment; `GET /healthz` gives the ceiling of the stack.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from bench.harness import machine


def rate(action: Callable[[int], object], seconds: float) -> float:
    """Calls of `action(i)` per second over about `seconds`."""
    done = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        action(done)
        done += 1
    return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    print(f"machine: {machine()}")

    from flask_migrate import upgrade

    from app import create_app
    from appointments.checkin import issue_code
    from appointments.rules import booking_rules
    from core import auth, clock
    from core.crypto import cipher
    from core.extensions import db
    from core.qr import PNG, SVG, render, render_cache
    from donors.models import Donor

    directory = Path(tempfile.mkdtemp(prefix="bench-qr-"))
    app = create_app(
        {
            "APP_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{directory / 'bench.sqlite3'}",
            "QR_IMAGE_RATE_LIMIT": "100000000/minute",
        }
    )
    with app.app_context():
        upgrade()
        donor = Donor(
            status="active",
            name="压测献血者",
            id_number="330106198001010011",
            id_number_hash=cipher().lookup_hash("ric", "330106198001010011"),
            birth_date=date(1980, 1, 1),
            sex="male",
            region="zhejiang",
        )
        db.session.add(donor)
        db.session.commit()
        token = auth.issue_tokens("donor", donor.id, auth.DONOR)["access_token"]
        db.session.commit()
        code = issue_code(donor).code
        step = booking_rules(donor.region).checkin_code_life / 2

    png = rate(lambda _: render(code, PNG), args.seconds)
    svg = rate(lambda _: render(code, SVG), args.seconds)
    print(f"drawing one code: PNG {png:7.1f}/s ({1000 / png:.1f} ms), SVG {svg:7.1f}/s")

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def fetch(steps_back: int) -> None:
        """The image as of `steps_back` rotation steps ago (back: the token stays unexpired)."""
        with clock.travelled(-step * steps_back):
            response = client.get("/api/v1/me/checkin-code/qr.png", headers=headers)
        assert response.status_code == 200, response.get_json()

    with app.app_context():
        app.config["QR_CACHE_ENTRIES"] = 0
        render_cache.clear()
        before = rate(lambda i: fetch(i + 1), args.seconds)
        app.config["QR_CACHE_ENTRIES"] = 2048
        render_cache.clear()
        cold = rate(lambda i: fetch(i + 1_000_000), args.seconds)  # steps never drawn before
        render_cache.clear()
        cached = rate(lambda _: fetch(0), args.seconds)
        healthz = rate(lambda _: client.get("/healthz"), args.seconds)
        db.engine.dispose()
    print(f"GET /me/checkin-code/qr.png, one process ({args.seconds:g} s each):")
    print(f"  before (new code, drawn every time)  {before:8.1f} renders/s")
    print(f"  after, cold (new code, drawn, kept)  {cold:8.1f} renders/s")
    print(f"  after, cached (same step)            {cached:8.1f} renders/s  x{cached / before:.1f}")
    print(f"  GET /healthz, for scale              {healthz:8.1f} requests/s")
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()

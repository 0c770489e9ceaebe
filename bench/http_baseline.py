"""Foundation benchmark: GET /healthz and GET /api/v1/me under gunicorn (2 workers) on PostgreSQL.

    .venv/bin/python -m bench.http_baseline [--seconds 10] [--connections 16]

Prints requests per second and p50/p99 latency for each, measured with wrk on loopback.
"""

from __future__ import annotations

import argparse

from bench.harness import flask, gunicorn, machine, migrate, postgres, show, wrk
from bench.tokens import donor_token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()

    print(f"machine: {machine()}")
    with postgres() as url:
        migrate(url)
        flask(url, "demo", "load")
        token = donor_token(url, "+8613800000001")
        with gunicorn(url, workers=2) as base:
            load = {"seconds": args.seconds, "connections": args.connections}
            wrk(base + "/healthz", seconds=2, connections=4)  # warm-up
            show("GET /healthz", wrk(base + "/healthz", **load))
            me = wrk(base + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}, **load)
            show("GET /api/v1/me (valid token)", me)
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()

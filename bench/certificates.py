"""Certificates benchmarks (b) and (c), under gunicorn (2 workers) on PostgreSQL.

    .venv/bin/python -m bench.certificates [--seconds 10] [--donors 20000]

(b) Donations recorded per second by 4 concurrent staff clients: each request records a 400 ml
    whole-blood donation for a different eligible donor, with a generated DIN, the signed
    certificate, the new totals and the `donation_recorded` event, in one transaction.
(c) Public verification (`GET /v/{no}`, signature checked) requests per second, as a ratio to
    `GET /healthz` measured in the same run with the same load.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import datetime, timedelta

from stdnum.cn import ric

from bench.harness import app_env, flask, gunicorn, machine, migrate, postgres, show, wrk


def seed_donors(database_url: str, count: int) -> tuple[list[str], str]:
    """Eligible donors straight into the table (encrypted like any other), and a staff token."""
    os.environ.update(app_env(database_url))
    from app import create_app
    from core import auth, clock
    from core.bulk import insert_rows
    from core.crypto import cipher
    from core.extensions import db
    from donors.models import Donor
    from sites.models import StaffUser

    app = create_app()
    numbers = []
    with app.app_context():
        rows = []
        for index in range(count):
            birth = datetime(1980, 1, 1) + timedelta(days=index // 1000)
            body = f"330106{birth:%Y%m%d}{index % 1000:03d}"
            number = body + ric.calc_check_digit(body + "0")
            numbers.append(number)
            rows.append(
                {
                    "status": "active",
                    "name": "压测献血者",
                    "id_number": number,
                    "id_number_hash": cipher().lookup_hash("ric", number),
                    "birth_date": birth.date(),
                    "sex": "male" if index % 2 else "female",
                    "region": "zhejiang",
                    "created_at": clock.now(),
                }
            )
        insert_rows(Donor.__table__, rows)
        staff = db.session.scalar(db.select(StaffUser).where(StaffUser.username == "wulin"))
        token = auth.issue_tokens("staff", staff.id, auth.STAFF)["access_token"]
        db.session.commit()
        db.engine.dispose()
    return numbers, token


def donation_script(numbers: list[str], site_id: int, collected_at: str, token: str) -> str:
    return f"""
local token = "{token}"
local numbers = {json.dumps(numbers).replace("[", "{").replace("]", "}")}
local site_id = {site_id}
local collected_at = "{collected_at}"
local threads = 0
setup = function(thread)
  thread:set("thread_index", threads)
  threads = threads + 1
end
init = function(args)
  sent = 0
end
request = function()
  local index = (sent * 4 + thread_index) % #numbers + 1
  sent = sent + 1
  local body = '{{"site_id": ' .. site_id .. ', "donor": {{"id_number": "' .. numbers[index]
    .. '"}}, "kind": "whole_blood", "volume_ml": 400, "collected_at": "' .. collected_at .. '"}}'
  return wrk.format("POST", "/api/v1/staff/donations",
    {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token,
      ["Idempotency-Key"] = "bench-" .. thread_index .. "-" .. sent}}, body)
end
"""


def verification_script(numbers: list[str]) -> str:
    return f"""
local numbers = {json.dumps(numbers).replace("[", "{").replace("]", "}")}
local sent = 0
request = function()
  sent = sent + 1
  local path = "/v/" .. numbers[sent % #numbers + 1]
  return wrk.format("GET", path, {{["Accept"] = "application/json"}})
end
"""


def certificate_numbers(database_url: str) -> list[str]:
    from core.extensions import db

    os.environ.update(app_env(database_url))
    from app import create_app
    from certificate.models import Certificate

    app = create_app()
    with app.app_context():
        numbers = list(db.session.scalars(db.select(Certificate.number)))
        db.engine.dispose()
    return numbers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--donors", type=int, default=20000)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with postgres() as url:
        migrate(url)
        flask(url, "demo", "load")
        numbers, token = seed_donors(url, args.donors)
        collected_at = datetime.now().astimezone().replace(microsecond=0).isoformat()
        # The public page is rate-limited per address; the benchmark is one address.
        with gunicorn(url, workers=2, VERIFY_RATE_LIMIT="100000000/minute") as base:
            recorded = wrk(
                base + "/",
                seconds=args.seconds,
                connections=4,
                threads=4,
                script=donation_script(numbers, 1, collected_at, token),
            )
            show("(b) POST /staff/donations, 4 clients", recorded)
            issued = certificate_numbers(url)
            print(f"    certificates issued: {len(issued)} (one per recorded donation)")
            load = {"seconds": args.seconds, "connections": 16, "threads": 2}
            healthz = wrk(base + "/healthz", **load)
            verify = wrk(base + "/", script=verification_script(issued), **load)
            show("(c) GET /healthz", healthz)
            show("(c) GET /v/{no} (signature checked)", verify)
            print(f"    verification / healthz = {verify['rps'] / healthz['rps']:.2f}")
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()

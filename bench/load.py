"""Load on the production set (issue 17 item 4): a mixed workload through nginx, then the same
against one app instance alone, so the gain from the second instance is measured.

    .venv/bin/python -m bench.load [--seconds 60] [--clients 16]

It starts the production set (ops/production.py: PostgreSQL, Redis, two gunicorn instances of 2
workers behind nginx, a Celery worker and beat), seeds what the workload needs straight into
the set's database with the set's keys (donors who can each donate once, donors holding a
certificate, a site with open slots, the demo's staff and gate, fresh benefit codes), and runs
client threads in this process. Every limit stays as production sets it: the requests that
per-address limits count (login codes, certificate checks) come from 127.0.0.2…127.0.0.250, one
address per phone, within each address's budget, as real phones are.

Per operation it prints count, throughput, p50, p99 and errors: anything but the status the
operation expects (a 429 the workload should not have provoked is an error). Nothing asserts a
time.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bench.harness import machine
from ops.production import ROOT, ProductionSet
from tests.logscan import find_personal_data

ADDRESSES = [f"127.0.0.{n}" for n in range(2, 251)]
OTP_PER_ADDRESS_PER_PHASE = 14  # OTP_SEND_LIMIT_PER_ADDRESS is 30 an hour; two phases share it
VERIFY_PER_ADDRESS_PER_MINUTE = 50  # VERIFY_RATE_LIMIT is 60 a minute per address
VIEWERS = 200
CODE_LIFE = timedelta(minutes=30)

# Operation: (weight in the mix, what it does).
MIX = {
    "card view": 22,
    "certificate list": 14,
    "benefit verification": 14,
    "booking": 8,  # a booking and its cancellation, reported apart
    "recorded donation": 12,
    "certificate verification": 16,
    "login code": 6,
}
EXPECTED = {
    "card view": 200,
    "certificate list": 200,
    "benefit verification": 200,
    "booking": 201,
    "booking cancelled": 200,
    "recorded donation": 201,
    "certificate verification": 200,
    "login code": 202,
}


@dataclass
class Seeded:
    """What the workload draws on; each phase takes its own donors, numbers and codes."""

    site_id: int
    staff_token: str
    gate_token: str
    viewer_tokens: list[str]
    booker_tokens: list[str]
    slot_ids: list[int]
    certificate_numbers: list[str]
    donation_id_numbers: list[list[str]]  # per phase
    benefit_codes: list[list[str]]  # per phase
    mobile_base: int = 13900000000


def _id_numbers(count: int, offset: int) -> list[str]:
    from stdnum.cn import ric

    numbers = []
    for index in range(offset, offset + count):
        birth = datetime(1976, 1, 1) + timedelta(days=index // 1000)
        body = f"330106{birth:%Y%m%d}{index % 1000:03d}"
        numbers.append(body + ric.calc_check_digit(body + "0"))
    return numbers


def insert_donors(numbers: list[str], mobiles: list[str] | None = None) -> list[int]:
    """Active donors with these ID numbers (and mobiles, E.164), encrypted as the app stores
    them, in one statement; their ids in the same order. Inside an app context."""
    from sqlalchemy import select

    from core import clock
    from core.bulk import insert_rows
    from core.crypto import cipher
    from core.extensions import db
    from donors.models import Donor
    from donors.services import mobile_hash

    rows = []
    for index, number in enumerate(numbers):
        row = {
            "status": "active",
            "name": "压测献血者",
            "id_number": number,
            "id_number_hash": cipher().lookup_hash("ric", number),
            "birth_date": date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
            "sex": "male" if int(number[16]) % 2 else "female",
            "region": "zhejiang",
            "created_at": clock.now(),
        }
        if mobiles:  # every row names the same columns
            mobile = mobiles[index] if index < len(mobiles) else None
            row.update(mobile=mobile, mobile_hash=mobile_hash(mobile) if mobile else None)
        rows.append(row)
    insert_rows(Donor.__table__, rows)
    hashes = [row["id_number_hash"] for row in rows]
    found = dict(
        db.session.execute(
            select(Donor.id_number_hash, Donor.id).where(Donor.id_number_hash.in_(hashes))
        ).all()
    )
    return [found[h] for h in hashes]


def recordable_donors(count: int, mobiles: list[str]) -> dict:
    """For the fault tests, run in a process whose environment is the set's: `count` donors who
    can each donate once (the first with `mobiles`), the demo staff's site and a staff token."""
    from sqlalchemy import select

    from app import create_app
    from core import auth
    from core.extensions import db
    from sites.models import StaffUser

    app = create_app()
    with app.app_context():
        numbers = _id_numbers(count, 500_000)
        insert_donors(numbers, mobiles)
        staff = db.session.scalar(select(StaffUser).where(StaffUser.username == "wulin"))
        token = auth.issue_tokens("staff", staff.id, auth.STAFF)["access_token"]
        site_id = staff.sites[0].id
        db.session.commit()
        db.engine.dispose()
    return {"site_id": site_id, "staff_token": token, "id_numbers": numbers}


def seed(
    url: str, gate: list[str], *, donors_per_phase: int, codes_per_phase: int, bookers: int
) -> Seeded:
    """Straight into the set's database, with its keys, through the app's own models and
    services (what `flask demo load` does); the measured servers are left as they run. In a
    process whose environment is the set's (`seed_apart`)."""
    from sqlalchemy import select

    from app import create_app
    from appointments import schedule
    from appointments.models import Slot
    from certificate import services as certificates
    from certificate.models import Certificate
    from core import auth, clock
    from core.extensions import db
    from donors.models import Donor
    from rewards import minting
    from rewards.models import BenefitHolder
    from sites.models import Site, StaffUser

    app = create_app()
    with app.app_context():
        staff = db.session.scalar(select(StaffUser).where(StaffUser.username == "wulin"))
        site = staff.sites[0]
        staff_caller = auth.Caller("staff", staff.id, auth.STAFF, "bench", {})

        total = 2 * donors_per_phase + VIEWERS + bookers
        numbers = _id_numbers(total, 0)
        split = 2 * donors_per_phase
        phase_numbers = [numbers[:donors_per_phase], numbers[donors_per_phase:split]]
        insert_donors(numbers[:split])
        viewer_ids = insert_donors(numbers[split : split + VIEWERS])
        booker_ids = insert_donors(numbers[split + VIEWERS :])

        collected = clock.now() - timedelta(minutes=5)
        for donor_id in viewer_ids:
            certificates.record_donation(
                certificates.DonationRequest(
                    donor=db.session.get(Donor, donor_id),
                    site=site,
                    kind="whole_blood",
                    volume_ml=400,
                    units=None,
                    collected_at=collected,
                    din=None,
                    override_reason=None,
                ),
                staff_caller,
            )
        db.session.commit()

        bench_site = Site(
            facility_code="W3398",
            name="压测献血屋（负载）",
            kind="donation_house",
            address="浙江省杭州市压测路2号",
            city="杭州市",
            region="zhejiang",
            opening_hours=[],
        )
        db.session.add(bench_site)
        db.session.flush()
        # Its weekly sessions as an administrator sets them, so the daily slot opening keeps
        # the slots open; places enough for every booking client at once.
        admin = auth.Caller("staff", staff.id, auth.ADMIN, "bench", {})
        sessions = [
            {
                "weekday": weekday,
                "opens": "08:00",
                "closes": "17:00",
                "slot_minutes": 30,
                "capacity": {"whole_blood": bookers},
            }
            for weekday in range(1, 8)
        ]
        schedule.replace_schedule(
            bench_site, {"public_holidays": "open", "sessions": sessions}, admin
        )
        first = clock.local_today() + timedelta(days=3)
        slot_ids = db.session.scalars(
            select(Slot.id).where(
                Slot.site_id == bench_site.id,
                Slot.day.between(first, first + timedelta(days=3)),
                Slot.status == "open",
            )
        ).all()

        def token(kind: str, principal: int, role: str) -> str:
            return auth.issue_tokens(kind, principal, role)["access_token"]

        seeded_tokens = {
            "staff": token("staff", staff.id, auth.STAFF),
            "viewers": [token("donor", i, auth.DONOR) for i in viewer_ids],
            "bookers": [token("donor", i, auth.DONOR) for i in booker_ids],
        }
        db.session.commit()
        certificate_numbers = list(db.session.scalars(select(Certificate.number)))
        refs = list(db.session.scalars(select(BenefitHolder.ref)))
        codes = [
            [
                minting.mint_code(refs[i % len(refs)], "zhejiang", "tpo", CODE_LIFE)[0]
                for i in range(codes_per_phase)
            ]
            for _ in range(2)
        ]
        site_id = site.id
        db.engine.dispose()

    client_id, secret = gate
    status, device = request(
        url,
        "POST",
        "/api/v1/auth/device-token",
        {"client_id": client_id, "client_secret": secret},
    )
    if status != 200:
        raise RuntimeError(f"the demo gate could not sign in: {status} {device}")
    return Seeded(
        site_id=site_id,
        staff_token=seeded_tokens["staff"],
        gate_token=device["access_token"],
        viewer_tokens=seeded_tokens["viewers"],
        booker_tokens=seeded_tokens["bookers"],
        slot_ids=list(slot_ids),
        certificate_numbers=certificate_numbers,
        donation_id_numbers=phase_numbers,
        benefit_codes=codes,
    )


def seed_apart(production: ProductionSet, **sizes: int) -> Seeded:
    """`seed` in a process of its own with the set's environment, so the caller's environment
    (a test run's) never takes the production settings."""
    script = (
        "import dataclasses, json, sys; from bench.load import seed; "
        "seeded = seed(sys.argv[1], json.loads(sys.argv[2]), **json.loads(sys.argv[3])); "
        "print('SEEDED ' + json.dumps(dataclasses.asdict(seeded)))"
    )
    gate = json.dumps(production.demo_device("gate"))
    done = subprocess.run(
        [sys.executable, "-c", script, production.url, gate, json.dumps(sizes)],
        cwd=ROOT,
        env=production.environment(),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"seeding failed:\n{done.stderr[-3000:]}")
    line = next(text for text in done.stdout.splitlines() if text.startswith("SEEDED "))
    return Seeded(**json.loads(line.removeprefix("SEEDED ")))


def sent_codes(production: ProductionSet) -> list[str]:
    """The one-time codes the set texted (no log line may hold one)."""
    bodies = [message.get("body") or "" for message in production.twilio.messages]
    return [code for body in bodies for code in re.findall(r"验证码是(\d{6})", body)]


def log_lines(production: ProductionSet) -> list[str]:
    """Every line every server of the set wrote: the app instances, the Celery worker and beat,
    nginx's access and error logs."""
    files = sorted(production.logs.glob("*.log")) + sorted(
        (production.base / "nginx").glob("*.log")
    )
    return [line for path in files for line in path.read_text(errors="replace").splitlines()]


# ---------------------------------------------------------------- the client


class Connections(threading.local):
    """Each thread's kept-alive connections, one per (server, source address)."""

    def __init__(self) -> None:
        self.open: dict[tuple[str, str], http.client.HTTPConnection] = {}


_connections = Connections()


def close_connections() -> None:
    """Close this thread's kept-alive connections (a client thread's last act)."""
    for connection in _connections.open.values():
        connection.close()
    _connections.open.clear()


def request(
    base: str,
    method: str,
    path: str,
    body: dict | None = None,
    token: str | None = None,
    *,
    source: str = "127.0.0.1",
    headers: dict[str, str] | None = None,
    fresh: bool = False,
    timeout: float = 30,
) -> tuple[int, dict]:
    """One request; `fresh` opens a new connection (a phone's first request), else the
    thread's kept-alive one from `source` is used. A connection error is status 0."""
    key = (base, source)
    connection = None if fresh else _connections.open.get(key)
    if connection is None:
        host, port = base.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(
            host, int(port), timeout=timeout, source_address=(source, 0)
        )
    sent = {"Content-Type": "application/json", "Accept": "application/json"}
    sent["Accept-Language"] = "en"
    if token:
        sent["Authorization"] = f"Bearer {token}"
    sent.update(headers or {})
    try:
        connection.request(method, path, json.dumps(body) if body is not None else None, sent)
        response = connection.getresponse()
        text = response.read()
        status = response.status
    except (OSError, http.client.HTTPException):
        connection.close()
        _connections.open.pop(key, None)
        return 0, {}
    if fresh or response.will_close:
        connection.close()
        _connections.open.pop(key, None)
    else:
        _connections.open[key] = connection
    try:
        payload = json.loads(text) if text else {}
    except ValueError:
        payload = {}
    return status, payload if isinstance(payload, dict) else {"items": payload}


class AddressBudget:
    """Hands out client addresses within what a per-address limit allows, or None."""

    def __init__(self, per_window: int, window_seconds: float | None) -> None:
        self.per_window, self.window = per_window, window_seconds
        self.used: dict[str, deque[float]] = {a: deque() for a in ADDRESSES}
        self.turn = itertools.cycle(ADDRESSES)
        self.lock = threading.Lock()

    def take(self) -> str | None:
        now = time.monotonic()
        with self.lock:
            for _ in range(len(ADDRESSES)):
                address = next(self.turn)
                used = self.used[address]
                while self.window and used and now - used[0] > self.window:
                    used.popleft()
                if len(used) < self.per_window:
                    used.append(now)
                    return address
        return None


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, Counter] = field(default_factory=dict)
    skipped: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, operation: str, seconds: float, status: int, body: dict, ok: bool) -> None:
        with self.lock:
            self.latencies.setdefault(operation, []).append(seconds)
            errors = self.errors.setdefault(operation, Counter())
            if not ok:
                errors[f"{status} {body.get('code') or body.get('reason') or ''}".strip()] += 1


class Workload:
    """One phase: client threads drawing operations from MIX until the time is up."""

    def __init__(self, base: str, seeded: Seeded, phase: int, clients: int, seconds: float):
        self.base, self.seeded, self.phase = base, seeded, phase
        self.clients, self.seconds = clients, seconds
        self.tally = Tally()
        self.donors = iter(seeded.donation_id_numbers[phase])
        self.codes = iter(seeded.benefit_codes[phase])
        self.mobiles = itertools.count(seeded.mobile_base + phase * 1_000_000)
        self.otp_addresses = AddressBudget(OTP_PER_ADDRESS_PER_PHASE, None)
        self.verify_addresses = AddressBudget(VERIFY_PER_ADDRESS_PER_MINUTE, 61)
        self.draw = threading.Lock()
        self.collected_at = datetime.now().astimezone().replace(microsecond=0).isoformat()

    def _next(self, source) -> object | None:
        with self.draw:
            return next(source, None)

    def _timed(self, operation: str, *args, expect=None, **kwargs) -> tuple[int, dict]:
        started = time.perf_counter()
        status, body = request(self.base, *args, **kwargs)
        elapsed = time.perf_counter() - started
        ok = status == EXPECTED[operation] and (expect is None or expect(body))
        self.tally.record(operation, elapsed, status, body, ok)
        return status, body

    def client(self, number: int) -> None:
        chooser = random.Random(number)
        operations, weights = list(MIX), list(MIX.values())
        source = ADDRESSES[number % len(ADDRESSES)]
        bookers = self.seeded.booker_tokens[number :: self.clients]
        deadline = time.monotonic() + self.seconds
        while time.monotonic() < deadline:
            operation = chooser.choices(operations, weights)[0]
            if operation == "card view":
                token = chooser.choice(self.seeded.viewer_tokens)
                self._timed(operation, "GET", "/api/v1/me/card", token=token, source=source)
            elif operation == "certificate list":
                token = chooser.choice(self.seeded.viewer_tokens)
                self._timed(operation, "GET", "/api/v1/me/certificates", token=token, source=source)
            elif operation == "benefit verification":
                code = self._next(self.codes)
                if code is None:
                    self.tally.skipped[operation] += 1
                    continue
                self._timed(
                    operation,
                    "POST",
                    "/api/v1/gate/verify",
                    {"code": code},
                    self.seeded.gate_token,
                    source=source,
                    expect=lambda body: body.get("decision") == "allow",
                )
            elif operation == "booking":
                token = chooser.choice(bookers)
                slot = chooser.choice(self.seeded.slot_ids)
                status, booking = self._timed(
                    operation,
                    "POST",
                    "/api/v1/me/appointments",
                    {"slot_id": slot},
                    token,
                    source=source,
                )
                if status == 201:
                    self._timed(
                        "booking cancelled",
                        "DELETE",
                        f"/api/v1/me/appointments/{booking['id']}",
                        token=token,
                        source=source,
                    )
            elif operation == "recorded donation":
                id_number = self._next(self.donors)
                if id_number is None:
                    self.tally.skipped[operation] += 1
                    continue
                body = {
                    "site_id": self.seeded.site_id,
                    "donor": {"id_number": id_number},
                    "kind": "whole_blood",
                    "volume_ml": 400,
                    "collected_at": self.collected_at,
                }
                self._timed(
                    operation,
                    "POST",
                    "/api/v1/staff/donations",
                    body,
                    self.seeded.staff_token,
                    source=source,
                    headers={"Idempotency-Key": f"load-{uuid.uuid4().hex}"},
                )
            elif operation == "certificate verification":
                address = self.verify_addresses.take()
                if address is None:
                    self.tally.skipped[operation] += 1
                    continue
                number = chooser.choice(self.seeded.certificate_numbers)
                self._timed(operation, "GET", f"/v/{number}", source=address, fresh=True)
            elif operation == "login code":
                address = self.otp_addresses.take()
                if address is None:
                    self.tally.skipped[operation] += 1
                    continue
                mobile = str(self._next(self.mobiles))
                self._timed(
                    operation,
                    "POST",
                    "/api/v1/auth/otp",
                    {"mobile": mobile},
                    source=address,
                    fresh=True,
                )

    def _client_then_close(self, number: int) -> None:
        try:
            self.client(number)
        finally:
            close_connections()

    def run(self) -> tuple[Tally, float]:
        threads = [
            threading.Thread(target=self._client_then_close, args=(n,), daemon=True)
            for n in range(self.clients)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return self.tally, time.monotonic() - started


# ---------------------------------------------------------------- the report


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def report(title: str, tally: Tally, elapsed: float) -> dict[str, float]:
    print(f"\n{title} ({elapsed:.1f} s)")
    print(f"  {'operation':<26} {'count':>7} {'/s':>8} {'p50 ms':>8} {'p99 ms':>8}  errors")
    rates: dict[str, float] = {}
    total = 0
    for operation in EXPECTED:
        latencies = tally.latencies.get(operation, [])
        if not latencies:
            continue
        errors = tally.errors.get(operation, Counter())
        rates[operation] = len(latencies) / elapsed
        total += len(latencies)
        detail = ", ".join(f"{what} x{count}" for what, count in errors.most_common(4))
        print(
            f"  {operation:<26} {len(latencies):>7} {rates[operation]:>8.1f} "
            f"{percentile(latencies, 0.5):>8.1f} {percentile(latencies, 0.99):>8.1f}  "
            f"{sum(errors.values())}{f' ({detail})' if detail else ''}"
        )
    rates["all"] = total / elapsed
    print(f"  {'all':<26} {total:>7} {rates['all']:>8.1f}")
    if tally.skipped:
        said = ", ".join(f"{op} {n}" for op, n in tally.skipped.items())
        print(f"  not sent (the seeded pool or an address budget ran out): {said}")
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=16)
    arguments = parser.parse_args()
    seconds, clients = arguments.seconds, arguments.clients
    print(f"machine: {machine()}")
    with ProductionSet() as production:
        started = time.monotonic()
        seeded = seed_apart(
            production,
            donors_per_phase=max(1000, int(seconds * 60)),
            codes_per_phase=max(1000, int(seconds * 80)),
            bookers=clients * 4,
        )
        print(
            f"production set up: nginx {production.url} -> {', '.join(production.instance_urls)} "
            f"(2 gunicorn workers each); seeded in {time.monotonic() - started:.1f} s: "
            f"{2 * len(seeded.donation_id_numbers[0])} donors to record, {VIEWERS} with a "
            f"certificate, {len(seeded.booker_tokens)} booking, "
            f"{2 * len(seeded.benefit_codes[0])} benefit codes"
        )
        print(
            f"load: {clients} client threads in this one process (with the Twilio stand-in), "
            f"sharing the machine's {os.cpu_count()} CPUs with nginx, both app instances, "
            "PostgreSQL, Redis and Celery; login codes and certificate checks each from one of "
            f"{len(ADDRESSES)} loopback addresses"
        )
        both, both_time = Workload(production.url, seeded, 0, clients, seconds).run()
        through_nginx = report("through nginx, two instances", both, both_time)
        one_base = production.instance_urls[0]
        one, one_time = Workload(one_base, seeded, 1, clients, seconds).run()
        alone = report(f"one instance alone ({one_base}, no nginx)", one, one_time)
        print("\ngain from the second instance (requests/s through nginx / one instance):")
        for operation, rate in through_nginx.items():
            if alone.get(operation):
                print(f"  {operation:<26} {rate / alone[operation]:>6.2f}x")
        texts = len(production.twilio.messages)
        print(f"\ntexts at the Twilio stand-in: {texts}")
        lines = log_lines(production)
        found = find_personal_data(lines, sent_codes(production))
        print(
            f"personal data in the set's {len(lines)} log lines (ID and mobile numbers, tokens, "
            f"the codes texted): {len(found) or 'none'}"
        )
        for finding in found[:10]:
            print(f"  {finding}")
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()

"""Benefit-code verification: online at the gate API, and offline in one process.

    .venv/bin/python -m bench.benefits [--seconds 10] [--connections 16] [--rate 300]

Online, under gunicorn (2 workers) on PostgreSQL:
  1. GET /healthz and POST /api/v1/gate/verify with wrk, the same connections and duration; each
     verification sends a fresh code (a replay would be refused), pre-minted for many holders and
     fed to wrk from a file. Prints both and their ratio (target: verify >= 0.5 x healthz), and
     the CPU each request cost in gunicorn, PostgreSQL and wrk, which share the machine.
  2. POST /api/v1/gate/verify at a fixed rate (default 300 requests/s) from a paced client that
     measures each latency from the request's scheduled send time, so a stall counts against
     every request queued behind it. Prints p50/p99 (target: p99 < 20 ms).
Offline, in this process: benefit-code checks per second (signature, type, expiry, region, kind,
replay memory) against bare Ed25519 signature checks of the same codes (target: >= 0.8).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from bench.harness import (
    app_env,
    cpu_use,
    gunicorn,
    listening_root,
    machine,
    migrate,
    postgres,
    show,
    show_cpu,
    wrk,
)

HOLDERS = 300
CODE_LIFE = timedelta(minutes=30)  # bench codes outlive the run; the server checks each one's exp


def prepare(database_url: str, codes_needed: int) -> tuple[str, str, list[str], dict]:
    """Holders (bronze award won in Zhejiang), a transit gate, and fresh codes for them."""
    os.environ.update(app_env(database_url))
    from app import create_app
    from core import auth
    from core.extensions import db
    from donors.models import Donor
    from rewards import awards, gates, minting
    from rewards.models import BenefitHolder

    app = create_app()
    with app.app_context():
        admin = auth.Caller("staff", 0, auth.ADMIN, "bench", {})
        donors = []
        for number in range(HOLDERS):
            donor = Donor(
                name="测试" + chr(0x4E00 + number),
                id_number=f"bench-{number}",
                id_number_hash=f"bench-{number:058d}",
                birth_date=date(1990, 1, 1),
                sex="male",
            )
            db.session.add(donor)
            donors.append(donor)
        db.session.flush()
        for donor in donors:
            # bench holders have no donations on record: the award is recorded with its reason
            awards.record_award(
                donor,
                awards.AwardRecord(
                    "bronze", "zhejiang", "2022-2023", "bench", date(2025, 8, 1), "bench holder"
                ),
                actor=None,
            )
        operator = gates.create_operator(
            {
                "name": "杭州公交集团",
                "category": "transit",
                "region": "zhejiang",
                "benefit_kind": "urban_public_transport",
            },
            admin,
        )
        device, _, secret = gates.create_gate_device(operator, "bench gate", None, admin)
        db.session.commit()
        token = auth.authenticate_device(device.client_id, secret)["access_token"]
        donor_token = auth.issue_tokens("donor", donors[0].id, auth.DONOR)["access_token"]
        db.session.commit()
        refs = [holder.ref for holder in db.session.scalars(db.select(BenefitHolder))]
        codes = [
            minting.mint_code(refs[i % len(refs)], "zhejiang", "tpo", CODE_LIFE)[0]
            for i in range(codes_needed)
        ]
        keys = {kid: key.public for kid, key in app.extensions["keyring"].keys.items()}
        db.engine.dispose()
    return token, donor_token, codes, keys


def verify_script(path: str, token: str) -> str:
    """wrk Lua: each thread takes every n-th code from the file, so no code is sent twice."""
    return f"""
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  codes = {{}}
  local n = 0
  for line in io.lines("{path}") do
    if n % 2 == tid then codes[#codes + 1] = line end
    n = n + 1
  end
  index = 0
end
request = function()
  index = index + 1
  local code = codes[index] or codes[1]
  return wrk.format("POST", "/api/v1/gate/verify",
    {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer {token}"}},
    '{{"code":"' .. code .. '"}}')
end
"""


async def _one(host: str, port: int, payload: bytes) -> tuple[int, bool]:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(payload)
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
    status = int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/") else 0
    return status, b'"decision":"allow"' in response


async def paced(base: str, token: str, codes: list, rate: int, seconds: int) -> dict:
    """Send `rate` requests a second on schedule; latency counts from the scheduled time.

    A code of None sends GET /healthz instead: the client's own floor at that rate.
    """
    parts = urlsplit(base)
    host, port = parts.hostname, parts.port
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    outcomes = {"non_2xx": 0, "errors": 0, "allowed": 0}

    async def send(scheduled: float, code: str | None) -> None:
        if code is None:
            payload = f"GET /healthz HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
            payload = payload.encode()
        else:
            body = f'{{"code":"{code}"}}'.encode()
            payload = (
                f"POST /api/v1/gate/verify HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode() + body
        try:
            status, allowed = await _one(host, port, payload)
        except OSError:
            outcomes["errors"] += 1
            return
        latencies.append(loop.time() - scheduled)
        outcomes["non_2xx"] += not 200 <= status < 300
        outcomes["allowed"] += allowed

    total = rate * seconds
    start = loop.time() + 0.2
    tasks = []
    for index in range(total):
        scheduled = start + index / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(scheduled, codes[index])))
    await asyncio.gather(*tasks)
    latencies.sort()

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "seconds": loop.time() - start,
        "rps": len(latencies) / (loop.time() - start),
        "p50_ms": percentile(50),
        "p90_ms": percentile(90),
        "p99_ms": percentile(99),
        "max_ms": latencies[-1] * 1000,
        "errors": outcomes["errors"],
        "non_2xx": outcomes["non_2xx"],
        "allowed": outcomes["allowed"],
    }


def offline(codes: list[str], keys: dict, rounds: int = 5) -> tuple[float, float]:
    """Best of `rounds`: full offline gate checks/s, and bare Ed25519 verifications/s."""
    from rewards.codes import OfflineGate

    def unb64(segment: str) -> bytes:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))

    key = next(iter(keys.values()))
    prepared = []
    for code in codes:
        header, payload, signature = code.split(".")
        prepared.append((unb64(signature), f"{header}.{payload}".encode()))
    now = time.time()
    gate_rates, bare_rates = [], []
    for _ in range(rounds):
        gate = OfflineGate(keys, "zhejiang", "t")
        began = time.perf_counter()
        for code in codes:
            reason, _ = gate.check(code, now)
            assert reason == "allowed", reason
        gate_rates.append(len(codes) / (time.perf_counter() - began))
        began = time.perf_counter()
        for signature, message in prepared:
            key.verify(signature, message)
        bare_rates.append(len(codes) / (time.perf_counter() - began))
    return max(gate_rates), max(bare_rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rate", type=int, default=300)
    parser.add_argument("--max-verify-rps", type=int, default=2500, help="codes minted for wrk")
    args = parser.parse_args()

    wrk_codes = args.max_verify_rps * args.seconds
    paced_codes = args.rate * args.seconds
    print(f"machine: {machine()}")
    with postgres() as url:
        migrate(url)
        token, donor_token, codes, keys = prepare(url, wrk_codes + 2 * paced_codes + 5000)
        for_wrk, for_paced, for_sustained, for_offline = (
            codes[:wrk_codes],
            codes[wrk_codes : wrk_codes + paced_codes],
            codes[wrk_codes + paced_codes : wrk_codes + 2 * paced_codes],
            codes[wrk_codes + 2 * paced_codes :],
        )
        print(f"codes: {len(codes)} pre-minted for {HOLDERS} holders, {len(codes[0])} characters")
        with tempfile.NamedTemporaryFile("w", suffix=".codes", delete=False) as handle:
            handle.write("\n".join(for_wrk) + "\n")
            codes_file = handle.name
        try:
            with gunicorn(url, workers=2) as base:
                load = {"seconds": args.seconds, "connections": args.connections}
                servers = {
                    "gunicorn": listening_root(urlsplit(base).port),
                    "postgresql": listening_root(urlsplit(url).port),
                }
                wrk(base + "/healthz", seconds=2, connections=4)  # warm-up
                with cpu_use(**servers) as used:
                    health = wrk(base + "/healthz", **load)
                show("GET /healthz", health)
                show_cpu(used, health["requests"])
                with cpu_use(**servers) as used:
                    verify = wrk(
                        base + "/api/v1/gate/verify",
                        script=verify_script(codes_file, token),
                        **load,
                    )
                show("POST /api/v1/gate/verify (fresh codes)", verify)
                show_cpu(used, verify["requests"])
                if verify["requests"] > len(for_wrk):
                    print(f"  note: {verify['requests'] - len(for_wrk)} requests reused a code")
                print(f"online ratio verify/healthz: {verify['rps'] / health['rps']:.2f}")
                me = wrk(
                    base + "/api/v1/me", headers={"Authorization": f"Bearer {donor_token}"}, **load
                )
                show("GET /api/v1/me (reference: token + 2 reads)", me)
                floor = asyncio.run(
                    paced(base, token, [None] * paced_codes, args.rate, args.seconds)
                )
                show(f"GET /healthz at {args.rate}/s (paced: the client's floor)", floor)
                fixed = asyncio.run(paced(base, token, for_paced, args.rate, args.seconds))
                show(f"POST /api/v1/gate/verify at {args.rate}/s (paced)", fixed)
                print(f"  allowed {fixed['allowed']} of {fixed['requests']} at the fixed rate")
                # The same at half the throughput wrk found, for the latency of a sustainable load.
                rate = max(10, int(verify["rps"] / 2))
                codes_left = for_sustained[: rate * args.seconds]
                steady = asyncio.run(paced(base, token, codes_left, rate, len(codes_left) // rate))
                show(f"POST /api/v1/gate/verify at {rate}/s (paced)", steady)
        finally:
            Path(codes_file).unlink(missing_ok=True)
    gate_rate, bare_rate = offline(for_offline, keys)
    print(f"offline gate checks:        {gate_rate:>9.0f} /s (one process)")
    print(f"bare Ed25519 verifications: {bare_rate:>9.0f} /s")
    print(f"offline ratio: {gate_rate / bare_rate:.2f}")
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()

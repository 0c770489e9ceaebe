#!/usr/bin/env python3
"""Check benefit codes at a gate with no network, then upload the admitted uses later.

While online, fetch the gate's kit once (public keys, region and the benefit's letter):

    .venv/bin/python scripts/gate_offline_verify.py kit --server http://127.0.0.1:5000 \\
        --client-id gate-… --client-secret … > kit.json

Offline, check each scanned code (arguments, or one per line on standard input); admitted uses
are appended to a journal. Only the `cryptography` package and the kit are needed:

    .venv/bin/python scripts/gate_offline_verify.py check --kit kit.json --journal uses.jsonl CODE

The journal is also the gate's memory: each run reads it first, so a code it already admitted is
refused at once ("replayed", as the online gate answers), even after the kit was restarted. Keep
one journal per device, and keep it until its uses are uploaded and their codes have expired.

Back online, upload the journal (safe to repeat: the server records each code once):

    .venv/bin/python scripts/gate_offline_verify.py upload --server … --client-id … \\
        --client-secret … --journal uses.jsonl

Without a kit, `check --jwks FILE_OR_URL --region zhejiang --token-code t` works from the public
JWK set (/.well-known/jwks.json) alone.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BATCH = 500
USE_FIELDS = ("code", "used_at")  # a journal line, as POST /api/v1/gate/offline-uses takes it


def _codes_module():
    """rewards/codes.py on its own: the check needs neither Flask nor a database."""
    spec = importlib.util.spec_from_file_location("benefit_codes", ROOT / "rewards" / "codes.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


codes = _codes_module()


def _request(url: str, body: dict | None = None, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json", "Accept-Language": "en"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def _token(server: str, client_id: str, secret: str) -> str:
    body = {"client_id": client_id, "client_secret": secret}
    return _request(f"{server}/api/v1/auth/device-token", body)["access_token"]


def _load(source: str) -> dict:
    if source.startswith(("http://", "https://")):
        return _request(source)
    return json.loads(Path(source).read_text(encoding="utf-8"))


def gate_from(args: argparse.Namespace):
    if args.kit:
        kit = _load(args.kit)
        jwks, region, token_code = kit["jwks"], kit["region"], kit["token_code"]
    else:
        if not (args.jwks and args.region and args.token_code):
            raise SystemExit("give --kit, or --jwks with --region and --token-code")
        jwks, region, token_code = _load(args.jwks), args.region, args.token_code
    keys = codes.public_keys_from_jwks(jwks)
    return codes.OfflineGate(keys, region, token_code, leeway=args.leeway)


def journal_entries(path: str) -> list[dict]:
    """The uses a journal holds; a line torn by a crash while it was written is left out (its
    holder was never told "allow": the decision is printed only once the line is on disk)."""
    if not Path(path).exists():
        return []
    entries = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and all(isinstance(entry.get(k), str) for k in USE_FIELDS):
            entries.append({key: entry[key] for key in USE_FIELDS})
    return entries


def _open_journal(path: str):
    """The journal for appending, each new use on a line of its own after a torn last line."""
    journal = open(path, "a+b")  # noqa: SIM115  (closed by the caller)
    if journal.tell():
        journal.seek(-1, 2)
        if journal.read(1) != b"\n":
            journal.write(b"\n")
    return journal


def _record(journal, code: str, now: float) -> None:
    used_at = datetime.fromtimestamp(now, UTC).isoformat()
    journal.write((json.dumps({"code": code, "used_at": used_at}) + "\n").encode("utf-8"))
    journal.flush()
    os.fsync(journal.fileno())


def check(args: argparse.Namespace) -> int:
    gate = gate_from(args)
    journal = None
    if args.journal:
        started = time.time()
        for entry in journal_entries(args.journal):
            gate.remember(entry["code"], started)
        journal = _open_journal(args.journal)
    scanned = args.codes or (line.strip() for line in sys.stdin if line.strip())
    refused = 0
    try:
        for code in scanned:
            now = time.time()
            reason, _ = gate.check(code, now)
            decision = "allow" if reason == "allowed" else "deny"
            refused += decision == "deny"
            if decision == "allow" and journal:
                _record(journal, code, now)
            print(json.dumps({"decision": decision, "reason": reason}), flush=True)
    finally:
        if journal:
            journal.close()
    return 1 if refused else 0


def kit(args: argparse.Namespace) -> int:
    token = _token(args.server, args.client_id, args.client_secret)
    print(json.dumps(_request(f"{args.server}/api/v1/gate/offline-kit", token=token)))
    return 0


def upload(args: argparse.Namespace) -> int:
    uses = journal_entries(args.journal)
    token = _token(args.server, args.client_id, args.client_secret)
    totals = {"recorded": 0, "duplicate": 0, "rejected": 0}
    for start in range(0, len(uses), BATCH):
        answer = _request(
            f"{args.server}/api/v1/gate/offline-uses", {"uses": uses[start : start + BATCH]}, token
        )
        for key in totals:
            totals[key] += answer[key]
    print(json.dumps(totals))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("kit", "upload"):
        sub = commands.add_parser(name)
        sub.add_argument("--server", required=True)
        sub.add_argument("--client-id", required=True)
        sub.add_argument("--client-secret", required=True)
        if name == "upload":
            sub.add_argument("--journal", required=True)
    sub = commands.add_parser("check")
    sub.add_argument("codes", nargs="*")
    sub.add_argument("--kit")
    sub.add_argument("--jwks")
    sub.add_argument("--region")
    sub.add_argument("--token-code")
    sub.add_argument(
        "--journal",
        help="this device's file of admitted uses: read first (codes in it are refused as "
        "replayed), appended to on each admission, uploaded later",
    )
    sub.add_argument("--leeway", type=float, default=5.0, help="seconds of clock drift allowed")
    args = parser.parse_args(argv)
    return {"check": check, "kit": kit, "upload": upload}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())

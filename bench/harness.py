"""What every benchmark needs: a throwaway PostgreSQL, the migrated schema, gunicorn, wrk.

Benchmarks print their figures; nothing here asserts a time. Run them from the repository root
with the project's virtual environment, e.g. `.venv/bin/python -m bench.http_baseline`.
wrk comes from Debian's package; as root the harness installs it when it is missing.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ops.machine import ensure_program, free_port  # noqa: E402
from ops.postgres import PostgresServer  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"

# wrk's `done` hook, printing what we report as one JSON line (latencies in microseconds).
_REPORT_LUA = """
done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '\\nBENCH {"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.3f, "p90_ms": %.3f, '
    .. '"p99_ms": %.3f, "max_ms": %.3f, "errors": %d, "non_2xx": %d}\\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
"""


def machine() -> str:
    """One line on what the figures were measured on, printed with every report."""
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} CPUs, load {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}, "
        f"python {sys.version.split()[0]}"
    )


@contextmanager
def postgres(database: str = "donor_bench") -> Iterator[str]:
    """A PostgreSQL 15 server on loopback in a temporary directory; yields a database URL."""
    server = PostgresServer().start()
    try:
        yield server.create_database(database)
    finally:
        server.stop()


def app_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "FLASK_APP": "app:create_app"}
    env.setdefault("APP_ENV", "development")
    env.update(extra)
    return env


def flask(database_url: str, *args: str, **extra: str) -> str:
    """Run a `flask` command against the database (migrations, imports, demo data)."""
    result = subprocess.run(
        [str(VENV_BIN / "flask"), *args],
        cwd=ROOT,
        env=app_env(database_url, **extra),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def migrate(database_url: str) -> None:
    flask(database_url, "db", "upgrade")


@contextmanager
def gunicorn(database_url: str, workers: int = 2, **extra: str) -> Iterator[str]:
    """The app under gunicorn on loopback; yields its base URL once /healthz answers."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "app:create_app()",
        ],
        cwd=ROOT,
        env=app_env(database_url, **extra),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(Path(log.name).read_text()) from None
                time.sleep(0.1)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        Path(log.name).unlink(missing_ok=True)


def ensure_wrk() -> str:
    return ensure_program("wrk")


def wrk(
    url: str,
    *,
    seconds: int = 10,
    connections: int = 16,
    threads: int = 2,
    headers: dict[str, str] | None = None,
    script: str = "",
) -> dict:
    """Drive `url` with wrk; `script` is Lua that may define `request`/`response`."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script + "\n" + _REPORT_LUA)
        lua = handle.name
    command = [
        ensure_wrk(),
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        "10s",
        "-s",
        lua,
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    try:
        output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    finally:
        Path(lua).unlink(missing_ok=True)
    line = next(text for text in output.splitlines() if text.startswith("BENCH "))
    return json.loads(line[len("BENCH ") :])


def show(name: str, figures: dict) -> None:
    print(
        f"{name:<44} {figures['rps']:>9.1f} req/s   p50 {figures['p50_ms']:>7.2f} ms   "
        f"p99 {figures['p99_ms']:>7.2f} ms   ({figures['requests']} requests, "
        f"{figures['errors']} errors, {figures['non_2xx']} non-2xx)"
    )


def _process_table() -> dict[int, tuple[int, float, float]]:
    """pid -> (parent pid, CPU seconds of its own, CPU seconds of its children it reaped)."""
    tick = os.sysconf("SC_CLK_TCK")
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        own = (int(fields[11]) + int(fields[12])) / tick
        reaped = (int(fields[13]) + int(fields[14])) / tick
        table[int(entry.name)] = (int(fields[1]), own, reaped)
    return table


def _tree_cpu(root: int, table: dict[int, tuple[int, float, float]]) -> float:
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        if pid in table:
            total += table[pid][1] + table[pid][2]
            stack.extend(child for child, row in table.items() if row[0] == pid)
    return total


def listening_root(port: int) -> int:
    """The first process of the server listening on `port` (gunicorn's master, the postmaster)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if f"127.0.0.1:{port}" in argv or any(
            a == "-p" and b == str(port) for a, b in zip(argv, argv[1:], strict=False)
        ):
            found.append(int(entry.name))
    if not found:
        raise RuntimeError(f"no process found serving port {port}")
    return min(found)


@contextmanager
def cpu_use(**roots: int) -> Iterator[dict[str, float]]:
    """CPU seconds used meanwhile by each named process tree, and by the load generator (wrk)
    run from here: where a request's cost goes, besides how many requests a second came back."""
    table = _process_table()
    before = {name: _tree_cpu(pid, table) for name, pid in roots.items()}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    used: dict[str, float] = {}
    yield used
    table = _process_table()
    used.update({name: _tree_cpu(pid, table) - before[name] for name, pid in roots.items()})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used["wrk"] = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime


def show_cpu(used: dict[str, float], requests: int) -> None:
    shares = ", ".join(f"{name} {seconds * 1000 / requests:.2f}" for name, seconds in used.items())
    print(f"  CPU ms per request: {shares}")

"""The production set on one machine: `scripts/serve-production`.

PostgreSQL (durable settings), Redis (Celery's broker and the shared rate limits), two gunicorn
instances of the app on their own ports behind nginx, a Celery worker and Celery beat, and a
Twilio stand-in on loopback (this machine cannot reach Twilio), all with APP_ENV=production and
keys generated for the run. The schema is migrated and the demo data loaded (with the run's keys:
`flask demo load` itself refuses the production profile, so it runs once under development with
the same keys and database). Ctrl-C stops everything.

Tests, the load benchmark and the fault scripts start the same set (`ProductionSet`), and reach
into it: an instance's own address, `kill_instance`, `postgres.crash()`, `redis.halt()`.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO

from ops.machine import free_port
from ops.nginx import Nginx
from ops.postgres import PostgresServer
from ops.redis_server import RedisServer
from ops.twilio_stand_in import TwilioStub

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PUBLIC_BASE_URL = "https://xianxue.example.cn"  # what QR codes carry; a name, not loopback


def generated_secrets() -> dict[str, str]:
    """Fresh keys for a run: what production refuses to start without (README, Configuration)."""

    def key() -> str:
        return base64.b64encode(secrets.token_bytes(32)).decode()

    kid = f"prod-{time.strftime('%Y%m%d')}"
    return {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "JWT_SECRET_KEY": secrets.token_urlsafe(48),
        "FIELD_ENCRYPTION_KEY": key(),
        "LOOKUP_HASH_KEY": key(),
        "OTP_HASH_KEY": key(),
        "SIGNING_KEYS": json.dumps({kid: key()}),
        "SIGNING_ACTIVE_KID": kid,
    }


class Process:
    """One server process of the set, its output copied to its log file (and the terminal)."""

    def __init__(
        self, name: str, command: list[str], env: dict[str, str], logs: Path, echo: bool
    ) -> None:
        self.name, self.command, self.env, self.echo = name, command, env, echo
        self.log_path = logs / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> Process:
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: Ctrl-C reaches the set, which stops it
        )
        threading.Thread(target=self._copy, args=(self.process.stdout,), daemon=True).start()
        return self

    def _copy(self, stream: IO[bytes]) -> None:
        with stream, self.log_path.open("ab") as log:
            for line in stream:
                log.write(line)
                log.flush()
                if self.echo:
                    print(f"[{self.name}] {line.decode(errors='replace').rstrip()}", flush=True)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, number: int) -> None:
        if self.alive():
            os.killpg(self.process.pid, number)  # type: ignore[union-attr]

    def stop(self, timeout: float = 15) -> None:
        if not self.alive():
            return
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)  # type: ignore[union-attr]
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait()  # type: ignore[union-attr]


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2).read()
        return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


class ProductionSet:
    """The whole set on loopback; `with ProductionSet() as production:` starts and stops it."""

    def __init__(
        self,
        *,
        port: int | None = None,
        instances: int = 2,
        app_workers: int = 2,
        celery_workers: int = 1,
        echo: bool = False,
        base: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.base = base or Path(tempfile.mkdtemp(prefix="donor-production-"))
        self.logs = self.base / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.instance_count, self.app_workers = instances, app_workers
        self.celery_worker_count, self.echo = celery_workers, echo
        self.extra_env = env or {}
        self.postgres = PostgresServer(durable=True)
        self.redis = RedisServer()
        self.twilio = TwilioStub()
        self.instances: list[Process] = []
        self.instance_urls: list[str] = []
        self.workers: list[Process] = []
        self.beat: Process | None = None
        self.nginx: Nginx | None = None
        self.database_url = ""
        self.demo = ""  # what `flask demo load` printed: the demo's logins
        self.secrets = generated_secrets()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        """What every process of the set runs with: production, the run's keys, the servers."""
        redis = f"redis://127.0.0.1:{self.redis.port}"
        return {
            **os.environ,
            "APP_ENV": "production",
            "DATABASE_URL": self.database_url,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "CELERY_BROKER_URL": f"{redis}/0",
            "RATELIMIT_STORAGE_URI": f"{redis}/1",
            "NOTIFY_DISPATCH": "celery",
            "TRUSTED_PROXY_HOPS": "1",  # nginx appends the client's address
            "SMS_STAND_IN_ON_LOOPBACK": "1",
            **self.twilio.settings(),
            **self.secrets,
            **self.extra_env,
        }

    def _flask(self, *args: str, profile: str = "production") -> str:
        env = {**self.environment(), "APP_ENV": profile, "FLASK_APP": "app:create_app"}
        done = subprocess.run(
            [str(VENV_BIN / "flask"), *args], cwd=ROOT, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start(self) -> ProductionSet:
        self.postgres.start()
        self.database_url = self.postgres.create_database("donors")
        self.redis.start()
        self.twilio.on_message = self._show_text if self.echo else None
        self.twilio.start()
        self._flask("db", "upgrade")
        # Demo data under the development profile (the command refuses production), with the
        # run's keys and database, so the production instances read it.
        self.demo = self._flask("demo", "load", profile="development")
        for number in range(1, self.instance_count + 1):
            self.start_instance(number)
        for number in range(1, self.celery_worker_count + 1):
            self.start_worker(number)
        self.beat = self._process(
            "beat",
            ["-m", "celery", "-A", "worker", "beat", "--loglevel=INFO"]
            + ["--schedule", str(self.base / "beat-schedule")],
        ).start()
        addresses = [url.removeprefix("http://") for url in self.instance_urls]
        self.nginx = Nginx(self.base / "nginx", self.port, addresses).start()
        wait_until(lambda: answers(self.url + "/healthz"), 30, "nginx and the app")
        return self

    def _process(self, name: str, arguments: list[str]) -> Process:
        return Process(name, [sys.executable, *arguments], self.environment(), self.logs, self.echo)

    def start_instance(self, number: int) -> Process:
        """App instance `number` (1-based) under gunicorn on its own port; reused on restart."""
        if number <= len(self.instance_urls):
            port = int(self.instance_urls[number - 1].rsplit(":", 1)[1])
        else:
            port = free_port()
            self.instance_urls.append(f"http://127.0.0.1:{port}")
        instance = self._process(
            f"app-{number}",
            ["-m", "gunicorn", "-w", str(self.app_workers), "-b", f"127.0.0.1:{port}"]
            + ["--graceful-timeout", "10", "--no-control-socket", "--log-level", "info"]
            + ["app:create_app()"],
        ).start()
        url = self.instance_urls[number - 1]
        wait_until(lambda: answers(url + "/healthz") or not instance.alive(), 60, f"app-{number}")
        if not instance.alive():
            raise RuntimeError(f"app-{number} did not start: see {instance.log_path}")
        if number <= len(self.instances):
            self.instances[number - 1] = instance
        else:
            self.instances.append(instance)
        return instance

    def demo_device(self, role: str) -> tuple[str, str]:
        """The demo's `gate` or `hospital` device credential: (client id, secret)."""
        found = re.search(rf"^\s*{role}\s+client_id=(\S+) client_secret=(\S+)", self.demo, re.M)
        if found is None:
            raise LookupError(f"the demo data has no {role} device")
        return found.group(1), found.group(2)

    def kill_instance(self, number: int) -> None:
        """SIGKILL app instance `number` and its workers, as a crashed machine would."""
        instance = self.instances[number - 1]
        instance.signal(signal.SIGKILL)
        if instance.process is not None:
            instance.process.wait()  # reaped, so its port is free for `start_instance`

    def start_worker(self, number: int) -> Process:
        worker = self._process(
            f"worker-{number}",
            ["-m", "celery", "-A", "worker", "worker", "--loglevel=INFO", "--concurrency=2"]
            + ["-n", f"worker-{number}@%h", "--without-gossip", "--without-mingle"],
        ).start()
        self.workers.append(worker)
        return worker

    def _show_text(self, message: dict[str, str | None]) -> None:
        """The set's stand-in phone: the demo needs the login codes, which no log may hold."""
        number = message.get("to") or ""
        masked = number[:-8] + "****" + number[-4:] if len(number) > 8 else "****"
        print(f"[sms] to {masked}: {message.get('body', '')}", flush=True)

    def stop(self) -> None:
        if self.nginx is not None:
            self.nginx.stop()
        for process in [*self.instances, *self.workers, *([self.beat] if self.beat else [])]:
            process.stop()
        self.twilio.stop()
        self.redis.stop()
        self.postgres.stop()

    def __enter__(self) -> ProductionSet:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *_: object) -> None:
        self.stop()
        if not self.echo:
            shutil.rmtree(self.base, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    parser.add_argument("--app-workers", type=int, default=2, help="gunicorn workers per instance")
    arguments = parser.parse_args()
    production = ProductionSet(port=arguments.port, app_workers=arguments.app_workers, echo=True)
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        production.start()
        print(
            f"\nThe production set is up: {production.url} (nginx) -> "
            f"{', '.join(production.instance_urls)}; logs in {production.logs}; "
            f"keys in {production.base / 'production.env'}. Ctrl-C stops it all.\n",
            flush=True,
        )
        env_file = production.base / "production.env"
        env_file.write_text(
            "".join(f"{key}={value}\n" for key, value in production.secrets.items()),
            encoding="utf-8",
        )
        env_file.chmod(0o600)
        while not stopping.wait(1):
            if not all(process.alive() for process in production.instances + production.workers):
                print("a process of the set stopped; stopping the rest", flush=True)
                break
    finally:
        production.stop()


if __name__ == "__main__":
    main()

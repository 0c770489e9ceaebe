"""nginx (Debian's package) as the production set's load balancer, on loopback.

Two app instances behind one address. A request nginx could not deliver (the instance refused
the connection or died before answering) goes to the other instance, but never a request an
instance may already have acted on: nginx does not pass a POST on after sending it, so a
donation is recorded once, and a client that saw no answer retries with its Idempotency-Key.
`/metrics` is not served to the outside.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from ops.machine import ensure_program

CONFIG = """\
{user}
worker_processes 2;
pid {base}/nginx.pid;
error_log {base}/error.log warn;

events {{
    worker_connections 1024;
}}

http {{
    access_log {base}/access.log;
    client_body_temp_path {base}/temp/body;
    proxy_temp_path {base}/temp/proxy;
    fastcgi_temp_path {base}/temp/fastcgi;
    uwsgi_temp_path {base}/temp/uwsgi;
    scgi_temp_path {base}/temp/scgi;
    server_tokens off;
    # A face check carries a burst of photos (FACE_REQUEST_MAX_BYTES, 8 MB); the app refuses
    # what is too large for each route with its own message.
    client_max_body_size 10m;

    upstream app {{
{servers}
        keepalive 32;
    }}

    server {{
        listen 127.0.0.1:{port};

        location = /metrics {{
            return 404;
        }}

        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            # nginx's own id for the request, in the app's logs and audit entries: a client's
            # X-Request-ID is replaced, so no client writes into every log line of its request.
            proxy_set_header X-Request-ID $request_id;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 2;
        }}
    }}
}}
"""


class Nginx:
    def __init__(self, base: Path, port: int, upstreams: list[str]) -> None:
        self.base, self.port, self.upstreams = base, port, upstreams
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _write_config(self) -> Path:
        (self.base / "temp").mkdir(parents=True, exist_ok=True)
        user = ""
        if os.geteuid() == 0:
            # Workers drop root; they write only the temporary files below.
            worker = pwd.getpwnam("www-data")
            for folder in (self.base, self.base / "temp"):
                os.chown(folder, worker.pw_uid, worker.pw_gid)
            user = "user www-data;"
        servers = "\n".join(
            f"        server {address} max_fails=1 fail_timeout=5s;" for address in self.upstreams
        )
        config = self.base / "nginx.conf"
        config.write_text(
            CONFIG.format(user=user, base=self.base, port=self.port, servers=servers),
            encoding="utf-8",
        )
        return config

    def start(self) -> Nginx:
        config = self._write_config()
        self.process = subprocess.Popen(
            [ensure_program("nginx"), "-c", str(config), "-p", str(self.base), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=2).read()
                return self
            except urllib.error.HTTPError:
                return self  # nginx answers; the app behind it may still be starting
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = self.base / "error.log"
                    said = log.read_text(errors="replace") if log.exists() else ""
                    raise RuntimeError(f"nginx did not start:\n{said[-2000:]}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

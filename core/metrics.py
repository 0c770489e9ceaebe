"""Prometheus metrics at `GET /metrics`, for the operators' Prometheus and nobody else.

What is counted: every request by route (its URL rule, never the raw path: an id in a path
would make a series per donor), method and status class, with its latency; and what packages
count with `counter` (notifications: SMS outcomes; rewards: gate decisions). What is read at
scrape time (`add_scrape_reader`): the database pool of this process (core) and the outbox by
state (notifications). A reader that fails (the database is away) is reported by
`metrics_scrape_reader_failed` and skipped, so the request figures still arrive when they
matter most.

The endpoint answers only a bearer of `METRICS_TOKEN`, compared in constant time, and 404 while
the setting is empty; it is not part of the API the apps use, so it is not in /openapi.json, and
nginx should not pass it from outside (README, Operations).

Several gunicorn workers: with `PROMETHEUS_MULTIPROC_DIR` set in the environment before the
process starts (an empty directory, emptied at each start), prometheus-client's multiprocess mode
sums every worker's counters and histograms at each scrape; without it, a scrape sees the
answering process only. The pool's figures are always the answering process's.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from core.errors import ApiError
from core.extensions import db

log = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)

ScrapeReader = Callable[[], Iterable[Metric]]
_READERS = "metrics_scrape_readers"
_STARTED = "metrics_request_started"
_instruments: list[Counter | Histogram] = []
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def counter(name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
    """A counter the endpoint shows; packages make theirs at import, with bounded label values."""
    instrument = Counter(name, documentation, labels, registry=None)
    _instruments.append(instrument)
    return instrument


def histogram(name: str, documentation: str, labels: Sequence[str] = ()) -> Histogram:
    instrument = Histogram(name, documentation, labels, registry=None)
    _instruments.append(instrument)
    return instrument


REQUESTS = counter(
    "http_requests_total",
    "Requests answered, by route (the URL rule), method and status class.",
    ("route", "method", "status"),
)
LATENCY = histogram(
    "http_request_duration_seconds",
    "Time to answer a request, by route (the URL rule), method and status class.",
    ("route", "method", "status"),
)


def add_scrape_reader(app: Flask, reader: ScrapeReader) -> None:
    """Figures read when Prometheus scrapes (a table's counts), not counted as things happen."""
    app.extensions.setdefault(_READERS, []).append(reader)


def _started() -> None:
    g.setdefault(_STARTED, time.perf_counter())


def _counted(response: Response) -> Response:
    rule = request.url_rule
    labels = {
        "route": rule.rule if rule is not None else "(no route)",
        "method": request.method if request.method in METHODS else "other",
        "status": f"{response.status_code // 100}xx",
    }
    REQUESTS.labels(**labels).inc()
    started = g.get(_STARTED)
    if started is not None:
        LATENCY.labels(**labels).observe(time.perf_counter() - started)
    return response


def _pool_use() -> Iterable[Metric]:
    """What this process's pool tells (QueuePool: all three; SQLite's pools may tell none)."""
    pool = db.engine.pool
    figures = {
        "db_pool_checked_out": ("Connections in use.", "checkedout"),
        "db_pool_size": ("Connections the pool keeps.", "size"),
        "db_pool_overflow": ("Connections open beyond the pool's size.", "overflow"),
    }
    for name, (documentation, method) in figures.items():
        read = getattr(pool, method, None)
        if callable(read):
            yield GaugeMetricFamily(name, documentation, value=max(read(), 0))


class _ScrapeReaders(Collector):
    def __init__(self, readers: Sequence[ScrapeReader]) -> None:
        self.readers = readers

    def collect(self) -> Iterable[Metric]:
        failed = GaugeMetricFamily(
            "metrics_scrape_reader_failed",
            "1 when a figure read at scrape time could not be read (it is missing then).",
            labels=["reader"],
        )
        for reader in self.readers:
            try:
                figures = list(reader())
            except Exception as error:
                db.session.rollback()
                log.warning("metrics reader %s failed: %s", reader.__name__, type(error).__name__)
                failed.add_metric([reader.__name__], 1)
                continue
            failed.add_metric([reader.__name__], 0)
            yield from figures
        yield failed


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        for collector in (*_instruments, PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            registry.register(collector)
    registry.register(_ScrapeReaders([_pool_use, *current_app.extensions.get(_READERS, ())]))
    return registry


def _require_token() -> None:
    expected = current_app.config["METRICS_TOKEN"]
    if not expected:
        raise ApiError("not_found", 404)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        raise ApiError("unauthorized", 401, headers={"WWW-Authenticate": "Bearer"})


@bp.get("/metrics")
def metrics() -> Response:
    """The figures in Prometheus' text format (or OpenMetrics, if the scraper asks for it)."""
    _require_token()
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encode(_registry()), content_type=content_type)


def init_app(app: Flask) -> None:
    """After core.logs (its request id comes first); counts every request, refused or not."""
    app.before_request(_started)
    app.after_request(_counted)
    app.register_blueprint(bp)

"""GET /metrics: Prometheus' figures for the operators, and nobody else (issue 17 item 7).

Counters live as long as the test process, so each test compares a figure before and after what
it does.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from core import clock
from core.config import ConfigError, load_config
from notifications.outbox import Draft, write
from tests.core.test_config import STRONG
from tests.core.test_errors import assert_error_shape
from tests.factories import bearer, send_code
from tests.factories.rewards import Scheme
from tests.wsgiserver import serving

TOKEN = "metrics-" + "0123456789abcdef" * 2


@pytest.fixture
def scrape(app, client, monkeypatch):
    """Read /metrics as Prometheus would: {(name, sorted labels): value}."""
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)

    def read() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        response = client.get("/metrics", headers=bearer(TOKEN))
        assert response.status_code == 200, response.get_json()
        return parse(response.get_data(as_text=True))

    return read


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def figure(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_answer_404_in_the_error_shape_while_no_token_is_set(app, client):
    assert app.config["METRICS_TOKEN"] == ""
    assert_error_shape(client.get("/metrics"), 404, "not_found")
    assert_error_shape(client.get("/metrics", headers=bearer("")), 404, "not_found")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        bearer("wrong-token"),
        bearer(TOKEN[:-1]),
        bearer(TOKEN + "x"),
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
    ],
)
def test_metrics_without_the_token_or_with_a_wrong_one_are_401_in_the_error_shape(
    app, client, monkeypatch, headers
):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    response = client.get("/metrics", headers=headers)
    assert_error_shape(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert b"http_requests_total" not in response.data


def test_metrics_with_the_token_are_prometheus_text_and_not_in_the_api_document(client, scrape):
    response = client.get("/metrics", headers=bearer(TOKEN))
    assert response.mimetype == "text/plain"
    assert "# TYPE http_requests_total counter" in response.get_data(as_text=True)
    assert "/metrics" not in client.get("/openapi.json").get_json()["paths"]


def test_requests_are_counted_by_url_rule_method_and_status_class_never_by_raw_path(client, scrape):
    route = {"route": "/api/v1/sites/<int:site_id>", "method": "GET", "status": "4xx"}
    before = scrape()
    for site_id in (987654, 987655, 987656):
        assert client.get(f"/api/v1/sites/{site_id}").status_code == 404
    after = scrape()
    assert figure(after, "http_requests_total", **route) - figure(
        before, "http_requests_total", **route
    ) == pytest.approx(3)
    assert figure(after, "http_request_duration_seconds_count", **route) - figure(
        before, "http_request_duration_seconds_count", **route
    ) == pytest.approx(3)
    routes = {dict(labels).get("route") for _, labels in after}
    assert not any("987654" in str(route) for route in routes)


def test_the_outbox_depth_is_shown_by_state_after_messages_are_written(scrape):
    before = scrape()
    write(
        "mobile_changed",
        [Draft(key=f"metrics:{n}", mobile=f"+8613700009{n:03d}", context={}) for n in range(3)],
        dispatch=False,
    )
    after = scrape()
    pending = figure(after, "outbox_messages", state="pending")
    assert pending - figure(before, "outbox_messages", state="pending") == 3
    assert ("outbox_messages", (("state", "cancelled"),)) in after  # every state, even at 0
    assert figure(after, "metrics_scrape_reader_failed", reader="outbox_depth") == 0


def test_sms_outcomes_are_counted_where_the_dispatcher_records_them(client, sms, daytime, scrape):
    before = scrape()
    assert send_code(client, "13700007001").status_code == 202
    assert send_code(client, "13700007002").status_code == 202
    after = scrape()
    sent = figure(after, "sms_send_outcomes_total", outcome="sent")
    assert sent - figure(before, "sms_send_outcomes_total", outcome="sent") == 2
    assert len(sms) == 2


def test_gate_decisions_are_counted_online_and_offline_by_decision_and_reason(client, sms, scrape):
    scheme = Scheme(client, sms)
    _, gate = scheme.gate()
    online = {"mode": "online", "decision": "deny", "reason": "code_invalid"}
    offline = {"mode": "offline", "decision": "rejected", "reason": "code_invalid"}
    before = scrape()
    assert scheme.verify(gate, "not-a-code")["reason"] == "code_invalid"
    used_at = (clock.local_now() - timedelta(minutes=5)).isoformat()
    uploaded = client.post(
        "/api/v1/gate/offline-uses",
        json={"uses": [{"code": "not-a-code", "used_at": used_at}] * 2},
        headers=gate,
    )
    assert uploaded.status_code == 200, uploaded.get_json()
    after = scrape()
    assert figure(after, "gate_decisions_total", **online) - figure(
        before, "gate_decisions_total", **online
    ) == pytest.approx(1)
    assert figure(after, "gate_decisions_total", **offline) - figure(
        before, "gate_decisions_total", **offline
    ) == pytest.approx(2)


def test_the_database_pool_in_use_is_shown(scrape):
    samples = scrape()
    # The test holds a connection of the pool for its transaction (a file SQLite or PostgreSQL:
    # SQLAlchemy's QueuePool, which tells all three).
    assert figure(samples, "db_pool_size") >= 1
    assert figure(samples, "db_pool_checked_out") >= 1
    assert ("db_pool_overflow", ()) in samples


def test_production_starts_without_a_metrics_token_and_the_endpoint_stays_off():
    app = create_app({"APP_ENV": "production", **STRONG})
    assert app.config["METRICS_TOKEN"] == ""
    assert app.test_client().get("/metrics").status_code == 404


@pytest.mark.parametrize(
    "token", ["short", "a" * 40, STRONG["SECRET_KEY"]], ids=["short", "patterned", "reused"]
)
def test_production_refuses_a_weak_or_reused_metrics_token(token):
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        load_config("production", {**STRONG, "METRICS_TOKEN": token})


def test_production_takes_a_strong_metrics_token():
    token = secrets.token_urlsafe(32)
    assert load_config("production", {**STRONG, "METRICS_TOKEN": token})["METRICS_TOKEN"] == token


def test_several_processes_counts_are_summed_in_multiprocess_mode(database_url, tmp_path):
    """Two server processes (as two gunicorn workers) share PROMETHEUS_MULTIPROC_DIR: a scrape
    of either shows the requests both answered."""
    env = {
        "DATABASE_URL": database_url,
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    route = {"route": "/healthz", "method": "GET", "status": "2xx"}
    with serving(env) as first, serving(env) as second:
        for base, times in ((first, 2), (second, 3)):
            for _ in range(times):
                assert requests.get(f"{base}/healthz", timeout=10).status_code == 200
        for base in (first, second):
            answer = requests.get(f"{base}/metrics", headers=bearer(TOKEN), timeout=10)
            assert answer.status_code == 200
            samples = parse(answer.text)
            # Each waited for its own /healthz before it was used: one more each.
            assert figure(samples, "http_requests_total", **route) >= 2 + 3 + 1

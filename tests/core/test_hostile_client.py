"""Schemathesis over the whole API, in-process (WSGI), as several kinds of caller: no answer is a
5xx, and every answer is one the API document lists for its operation, with the documented
content type and body (issue 18, items 1 and 2), once per role: anonymous, donor, staff,
admin, gate and hospital (issue 17 item 3).

A small run (two cases per operation and phase, about 5,000 requests per role) with a fixed
seed, so it is the same run every time; `scripts/hostile-client` runs the same client with more
cases and a new seed against a real server. It runs on both databases: PostgreSQL is what
refused the NUL characters and the numbers past its columns, and it costs about as much as SQLite.
"""

from __future__ import annotations

import pytest
import schemathesis

from tests import hostile

MAX_EXAMPLES = 2
SEED = 18


@pytest.fixture
def demo(app):
    """The demo's sites, staff, donors and gate (`flask demo load`), as schemathesis meets them."""
    loaded = app.test_cli_runner().invoke(args=["demo", "load"])
    assert loaded.exit_code == 0, loaded.output
    return app


@pytest.mark.committed_db
@pytest.mark.parametrize("role", hostile.ROLES)
def test_no_answer_is_a_server_error_or_off_the_api_document(demo, client, daytime, role):
    spec = client.get("/openapi.json").get_json()
    operations = sum(len(set(ops) - {"parameters"}) for ops in spec["paths"].values())
    schema = schemathesis.openapi.from_wsgi(
        "/openapi.json", demo, config=hostile.settings(MAX_EXAMPLES, seed=SEED)
    )
    hostile.attach_token(schema, hostile.minter(demo, role))

    report = hostile.run(schema, role)

    assert report.operations == operations
    assert report.cases > operations
    found = [str(finding) for finding in report.findings.values()] + report.errors
    assert report.clean, "\n".join(found)

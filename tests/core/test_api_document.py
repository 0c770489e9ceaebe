"""The API document tells the truth about errors (issue 18, item 2).

Its `Error` component said `code` was an integer and `status` a string, the reverse of what the
service sends, and each operation had a catch-all `default` where its error statuses belonged.
Now every operation lists the statuses it can answer, each with the one error shape.
"""

from __future__ import annotations

import jsonschema_rs
import pytest

from core.docs import answers
from tests.factories import bearer, register_donor


@pytest.fixture
def spec(client) -> dict:
    return client.get("/openapi.json").get_json()


def _operations(spec: dict):
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method != "parameters":
                yield path, method, operation


def _error_schema(spec: dict) -> dict:
    return {**spec["components"]["schemas"]["Error"], "components": spec["components"]}


def test_the_error_component_has_the_shape_the_service_sends(spec):
    error = spec["components"]["schemas"]["Error"]
    assert error["properties"]["code"]["type"] == "string"
    assert error["properties"]["status"]["type"] == "integer"
    assert error["properties"]["message"]["type"] == "string"
    assert error["properties"]["errors"]["type"] == "object"
    assert set(error["required"]) == {"code", "status", "message"}


def test_no_operation_hides_its_errors_behind_default(spec):
    assert [(m, p) for p, m, op in _operations(spec) if "default" in op["responses"]] == []


def test_every_error_status_is_documented_with_the_error_shape(spec):
    responses = spec["components"]["responses"]
    for path, method, operation in _operations(spec):
        for status, response in operation["responses"].items():
            if int(status) < 400 or "$ref" not in response:
                continue
            name = response["$ref"].rsplit("/", 1)[1]
            schema = responses[name]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_each_operation_lists_the_statuses_of_its_kind(spec):
    def statuses(path: str, method: str) -> set[str]:
        return set(spec["paths"][path][method]["responses"])

    assert {"400", "503"} <= statuses("/healthz", "get")
    assert {"400", "401", "403", "422"} <= statuses("/api/v1/me/eligibility", "get")
    assert {"404"} <= statuses("/api/v1/sites/{site_id}", "get")
    assert "401" not in statuses("/api/v1/sites/{site_id}", "get")
    assert {"409", "413", "415", "422"} <= statuses("/api/v1/admin/sites", "post")
    assert {"429"} <= statuses("/v/{number}", "get")  # Flask-Limiter's limit, read from it
    assert {"400", "409", "422"} <= statuses("/api/v1/staff/donations", "post")  # idempotent
    assert {"429"} <= statuses("/api/v1/auth/otp", "post")  # declared: the service's limits
    assert {"409"} <= statuses("/api/v1/me/eligibility", "get")  # declared: policy undecided


def test_the_verification_page_is_documented_beside_its_json(spec, client):
    responses = spec["paths"]["/v/{number}"]["get"]["responses"]
    for status in ("200", "404"):
        assert set(responses[status]["content"]) == {"application/json", "text/html"}
    page = client.get("/v/2026-0000-0000-0", headers={"Accept": "text/html"})
    assert (page.status_code, page.mimetype) == (404, "text/html")


def test_error_bodies_the_service_sends_match_the_documented_shape(spec, client, sms):
    donor = register_donor(client, sms)
    headers = bearer(donor["tokens"]["access_token"])
    validator = jsonschema_rs.validator_for(_error_schema(spec))
    answers_sent = [
        client.get("/api/v1/me"),  # 401
        client.get("/api/v1/sites/9999"),  # 404
        client.get("/api/v1/sites?per_page=0"),  # 422 with field messages
        client.get("/api/v1/sites?city=%00"),  # 400 with the location
        client.get("/api/v1/me/eligibility?on=2000-01-01", headers=headers),  # 409 with the rule
        client.post("/api/v1/auth/otp", data="{", content_type="application/json"),  # 400
    ]
    for response in answers_sent:
        assert response.status_code >= 400
        validator.validate(response.get_json())


def test_answers_refuses_a_status_that_does_not_exist():
    with pytest.raises(ValueError):
        answers(499)

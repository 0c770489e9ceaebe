"""The OpenAPI document is generated from the code (item 6)."""

from __future__ import annotations


def test_openapi_document_lists_the_api(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/auth/otp", "/api/v1/donors", "/api/v1/me", "/api/v1/sites", "/healthz"):
        assert path in spec["paths"], path


def test_every_operation_documents_its_responses(client):
    spec = client.get("/openapi.json").get_json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert operation["responses"], (method, path)


def test_protected_operations_declare_bearer_auth(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["paths"]["/api/v1/me"]["get"]["security"] == [{"bearerAuth": []}]
    assert "bearerAuth" in spec["components"]["securitySchemes"]


def test_request_bodies_have_schemas(client):
    spec = client.get("/openapi.json").get_json()
    body = spec["paths"]["/api/v1/donors"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]


def test_interactive_docs_are_served(client):
    response = client.get("/docs")
    assert response.status_code == 200
    assert b"swagger" in response.data.lower()

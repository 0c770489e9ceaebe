"""Family links, built through the API a donor, the station and a hospital use.

- `declare_link(client, donor_headers, relation="spouse", ...)`: POST /me/family; the link as the
  donor reads it (masked), with the relative's plain name and ID number under "plain".
- `upload_proof(client, donor_headers, link_id, data=PNG)`: POST /me/family/{id}/document.
- `verified_link(client, donor_headers, relation="spouse", ...)`: declared, then verified: by an
  administrator from an upload (the default), or by a hospital's cashier (`hospital_headers`,
  tests/factories/hospitals.py) for the relative as its patient. Same return as `declare_link`.

`donor_headers` are the donor's auth headers (`tests.factories.bearer(access_token)`). The
relative's ID number is a fresh valid one unless given; `name` defaults to 李娜.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.factories import bearer, make_staff, resident_id, staff_token

# A file whose bytes begin as a PNG's do: what donors.documents checks (the type is read from the
# bytes, not from the name or the header).
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"%" * 64


def admin_headers(client: FlaskClient) -> dict[str, str]:
    """A fresh station administrator, logged in."""
    return bearer(staff_token(client, make_staff(admin=True)))


def declare_link(
    client: FlaskClient,
    donor_headers: dict[str, str],
    relation: str = "spouse",
    *,
    name: str = "李娜",
    id_number: str | None = None,
) -> dict[str, Any]:
    """A declared link: the donor's view of it, and `plain` {name, id_number} of the relative."""
    id_number = id_number or resident_id("19920315", male=False)
    response = client.post(
        "/api/v1/me/family",
        json={"relation": relation, "name": name, "id_number": id_number},
        headers=donor_headers,
    )
    assert response.status_code == 201, response.get_json()
    return {**response.get_json(), "plain": {"name": name, "id_number": id_number}}


def upload_proof(
    client: FlaskClient, donor_headers: dict[str, str], link_id: int, data: bytes = PNG
) -> Any:
    """POST /me/family/{id}/document with `data` as the multipart field `file`: the response.

    The body is encoded here, in memory: given the file, the test client would spool a body past
    500 kB to a temporary file it leaves open when the app refuses the upload unread."""
    boundary, body = encode_multipart({"file": FileStorage(BytesIO(data), "proof.png")})
    return client.post(
        f"/api/v1/me/family/{link_id}/document",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=donor_headers,
    )


def verified_link(
    client: FlaskClient,
    donor_headers: dict[str, str],
    relation: str = "spouse",
    *,
    document_type: str = "household_register",
    hospital_headers: dict[str, str] | None = None,
    station_headers: dict[str, str] | None = None,
    **declared: Any,
) -> dict[str, Any]:
    """A verified link: declared (`declared` as for `declare_link`), then verified by the
    hospital whose cashier's headers are given, or else from an upload by an administrator
    (`station_headers`, or a new administrator)."""
    link = declare_link(client, donor_headers, relation, **declared)
    if hospital_headers is not None:
        response = client.post(
            f"/api/v1/hospital/family-links/{link['id']}/verify",
            json={
                "document_type": document_type,
                "patient_id_number": link["plain"]["id_number"],
            },
            headers=hospital_headers,
        )
    else:
        uploaded = upload_proof(client, donor_headers, link["id"])
        assert uploaded.status_code == 200, uploaded.get_json()
        response = client.post(
            f"/api/v1/admin/family-links/{link['id']}/verify",
            json={"document_type": document_type},
            headers=station_headers or admin_headers(client),
        )
    assert response.status_code == 200, response.get_json()
    seen = client.get("/api/v1/me/family?per_page=100", headers=donor_headers).get_json()["items"]
    mine = next(item for item in seen if item["id"] == link["id"])
    return {**mine, "plain": link["plain"]}

"""Documents donors upload: a photographed bill, a discharge summary, a household register page.

Checked before they are kept (an allowed type read from the bytes themselves, not the name or
the header the client sends; a size limit), encrypted at rest, and read back only through the
record they support, by whoever may see that record.
"""

from __future__ import annotations

import hashlib

from flask import current_app

from core.errors import ApiError
from core.extensions import db
from donors.models import DonorDocument

# Magic numbers of the types a phone camera or scanner produces.
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)


def content_type_of(data: bytes) -> str | None:
    return next((kind for magic, kind in SIGNATURES if data.startswith(magic)), None)


def store_document(donor_id: int, purpose: str, data: bytes, field: str = "file") -> DonorDocument:
    """Keep an upload for `purpose`; 422 `document_empty`, `document_too_large` (over
    DOCUMENT_MAX_BYTES) or `document_type_not_allowed` (JPEG, PNG and PDF only)."""
    if not data:
        raise ApiError("document_empty", 422, errors={field: ["document_empty"]})
    limit = current_app.config["DOCUMENT_MAX_BYTES"]
    if len(data) > limit:
        raise ApiError("document_too_large", 422, errors={field: ["document_too_large"]})
    content_type = content_type_of(data)
    if content_type is None:
        raise ApiError(
            "document_type_not_allowed", 422, errors={field: ["document_type_not_allowed"]}
        )
    document = DonorDocument(
        donor_id=donor_id,
        purpose=purpose,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content=data,
    )
    db.session.add(document)
    db.session.flush()
    return document

"""Shapes of an admission a hospital reports, and of the answer it gets (the same whoever the
patient is)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from core.schemas import LocalDateTime, StrictSchema
from donors.schemas import ResidentIdField


class AdmissionReportSchema(StrictSchema):
    id_number = ResidentIdField(
        required=True, metadata={"description": "the patient's Resident Identity Card number"}
    )
    ward = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=64), validate.Regexp(r"\s*\S")],
        metadata={"description": "the ward the patient was admitted to (kept encrypted)"},
    )
    admitted_at = LocalDateTime(
        required=True, metadata={"description": "when the patient was admitted, with its offset"}
    )


class AdmissionReceiptSchema(ma.Schema):
    """The report was received: the same shape whether or not the patient is a donor."""

    id = fields.Integer(metadata={"description": "the admission's id; the same for a repeat"})
    admitted_at = LocalDateTime()

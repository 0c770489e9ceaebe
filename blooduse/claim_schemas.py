"""Schemas of claims after the fact and of the import of earlier use: a claim as a multipart
form with its two documents, the claim as the donor and the station read it, the decisions, the
import's file and its row-level report."""

from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from blooduse import claims
from blooduse.models import APPROVED, PAID, REJECTED, SUBMITTED
from blooduse.schemas import ComponentSchema, DrawnWindowSchema
from core.errors import message_for
from core.masking import mask_name
from core.schemas import (
    Date,
    FileField,
    LocalDateTime,
    PageQuerySchema,
    StrictSchema,
    bounded_int,
    computed,
    page_of,
)

MAX_ML = 100_000  # a bill's component, in ml: bounds a typo, no transfusion comes near it
MAX_CENTS = 1_000_000_000
CLAIM_STATUSES = (SUBMITTED, APPROVED, REJECTED, PAID)


class ComponentsField(fields.Field):
    """The components as JSON text in a form field: `[{"component": ..., "volume_ml": ...}]`."""

    MAX_LENGTH = 2000  # twenty components with room to spare

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"type": "string", "maxLength": self.MAX_LENGTH, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[dict]:
        if not isinstance(value, str) or len(value) > self.MAX_LENGTH:
            raise ma.ValidationError("components_invalid")
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if not isinstance(parsed, list) or not 1 <= len(parsed) <= 20:
            raise ma.ValidationError("components_invalid")
        try:
            return ComponentSchema(many=True).load(parsed)
        except ma.ValidationError:
            raise ma.ValidationError("components_invalid") from None


class ClaimFormSchema(StrictSchema):
    """A claim as a multipart form: the bill's facts and the two documents."""

    link_id = bounded_int(
        1,
        2**31 - 1,
        strict=False,
        load_default=None,
        metadata={"description": "a verified relative's link id; omit for the donor themself"},
    )
    bill_number = fields.String(required=True, validate=validate.Length(1, 64))
    hospital_name = fields.String(load_default=None, validate=validate.Length(1, 200))
    hospital_code = fields.String(
        load_default=None,
        validate=validate.Length(1, 32),
        metadata={"description": "a registered hospital's code, if the donor knows it"},
    )
    transfused_on = Date(required=True)
    discharged_on = Date(load_default=None)
    components = ComponentsField(
        required=True,
        metadata={
            "description": 'JSON text: [{"component": "red_cells", "volume_ml": 400}, ...]',
        },
    )
    fee_cents = bounded_int(
        1, MAX_CENTS, strict=False, required=True, metadata={"description": "the blood fee paid"}
    )
    bill_photo = FileField(required=True, metadata={"description": "JPEG, PNG or PDF"})
    discharge_summary = FileField(required=True, metadata={"description": "JPEG, PNG or PDF"})

    @ma.validates_schema
    def names_a_hospital(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("hospital_name") and not data.get("hospital_code"):
            raise ma.ValidationError("field_required", "hospital_name")


class ClaimPatientSchema(ma.Schema):
    kind = fields.String(metadata={"description": "self | relative"})
    link_id = fields.Integer(allow_none=True)
    relation = fields.String(allow_none=True)
    relation_name = fields.String(allow_none=True)


class ClaimDocumentSchema(ma.Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "bill | discharge_summary"})
    content_type = fields.String()
    size = fields.Integer()


class ClaimSchema(ma.Schema):
    """A claim as its donor follows it: the amounts shown at submission are an estimate, drawn
    and fixed at approval."""

    id = fields.Integer()
    status = fields.String(metadata={"description": "submitted | approved | rejected | paid"})
    bill_number = fields.String()
    hospital_name = fields.String()
    patient = computed(fields.Nested(ClaimPatientSchema), claims.patient_of)
    transfused_on = fields.Date()
    discharged_on = fields.Date(allow_none=True)
    components = fields.List(fields.Nested(ComponentSchema))
    volume_ml = fields.Integer()
    fee_cents = fields.Integer()
    covered_ml = fields.Integer(metadata={"description": "ml the entitlement covers"})
    reduction_cents = fields.Integer(
        metadata={"description": "while submitted, what would be granted now; then approved"}
    )
    estimate = computed(fields.Boolean(), lambda claim: claim.status == SUBMITTED)
    windows = computed(
        fields.List(fields.Nested(DrawnWindowSchema)),
        lambda claim: (claim.rule or {}).get("windows", []),
    )
    submitted_at = LocalDateTime(attribute="created_at")
    reviewed_at = LocalDateTime(allow_none=True)
    reject_reason = fields.String(allow_none=True)
    payout_cents = fields.Integer(allow_none=True)
    payout_method = fields.String(allow_none=True)
    payout_reference = fields.String(allow_none=True)
    paid_at = LocalDateTime(allow_none=True)
    documents = computed(fields.List(fields.Nested(ClaimDocumentSchema)), claims.documents_of)


class ReviewedClaimSchema(ClaimSchema):
    """A claim as station staff review it: the donor by id and masked name."""

    donor_id = fields.Integer()
    donor_name = computed(
        fields.String(allow_none=True),
        lambda claim: mask_name(donor.name) if (donor := claims.donor_of(claim)) else None,
    )


ClaimPageSchema = page_of(ClaimSchema, "BloodFeeClaimPage")
ReviewedClaimPageSchema = page_of(ReviewedClaimSchema, "ReviewedBloodFeeClaimPage")


class ClaimQuerySchema(PageQuerySchema):
    status = fields.String(load_default=None, validate=validate.OneOf(CLAIM_STATUSES))


class RejectionSchema(StrictSchema):
    reason = fields.String(
        required=True,
        validate=validate.Length(1, 200),
        metadata={"description": "told to the donor by SMS and in the app"},
    )


class PayoutSchema(StrictSchema):
    amount_cents = bounded_int(1, MAX_CENTS, required=True)
    method = fields.String(required=True, validate=validate.OneOf(claims.PAYOUT_METHODS))
    reference = fields.String(
        required=True,
        validate=validate.Length(1, 64),
        metadata={"description": "the transfer's reference (stored encrypted)"},
    )


# ---------------------------------------------------------------- the import


class ImportFormSchema(StrictSchema):
    file = FileField(
        required=True,
        metadata={
            "description": "CSV, UTF-8 with or without a BOM; columns: "
            "donor_id_number, patient_id_number, relation, hospital_code, hospital_name, "
            "bill_number, transfused_on, volume_ml, fee_cents, reduction_cents, used_ml"
        },
    )


class ImportRowSchema(ma.Schema):
    line = fields.Integer()
    outcome = fields.String(metadata={"description": "imported | skipped | refused"})
    reason = fields.String(allow_none=True)
    message = computed(
        fields.String(allow_none=True),
        lambda row: message_for(row.reason) if row.reason else None,
    )
    column = fields.String(allow_none=True)
    bill_number = fields.String(allow_none=True)
    reduction_id = fields.Integer(allow_none=True)


class ImportReportSchema(ma.Schema):
    imported = fields.Integer()
    skipped = fields.Integer()
    refused = fields.Integer()
    rows = fields.List(fields.Nested(ImportRowSchema))

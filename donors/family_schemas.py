"""Shapes of family links: what a donor declares and reads (the relative masked), what the
station reviews and the verifications hospitals and administrators send."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from core.extensions import db
from core.masking import mask_id_number, mask_name
from core.schemas import FileField, LocalDateTime, PageQuerySchema, StrictSchema, computed, page_of
from donors.family import BY_HOSPITAL, DOCUMENT_TYPES, relation_name
from donors.models import LINK_STATUSES, Donor, FamilyLink
from donors.schemas import ResidentIdField

# Who verified a link, as the donor reads it: a hospital (named) or the blood station (no
# person is named).
VERIFIERS = {BY_HOSPITAL: "hospital", "staff": "station"}


class FamilyLinkCreateSchema(StrictSchema):
    relation = fields.String(
        required=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "a relation code of the region's list (spouse, parent, ...)"},
    )
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    id_number = ResidentIdField(
        required=True, metadata={"description": "the relative's ID number (GB 11643)"}
    )

    @ma.post_load
    def tidy_name(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["name"] = data["name"].strip()
        if not data["name"]:
            raise ma.ValidationError({"name": ["field_empty"]})
        return data


def _document_type_name(link: FamilyLink) -> str | None:
    return DOCUMENT_TYPES.get(link.verified_document_type or "")


class FamilyLinkSchema(ma.Schema):
    """A link as its donor reads it: the relative masked, who verified it (a hospital by name,
    or the station), with which document."""

    id = fields.Integer()
    relation = fields.String()
    relation_name = computed(
        fields.String(allow_none=True, metadata={"description": "in the donor's region's words"}),
        relation_name,
    )
    name = computed(fields.String(allow_none=True), lambda link: mask_name(link.name))
    id_number = computed(
        fields.String(allow_none=True), lambda link: mask_id_number(link.id_number)
    )
    status = fields.String(metadata={"description": " | ".join(LINK_STATUSES)})
    has_document = computed(
        fields.Boolean(metadata={"description": "a proof of the relation was uploaded"}),
        lambda link: link.document_id is not None,
    )
    declared_at = LocalDateTime()
    verified_at = LocalDateTime(allow_none=True)
    verified_by = computed(
        fields.String(allow_none=True, metadata={"description": "hospital | station"}),
        lambda link: VERIFIERS.get(link.verified_by_type or ""),
    )
    verified_by_name = fields.String(
        allow_none=True, metadata={"description": "the verifying hospital's name on the day"}
    )
    document_type = computed(
        fields.String(allow_none=True, metadata={"description": " | ".join(DOCUMENT_TYPES)}),
        lambda link: link.verified_document_type,
    )
    document_type_name = computed(fields.String(allow_none=True), _document_type_name)
    rejected_at = LocalDateTime(allow_none=True)
    reject_reason = fields.String(allow_none=True)
    removed_at = LocalDateTime(allow_none=True)


FamilyLinkPageSchema = page_of(FamilyLinkSchema, "FamilyLinkPage")


def _donor_name(link: FamilyLink) -> str | None:
    donor = db.session.get(Donor, link.donor_id)
    return mask_name(donor.name) if donor else None


class ReviewedFamilyLinkSchema(FamilyLinkSchema):
    """A link as the station reviews it: the donor too, masked."""

    donor_id = fields.Integer()
    donor_name = computed(fields.String(allow_none=True), _donor_name)


ReviewedFamilyLinkPageSchema = page_of(ReviewedFamilyLinkSchema, "ReviewedFamilyLinkPage")


class FamilyLinkQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(LINK_STATUSES))


class FamilyDocumentUploadSchema(StrictSchema):
    file = FileField(
        required=True,
        metadata={"description": "the proof: a JPEG or PNG photo, or a PDF (DOCUMENT_MAX_BYTES)"},
    )


class FamilyLinkVerifySchema(StrictSchema):
    document_type = fields.String(
        required=True,
        validate=validate.OneOf(list(DOCUMENT_TYPES)),
        metadata={"description": "the document seen: " + ", ".join(DOCUMENT_TYPES)},
    )


class HospitalFamilyLinkVerifySchema(FamilyLinkVerifySchema):
    patient_id_number = ResidentIdField(
        required=True,
        metadata={"description": "the patient's ID number: the link's relative, or no link"},
    )


class FamilyLinkRejectSchema(StrictSchema):
    reason = fields.String(
        required=True,
        validate=validate.Length(min=2, max=500),
        metadata={"description": "shown to the donor"},
    )


class HospitalFamilyLinkSchema(ma.Schema):
    """What a hospital learns of the link it verified: the relation, never the donor."""

    id = fields.Integer()
    relation = fields.String()
    relation_name = computed(fields.String(allow_none=True), relation_name)
    status = fields.String()
    verified_at = LocalDateTime(allow_none=True)
    document_type = computed(fields.String(), lambda link: link.verified_document_type)

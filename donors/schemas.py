"""Request and response shapes for donors and their logins."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from core.masking import mask_id_number, mask_mobile
from core.schemas import LocalDateTime, StrictSchema, TokenPairSchema
from donors.identity import IdentityError, ResidentId, parse_mobile, parse_resident_id

CODE_PATTERN = r"^[0-9]{6}$"


class MobileField(fields.String):
    """Input: any common way of writing a CN mobile number. Output to services: E.164."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        raw = super()._deserialize(value, attr, data, **kwargs)
        if len(raw) > 32:
            raise ma.ValidationError("mobile_format")
        try:
            return parse_mobile(raw)
        except IdentityError as exc:
            raise ma.ValidationError(exc.code) from exc


class ResidentIdField(fields.String):
    """Input: an 18-character Resident Identity Card number. Output to services: `ResidentId`."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> ResidentId:
        raw = super()._deserialize(value, attr, data, **kwargs).strip()
        if len(raw) > 32:
            raise ma.ValidationError("id_number_length")
        try:
            return parse_resident_id(raw)
        except IdentityError as exc:
            raise ma.ValidationError(exc.code) from exc


class BloodGroupSchema(StrictSchema):
    abo = fields.String(required=True, validate=validate.OneOf(["A", "B", "O", "AB"]))
    rhd = fields.String(required=True, validate=validate.OneOf(["positive", "negative"]))
    source = fields.String(dump_only=True, metadata={"description": "self_reported or laboratory"})


class OtpRequestSchema(StrictSchema):
    mobile = MobileField(required=True, metadata={"example": "13812345678"})


class OtpSentSchema(ma.Schema):
    expires_in = fields.Integer(metadata={"description": "seconds the code stays valid"})
    resend_after = fields.Integer(metadata={"description": "seconds before another code"})


class LoginSchema(StrictSchema):
    mobile = MobileField(required=True)
    code = fields.String(required=True, validate=validate.Regexp(CODE_PATTERN))


class RegisterSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    id_number = ResidentIdField(required=True, metadata={"example": "360426199101010071"})
    mobile = MobileField(required=True)
    code = fields.String(required=True, validate=validate.Regexp(CODE_PATTERN))
    blood_group = fields.Nested(BloodGroupSchema, allow_none=True)
    city = fields.String(validate=validate.Length(min=1, max=64), allow_none=True)

    @ma.post_load
    def tidy_name(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["name"] = data["name"].strip()
        if not data["name"]:
            raise ma.ValidationError({"name": ["Shorter than minimum length 1."]})
        return data


class DonorSchema(ma.Schema):
    """The donor's own profile: identity numbers are masked even for their owner."""

    id = fields.Integer()
    name = fields.String()
    id_number = fields.Method("masked_id_number")
    mobile = fields.Method("masked_mobile")
    birth_date = fields.Date()
    sex = fields.String()
    blood_group = fields.Method("blood_group_of")
    city = fields.String(allow_none=True)
    region = fields.String()
    status = fields.String()
    created_at = LocalDateTime()

    def masked_id_number(self, donor: Any) -> str | None:
        return mask_id_number(donor.id_number)

    def masked_mobile(self, donor: Any) -> str | None:
        return mask_mobile(donor.mobile)

    def blood_group_of(self, donor: Any) -> dict[str, str] | None:
        if not donor.abo:
            return None
        return {"abo": donor.abo, "rhd": donor.rhd, "source": donor.blood_group_source}


class RegisteredSchema(ma.Schema):
    donor = fields.Nested(DonorSchema)
    tokens = fields.Nested(TokenPairSchema)


class ProfileUpdateSchema(StrictSchema):
    blood_group = fields.Nested(BloodGroupSchema, allow_none=True)
    city = fields.String(validate=validate.Length(min=1, max=64), allow_none=True)


class MobileChangeSchema(StrictSchema):
    mobile = MobileField(required=True)
    code = fields.String(required=True, validate=validate.Regexp(CODE_PATTERN))


class ErasureSchema(StrictSchema):
    code = fields.String(
        required=True,
        validate=validate.Regexp(CODE_PATTERN),
        metadata={"description": "a one-time code sent to the current mobile number"},
    )

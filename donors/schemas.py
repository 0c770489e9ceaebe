"""Request and response shapes for donors and their logins."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from core.errors import message_for
from core.masking import mask_id_number, mask_mobile, mask_name
from core.schemas import Date, LocalDateTime, StrictSchema, bounded_int
from donors.identity import IdentityError, ResidentId, parse_mobile, parse_resident_id
from donors.messages import MESSAGES

CODE_PATTERN = r"^[0-9]{6}$"
CODE = {"maxLength": 6}  # the pattern's length, for the API document


class MobileField(fields.String):
    """Input: any common way of writing a CN mobile number. Output to services: E.164."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metadata = {"maxLength": 32, **self.metadata}

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

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metadata = {"maxLength": 32, **self.metadata}

    # A string in the API document; the parsed value in Python.
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> ResidentId:  # type: ignore[override]
        raw = super()._deserialize(value, attr, data, **kwargs)
        if len(raw) > 32:
            raise ma.ValidationError("id_number_length")
        raw = raw.strip()
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
    code = fields.String(required=True, validate=validate.Regexp(CODE_PATTERN), metadata=CODE)


class RegisterSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    id_number = ResidentIdField(required=True, metadata={"example": "360426199101010071"})
    mobile = MobileField(required=True)
    code = fields.String(required=True, validate=validate.Regexp(CODE_PATTERN), metadata=CODE)
    blood_group = fields.Nested(BloodGroupSchema, allow_none=True)
    city = fields.String(validate=validate.Length(min=1, max=64), allow_none=True)

    @ma.post_load
    def tidy_name(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["name"] = data["name"].strip()
        if not data["name"]:
            raise ma.ValidationError({"name": ["field_empty"]})
        return data


class DonorSchema(ma.Schema):
    """The donor's own profile: identity numbers are masked even for their owner."""

    id = fields.Integer()
    name = fields.String()
    id_number = fields.Method("masked_id_number")
    mobile = fields.Method("masked_mobile")
    birth_date = Date()
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


class RegistrationAcceptedSchema(OtpSentSchema):
    message = fields.String(
        metadata={
            "description": "what happens next: a login code to this number, or, if the ID number"
            " is registered already, a message to the number on record (the answer is the same)"
        }
    )


class MobileAtSiteSchema(StrictSchema):
    site_id = bounded_int(1, 2**31 - 1, required=True)
    id_number = ResidentIdField(required=True)
    id_card_checked = fields.Boolean(
        required=True,
        validate=validate.Equal(True, error=MESSAGES["id_card_not_checked"]),
        metadata={"description": "staff saw the donor's own ID card and it matches"},
    )
    mobile = MobileField(required=True, metadata={"description": "the donor's new number"})
    code = fields.String(
        required=True,
        validate=validate.Regexp(CODE_PATTERN),
        metadata={**CODE, "description": "the code sent to the new number (POST /auth/otp)"},
    )


class ProfileUpdateSchema(StrictSchema):
    blood_group = fields.Nested(BloodGroupSchema, allow_none=True)
    city = fields.String(validate=validate.Length(min=1, max=64), allow_none=True)


class MobileChangeSchema(StrictSchema):
    mobile = MobileField(required=True)
    code = fields.String(required=True, validate=validate.Regexp(CODE_PATTERN), metadata=CODE)


class ErasureSchema(StrictSchema):
    code = fields.String(
        required=True,
        validate=validate.Regexp(CODE_PATTERN),
        metadata={**CODE, "description": "a one-time code sent to the current mobile number"},
    )


# ---------------------------------------------------------------- face check


class Base64Image(fields.String):
    """Input: base64 of a JPEG or PNG (a `data:image/...;base64,` prefix is accepted).
    Output to services: the image's bytes. Its length is bounded by the request's (413)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metadata = {"format": "byte", **self.metadata}

    # A base64 string in the API document; the decoded bytes in Python.
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bytes:  # type: ignore[override]
        text = super()._deserialize(value, attr, data, **kwargs)
        if text.startswith("data:"):
            header, _, text = text.partition(",")
            if not header.endswith(";base64"):
                raise ma.ValidationError("face_image_base64")
        try:
            image = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ma.ValidationError("face_image_base64") from exc
        if not image:
            raise ma.ValidationError("face_image_base64")
        return image


class JsonBoolean(fields.Boolean):
    """true or false only: the text "true" or a 1 is not a donor's decision."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class FaceConsentSchema(StrictSchema):
    version = fields.String(
        required=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "the version of the consent text the donor was shown"},
    )
    agree = JsonBoolean(
        required=True,
        validate=validate.Equal(True),
        metadata={"description": "must be true: the donor ticked the box themselves"},
    )
    device = fields.String(
        validate=validate.Length(max=200),
        allow_none=True,
        metadata={"description": "the app's description of the device (default: User-Agent)"},
    )


class FaceConsentStateSchema(ma.Schema):
    version = fields.String()
    given_at = LocalDateTime()
    current = fields.Boolean(metadata={"description": "false: a newer text awaits consent"})


class FaceConsentTextSchema(ma.Schema):
    version = fields.String()
    text = fields.String()


class FaceStatusSchema(ma.Schema):
    enrolled = fields.Boolean()
    enrolled_at = LocalDateTime(allow_none=True)
    photo_kept = fields.Boolean()
    consent = fields.Nested(FaceConsentStateSchema, allow_none=True)
    consent_text = fields.Nested(
        FaceConsentTextSchema, metadata={"description": "the text to show before consent"}
    )


class FaceEnrolSchema(StrictSchema):
    photo = Base64Image(
        required=True,
        metadata={"description": "base64 of a JPEG or PNG showing only the donor's whole face"},
    )
    keep_photo = JsonBoolean(
        load_default=False,
        metadata={"description": "keep the photo (encrypted) as well as the encoding"},
    )


# Shapes for the staff face-check routes, which sit beside check-in (appointments).


class FaceBurstSchema(StrictSchema):
    frames = fields.List(
        Base64Image(),
        required=True,
        validate=validate.Length(min=1, max=30),
        metadata={"description": "a burst of JPEG frames (about 10/s) in which the donor blinks"},
    )


class FaceIdentifySchema(FaceBurstSchema):
    site_id = bounded_int(1, 2**31 - 1, required=True)


class LivenessSchema(ma.Schema):
    passed = fields.Boolean()
    reason = fields.String(
        metadata={"description": "blink | static_burst | not_continuous | faces_differ | no_blink"}
    )
    message = fields.Method("explain")
    eye_open = fields.Float()
    eye_lowest = fields.Float()

    def explain(self, liveness: Any) -> str:
        return message_for(f"face_live_{liveness.reason}")


class FaceCheckSchema(ma.Schema):
    verified = fields.Boolean(metadata={"description": "match and a live face: accept it"})
    match = fields.Boolean()
    distance = fields.Float()
    threshold = fields.Float()
    liveness = fields.Nested(LivenessSchema)
    frames = fields.Integer()
    frames_used = fields.Integer()
    checked_at = LocalDateTime()


class IdentifiedDonorSchema(ma.Schema):
    """Just enough for staff to ask the donor to confirm: masked name and birth year."""

    id = fields.Integer()
    name = fields.Method("masked_name")
    birth_year = fields.Method("year_of_birth")

    def masked_name(self, donor: Any) -> str | None:
        return mask_name(donor.name)

    def year_of_birth(self, donor: Any) -> int:
        return donor.birth_date.year


class IdentificationSchema(ma.Schema):
    candidate = fields.Nested(IdentifiedDonorSchema, attribute="donor", allow_none=True)
    reason = fields.String(
        metadata={
            "description": "identified | no_candidates | no_match | ambiguous | liveness_failed"
        }
    )
    message = fields.Method("explain")
    distance = fields.Float(allow_none=True)
    margin = fields.Float(allow_none=True)
    liveness = fields.Nested(LivenessSchema)

    def explain(self, result: Any) -> str:
        return message_for(f"face_id_{result.reason}")

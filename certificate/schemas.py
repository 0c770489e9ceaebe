"""Shapes of donations, certificates, eligibility and the donor's card."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from certificate.counts import as_number
from certificate.eligibility import distinct, reaction_on_record
from certificate.models import REACTION_SEVERITIES
from certificate.policy import donation_rules
from certificate.services import printed_din, verification_url
from core.errors import message_for
from core.masking import mask_id_number, mask_name
from core.policy import policy_for
from core.schemas import (
    Date,
    LocalDateTime,
    PageQuerySchema,
    StrictSchema,
    bounded_int,
    computed,
    page_of,
)
from donors.messages import MESSAGES as DONOR_MESSAGES
from donors.schemas import ResidentIdField

REASON_TEXT = fields.String(validate=validate.Length(min=2, max=500))
VOLUME_ML = {
    "description": "ml collected: whole blood 200, 300 or 400; apheresis platelets the collected "
    "volume the apheresis device shows, required beside units (it counts toward the 10 L a "
    "year of platelets and plasma)"
}
UNITS = {"description": "therapeutic units (治疗单位): apheresis platelets 1 or 2"}


class CountsField(fields.Number):
    """Award counts as a JSON number: 20, or 1.5 for a 300 ml whole-blood donation."""

    num_type = float

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> int | float | None:
        return None if value is None else as_number(value)


class DonorRefSchema(StrictSchema):
    id_number = ResidentIdField(required=True)


class ReactionCreateSchema(StrictSchema):
    severity = fields.String(
        required=True,
        validate=validate.OneOf(REACTION_SEVERITIES),
        metadata={
            "description": "the donation reaction (献血反应): " + ", ".join(REACTION_SEVERITIES)
        },
    )
    note = fields.String(
        validate=validate.Length(min=1, max=500),
        allow_none=True,
        metadata={"description": "health data: shown to staff only, never logged"},
    )


class DonationCreateSchema(StrictSchema):
    site_id = bounded_int(1, 2**31 - 1, required=True)
    donor = fields.Nested(DonorRefSchema, metadata={"description": "or give visit_id"})
    visit_id = bounded_int(
        1, 2**31 - 1, metadata={"description": "the donor's check-in visit; or give donor"}
    )
    kind = fields.String(required=True, validate=validate.Length(min=1, max=32))
    volume_ml = bounded_int(1, 2000, allow_none=True, metadata=VOLUME_ML)
    units = bounded_int(1, 10, allow_none=True, metadata=UNITS)
    collected_at = LocalDateTime(
        metadata={"description": "when the blood was collected; omit for now (the service's clock)"}
    )
    din = fields.String(
        validate=validate.Length(min=14, max=24),
        allow_none=True,
        metadata={"description": "scanned DIN; omit to have one generated"},
    )
    override_reason = fields.String(validate=validate.Length(min=2, max=500), allow_none=True)
    reaction = fields.Nested(
        ReactionCreateSchema,
        metadata={"description": "a donation reaction seen at collection; may also come later"},
    )

    @ma.validates_schema
    def donor_or_visit(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("donor" in data) == ("visit_id" in data):
            raise ma.ValidationError("donation_donor_or_visit", "visit_id")


class DonationCorrectionSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=2, max=500))
    override_reason = fields.String(
        validate=validate.Length(min=2, max=500),
        allow_none=True,
        metadata={"description": "record it although an interval or yearly cap refuses it"},
    )
    kind = fields.String(validate=validate.Length(min=1, max=32))
    volume_ml = bounded_int(1, 2000, allow_none=True, metadata=VOLUME_ML)
    units = bounded_int(1, 10, allow_none=True, metadata=UNITS)
    collected_at = LocalDateTime()


class VoidSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=2, max=500))


class SiteRefSchema(ma.Schema):
    """Where a `Donation` was given: the facility code on record, the site's name if known."""

    facility_code = fields.String()
    name = computed(
        fields.String(allow_none=True),
        lambda donation: donation.site.name if donation.site else None,
    )


class CertificateSchema(ma.Schema):
    """A `Certificate` as its donor sees it, with its donation."""

    number = fields.String()
    issued_at = LocalDateTime()
    status = fields.String(attribute="donation.status", metadata={"description": "valid or voided"})
    kind = fields.String(attribute="donation.kind")
    kind_name = computed(
        fields.String(),
        lambda certificate: _kind_name(certificate.donation.region, certificate.donation.kind),
    )
    volume_ml = fields.Integer(attribute="donation.volume_ml", allow_none=True)
    units = fields.Integer(attribute="donation.units", allow_none=True)
    donation_date = Date(attribute="donation.donation_date")
    collected_at = LocalDateTime(attribute="donation.collected_at")
    site = fields.Nested(SiteRefSchema, attribute="donation")
    din = computed(fields.String(), lambda certificate: printed_din(certificate.donation))
    verify_url = computed(fields.String(), lambda certificate: verification_url(certificate.number))
    kid = fields.String()
    signed_token = fields.String(metadata={"description": "compact JWS (EdDSA); see the JWKS"})


CertificatePageSchema = page_of(CertificateSchema, "CertificatePage")


class ReactionSchema(ma.Schema):
    """A donation's reaction as staff see it in lists and answers (the note stays out)."""

    severity = fields.String(metadata={"description": ", ".join(REACTION_SEVERITIES)})
    recorded_at = LocalDateTime()
    has_note = fields.Boolean()


class StaffReactionSchema(ReactionSchema):
    note = fields.String(allow_none=True, metadata={"description": "health data"})


class DonationSchema(ma.Schema):
    """A `Donation` as staff and administrators see it."""

    id = fields.Integer()
    donor_id = fields.Integer()
    site_id = fields.Integer()
    kind = fields.String()
    volume_ml = fields.Integer(allow_none=True, metadata=VOLUME_ML)
    units = fields.Integer(allow_none=True, metadata=UNITS)
    collected_at = LocalDateTime()
    donation_date = Date()
    din = computed(fields.String(), printed_din)
    status = fields.String()
    replaces_id = fields.Integer(allow_none=True)
    override_reason = fields.String(allow_none=True)
    reaction = fields.Nested(
        ReactionSchema,
        allow_none=True,
        metadata={"description": "the donation reaction recorded on it (null: none recorded)"},
    )
    certificate = fields.Nested(CertificateSchema, allow_none=True)


class StaffDonationSchema(DonationSchema):
    """One donation as staff of its site see it, the reaction's note included (access logged)."""

    reaction = fields.Nested(StaffReactionSchema, allow_none=True)


class ReasonSchema(ma.Schema):
    code = fields.String(metadata={"description": "stable reason code, e.g. interval"})
    message = computed(
        fields.String(metadata={"description": "the reason in the caller's language"}),
        lambda reason: message_for(reason.code),
    )
    until = Date(
        allow_none=True, metadata={"description": "the first day it no longer applies, if known"}
    )


class NotEligibleErrorsSchema(ma.Schema):
    eligibility = fields.List(
        fields.Nested(ReasonSchema),
        metadata={"description": "the reasons, as the reasons of GET /me/eligibility"},
    )


class NotEligibleSchema(ma.Schema):
    """409 donor_not_eligible: the rules refuse the donation; an override_reason records it."""

    code = fields.String(metadata={"description": "donor_not_eligible"})
    status = fields.Integer()
    message = fields.String()
    errors = fields.Nested(NotEligibleErrorsSchema)


class EligibilitySchema(ma.Schema):
    """An `Eligibility`; two rules giving the same answer say it once."""

    kind = fields.String()
    kind_name = computed(fields.String(), lambda result: _kind_name(result.region, result.kind))
    on = Date()
    allowed = fields.Boolean()
    earliest_date = Date(allow_none=True)
    reasons = computed(
        fields.List(fields.Nested(ReasonSchema)), lambda result: distinct(result.reasons)
    )


def _kind_name(region: str, kind: str) -> str:
    return donation_rules(policy_for(region)).kind_name(kind)


class EligibilityListSchema(ma.Schema):
    region = fields.String()
    on = Date()
    kinds = fields.List(fields.Nested(EligibilitySchema))


class EligibilityQuerySchema(StrictSchema):
    on = Date(metadata={"description": "the date to ask about; today by default"})


class KindTotalsSchema(ma.Schema):
    donations = fields.Integer()
    volume_ml = fields.Integer(
        metadata={
            "description": "ml as recorded (whole blood: the volume given; apheresis: the "
            "collected volume the device showed); imported records without a volume add nothing"
        }
    )
    units = fields.Integer(metadata={"description": "therapeutic units (apheresis platelets)"})


class HistoryWaySchema(ma.Schema):
    way = fields.String(metadata={"description": "donation_number or id_card_at_site"})
    message = fields.String()
    path = fields.String(
        allow_none=True, metadata={"description": "the route that takes the proof, if any"}
    )


class HistoryToConfirmSchema(ma.Schema):
    """Imported records wait for the donor's claim; nothing about them shows before it."""

    message = fields.String()
    ways = fields.List(fields.Nested(HistoryWaySchema))


class StaffDonorLookupSchema(StrictSchema):
    id_number = ResidentIdField(required=True)
    site_id = bounded_int(1, 2**31 - 1, required=True)


class StaffDonorViewSchema(ma.Schema):
    id = fields.Integer()
    name = fields.Function(lambda d: mask_name(d.name))
    id_number = fields.Function(lambda d: mask_id_number(d.id_number))
    birth_year = fields.Function(lambda d: d.birth_date.year)
    sex = fields.String()
    blood_group = fields.Function(
        lambda d: {"abo": d.abo, "rhd": d.rhd, "source": d.blood_group_source} if d.abo else None
    )
    status = fields.String()
    reaction_on_record = fields.Function(
        lambda d: reaction_on_record(d.id),
        metadata={
            "description": "a donation reaction other than none is on record: the donor is "
            "not extended past the first-time age limit"
        },
    )


class StaffDonorLookupResultSchema(ma.Schema):
    donor = fields.Nested(StaffDonorViewSchema)
    eligibility = fields.List(fields.Nested(EligibilitySchema))


class DeferralCreateSchema(StrictSchema):
    site_id = bounded_int(1, 2**31 - 1, required=True)
    donor_id = bounded_int(1, 2**31 - 1, required=True)
    reason_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    anchor_date = Date(
        metadata={"description": "the event, recovery or last-dose date the period counts from"}
    )
    until = Date(metadata={"description": "override the policy's period"})
    permanent = fields.Boolean(load_default=False)


class DeferralSchema(ma.Schema):
    id = fields.Integer()
    donor_id = fields.Integer()
    site_id = fields.Integer()
    reason_code = fields.String()
    starts_on = Date()
    until = Date(allow_none=True)
    applies_to = fields.List(fields.String(), allow_none=True)
    recorded_at = LocalDateTime()
    lifted_at = LocalDateTime(allow_none=True)


class HistoryClaimSchema(StrictSchema):
    din = fields.String(required=True, validate=validate.Length(min=13, max=24))


class HistoryClaimResultSchema(ma.Schema):
    claimed_donations = fields.Integer()


class CertificateListQuerySchema(PageQuerySchema):
    pass


class VerificationQuerySchema(ma.Schema):
    """What a verification link may carry besides the number; anything else (a messenger's
    tracking parameters) is ignored, so a shared link still opens."""

    class Meta:
        unknown = ma.EXCLUDE

    k = fields.String(
        validate=validate.Length(max=64),
        metadata={"description": "the key an old sequential number's QR code and app link carry"},
    )


class VerificationSchema(ma.Schema):
    status = fields.String(metadata={"description": "valid, voided, or invalid (signature)"})
    signature = fields.String(metadata={"description": "valid: the signature checks out"})
    detailed = fields.Boolean(
        metadata={
            "description": "false: an old sequential number without the key of its QR code;"
            " only the status is shown"
        }
    )
    certificate = fields.Dict(
        metadata={"description": "the masked facts as signed (the number alone if not detailed)"}
    )
    kid = fields.String()
    signed_token = fields.String(allow_none=True)


# ---------------------------------------------------------------- imported history at a site


class StaffHistoryClaimSchema(StrictSchema):
    site_id = bounded_int(1, 2**31 - 1, required=True)
    id_number = ResidentIdField(required=True)
    id_card_checked = fields.Boolean(
        required=True,
        validate=validate.Equal(True, error=DONOR_MESSAGES["id_card_not_checked"]),
        metadata={"description": "staff saw the donor's own ID card and it matches"},
    )


class StaffHistoryClaimResultSchema(ma.Schema):
    donor = fields.Nested(StaffDonorViewSchema)
    claimed_donations = fields.Integer(
        metadata={"description": "imported donations now on the donor's record"}
    )


# ---------------------------------------------------------------- codes a client can discover


class DeferralReasonQuerySchema(PageQuerySchema):
    region = fields.String(
        validate=validate.Length(min=1, max=32),
        metadata={"description": "policy region (default: the service's default region)"},
    )
    on = Date(metadata={"description": "the standard in force on this date; default today"})


class DeferralReasonSchema(ma.Schema):
    """A reason code for `POST /staff/deferrals`, as the health standard defines it."""

    code = fields.String(metadata={"description": "give as reason_code"})
    name_zh = fields.String()
    period = fields.String(
        allow_none=True,
        metadata={
            "description": "ISO 8601 period (P7D, P6M); null: staff give the end date "
            "(pregnancy, an incubation period)"
        },
    )
    also_before = fields.String(
        allow_none=True,
        metadata={"description": "also this long before the anchor date (menstruation)"},
    )
    anchor = fields.String(
        metadata={
            "description": "what the period counts from: recovery, event, last_dose, "
            "period_end or ongoing (the anchor_date staff give)"
        }
    )
    applies_to = fields.List(
        fields.String(),
        allow_none=True,
        metadata={"description": "donation kinds it defers; null: every kind"},
    )
    source = fields.String()


class HealthStandardSchema(ma.Schema):
    id = fields.String()
    effective_from = Date()
    effective_to = Date(allow_none=True)
    source = fields.String()


# page_of makes the base class when the module loads, which a type checker cannot follow.
class DeferralReasonPageSchema(page_of(DeferralReasonSchema, "DeferralReasonItems")):  # type: ignore[misc]
    region = fields.String()
    on = Date()
    standard = fields.Nested(HealthStandardSchema)

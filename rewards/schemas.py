"""Shapes of the three frees, benefit codes, gate decisions, operators, devices and usage."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from certificate.counts import from_halves
from certificate.schemas import CountsField
from core.extensions import db
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
from rewards.benefits import RegionBenefits
from rewards.codes import MAX_CODE_LENGTH
from rewards.cycles import exclusions_of
from rewards.gates import CATEGORIES
from rewards.models import (
    AwardGrant,
    BenefitHolding,
)
from rewards.rules import award_names

REGION = fields.String(validate=validate.Length(min=1, max=32))
REASON = fields.String(required=True, validate=validate.Length(min=2, max=500))


# ---------------------------------------------------------------- awards


class AwardCreateSchema(StrictSchema):
    award = fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={
            "description": "bronze, silver, gold, lifetime_honor or an honour the policy names"
        },
    )
    region = fields.String(
        required=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "the region where the award was won"},
    )
    period = fields.String(
        required=True,
        validate=validate.Length(min=4, max=9),
        metadata={"description": "the years the decision covers, e.g. 2022-2023"},
    )
    decision = fields.String(
        required=True,
        validate=validate.Length(min=2, max=200),
        metadata={"description": "the decision conferring it, e.g. 国卫医急发〔2025〕11号"},
    )
    awarded_on = Date(required=True)
    reason = fields.String(
        validate=validate.Length(min=2, max=500),
        metadata={
            "description": "required when the donor's record at the award date does not support"
            " the award (422 award_not_supported_by_record otherwise); kept and audited"
        },
    )


def _award_name(grant: AwardGrant) -> str:
    return award_names(policy_for(grant.region)).get(grant.award, grant.award)


class AwardSchema(ma.Schema):
    """An award record, its name as the region's policy gives it."""

    id = fields.Integer()
    award = fields.String()
    award_name = computed(fields.String(), _award_name)
    region = fields.String()
    period = fields.String()
    decision = fields.String()
    awarded_on = Date()
    source = fields.String(metadata={"description": "admin or import"})
    recorded_at = LocalDateTime()
    revoked_at = LocalDateTime(allow_none=True)
    revoke_reason = fields.String(allow_none=True)
    cycle_id = fields.Integer(
        allow_none=True, metadata={"description": "the award cycle whose list granted it"}
    )
    unsupported_reason = fields.String(
        allow_none=True,
        metadata={"description": "why it was granted though the record did not support it"},
    )
    review_flagged_at = LocalDateTime(
        allow_none=True,
        metadata={"description": "a voided donation left the record short of it: review it"},
    )
    review_reason = fields.String(allow_none=True, metadata={"description": "what changed"})
    review_cleared_at = LocalDateTime(allow_none=True)
    review_note = fields.String(allow_none=True)


AwardPageSchema = page_of(AwardSchema, "AwardPage")


class RevokeSchema(StrictSchema):
    reason = REASON


class ClearFlagSchema(StrictSchema):
    note = fields.String(
        required=True,
        validate=validate.Length(min=2, max=500),
        metadata={"description": "what the review found: why the award stands"},
    )


# ---------------------------------------------------------------- award cycles


class CycleCreateSchema(StrictSchema):
    scheme = fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={
            "description": "dedication (the national tiers: bronze, silver, gold, the lifetime"
            " honour) or a region award with criteria, e.g. zhejiang_dedication"
        },
    )
    region = fields.String(required=True, validate=validate.Length(min=1, max=32))
    period = fields.String(
        required=True,
        validate=validate.Length(min=4, max=9),
        metadata={"description": "the years the decision covers, e.g. 2024-2025"},
    )
    cut_off = Date(
        required=True,
        metadata={"description": "the record is read on this day (not in the future)"},
    )


class CycleQuerySchema(PageQuerySchema):
    region = REGION
    status = fields.String(validate=validate.OneOf(["open", "confirmed"]))


class CycleExclusionSchema(StrictSchema):
    donor_id = bounded_int(1, 2**31 - 1, required=True)
    reason = REASON


class CycleConfirmSchema(StrictSchema):
    decision = fields.String(
        required=True,
        validate=validate.Length(min=2, max=200),
        metadata={"description": "the decision's document number, e.g. 国卫医急发〔2025〕11号"},
    )
    awarded_on = Date(required=True, metadata={"description": "not before the cut-off"})
    exclusions = fields.List(
        fields.Nested(CycleExclusionSchema),
        load_default=list,
        validate=validate.Length(max=1000),
        metadata={"description": "nominated donors left out, each with a reason"},
    )


class CycleExclusionOutSchema(ma.Schema):
    donor_id = fields.Integer()
    reason = fields.String()


class CycleSchema(ma.Schema):
    """An award cycle: open (nominations read off the record at the cut-off) or confirmed."""

    id = fields.Integer()
    scheme = fields.String()
    region = fields.String()
    period = fields.String()
    cut_off = Date()
    status = fields.String(metadata={"description": "open or confirmed"})
    opened_at = LocalDateTime()
    decision = fields.String(allow_none=True)
    awarded_on = Date(allow_none=True)
    granted = fields.Integer(allow_none=True, metadata={"description": "awards granted"})
    confirmed_at = LocalDateTime(allow_none=True)
    exclusions = computed(fields.List(fields.Nested(CycleExclusionOutSchema)), exclusions_of)


CyclePageSchema = page_of(CycleSchema, "AwardCyclePage")


def _nominee_name(row: Any) -> str | None:
    return mask_name(row.name)


def _nominee_id_number(row: Any) -> str | None:
    return mask_id_number(row.id_number)


def _nominated_award_name(row: Any) -> str:
    return award_names(policy_for(row.region)).get(row.award, row.award)


def _nominated_counts(row: Any) -> Fraction | None:
    return None if row.half_counts is None else from_halves(row.half_counts)


class NominationSchema(ma.Schema):
    """A donor the record qualifies for an award they do not hold (masked, as staff see donors)."""

    donor_id = fields.Integer()
    name = computed(fields.String(allow_none=True), _nominee_name)
    id_number = computed(fields.String(allow_none=True), _nominee_id_number)
    award = fields.String()
    award_name = computed(fields.String(), _nominated_award_name)
    occurrence = fields.Integer(metadata={"description": "which time (the 2nd gold: 2)"})
    counts = computed(
        CountsField(allow_none=True, metadata={"description": "the national tiers"}),
        _nominated_counts,
    )
    volume_ml = fields.Integer(
        allow_none=True, metadata={"description": "a region award by volume"}
    )


NominationPageSchema = page_of(NominationSchema, "AwardNominationPage")


# ---------------------------------------------------------------- the donor's view


def _award_of(row: BenefitHolding) -> AwardGrant | None:
    return db.session.get(AwardGrant, row.award_grant_id) if row.award_grant_id else None


class HoldingSchema(ma.Schema):
    """A benefit holding, with the award it rests on (by the award route)."""

    route = fields.String(metadata={"description": "national_award or region_donation_count"})
    since = LocalDateTime()
    award = computed(fields.Nested(AwardSchema, allow_none=True), _award_of)


class BenefitItemSchema(ma.Schema):
    kind = fields.String()
    name = fields.String()
    held = fields.Boolean()


class AwardNameSchema(ma.Schema):
    award = fields.String()
    name = fields.String()


class PlanPartSchema(ma.Schema):
    donations = fields.Integer()
    amount = fields.Integer(metadata={"description": "in the step's unit (ml or units)"})


class NextStepSchema(ma.Schema):
    kind = fields.String()
    kind_name = fields.String()
    amount = fields.Integer(metadata={"description": "the amount of the plan's first donations"})
    unit = fields.String()
    donations = fields.Integer(metadata={"description": "the fewest donations that close the gap"})
    plan = fields.List(
        fields.Nested(PlanPartSchema),
        metadata={
            "description": "how many of which amount: all but the last of the amount that "
            "counts most, the last the smallest that still closes the gap"
        },
    )


class UncountedSchema(ma.Schema):
    """A donation the rules give no settled count yet (certificate's CountedDonation)."""

    donation_date = Date(attribute="donation.donation_date")
    kind = fields.String(attribute="donation.kind")
    amount = computed(fields.Integer(), lambda item: item.donation.amount[0])
    unit = computed(fields.String(), lambda item: item.donation.amount[1])
    question = fields.String(
        attribute="open_question", metadata={"description": "why the rules give it no count yet"}
    )


class RouteSchema(ma.Schema):
    """A route to the three frees (rewards.benefits: AwardRouteProgress or CountRouteProgress);
    each shows only its own fields."""

    route = fields.String()
    met = fields.Boolean()
    question = fields.String(allow_none=True)
    # national_award
    awards_accepted = fields.List(fields.Nested(AwardNameSchema))
    won_in_region = fields.Boolean(attribute="rule.won_in_region", allow_none=True)
    awards_held = fields.List(fields.Nested(AwardSchema))
    # region_donation_count
    on_application = fields.Boolean()
    counted = CountsField(
        metadata={"description": "counts by the national award rules (300 ml of whole blood: 1.5)"}
    )
    required = CountsField(allow_none=True)
    remaining = CountsField(allow_none=True)
    can_apply = fields.Boolean()
    next_steps = fields.List(fields.Nested(NextStepSchema))
    not_yet_counted = fields.List(fields.Nested(UncountedSchema))
    message = fields.String(allow_none=True)


def _benefit_items(region: RegionBenefits) -> list[dict[str, Any]]:
    benefits = region.edition.benefits if region.edition else ()
    return [{"kind": b.kind, "name": b.name_zh, "held": region.held} for b in benefits]


class RegionBenefitsSchema(ma.Schema):
    """A region's three frees for the donor (rewards.benefits.RegionBenefits)."""

    region = fields.String()
    region_name = fields.String(attribute="policy.name_zh")
    name = computed(
        fields.String(allow_none=True), lambda r: r.section.name_zh if r.section else None
    )
    legal_basis = computed(
        fields.String(allow_none=True), lambda r: r.section.legal_basis if r.section else None
    )
    credential = computed(
        fields.String(allow_none=True), lambda r: r.section.credential if r.section else None
    )
    held = fields.Boolean()
    holdings = fields.List(fields.Nested(HoldingSchema))
    benefits = computed(fields.List(fields.Nested(BenefitItemSchema)), _benefit_items)
    routes = fields.List(fields.Nested(RouteSchema))


class BenefitsSchema(ma.Schema):
    regions = fields.List(fields.Nested(RegionBenefitsSchema))


class ApplicationSchema(StrictSchema):
    region = fields.String(
        validate=validate.Length(min=1, max=32),
        metadata={"description": "the region applied to; the donor's region by default"},
    )


class ApplicationResultSchema(ma.Schema):
    outcome = fields.String(metadata={"description": "granted, refused or already_held"})
    benefits = fields.Nested(RegionBenefitsSchema)


class BenefitCodeQuerySchema(StrictSchema):
    region = fields.String(validate=validate.Length(min=1, max=32))


class BenefitCodeSchema(ma.Schema):
    """A minted `BenefitCode`."""

    code = fields.String(metadata={"description": "compact JWS (EdDSA, typ benefit+jwt)"})
    region = fields.String()
    kinds = fields.List(fields.String())
    expires_at = LocalDateTime()
    expires_in = fields.Integer()


# ---------------------------------------------------------------- gates


class GateVerifySchema(StrictSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=MAX_CODE_LENGTH))


class GateDecisionSchema(ma.Schema):
    decision = fields.String(metadata={"description": "allow or deny"})
    reason = fields.String(
        metadata={
            "description": "allowed, code_invalid, code_expired, wrong_region, wrong_kind, "
            "not_held or replayed"
        }
    )
    message = fields.String()
    benefit_kind = fields.String()
    name = fields.String(allow_none=True, metadata={"description": "masked: surname only"})
    checked_at = LocalDateTime()


class OfflineKitSchema(ma.Schema):
    region = fields.String()
    benefit_kind = fields.String()
    token_code = fields.String(metadata={"description": "the letter codes carry for this benefit"})
    code_ttl = fields.Integer()
    jwks = fields.Dict(metadata={"description": "as /.well-known/jwks.json"})
    server_time = LocalDateTime(
        metadata={
            "description": "the server's clock when the kit was made: check expiry by it "
            "(the offset from the gate's own clock at download), not by the gate's clock"
        }
    )
    valid_until = LocalDateTime(
        metadata={
            "description": "check codes offline with this kit until then (server time; the "
            "offline upload window after download), then reconnect for a new one"
        }
    )
    clock_skew = fields.Integer(
        metadata={"description": "seconds of clock drift allowed on a code's expiry offline"}
    )
    batch_max = fields.Integer(metadata={"description": "most uses in one POST /gate/offline-uses"})


class OfflineUseSchema(StrictSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=MAX_CODE_LENGTH))
    used_at = LocalDateTime(required=True)


# No upload is longer, whatever BENEFIT_OFFLINE_BATCH_MAX (the operational limit, 500) says.
MAX_OFFLINE_USES = 10_000


class OfflineUploadSchema(StrictSchema):
    uses = fields.List(
        fields.Nested(OfflineUseSchema),
        required=True,
        validate=validate.Length(max=MAX_OFFLINE_USES),
    )


class OfflineResultSchema(ma.Schema):
    index = fields.Integer()
    jti = fields.String()
    outcome = fields.String(metadata={"description": "recorded, duplicate or rejected"})
    reason = fields.String()


class OfflineUploadResultSchema(ma.Schema):
    recorded = fields.Integer()
    duplicate = fields.Integer()
    rejected = fields.Integer()
    results = fields.List(fields.Nested(OfflineResultSchema))


# ---------------------------------------------------------------- operators and devices


class OperatorCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    region = fields.String(required=True, validate=validate.Length(min=1, max=32))
    benefit_kind = fields.String(required=True, validate=validate.Length(min=1, max=64))
    contact = fields.String(validate=validate.Length(max=200), allow_none=True)


class OperatorSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    category = fields.String()
    region = fields.String()
    benefit_kind = fields.String()
    contact = fields.String(allow_none=True)
    active = fields.Boolean()
    created_at = LocalDateTime()
    deactivated_at = LocalDateTime(allow_none=True)


OperatorPageSchema = page_of(OperatorSchema, "GateOperatorPage")


class OperatorQuerySchema(PageQuerySchema):
    region = REGION


class DeviceCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    location = fields.String(validate=validate.Length(max=200), allow_none=True)


class DeviceSchema(ma.Schema):
    """A gate device: its credential and its binding (rewards.gates.BoundDevice, or an
    IssuedDevice, which alone carries the secret)."""

    client_id = fields.String(attribute="device.client_id")
    client_secret = fields.String(metadata={"description": "shown once, on creation or rotation"})
    name = fields.String(attribute="device.name")
    location = fields.String(attribute="link.location", allow_none=True)
    operator_id = fields.Integer(attribute="link.operator_id")
    benefit_kind = fields.String(attribute="device.benefit_kind")
    active = fields.Boolean(attribute="device.active")
    created_at = LocalDateTime(attribute="device.created_at")
    secret_rotated_at = LocalDateTime(attribute="device.secret_rotated_at", allow_none=True)
    revoked_at = LocalDateTime(attribute="device.revoked_at", allow_none=True)


DevicePageSchema = page_of(DeviceSchema, "GateDevicePage")


# ---------------------------------------------------------------- usage


class GateUsageQuerySchema(PageQuerySchema):
    from_ = Date(required=True, data_key="from", metadata={"description": "first day"})
    to = Date(required=True, metadata={"description": "last day (inclusive)"})


class GateUsageCsvQuerySchema(StrictSchema):
    from_ = Date(required=True, data_key="from", metadata={"description": "first day"})
    to = Date(required=True, metadata={"description": "last day (inclusive)"})


class UsageQuerySchema(GateUsageQuerySchema):
    operator_id = bounded_int(1, 2**31 - 1, strict=False)


class UsageCsvQuerySchema(GateUsageCsvQuerySchema):
    operator_id = bounded_int(1, 2**31 - 1, strict=False)


class UsageRowSchema(ma.Schema):
    day = Date()
    operator_id = fields.Integer()
    operator_name = fields.String()
    benefit_kind = fields.String()
    uses = fields.Integer()
    online = fields.Integer()
    offline = fields.Integer()


UsagePageSchema = page_of(UsageRowSchema, "BenefitUsagePage")


# ---------------------------------------------------------------- honours (rewards.honours)


class TierReachedSchema(ma.Schema):
    """A national tier reached on the record (not yet an award: awards come by decision)."""

    tier = fields.String(metadata={"description": "bronze, silver, gold or lifetime_honor"})
    name = fields.String()
    occurrence = fields.Integer(metadata={"description": "the n-th time (golds repeat)"})
    reached_on = Date(metadata={"description": "the date of the donation that crossed it"})
    at_counts = CountsField(metadata={"description": "the cumulative counts it was reached at"})


class NextTierSchema(ma.Schema):
    """The next tier on the record and exactly what is missing."""

    tier = fields.String()
    name = fields.String()
    occurrence = fields.Integer()
    with_lifetime_honor = fields.Boolean(
        metadata={"description": "this gold is the one that brings the lifetime honour"}
    )
    required = CountsField(metadata={"description": "counts this tier needs (a gold: 40 anew)"})
    counted = CountsField(metadata={"description": "counts towards it so far"})
    missing = CountsField()
    next_steps = fields.List(
        fields.Nested(NextStepSchema),
        metadata={
            "description": "per kind, the fewest donations that close the gap: of the largest "
            "allowed amount, the last the smallest that still closes it"
        },
    )
    message = fields.String()


class RegionAwardSchema(ma.Schema):
    """A region's own award: reached on the record where the policy gives criteria; otherwise
    a name an administrator grants by decision."""

    award = fields.String(attribute="award.code")
    name = fields.String()
    region = fields.String()
    region_name = fields.String()
    has_criteria = fields.Boolean()
    reached = fields.Boolean()
    reached_on = Date(allow_none=True)
    rare_blood = fields.Boolean(
        metadata={"description": "the donor's laboratory blood group counts as rare here"}
    )
    counted_ml = fields.Integer(allow_none=True)
    required_ml = fields.Integer(allow_none=True)
    missing_ml = fields.Integer(allow_none=True)
    next_steps = fields.List(fields.Nested(NextStepSchema))
    message = fields.String()


class HonoursSchema(ma.Schema):
    """The donor's honours (rewards.honours.DonorHonours)."""

    counted = CountsField(
        metadata={"description": "counts by the national award rules, every region"}
    )
    tiers = fields.List(fields.Nested(TierReachedSchema))
    highest = fields.Nested(TierReachedSchema, allow_none=True)
    next = fields.Nested(NextTierSchema, allow_none=True)
    region_awards = fields.List(fields.Nested(RegionAwardSchema))
    awards_granted = fields.List(
        fields.Nested(AwardSchema),
        metadata={"description": "awards conferred by decision (revoked records left out)"},
    )
    not_yet_counted = fields.List(fields.Nested(UncountedSchema))


class NextTierSummarySchema(ma.Schema):
    """The next tier in short: which, and how many counts are missing."""

    tier = fields.String()
    name = fields.String()
    occurrence = fields.Integer()
    missing = CountsField()
    message = fields.String()


class HonoursSummarySchema(ma.Schema):
    """The card's line on honours (rewards.honours.HonoursSummary); GET /me/honours has the rest."""

    counted = CountsField()
    highest = fields.Nested(TierReachedSchema, allow_none=True)
    next = fields.Nested(NextTierSummarySchema, allow_none=True)


# ---------------------------------------------------------------- honour cards


class HonourCardQuerySchema(StrictSchema):
    """Which honour: a tier or region award reached on the record, or an award conferred."""

    honour = fields.String(
        validate=validate.Length(min=1, max=40),
        metadata={"description": "bronze, silver, gold, lifetime_honor or a region award's code"},
    )
    occurrence = bounded_int(
        1, 1000, strict=False, load_default=1, metadata={"description": "the n-th gold"}
    )
    award_id = bounded_int(
        1, 2**31 - 1, strict=False, metadata={"description": "an award conferred (its record id)"}
    )

    @ma.validates_schema
    def honour_or_award(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("honour" in data) == ("award_id" in data):
            raise ma.ValidationError("honour_card_which", "honour")


class HonourCardSchema(ma.Schema):
    """A card as the donor's app keeps it (rewards.honour_cards.IssuedCard)."""

    number = fields.String(attribute="card.number")
    url = fields.String(metadata={"description": "the link its QR code carries: /v/h/<number>"})
    kid = fields.String(attribute="card.kid")
    signed_token = fields.String(
        attribute="card.signed_token",
        metadata={"description": "compact JWS (EdDSA, typ honour-card+jwt); see the JWKS"},
    )
    issued_at = LocalDateTime(attribute="card.issued_at")


class HonourCardFactsSchema(ma.Schema):
    """The masked facts a card attests, as signed."""

    number = fields.String(attribute="no")
    name = fields.String(allow_none=True, metadata={"description": "masked: surname only"})
    honour = fields.String()
    honour_name = fields.String()
    occurrence = fields.Integer()
    source = fields.String(
        metadata={
            "description": "record (a tier reached), region (a region award's criteria "
            "met on the record) or award (conferred by decision)"
        }
    )
    on = fields.String(metadata={"description": "the date reached, or conferred"})
    region = fields.String()
    region_name = fields.String()
    period = fields.String()
    decision = fields.String()


class HonourCardCheckSchema(ma.Schema):
    """Anyone's check of an honour card (rewards.honour_cards.CardCheck)."""

    status = fields.String(
        metadata={"description": "valid, withdrawn (no longer holds), or invalid (signature)"}
    )
    signature = fields.String()
    kid = fields.String()
    signed_token = fields.String(allow_none=True)
    card = fields.Nested(HonourCardFactsSchema, attribute="claims")

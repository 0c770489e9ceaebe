"""Shapes of free blood use at the hospital: hospitals and their devices, the patient look-up,
settlements and their receipts, and the months hospitals reconcile."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from blooduse.entitlement_schemas import EntitlementSchema, drawn_explanation
from core.masking import mask_id_number, mask_name
from core.policy import policy_for
from core.schemas import (
    LARGEST_ID,
    Date,
    LocalDateTime,
    PageMetaSchema,
    PageQuerySchema,
    StrictSchema,
    bounded_int,
    computed,
    page_of,
)
from donors.schemas import ResidentIdField

REGION = fields.String(validate=validate.Length(min=1, max=32))
REASON = fields.String(required=True, validate=validate.Length(min=2, max=500))
# The largest sums a bill carries: a transfusion bill's fee in cents and its volume in ml stay far
# below these; they keep a sum of a month's bills inside a 64-bit total.
MAX_FEE_CENTS = 100_000_000  # one million yuan
MAX_VOLUME_ML = 100_000
MAX_COMPONENTS = 30


# ---------------------------------------------------------------- hospitals and devices


class HospitalCreateSchema(StrictSchema):
    code = fields.String(
        required=True,
        validate=[validate.Length(min=2, max=32), validate.Regexp(r"^[A-Za-z0-9._-]+$")],
        metadata={"description": "the hospital's own code (its medical institution code)"},
    )
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    region = fields.String(required=True, validate=validate.Length(min=1, max=32))


class HospitalSchema(ma.Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    region = fields.String()
    active = fields.Boolean()
    created_at = LocalDateTime()


HospitalPageSchema = page_of(HospitalSchema, "HospitalPage")


class HospitalQuerySchema(PageQuerySchema):
    region = REGION


class HospitalDeviceCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))


class HospitalDeviceSchema(ma.Schema):
    """A cashier's device just made (blooduse.hospitals.IssuedDevice): the secret shown once."""

    client_id = fields.String(attribute="device.client_id")
    client_secret = fields.String(metadata={"description": "shown once, on creation"})
    name = fields.String(attribute="device.name")
    hospital_id = fields.Integer()
    active = fields.Boolean(attribute="device.active")
    created_at = LocalDateTime(attribute="device.created_at")


# ---------------------------------------------------------------- the look-up


class LookupSchema(StrictSchema):
    id_number = ResidentIdField(required=True)


class StationSchema(ma.Schema):
    name = fields.String()
    city = fields.String()
    address = fields.String()
    phone = fields.String(allow_none=True)


class ReferralSchema(ma.Schema):
    """Donations given in a region this hospital may not settle: where to send the donor, and
    what that region's station would grant under its own rules."""

    region = fields.String()
    region_name = fields.String()
    law = fields.String()
    would_grant = fields.Nested(EntitlementSchema, attribute="entitlement")
    stations = fields.List(fields.Nested(StationSchema))


class PoolOfferSchema(ma.Schema):
    pool = fields.String(metadata={"description": "donor (the patient's own) or relatives"})
    link_id = computed(
        fields.Integer(allow_none=True), lambda offer: offer.link.id if offer.link else None
    )
    link_status = computed(
        fields.String(
            allow_none=True,
            metadata={"description": "declared: to be verified from documents before use"},
        ),
        lambda offer: offer.link.status if offer.link else None,
    )
    relation = computed(
        fields.String(allow_none=True), lambda offer: offer.link.relation if offer.link else None
    )
    relation_name = fields.String(allow_none=True)
    donor = fields.String(
        attribute="donor_masked", allow_none=True, metadata={"description": "masked"}
    )
    settle_here = fields.Boolean(
        metadata={"description": "whether this hospital may reduce the bill from this pool now"}
    )
    here = fields.Nested(EntitlementSchema)
    elsewhere = fields.List(fields.Nested(ReferralSchema), attribute="referrals")


class LookupResultSchema(ma.Schema):
    answer = fields.String(metadata={"description": "donor, relative or neither"})
    settleable_regions = fields.List(
        fields.String(), metadata={"description": "donation regions this hospital settles"}
    )
    pools = fields.List(
        fields.Nested(PoolOfferSchema),
        metadata={"description": "in the order a settlement without link_id draws on them"},
    )


# ---------------------------------------------------------------- settlements


class ComponentSchema(StrictSchema):
    component = fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "as the hospital's bill names it (悬浮红细胞, 血浆, ...)"},
    )
    volume_ml = bounded_int(1, MAX_VOLUME_ML, required=True)


class SettlementCreateSchema(StrictSchema):
    bill_number = fields.String(required=True, validate=validate.Length(min=1, max=64))
    id_number = ResidentIdField(required=True, metadata={"description": "the patient's"})
    transfused_on = Date(required=True)
    discharged_on = Date(load_default=None, allow_none=True)
    components = fields.List(
        fields.Nested(ComponentSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_COMPONENTS),
    )
    fee_cents = bounded_int(1, MAX_FEE_CENTS, required=True)
    link_id = bounded_int(
        1,
        LARGEST_ID,
        load_default=None,
        allow_none=True,
        metadata={"description": "the family link whose pool to draw on (default: see look-up)"},
    )

    @ma.validates_schema
    def volume_in_range(self, data: dict, **kwargs: object) -> None:
        total = sum(item["volume_ml"] for item in data.get("components", []))
        if total > MAX_VOLUME_ML:
            raise ma.ValidationError("volume_too_large", "components")


class DrawnWindowSchema(ma.Schema):
    """A window a bill drew on, as kept with the bill (blooduse.bills.drawn_windows): the
    receipt's, the claim's and the import's "what was applied under which rule"."""

    region = fields.String()
    donation_id = fields.Integer(allow_none=True)
    donation_date = fields.String(allow_none=True)
    kind = fields.String(allow_none=True)
    phase = fields.Integer()
    multiple = fields.Integer(allow_none=True)
    ends_on = fields.String(allow_none=True)
    unlimited = fields.Boolean()
    donation_ml = fields.Integer(allow_none=True, metadata={"description": "the donation in ml"})
    drawn_ml = fields.Integer()
    explanation = computed(fields.String(), drawn_explanation)
    rule = fields.String(metadata={"description": "the source of the figure applied"})


class PatientSchema(ma.Schema):
    name = computed(fields.String(allow_none=True), lambda r: mask_name(r.patient_name))
    id_number = computed(
        fields.String(allow_none=True), lambda r: mask_id_number(r.patient_id_number)
    )
    relation = fields.String(allow_none=True)
    relation_name = fields.String(allow_none=True)
    donor = computed(
        fields.String(allow_none=True, metadata={"description": "masked; null: the patient"}),
        lambda r: mask_name(r.donor_name),
    )


def _rule(receipt: object, key: str) -> object:
    rule = receipt.reduction.rule or {}  # type: ignore[attr-defined]
    return rule.get(key)


class ReceiptSchema(ma.Schema):
    """A settled bill (blooduse.settlement.Receipt): what was reduced, under which rule."""

    id = fields.Integer(attribute="reduction.id")
    bill_number = fields.String(attribute="reduction.bill_number")
    status = fields.String(attribute="reduction.status")
    hospital = fields.String(attribute="reduction.hospital_name")
    patient = computed(fields.Nested(PatientSchema), lambda receipt: receipt)
    transfused_on = Date(attribute="reduction.transfused_on")
    discharged_on = Date(attribute="reduction.discharged_on", allow_none=True)
    components = fields.List(fields.Nested(ComponentSchema), attribute="reduction.components")
    volume_ml = fields.Integer(attribute="reduction.volume_ml")
    covered_ml = fields.Integer(attribute="reduction.covered_ml")
    fee_cents = fields.Integer(attribute="reduction.fee_cents")
    reduction_cents = fields.Integer(attribute="reduction.reduction_cents")
    payable_cents = fields.Integer(metadata={"description": "what the patient still pays"})
    pool = computed(fields.String(), lambda receipt: _rule(receipt, "pool"))
    unlimited = computed(fields.Boolean(), lambda receipt: bool(_rule(receipt, "unlimited")))
    remaining_ml = computed(
        fields.Integer(
            allow_none=True,
            metadata={"description": "left in the pool here after this bill; null: unlimited"},
        ),
        lambda receipt: _rule(receipt, "remaining_ml"),
    )
    windows = computed(
        fields.List(fields.Nested(DrawnWindowSchema)),
        lambda receipt: _rule(receipt, "windows") or [],
    )
    rules_of = fields.String(attribute="reduction.region", metadata={"description": "region"})
    rules_name = computed(
        fields.String(metadata={"description": "the region's name, whose rules applied"}),
        lambda receipt: policy_for(receipt.reduction.region).name_zh,
    )
    settled_on = Date(attribute="reduction.settled_on")
    reversed_at = LocalDateTime(attribute="reduction.reversed_at", allow_none=True)
    reverse_reason = fields.String(attribute="reduction.reverse_reason", allow_none=True)


class QuoteSchema(ma.Schema):
    """What settling the bill would reduce now (blooduse.settlement.Quote); nothing is drawn.
    The settlement's own receipt is the one that counts."""

    bill_number = fields.String(attribute="bill.bill_number")
    already_settled = fields.Boolean(
        metadata={"description": "this bill is settled already: settling answers its receipt"}
    )
    volume_ml = fields.Integer()
    covered_ml = fields.Integer()
    fee_cents = fields.Integer(attribute="bill.fee_cents")
    reduction_cents = fields.Integer()
    payable_cents = fields.Integer(metadata={"description": "what the patient would still pay"})
    pool = computed(fields.String(), lambda quote: quote.rule.get("pool"))
    relation_name = fields.String(allow_none=True)
    donor = computed(
        fields.String(allow_none=True, metadata={"description": "masked; null: the patient"}),
        lambda quote: mask_name(quote.donor_name),
    )
    unlimited = computed(fields.Boolean(), lambda quote: bool(quote.rule.get("unlimited")))
    remaining_ml = computed(
        fields.Integer(
            allow_none=True,
            metadata={"description": "left in the pool here after this bill; null: unlimited"},
        ),
        lambda quote: quote.rule.get("remaining_ml"),
    )
    windows = computed(
        fields.List(fields.Nested(DrawnWindowSchema)), lambda quote: quote.rule.get("windows", [])
    )
    rules_of = fields.String(attribute="region", metadata={"description": "region"})
    rules_name = computed(
        fields.String(metadata={"description": "the region's name, whose rules apply"}),
        lambda quote: policy_for(quote.region).name_zh,
    )


class ReverseSchema(StrictSchema):
    reason = REASON


# ---------------------------------------------------------------- months


class MonthBillSchema(ma.Schema):
    """One bill of a month (blooduse.reconciliation.MonthBill)."""

    id = fields.Integer(attribute="reduction.id")
    bill_number = fields.String(attribute="reduction.bill_number")
    status = fields.String(attribute="reduction.status")
    patient = fields.String(attribute="patient_name", metadata={"description": "masked"})
    patient_id_number = fields.String(metadata={"description": "masked"})
    transfused_on = Date(attribute="reduction.transfused_on")
    settled_on = Date(attribute="reduction.settled_on")
    volume_ml = fields.Integer(attribute="reduction.volume_ml")
    covered_ml = fields.Integer(attribute="reduction.covered_ml")
    fee_cents = fields.Integer(attribute="reduction.fee_cents")
    reduction_cents = fields.Integer(attribute="reduction.reduction_cents")
    rule = fields.String(attribute="rule_text")
    reversed_at = LocalDateTime(attribute="reduction.reversed_at", allow_none=True)


class TotalsSchema(ma.Schema):
    bills = fields.Integer()
    volume_ml = fields.Integer()
    covered_ml = fields.Integer()
    fee_cents = fields.Integer()
    reduction_cents = fields.Integer()


class HospitalMonthSchema(ma.Schema):
    """A confirmed month: its totals as frozen."""

    month = fields.String()
    hospital_id = fields.Integer()
    bills = fields.Integer()
    reduction_cents = fields.Integer()
    confirmed_at = LocalDateTime()


class MonthPageSchema(ma.Schema):
    """A hospital's month (blooduse.reconciliation.MonthPage): totals of the bills still settled,
    the confirmation if any, and a page of its bills (reversed ones marked)."""

    month = fields.String()
    hospital_id = fields.Integer(attribute="hospital.id")
    hospital = fields.String(attribute="hospital.name")
    over = fields.Boolean(metadata={"description": "whether the month may be confirmed"})
    totals = fields.Nested(TotalsSchema)
    confirmation = fields.Nested(HospitalMonthSchema, allow_none=True)
    items = fields.List(fields.Nested(MonthBillSchema))
    page = fields.Nested(PageMetaSchema)

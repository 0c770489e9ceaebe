"""What `GET /me/blood-use` and its history answer (blooduse.overview)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields

from blooduse.entitlement import Window
from core.errors import message_for
from core.i18n import _l
from core.masking import mask_name
from core.schemas import Date, LocalDateTime, computed

REFUSED = "why the relative may not use the pool now (None: they may)"

UNLIMITED_FOR_LIFE = _l("Unlimited, for life.")
MULTIPLE_UNTIL = _l("{multiple} x the donation's {ml} ml, until {ends_on}.")
MULTIPLE_FOR_LIFE = _l("{multiple} x the donation's {ml} ml, for life.")


def explanation(window: Window) -> str:
    """The window in the reader's words, with its figures."""
    ends_on = window.ends_on.isoformat() if window.ends_on else None
    return _explained(window.unlimited, window.multiple, window.ml, ends_on)


def drawn_explanation(drawn: dict[str, Any]) -> str:
    """A window as kept with a bill (blooduse.bills.drawn_windows), in the reader's words."""
    return _explained(
        drawn.get("unlimited", False),
        drawn.get("multiple"),
        drawn.get("donation_ml"),
        drawn.get("ends_on"),
    )


def _explained(unlimited: bool, multiple: int | None, ml: int | None, ends_on: str | None) -> str:
    if unlimited:
        return UNLIMITED_FOR_LIFE.translated()
    text = MULTIPLE_FOR_LIFE if ends_on is None else MULTIPLE_UNTIL
    return text.format(multiple=multiple, ml=ml, ends_on=ends_on or "").translated()


class WindowSchema(ma.Schema):
    """One phase of one donation's window, or the lifetime right (`unlimited`)."""

    region = fields.String()
    donation_id = fields.Integer(allow_none=True)
    donation_date = Date(allow_none=True)
    kind = fields.String(allow_none=True)
    ml = fields.Integer(allow_none=True, metadata={"description": "the donation in ml for relief"})
    phase = fields.Integer()
    multiple = fields.Integer(allow_none=True)
    starts_on = Date(allow_none=True)
    ends_on = Date(allow_none=True, metadata={"description": "its last day; null: for life"})
    unlimited = fields.Boolean()
    allowance_ml = fields.Integer(allow_none=True)
    used_ml = fields.Integer()
    remaining_ml = fields.Integer(allow_none=True)
    explanation = computed(fields.String(), explanation)
    rule = fields.String(metadata={"description": "the rule applied, with its source"})


class NotCountedSchema(ma.Schema):
    """A donation that gives no volume under its region's rule, and why."""

    region = fields.String()
    donation_id = fields.Integer()
    donation_date = Date()
    kind = fields.String()
    reason = fields.String()
    message = computed(fields.String(), lambda item: message_for(item.reason))
    question = fields.String(allow_none=True)


class EntitlementSchema(ma.Schema):
    pool = fields.String(metadata={"description": "donor: the donor's own; relatives"})
    unlimited = fields.Boolean()
    remaining_ml = fields.Integer(
        allow_none=True, metadata={"description": "what remains today; null when unlimited"}
    )
    refused = fields.String(allow_none=True, metadata={"description": REFUSED})
    refused_message = computed(
        fields.String(allow_none=True),
        lambda item: message_for(item.refused) if item.refused else None,
    )
    windows = fields.List(
        fields.Nested(WindowSchema), metadata={"description": "in the order uses draw on them"}
    )
    not_counted = fields.List(fields.Nested(NotCountedSchema), attribute="no_volume")


class RelativeEntitlementSchema(ma.Schema):
    link_id = fields.Integer(attribute="link.id")
    relation = fields.String(attribute="link.relation")
    relation_name = fields.String()
    name = computed(fields.String(), lambda item: mask_name(item.link.name))
    status = fields.String(attribute="link.status")
    entitlement = fields.Nested(EntitlementSchema)


class RegionRulesSchema(ma.Schema):
    region = fields.String()
    name = fields.String(attribute="name_zh")
    law = fields.String()
    source = fields.String()


class BloodUseSchema(ma.Schema):
    """Free blood use today: the donor's own pool and each relative's (blooduse.overview)."""

    on = Date(metadata={"description": "the day the figures are for (Beijing time)"})
    rules = fields.List(fields.Nested(RegionRulesSchema))
    own = fields.Nested(EntitlementSchema)
    relatives = fields.List(fields.Nested(RelativeEntitlementSchema))


class ReductionSchema(ma.Schema):
    """A bill reduced on the donor's pools (any channel: hospital, claim, import)."""

    id = fields.Integer()
    channel = fields.String()
    status = fields.String()
    bill_number = fields.String()
    hospital_name = fields.String()
    family_link_id = fields.Integer(
        allow_none=True, metadata={"description": "the relative treated; null: the donor"}
    )
    transfused_on = Date()
    volume_ml = fields.Integer()
    covered_ml = fields.Integer()
    fee_cents = fields.Integer()
    reduction_cents = fields.Integer()
    settled_on = Date(allow_none=True)
    created_at = LocalDateTime()

"""The card's shape: certificate's and rewards' schemas, nested."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields

from card.services import Card
from certificate.schemas import (
    CertificateSchema,
    CountsField,
    EligibilitySchema,
    HistoryToConfirmSchema,
    KindTotalsSchema,
)
from core.schemas import Date, computed
from rewards.schemas import BenefitsSchema, HonoursSummarySchema
from rewards.store_schemas import PointsBalanceSchema


def _blood_group(card: Card) -> dict[str, Any] | None:
    donor = card.donor
    return {"abo": donor.abo, "rhd": donor.rhd} if donor.abo else None


class CardSchema(ma.Schema):
    name = fields.String(attribute="donor.name")
    blood_group = computed(fields.Dict(allow_none=True), _blood_group)
    donations = fields.Integer(attribute="totals.donations")
    award_counts = CountsField(
        attribute="totals.award_counts",
        metadata={
            "description": "counts by the national award rules, in halves: 200 ml of whole "
            "blood is 1, 300 ml is 1.5, a platelet unit is 1"
        },
    )
    by_kind = fields.Dict(
        keys=fields.String(), values=fields.Nested(KindTotalsSchema), attribute="totals.by_kind"
    )
    last_donation_date = Date(allow_none=True, attribute="totals.last_donation_date")
    latest_certificate = fields.Nested(CertificateSchema, allow_none=True)
    next_eligible = fields.List(fields.Nested(EligibilitySchema))
    benefits = fields.Nested(
        BenefitsSchema, metadata={"description": "the three frees, as GET /me/benefits"}
    )
    honours = fields.Nested(
        HonoursSummarySchema,
        metadata={"description": "the highest tier reached and the next; GET /me/honours in full"},
    )
    points = fields.Nested(
        PointsBalanceSchema,
        metadata={"description": "the points balance and the next expiry, as GET /me/points"},
    )
    history_to_confirm = fields.Nested(
        HistoryToConfirmSchema,
        allow_none=True,
        metadata={"description": "set while a station's records found for the donor await a claim"},
    )

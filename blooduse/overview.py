"""What `GET /me/blood-use` shows the donor: their own pool and each relative's, today, with
each figure's rule, and the bills that drew on them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, select

from blooduse.entitlement import Entitlement, entitlement, rules_of
from blooduse.models import BloodFeeReduction
from blooduse.rules import relation_name
from core import clock
from core.extensions import db
from donors.models import LINK_REMOVED, Donor, FamilyLink


@dataclass(frozen=True)
class RegionRules:
    """A region whose rules the donor's donations fall under, and its law."""

    region: str
    name_zh: str
    law: str
    source: str


@dataclass(frozen=True)
class RelativeEntitlement:
    link: FamilyLink
    relation_name: str
    entitlement: Entitlement


@dataclass(frozen=True)
class BloodUseOverview:
    on: date
    rules: list[RegionRules]
    own: Entitlement
    relatives: list[RelativeEntitlement]


def blood_use_of(donor: Donor) -> BloodUseOverview:
    """The donor's pool and each relative's, as a transfusion today would find them."""
    today = clock.local_today()
    own = entitlement(donor, today)
    relatives = []
    for link in db.session.scalars(
        select(FamilyLink)
        .where(FamilyLink.donor_id == donor.id, FamilyLink.status != LINK_REMOVED)
        .order_by(FamilyLink.id)
    ):
        relatives.append(
            RelativeEntitlement(
                link, relation_name(link.relation, donor.region), entitlement(donor, today, link)
            )
        )
    concerned = sorted(
        {w.region for w in own.windows}
        | {n.region for n in own.no_volume}
        | {w.region for r in relatives for w in r.entitlement.windows}
    )
    rules = []
    for region in concerned:
        section = rules_of(region)
        if section is not None:
            rules.append(RegionRules(region, section.name_zh, section.law, section.source))
    return BloodUseOverview(today, rules, own, relatives)


def history_query(donor: Donor) -> Select:
    """The bills reduced on the donor's pools, newest first (every channel and status)."""
    return (
        select(BloodFeeReduction)
        .where(BloodFeeReduction.donor_id == donor.id)
        .order_by(BloodFeeReduction.created_at.desc(), BloodFeeReduction.id.desc())
    )

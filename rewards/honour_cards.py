"""Honour cards: a signed card for an honour the donor holds, verified like a certificate.

A card is signed with the certificates' keyring (core.signing: Ed25519, `kid`, the same JWKS), as
a compact JWS of type `honour-card+jwt` whose claims carry only masked facts (the surname, the
honour, when it was reached or conferred). The donor's QR code carries the verification link,
`/v/h/<number>` (an unguessable number of the certificates' form, core.ids); the page checks the
signature and whether the honour still holds: a tier whose donations were voided, or an award
record revoked, shows as withdrawn. Offline, `scripts/verify-certificate-offline` checks the
token against the published keys, as it does a certificate's.

What a donor may hold a card for: a national tier (or the lifetime honour) reached on the record,
a region award reached on the record (its criteria met), or an award conferred on them by decision
(an AwardGrant not revoked). Asking again for the same honour gives the same card, unless what it
attests changed (a tier now reached on a later date after a void): then it is signed anew under a
new number and the old link stops verifying, since it named facts no longer true.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import select

from core import clock
from core.errors import ApiError
from core.extensions import db
from core.ids import certificate_number, normalise_certificate_number
from core.masking import mask_name
from core.policy import policy_for, regions
from core.signing import SignatureInvalid, keyring
from donors.models import Donor
from rewards.honours import record_tiers, region_award_progress
from rewards.models import AwardGrant, HonourCard
from rewards.rules import award_names, region_awards

HONOUR_CARD_TOKEN_TYPE = "honour-card+jwt"
RECORD, REGION, AWARD = "record", "region", "award"
VERIFICATION_PATH = "/v/h/"


@dataclass(frozen=True)
class HeldHonour:
    """An honour the donor holds now, as its card attests it (names in Chinese, as signed)."""

    basis: str
    honour: str
    honour_name: str
    occurrence: int
    source: str  # record, region (a region award's criteria met on the record) or award
    on: date  # reached on the record, or conferred
    region: str | None = None
    period: str | None = None
    decision: str | None = None
    award_grant_id: int | None = None


def _not_held() -> ApiError:
    return ApiError("honour_not_held", 409)


def _record_honour(donor: Donor, honour: str, occurrence: int) -> HeldHonour | None:
    _, reached, _ = record_tiers(donor)
    policy = policy_for(donor.region)
    for tier in reached:
        if (tier.tier, tier.occurrence) == (honour, occurrence):
            return HeldHonour(
                basis=f"{RECORD}:{honour}:{occurrence}",
                honour=honour,
                honour_name=award_names(policy).get(honour, honour),
                occurrence=occurrence,
                source=RECORD,
                on=tier.reached_on,
            )
    return None


def _region_honour(donor: Donor, honour: str) -> HeldHonour | None:
    for region in regions():
        section = region_awards(policy_for(region))
        award = next((a for a in section.awards if a.code == honour), None) if section else None
        if award is None or award.criteria is None:
            continue
        progress = region_award_progress(donor, region, award, clock.local_today())
        if progress.reached_on is not None:
            return HeldHonour(
                basis=f"{REGION}:{region}:{honour}",
                honour=honour,
                honour_name=award.name_zh,
                occurrence=1,
                source=REGION,
                on=progress.reached_on,
                region=region,
            )
    return None


def _granted_honour(donor: Donor, award_id: int) -> HeldHonour | None:
    grant = db.session.get(AwardGrant, award_id)
    if grant is None or grant.donor_id != donor.id or grant.revoked_at is not None:
        return None
    return HeldHonour(
        basis=f"{AWARD}:{grant.id}",
        honour=grant.award,
        honour_name=award_names(policy_for(grant.region)).get(grant.award, grant.award),
        occurrence=1,
        source=AWARD,
        on=grant.awarded_on,
        region=grant.region,
        period=grant.period,
        decision=grant.decision,
        award_grant_id=grant.id,
    )


def held_honour(
    donor: Donor, honour: str | None = None, occurrence: int = 1, award_id: int | None = None
) -> HeldHonour:
    """The honour asked for, if the donor holds it now; 409 honour_not_held otherwise."""
    found = None
    if award_id is not None:
        found = _granted_honour(donor, award_id)
    elif honour is not None:
        found = _record_honour(donor, honour, occurrence) or (
            _region_honour(donor, honour) if occurrence == 1 else None
        )
    if found is None:
        raise _not_held()
    return found


def card_claims(donor: Donor, held: HeldHonour, number: str) -> dict[str, Any]:
    """What the card attests, the name masked: this is what anyone who scans it can see."""
    claims: dict[str, Any] = {
        "no": number,
        "name": mask_name(donor.name),
        "honour": held.honour,
        "honour_name": held.honour_name,
        "occurrence": held.occurrence,
        "source": held.source,
        "on": held.on.isoformat(),
    }
    for key in ("region", "period", "decision"):
        value = getattr(held, key)
        if value is not None:
            claims[key] = value
    return claims


def _attested(card: HonourCard) -> dict[str, Any]:
    claims = keyring().verify(card.signed_token, HONOUR_CARD_TOKEN_TYPE, verify_exp=False)
    return {key: value for key, value in claims.items() if key not in ("no", "iat")}


def honour_card(donor: Donor, held: HeldHonour) -> HonourCard:
    """The donor's card for the honour: the one issued before, or a new one signed now."""
    card = db.session.scalar(
        select(HonourCard).where(HonourCard.donor_id == donor.id, HonourCard.basis == held.basis)
    )
    number = certificate_number(clock.local_today().year)
    claims = card_claims(donor, held, number)
    if card is not None:
        if _attested(card) == {k: v for k, v in claims.items() if k != "no"}:
            return card
    else:
        card = HonourCard(donor_id=donor.id, basis=held.basis, award_grant_id=held.award_grant_id)
        db.session.add(card)
    ring = keyring()
    card.number = number
    card.kid = ring.active.kid
    card.signed_token = ring.sign(
        {**claims, "iat": int(clock.now().timestamp())}, HONOUR_CARD_TOKEN_TYPE
    )
    card.issued_at = clock.now()
    db.session.flush()
    return card


def verification_url(card: HonourCard) -> str:
    """The link the card's QR code carries."""
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}{VERIFICATION_PATH}{card.number}"


@dataclass(frozen=True)
class IssuedCard:
    """A card as the donor's app receives it: the number, the link and the signed token."""

    card: HonourCard
    url: str


def issue_card(
    donor: Donor, honour: str | None = None, occurrence: int = 1, award_id: int | None = None
) -> IssuedCard:
    card = honour_card(donor, held_honour(donor, honour, occurrence, award_id))
    return IssuedCard(card, verification_url(card))


# ---------------------------------------------------------------- verification


def still_holds(card: HonourCard) -> bool:
    """Whether what the card rests on holds today: the tier still reached on the record (at the
    same occurrence), the region award's criteria still met, the award record not revoked."""
    donor = db.session.get_one(Donor, card.donor_id)
    source, _, rest = card.basis.partition(":")
    if source == RECORD:
        honour, _, occurrence = rest.rpartition(":")
        return _record_honour(donor, honour, int(occurrence)) is not None
    if source == REGION:
        _, _, honour = rest.partition(":")
        return _region_honour(donor, honour) is not None
    return (
        card.award_grant_id is not None and _granted_honour(donor, card.award_grant_id) is not None
    )


@dataclass(frozen=True)
class CardCheck:
    """Anyone's check of a card: its signature, whether it still holds, the masked signed facts."""

    status: str  # valid, withdrawn, or invalid (signature)
    signature: str
    kid: str
    signed_token: str | None
    claims: dict[str, Any]


def verify_card(number: str) -> CardCheck | None:
    """None for a number that names no card. Everything shown comes from the signed claims."""
    normalised = normalise_certificate_number(number)
    card = (
        db.session.scalar(select(HonourCard).where(HonourCard.number == normalised))
        if normalised
        else None
    )
    if card is None:
        return None
    try:
        claims = keyring().verify(card.signed_token, HONOUR_CARD_TOKEN_TYPE, verify_exp=False)
    except SignatureInvalid:
        return CardCheck("invalid", "invalid", card.kid, None, {"no": card.number})
    status = "valid" if still_holds(card) else "withdrawn"
    if claims.get("region") in regions():
        claims["region_name"] = policy_for(claims["region"]).name_zh
    return CardCheck(status, "valid", card.kid, card.signed_token, claims)

"""Minting a donor's benefit code: a short-lived signed code naming the donor's pseudonym and the
benefits held in one region, which gates check with public keys alone (rewards.codes)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app

from core import clock
from core.errors import ApiError
from core.extensions import db
from core.signing import keyring
from donors.models import Donor
from rewards.applications import section_in_force
from rewards.codes import TOKEN_TYPE
from rewards.models import (
    BenefitHolder,
)
from rewards.standing import active_holdings


@dataclass(frozen=True)
class BenefitCode:
    """A code minted for the donor to show at a gate: what it holds, and how long it lasts."""

    code: str  # compact JWS naming the donor's pseudonym, the region and its benefits
    region: str
    kinds: tuple[str, ...]  # the region's benefit kinds the code admits to
    expires_at: datetime
    expires_in: int  # seconds, from when it was minted


def benefit_code(donor: Donor, region: str | None = None) -> BenefitCode:
    """A fresh signed code naming the donor's pseudonym and the benefits held in one region."""
    held_regions = sorted({row.region for row in active_holdings(donor.id)})
    if region is None:
        region = donor.region if donor.region in held_regions else next(iter(held_regions), None)
    if region is None or region not in held_regions:
        raise ApiError("no_benefit_held", 409)
    _, edition = section_in_force(region)
    holder = db.session.get_one(BenefitHolder, donor.id)
    ttl = current_app.config["BENEFIT_CODE_TTL"]
    token_codes = "".join(benefit.token_code for benefit in edition.benefits)
    code, expires = mint_code(holder.ref, region, token_codes, ttl)
    return BenefitCode(
        code=code,
        region=region,
        kinds=edition.kinds,
        expires_at=datetime.fromtimestamp(expires, tz=clock.LOCAL_ZONE),
        expires_in=int(ttl.total_seconds()),
    )


def mint_code(ref: str, region: str, token_codes: str, ttl: timedelta) -> tuple[str, int]:
    """Sign a benefit code; returns the code and its expiry (seconds since the epoch)."""
    expires = int(clock.now().timestamp() + ttl.total_seconds())
    claims = {
        "sub": ref,
        "rg": region,
        "bk": token_codes,
        "jti": secrets.token_urlsafe(8),
        "exp": expires,
    }
    return keyring().sign(claims, TOKEN_TYPE), expires

"""Awards won, benefits held, gate operators and their devices, every use at a gate; the points
ledger, volunteer service, and the souvenir store's items and redemptions."""

from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certificate.counts import from_halves
from core import clock
from core.extensions import Model
from core.types import EncryptedText, UTCDateTime

ADMIN_SOURCE = "admin"
IMPORT_SOURCE = "import"

GRANTED = "granted"
REFUSED = "refused"

ONLINE = "online"
OFFLINE = "offline"


class AwardGrant(Model):
    """An award conferred on a donor by a decision (the national awards come every two years).

    Recorded by an administrator or imported from a station's list; a mistaken record is revoked
    with a reason, never deleted, and whatever rested on it is withdrawn at once.
    """

    __tablename__ = "award_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"), index=True)
    award: Mapped[str] = mapped_column(String(40))
    region: Mapped[str] = mapped_column(String(32))  # where it was won
    period: Mapped[str] = mapped_column(String(20))  # the years the decision covers, "2022-2023"
    decision: Mapped[str] = mapped_column(String(200))  # e.g. 国卫医急发〔2025〕11号
    awarded_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(16), default=ADMIN_SOURCE)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    # The cycle whose confirmed list granted it (rewards/cycles.py); None for a single record.
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("award_cycles.id"), index=True)
    # Why it was granted though the record at its date does not support it (audited).
    unsupported_reason: Mapped[str | None] = mapped_column(Text)
    # A voided donation left the record short of it: it stands, flagged for review until an
    # administrator clears the flag with a note.
    review_flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_reason: Mapped[str | None] = mapped_column(Text)
    review_cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_cleared_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    review_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # One record per award, period and donor: re-importing a list adds nothing twice.
        UniqueConstraint("donor_id", "award", "period", name="uq_award_grants_donor_award_period"),
    )


CYCLE_OPEN = "open"
CYCLE_CONFIRMED = "confirmed"
DEDICATION_SCHEME = "dedication"  # the national dedication tiers (bronze, silver, gold, honour)


class AwardCycle(Model):
    """One round of an award scheme in a region: the donors the record qualifies at the cut-off
    are nominated, and the administrator confirms the list with the decision's document.

    `scheme` is `dedication` (the national tiers) or a region award with criteria
    (`zhejiang_dedication`). One open cycle per region, scheme and period.
    """

    __tablename__ = "award_cycles"

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme: Mapped[str] = mapped_column(String(40))
    region: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(20))
    cut_off: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=CYCLE_OPEN)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    decision: Mapped[str | None] = mapped_column(String(200))
    awarded_on: Mapped[date | None] = mapped_column(Date)
    granted: Mapped[int | None] = mapped_column(Integer)  # awards granted on confirmation
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index(
            "uq_award_cycles_open",
            "region",
            "scheme",
            "period",
            unique=True,
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
    )


class AwardCycleExclusion(Model):
    """A nominated donor the administrator left out of a cycle's confirmed list, and why."""

    __tablename__ = "award_cycle_exclusions"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("award_cycles.id"), index=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"))
    reason: Mapped[str] = mapped_column(Text)


class BenefitApplication(Model):
    """A donor's application on the counted-donations route, with what the records showed."""

    __tablename__ = "benefit_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"), index=True)
    region: Mapped[str] = mapped_column(String(32))
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    outcome: Mapped[str] = mapped_column(String(16))
    # Counts by the national award rules, in halves (certificate/counts.py); required is whole.
    counted_half_counts: Mapped[int] = mapped_column(Integer)
    required: Mapped[int] = mapped_column(Integer)

    @property
    def counted(self) -> Fraction:
        return from_halves(self.counted_half_counts)


class BenefitHolder(Model):
    """The pseudonym a donor's benefit codes carry: a keyed hash, not reversible without the key."""

    __tablename__ = "benefit_holders"

    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"), primary_key=True)
    ref: Mapped[str] = mapped_column(String(24), unique=True)


class BenefitHolding(Model):
    """One unbroken period in which a donor holds a region's benefits by one route.

    The row opens when the route's condition is met and closes (withdrawn_at) the moment it no
    longer is; a later return opens a new row, so the history of standing is kept.
    """

    __tablename__ = "benefit_holdings"

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"))
    region: Mapped[str] = mapped_column(String(32))
    route: Mapped[str] = mapped_column(String(32))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    award_grant_id: Mapped[int | None] = mapped_column(ForeignKey("award_grants.id"))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("benefit_applications.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_reason: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (Index("ix_benefit_holdings_donor_region", "donor_id", "region"),)


class GateOperator(Model):
    """A transit company, a park or a clinic that admits holders and is reimbursed for it."""

    __tablename__ = "gate_operators"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(32))
    benefit_kind: Mapped[str] = mapped_column(String(64))
    contact: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GateDevice(Model):
    """Binds a gate's device credential (core.models.Device) to the operator it serves."""

    __tablename__ = "gate_devices"

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("gate_operators.id"), index=True)
    location: Mapped[str | None] = mapped_column(String(200))


class BenefitUse(Model):
    """A holder admitted at a gate: the evidence operators are reimbursed on.

    A code is used once: (ref, jti) is unique, so a replayed code finds its use already here.
    """

    __tablename__ = "benefit_uses"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(24))
    jti: Mapped[str] = mapped_column(String(32))
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"))
    operator_id: Mapped[int] = mapped_column(ForeignKey("gate_operators.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    region: Mapped[str] = mapped_column(String(32))
    benefit_kind: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_on: Mapped[date] = mapped_column(Date)  # local (Asia/Shanghai) day, for settlement
    mode: Mapped[str] = mapped_column(String(8))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    __table_args__ = (
        UniqueConstraint("ref", "jti", name="uq_benefit_uses_code"),
        Index("ix_benefit_uses_operator_day", "operator_id", "used_on"),
    )


class HonourCard(Model):
    """A signed card for an honour the donor holds, shown as a QR code and verified at /v/h/<no>.

    `basis` names what the card rests on ("record:gold:2": the second gold reached on the record;
    "region:zhejiang:zhejiang_dedication"; "award:<grant id>"), one card per basis and donor; the
    verification page checks it still holds. The signed token is what an offline check reads.
    """

    __tablename__ = "honour_cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"))
    basis: Mapped[str] = mapped_column(String(80))
    award_grant_id: Mapped[int | None] = mapped_column(ForeignKey("award_grants.id"))
    kid: Mapped[str] = mapped_column(String(64))
    signed_token: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    __table_args__ = (UniqueConstraint("donor_id", "basis", name="uq_honour_cards_donor_basis"),)


# ---------------------------------------------------------------- points (rewards/points.py)

# Why a row of the ledger exists; `cause_id` names the row's cause of that kind.
DONATION_POINTS = "donation"  # cause_id: the donation
DONATION_VOIDED = "donation_voided"  # cause_id: the voided donation
HEALTH_FORM_POINTS = "health_form"  # cause_id: the signed health form (questionnaire response)
VOLUNTEER_POINTS = "volunteer_hours"  # cause_id: the volunteer service entry
REDEMPTION = "redemption"  # cause_id: the redemption (order)
REFUND = "refund"  # cause_id: the cancelled redemption
ADJUSTMENT = "adjustment"  # no cause_id: the administrator's reason is in `note`
EXPIRY = "expiry"  # cause_id: the lot that expired
CAUSES = (
    DONATION_POINTS,
    DONATION_VOIDED,
    HEALTH_FORM_POINTS,
    VOLUNTEER_POINTS,
    REDEMPTION,
    REFUND,
    ADJUSTMENT,
    EXPIRY,
)


class PointsAccount(Model):
    """One row per donor with points, locked (UPDATE) by every change to the donor's ledger, so
    two changes for one donor run one after the other on PostgreSQL as on SQLite. It holds no
    balance: the balance is the sum of the ledger."""

    __tablename__ = "points_accounts"

    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"), primary_key=True)
    changes: Mapped[int] = mapped_column(Integer, default=0)


class PointsEntry(Model):
    """One change of a donor's points, with its cause; never edited, never deleted.

    A row with a positive amount and an `expires_on` is a lot: spending and expiry consume the
    lots that expire first. A row aimed at one lot (`lot_id`: its expiry, or the reversal of the
    donation that earned it) takes only from that lot.
    """

    __tablename__ = "points_ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"))
    amount: Mapped[int] = mapped_column(Integer)
    cause: Mapped[str] = mapped_column(String(20))
    # No foreign key: a cause may belong to another package (a donation, a health form that an
    # erasure deletes); the ledger keeps its number.
    cause_id: Mapped[int | None] = mapped_column(Integer)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("points_ledger.id"))
    region: Mapped[str] = mapped_column(String(32))
    earned_on: Mapped[date | None] = mapped_column(Date)  # local day a lot was earned
    expires_on: Mapped[date | None] = mapped_column(Date)  # a lot is gone from this local day
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    __table_args__ = (
        # Each cause counts once: a donation earns once, a lot expires once, an order refunds once.
        UniqueConstraint("cause", "cause_id", name="uq_points_ledger_cause"),
        Index("ix_points_ledger_donor_expires", "donor_id", "expires_on"),
        Index("ix_points_ledger_created", "created_at"),
    )


class VolunteerService(Model):
    """Hours a donor served as a volunteer, recorded by an administrator with a reason."""

    __tablename__ = "volunteer_services"

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"), index=True)
    served_on: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


# ---------------------------------------------------------------- the souvenir store (store.py)

PICKUP = "pickup"
DELIVERY = "delivery"
FULFILMENTS = (PICKUP, DELIVERY)

PLACED = "placed"
READY_AT_SITE = "ready_at_site"
COLLECTED = "collected"
SHIPPED = "shipped"
CANCELLED = "cancelled"
ORDER_STATUSES = (PLACED, READY_AT_SITE, COLLECTED, SHIPPED, CANCELLED)


class StoreItem(Model):
    """A souvenir donors may redeem points for: picked up at one of its sites, or delivered."""

    __tablename__ = "store_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    picture_url: Mapped[str | None] = mapped_column(String(500))
    price: Mapped[int] = mapped_column(Integer)  # in points
    stock: Mapped[int] = mapped_column(Integer)
    fulfilment: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    sites: Mapped[list[StoreItemSite]] = relationship(
        cascade="all, delete-orphan", order_by="StoreItemSite.site_id"
    )

    @property
    def site_ids(self) -> list[int]:
        return [link.site_id for link in self.sites]

    __table_args__ = (CheckConstraint("stock >= 0", name="stock_not_negative"),)


class StoreItemSite(Model):
    """A site where an item is picked up."""

    __tablename__ = "store_item_sites"

    item_id: Mapped[int] = mapped_column(ForeignKey("store_items.id"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)


class Redemption(Model):
    """A donor's order of an item, paid in points; cancelled, it refunds them and the stock."""

    __tablename__ = "redemptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("store_items.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=PLACED)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))  # where it is picked up
    delivery_address: Mapped[str | None] = mapped_column(EncryptedText)
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    handled_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    item: Mapped[StoreItem] = relationship()

    __table_args__ = (
        Index("ix_redemptions_site_status", "site_id", "status"),
        Index("ix_redemptions_placed", "placed_at"),
    )

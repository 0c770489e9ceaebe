"""Granted awards are decisions, checked against the record (issue 14 item 2): a single grant
the record at its date does not support needs a reason (kept, audited); a void leaves granted
awards standing, flagged for review, and the three frees resting on them unchanged."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from core import clock
from core.extensions import db
from core.models import AuditEntry
from rewards.models import AwardGrant, BenefitHolding
from tests.factories.cycles import donations, donor_row, whole_blood
from tests.factories.rewards import Scheme


def audit_of(grant_id: int) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.target_type == "award_grant", AuditEntry.target_id == str(grant_id))
            .order_by(AuditEntry.id)
        )
    )


def test_a_tier_the_record_does_not_reach_is_refused_unless_a_reason_is_given(client, sms):
    # POLICY.md §2: bronze at 20 counts, 300 ml = 1.5 (Decisions): 19.5 counts is no bronze.
    scheme = Scheme(client, sms)
    donor, data, _ = scheme.donor()
    scheme.give(data, 10, volumes=[400] * 9 + [300])
    today = clock.local_today().isoformat()
    refused = scheme.award(donor.id, awarded_on=today)
    assert refused.status_code == 422
    body = refused.get_json()
    assert (body["code"], list(body["errors"])) == ("award_not_supported_by_record", ["reason"])
    assert db.session.scalar(select(AwardGrant).where(AwardGrant.donor_id == donor.id)) is None

    reason = "血站纸质档案中另有一次献血，尚未补录"
    granted = scheme.award(donor.id, awarded_on=today, reason=reason)
    assert granted.status_code == 201, granted.get_json()
    assert granted.get_json()["unsupported_reason"] == reason
    (entry,) = audit_of(granted.get_json()["id"])
    assert entry.action == "award.recorded"
    assert entry.details["reason"] == reason
    assert entry.details["unsupported"].startswith("counts 19.5 on ")


def test_a_tier_the_record_reaches_at_the_award_date_needs_no_reason(client, sms):
    # POLICY.md §2: bronze at 20 counts, read on the award date: later donations do not count.
    scheme = Scheme(client, sms)
    donor, data, _ = scheme.donor()
    scheme.give(data, 10)  # the 10th, today, takes the record from 18 counts to 20
    yesterday = (clock.local_today() - timedelta(days=1)).isoformat()
    assert scheme.award(donor.id, awarded_on=yesterday).get_json()["code"] == (
        "award_not_supported_by_record"
    )
    granted = scheme.award(donor.id, awarded_on=clock.local_today().isoformat())
    assert granted.status_code == 201, granted.get_json()
    assert granted.get_json()["unsupported_reason"] is None
    assert "reason" not in audit_of(granted.get_json()["id"])[0].details


def test_each_gold_needs_its_forty_counts_and_the_honour_three_golds(client, sms):
    # POLICY.md §2 and Decisions: the k-th gold at k x 40 counts (the restart after the 40th);
    # the lifetime honour with three golds, reached on the record or granted.
    scheme = Scheme(client, sms)
    donor = donor_row()
    donations(donor, *whole_blood(*[400] * 20))  # 40 counts, in 2012
    day = "2025-08-01"
    first = scheme.award(donor.id, award="gold", period="2012-2013", awarded_on=day)
    assert first.status_code == 201, first.get_json()
    second = scheme.award(donor.id, award="gold", period="2014-2015", awarded_on=day)
    assert second.get_json()["code"] == "award_not_supported_by_record"
    honour = scheme.award(donor.id, award="lifetime_honor", period="2024-2025", awarded_on=day)
    assert honour.get_json()["code"] == "award_not_supported_by_record"
    for period in ("2016-2017", "2018-2019"):  # golds from a station's list: history not held
        given = scheme.award(donor.id, award="gold", period=period, awarded_on=day, reason="档案")
        assert given.status_code == 201
    honour = scheme.award(donor.id, award="lifetime_honor", period="2024-2025", awarded_on=day)
    assert honour.status_code == 201, honour.get_json()
    assert honour.get_json()["unsupported_reason"] is None


def test_zhejiangs_award_is_checked_by_volume_and_named_awards_are_not(client, sms):
    # POLICY.md §3.3: 2000 ml of whole blood given in Zhejiang; 特别奉献奖 and 之江杯奖 have no
    # criteria: names an administrator grants, never a guessed rule.
    scheme = Scheme(client, sms)
    short, enough = donor_row(), donor_row()
    donations(short, *whole_blood(400, 400, 400, 400), start=date(2020, 1, 2))
    donations(enough, *whole_blood(400, 400, 400, 400, 400), start=date(2020, 1, 2))
    award = {"award": "zhejiang_dedication", "period": "2022-2024", "awarded_on": "2025-08-01"}
    assert scheme.award(short.id, **award).get_json()["code"] == "award_not_supported_by_record"
    assert scheme.award(enough.id, **award).status_code == 201
    named = scheme.award(short.id, award="zhijiang_cup", period="2024", awarded_on="2025-08-01")
    assert named.status_code == 201, named.get_json()


def test_a_void_leaves_the_award_standing_flagged_and_the_three_frees_unchanged(client, sms):
    # Issue 14 item 2: an award is a government decision, not silently withdrawn; POLICY.md §2
    # (bronze at 20 counts); zhejiang.toml three_free national_award route: standing follows
    # the granted award as before.
    scheme = Scheme(client, sms)
    donor, data, headers = scheme.donor()
    given = scheme.give(data, 10)  # 20 counts
    grant = scheme.award(donor.id, awarded_on=clock.local_today().isoformat()).get_json()
    holding_before = db.session.scalar(
        select(BenefitHolding).where(BenefitHolding.donor_id == donor.id)
    )
    assert (holding_before.route, holding_before.award_grant_id) == ("national_award", grant["id"])

    void = client.post(
        f"/api/v1/admin/donations/{given[3]['id']}/void",
        json={"reason": "重复登记"},
        headers=scheme.admin,
    )
    assert void.status_code == 200
    row = db.session.get(AwardGrant, grant["id"])
    db.session.refresh(row)
    assert row.revoked_at is None
    assert row.review_flagged_at is not None
    assert row.review_reason.startswith(f"donation {given[3]['id']} voided: counts 18 on ")
    holdings = db.session.scalars(
        select(BenefitHolding).where(BenefitHolding.donor_id == donor.id)
    ).all()
    assert [(h.id, h.withdrawn_at) for h in holdings] == [(holding_before.id, None)]
    benefits = client.get("/api/v1/me/benefits", headers=headers).get_json()
    assert next(r for r in benefits["regions"] if r["region"] == "zhejiang")["held"] is True

    flagged = client.get("/api/v1/admin/awards/flagged", headers=scheme.admin).get_json()
    assert [(item["id"], item["review_reason"]) for item in flagged["items"]] == [
        (grant["id"], row.review_reason)
    ]
    path = f"/api/v1/admin/awards/{grant['id']}/clear-flag"
    cleared = client.post(path, json={"note": "经核实，奖项维持"}, headers=scheme.admin)
    assert cleared.status_code == 200, cleared.get_json()
    assert cleared.get_json()["review_note"] == "经核实，奖项维持"
    assert (
        client.get("/api/v1/admin/awards/flagged", headers=scheme.admin).get_json()["page"]["total"]
        == 0
    )
    assert client.post(path, json={"note": "再次"}, headers=scheme.admin).status_code == 409
    actions = [entry.action for entry in audit_of(grant["id"])]
    assert actions == ["award.recorded", "award.flagged_for_review", "award.review_cleared"]


def test_a_correction_that_keeps_the_counts_flags_nothing(client, sms):
    # A correction voids and records anew in one transaction (wiring.py): the grant is read
    # against the record the transaction leaves, 20 counts, which still supports bronze.
    scheme = Scheme(client, sms)
    donor, data, _ = scheme.donor()
    given = scheme.give(data, 10)
    grant = scheme.award(donor.id, awarded_on=clock.local_today().isoformat()).get_json()
    corrected = client.post(
        f"/api/v1/admin/donations/{given[3]['id']}/correction",
        json={"reason": "采血时间登记有误", "volume_ml": 400},
        headers=scheme.admin,
    )
    assert corrected.status_code in (200, 201), corrected.get_json()
    row = db.session.get(AwardGrant, grant["id"])
    db.session.refresh(row)
    assert row.review_flagged_at is None


def test_a_void_of_a_donation_after_the_award_date_flags_nothing(client, sms):
    # The record is read at the award date: a later donation voided changes nothing it rested on.
    scheme = Scheme(client, sms)
    donor, data, _ = scheme.donor()
    given = scheme.give(data, 11)  # the 10th (20 counts) 190 days ago, the 11th today
    yesterday = (clock.local_today() - timedelta(days=1)).isoformat()
    grant = scheme.award(donor.id, awarded_on=yesterday).get_json()
    assert "id" in grant, grant
    client.post(
        f"/api/v1/admin/donations/{given[10]['id']}/void",
        json={"reason": "重复登记"},
        headers=scheme.admin,
    )
    row = db.session.get(AwardGrant, grant["id"])
    db.session.refresh(row)
    assert row.review_flagged_at is None

"""Award cycles (issue 14 item 2): the donors newly qualified at a cut-off, listed in SQL and
held to honours.py's reading of each record; opening, listing (JSON and CSV) and confirming a
cycle with the decision's document."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from certificate.models import IMPORTED, VOIDED
from core import clock
from core.extensions import db
from core.models import AuditEntry
from donors.models import DONOR_ERASED
from rewards import cycles
from rewards.models import AwardCycle, AwardGrant, BenefitHolding
from rewards.standing import refresh_standing
from tests.factories import bearer, make_staff, staff_token
from tests.factories.cycles import (
    PLATELETS,
    donations,
    donor_row,
    open_cycle,
    whole_blood,
)
from tests.factories.rewards import Scheme

CUT_OFF = date(2025, 12, 31)
PERIOD = "2024-2025"


def grant(donor, award: str, period: str, *, revoked: bool = False) -> AwardGrant:
    row = AwardGrant(
        donor_id=donor.id,
        award=award,
        region="zhejiang",
        period=period,
        decision="国卫医急发〔2021〕1号",
        awarded_on=date(2021, 6, 14),
        revoked_at=clock.now() if revoked else None,
    )
    db.session.add(row)
    db.session.flush()
    return row


def cycle_row(scheme: str = "dedication", region: str = "zhejiang") -> AwardCycle:
    cycle = AwardCycle(scheme=scheme, region=region, period=PERIOD, cut_off=CUT_OFF, status="open")
    db.session.add(cycle)
    db.session.flush()
    return cycle


def listed(cycle: AwardCycle) -> dict[int, list[tuple[str, int]]]:
    found: dict[int, list[tuple[str, int]]] = {}
    for item in cycles.nominations(cycle):
        found.setdefault(item.donor_id, []).append((item.award, item.occurrence))
    return found


def agree(cycle: AwardCycle, donors: dict[str, object]) -> dict[str, list[tuple[str, int]]]:
    """The SQL list, by donor label, after checking it is what honours.py reads off each
    record one donor at a time."""
    in_sql = listed(cycle)
    by_label = {label: in_sql.get(donor.id, []) for label, donor in donors.items()}
    one_by_one = {
        label: cycles.nominated_from_record(donor, cycle) for label, donor in donors.items()
    }
    assert by_label == one_by_one
    return by_label


# ---------------------------------------------------------------- the list agrees with honours.py


def test_the_sql_list_agrees_with_honours_at_every_tier_boundary(app):
    # POLICY.md §2: bronze 20, silver 30, gold 40 counts; the k-th gold at k x 40 (the gold
    # restart, Decisions 2026-11-30); the lifetime honour with three golds, reached or granted;
    # 300 ml = 1.5 (Decisions); a platelet unit counts 4 before 2010-01-01 and 1 since.
    make = donor_row
    donors = {
        "19.5": make(),
        "20": make(),
        "29.5": make(),
        "30": make(),
        "39.5": make(),
        "40": make(),
        "79.5": make(),
        "80": make(),
        "80, a gold granted": make(),
        "120": make(),
        "45, three golds granted": make(),
        "platelets before 2010": make(),
        "platelets across 2010": make(),
        "14 x 300 ml": make(),
        "20 x 250 ml": make(),
        "bronze revoked": make(),
        "bronze recorded for the period, revoked": make(),
        "after the cut-off": make(),
        "imported, not claimed": make(history_claimed_at=None),
        "imported, claimed": make(),
        "one voided of 11": make(),
        "one voided of 10": make(),
        "given in Shandong": make(),
        "lives in Shandong": make(region="shandong"),
        "erased": make(status=DONOR_ERASED),
    }
    d = donors
    donations(d["19.5"], *whole_blood(*[400] * 9, 300))
    donations(d["20"], *whole_blood(*[400] * 10))
    donations(d["29.5"], *whole_blood(*[400] * 14, 300))
    donations(d["30"], *whole_blood(*[400] * 15))
    donations(d["39.5"], *whole_blood(*[400] * 19, 300))
    donations(d["40"], *whole_blood(*[400] * 20))
    donations(d["79.5"], *whole_blood(*[400] * 39, 300))
    donations(d["80"], *whole_blood(*[400] * 40))
    donations(d["80, a gold granted"], *whole_blood(*[400] * 40))
    grant(d["80, a gold granted"], "gold", "2020-2021")
    donations(d["120"], *whole_blood(*[400] * 60))
    donations(d["45, three golds granted"], *whole_blood(*[400] * 22, 200))
    for period, award in [("2014-2015", "bronze"), ("2016-2017", "silver")]:
        grant(d["45, three golds granted"], award, period)
    for period in ("2018-2019", "2020-2021", "2022-2023"):
        grant(d["45, three golds granted"], "gold", period)
    donations(d["platelets before 2010"], *[(PLATELETS, 1)] * 5, start=date(2009, 11, 1))
    donations(d["platelets across 2010"], *[(PLATELETS, 1)] * 5, start=date(2009, 12, 3))
    donations(d["14 x 300 ml"], *whole_blood(*[300] * 14))
    donations(d["20 x 250 ml"], *whole_blood(*[250] * 20))
    donations(d["bronze revoked"], *whole_blood(*[400] * 10))
    grant(d["bronze revoked"], "bronze", "2020-2021", revoked=True)
    donations(d["bronze recorded for the period, revoked"], *whole_blood(*[400] * 10))
    grant(d["bronze recorded for the period, revoked"], "bronze", PERIOD, revoked=True)
    donations(d["after the cut-off"], *whole_blood(*[400] * 10), start=date(2025, 12, 10))
    donations(d["imported, not claimed"], *whole_blood(*[400] * 10), source=IMPORTED)
    donations(d["imported, claimed"], *whole_blood(*[400] * 10), source=IMPORTED)
    voided = donations(d["one voided of 11"], *whole_blood(*[400] * 11))
    voided[3].status = VOIDED
    voided = donations(d["one voided of 10"], *whole_blood(*[400] * 10))
    voided[3].status = VOIDED
    donations(d["given in Shandong"], *whole_blood(*[400] * 10), region="shandong")
    donations(d["lives in Shandong"], *whole_blood(*[400] * 10))
    donations(d["erased"], *whole_blood(*[400] * 10))
    db.session.flush()

    bronze, silver, gold = ("bronze", 1), ("silver", 1), ("gold", 1)
    assert agree(cycle_row(), donors) == {
        "19.5": [],
        "20": [bronze],
        "29.5": [bronze],
        "30": [bronze, silver],
        "39.5": [bronze, silver],
        "40": [bronze, silver, gold],
        "79.5": [bronze, silver, gold],
        # two golds reached, none granted: the first now, the second in a later cycle
        "80": [bronze, silver, gold],
        "80, a gold granted": [bronze, silver, ("gold", 2)],
        "120": [bronze, silver, gold, ("lifetime_honor", 1)],
        "45, three golds granted": [("lifetime_honor", 1)],
        "platelets before 2010": [bronze],
        "platelets across 2010": [],
        "14 x 300 ml": [bronze],
        "20 x 250 ml": [bronze],
        "bronze revoked": [bronze],
        "bronze recorded for the period, revoked": [],
        "after the cut-off": [],
        "imported, not claimed": [],
        "imported, claimed": [bronze],
        "one voided of 11": [bronze],
        "one voided of 10": [],
        "given in Shandong": [bronze],
        "lives in Shandong": [],
        "erased": [],
    }


def test_the_sql_list_of_zhejiangs_award_agrees_with_honours(app):
    # POLICY.md §3.3: 2000 ml of whole blood given in Zhejiang, 1000 ml for a rare blood type
    # (RhD negative found by the laboratory: zhejiang.toml [region_awards.rare_blood]).
    make = donor_row
    donors = {
        "2000 ml": make(),
        "1900 ml": make(),
        "1200 ml, rare": make(rhd="negative", blood_group_source="laboratory"),
        "1200 ml, said rare": make(rhd="negative", blood_group_source="self_reported"),
        "2000 ml, lives in Shandong": make(region="shandong"),
        "2000 ml given in Shandong": make(),
        "1600 ml and platelets": make(),
        "2000 ml, granted before": make(),
    }
    d = donors
    donations(d["2000 ml"], *whole_blood(*[400] * 5))
    donations(d["1900 ml"], *whole_blood(400, 400, 400, 400, 300))
    donations(d["1200 ml, rare"], *whole_blood(400, 400, 400))
    donations(d["1200 ml, said rare"], *whole_blood(400, 400, 400))
    donations(d["2000 ml, lives in Shandong"], *whole_blood(*[400] * 5), region="zhejiang")
    donations(d["2000 ml given in Shandong"], *whole_blood(*[400] * 5), region="shandong")
    donations(d["1600 ml and platelets"], *whole_blood(*[400] * 4), (PLATELETS, 2))
    donations(d["2000 ml, granted before"], *whole_blood(*[400] * 5))
    grant(d["2000 ml, granted before"], "zhejiang_dedication", "2019-2021")

    award = [("zhejiang_dedication", 1)]
    assert agree(cycle_row("zhejiang_dedication"), donors) == {
        "2000 ml": award,
        "1900 ml": [],
        "1200 ml, rare": award,
        "1200 ml, said rare": [],
        "2000 ml, lives in Shandong": award,
        "2000 ml given in Shandong": [],
        "1600 ml and platelets": [],
        "2000 ml, granted before": [],
    }


def test_each_donations_counts_in_sql_are_the_policys_own(app):
    # POLICY.md §2, Decisions: 400 ml = 2, 300 ml = 1.5, 250 ml = 1 (the half below); a
    # platelet unit = 4 before 2010-01-01 and 1 from it (certificate.policy.counts_for).
    from certificate.models import Donation
    from certificate.policy import donation_rules
    from core.policy import policy_for

    donor = donor_row()
    rows = donations(
        donor,
        *whole_blood(400, 300, 250, 200, 150),
        (PLATELETS, 1),
        (PLATELETS, 2),
        start=date(2009, 10, 20),  # the platelets on 2009-12-29 and 2010-01-12
    )
    halves = dict(
        db.session.execute(
            select(Donation.id, cycles.half_counts()).where(Donation.donor_id == donor.id)
        ).all()
    )
    rules = donation_rules(policy_for("zhejiang"))
    for row in rows:
        amount = row.units if row.units is not None else row.volume_ml
        assert halves[row.id] == 2 * rules.counts_for(row.kind, amount, row.donation_date)
    assert [halves[row.id] for row in rows] == [4, 3, 2, 2, 1, 8, 4]


# ---------------------------------------------------------------- opening, listing, confirming


@pytest.fixture
def scheme(client, sms):
    return Scheme(client, sms)


def test_opening_a_cycle_checks_scheme_region_period_and_cut_off(client, scheme):
    # Issue 14 item 2: one open cycle per region, scheme and period; the cut-off not ahead.
    admin = scheme.admin
    tomorrow = (clock.local_today() + timedelta(days=1)).isoformat()

    def code(**overrides):
        return open_cycle(client, admin, **overrides).get_json()["code"]

    assert code(scheme="platinum") == "award_scheme_unknown"
    # an award without criteria is a name an administrator grants: there is nothing to list
    assert code(scheme="zhijiang_cup") == "award_scheme_unknown"
    assert code(scheme="zhejiang_dedication", region="shandong") == "award_scheme_unknown"
    assert code(region="mars") == "region_unknown"
    assert code(period="2025-2024") == "award_period_invalid"
    assert code(period="2026-2027") == "award_period_invalid"
    assert code(cut_off=tomorrow) == "cut_off_in_future"
    opened = open_cycle(client, admin)
    assert opened.status_code == 201, opened.get_json()
    assert opened.get_json()["status"] == "open"
    assert open_cycle(client, admin).status_code == 409
    assert open_cycle(client, admin, scheme="zhejiang_dedication").status_code == 201
    assert open_cycle(client, admin, period="2022-2023").status_code == 201
    listing = client.get("/api/v1/admin/award-cycles?status=open", headers=admin).get_json()
    assert listing["page"]["total"] == 3
    staff = bearer(scheme.staff)
    assert open_cycle(client, staff, period="2020-2021").status_code == 403


def test_the_nominations_are_paged_masked_and_exported_as_formula_safe_csv(client, scheme):
    # Issue 14 item 2: JSON and CSV for the nomination forms; names and ID numbers masked as
    # staff see donors; a cell a spreadsheet would read as a formula starts with an apostrophe.
    formula = donor_row(name="=HYPERLINK(1)")
    donations(formula, *whole_blood(*[400] * 15))
    plain = donor_row(name="张三丰")
    donations(plain, *whole_blood(*[400] * 10))
    cycle = open_cycle(client, scheme.admin).get_json()
    path = f"/api/v1/admin/award-cycles/{cycle['id']}/nominations"

    page = client.get(f"{path}?per_page=2", headers=scheme.admin).get_json()
    assert page["page"] == {"page": 1, "per_page": 2, "total": 3, "pages": 2}
    first = page["items"][0]
    assert first["donor_id"] == formula.id
    assert (first["award"], first["award_name"], first["counts"]) == (
        "bronze",
        "无偿献血奉献奖铜奖",
        30,
    )
    assert first["name"] == "=" + "*" * 12
    assert first["id_number"] == formula.id_number[:6] + "********" + formula.id_number[-4:]
    rest = client.get(f"{path}?page=2&per_page=2", headers=scheme.admin).get_json()["items"]
    assert [(r["donor_id"], r["award"], r["name"]) for r in rest] == [(plain.id, "bronze", "张**")]

    response = client.get(f"{path}.csv", headers=scheme.admin)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert table[0] == list(cycles.NOMINATION_COLUMNS)
    assert [row[1] for row in table[1:]] == ["'=" + "*" * 12] * 2 + ["张**"]
    assert [row[3] for row in table[1:]] == ["bronze", "silver", "bronze"]
    assert all(formula.id_number not in row[2] for row in table[1:])
    assert client.get(f"{path}.csv", headers=bearer(scheme.staff)).status_code == 403


def test_confirming_grants_each_donor_not_excluded_once_with_cycle_and_document(client, scheme):
    # Issue 14 item 2: the list confirmed with the decision's document number; each donor gets
    # the award with its cycle and document; exclusions carry a reason; confirming twice is 409;
    # the three frees resting on the award follow at once (zhejiang.toml, national_award route).
    donor, data, headers = scheme.donor()
    scheme.give(data, 10)  # 20 counts: bronze
    left_out = donor_row()
    donations(left_out, *whole_blood(*[400] * 10))
    today = clock.local_today()
    period = f"{today.year - 1}-{today.year}"
    cycle = open_cycle(client, scheme.admin, period=period, cut_off=today.isoformat()).get_json()
    path = f"/api/v1/admin/award-cycles/{cycle['id']}/confirm"
    body = {
        "decision": "国卫医急发〔2025〕11号",
        "awarded_on": today.isoformat(),
        "exclusions": [{"donor_id": left_out.id, "reason": "本人已故，另行处理"}],
    }
    before = (today - timedelta(days=1)).isoformat()
    refused = client.post(path, json={**body, "awarded_on": before}, headers=scheme.admin)
    assert refused.get_json()["code"] == "awarded_before_cut_off"
    stranger = {**body, "exclusions": [{"donor_id": 999999, "reason": "不在名单"}]}
    assert client.post(path, json=stranger, headers=scheme.admin).get_json()["code"] == (
        "nomination_unknown"
    )

    confirmed = client.post(path, json=body, headers=scheme.admin)
    assert confirmed.status_code == 200, confirmed.get_json()
    view = confirmed.get_json()
    assert (view["status"], view["granted"], view["decision"]) == ("confirmed", 1, body["decision"])
    assert view["exclusions"] == [{"donor_id": left_out.id, "reason": "本人已故，另行处理"}]
    (granted,) = db.session.scalars(select(AwardGrant).where(AwardGrant.donor_id == donor.id))
    assert (granted.award, granted.cycle_id, granted.decision, granted.period) == (
        "bronze",
        cycle["id"],
        body["decision"],
        period,
    )
    assert db.session.scalar(select(AwardGrant).where(AwardGrant.donor_id == left_out.id)) is None
    holding = db.session.scalar(select(BenefitHolding).where(BenefitHolding.donor_id == donor.id))
    assert (holding.route, holding.award_grant_id) == ("national_award", granted.id)
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.target_type == "award_cycle")
    ).all()
    assert actions == ["award_cycle.opened", "award_cycle.confirmed"]

    assert client.post(path, json=body, headers=scheme.admin).status_code == 409
    # granted, the donor is no longer nominated for bronze in the next cycle
    later = open_cycle(client, scheme.admin, period=str(today.year), cut_off=today.isoformat())
    rows = client.get(
        f"/api/v1/admin/award-cycles/{later.get_json()['id']}/nominations", headers=scheme.admin
    ).get_json()["items"]
    assert [(r["donor_id"], r["award"]) for r in rows] == [(left_out.id, "bronze")]
    assert client.post(path, json=body, headers=bearer(scheme.staff)).status_code == 403


def award_holdings(donor) -> set[tuple[str, object, int | None]]:
    return {
        (row.region, row.since, row.award_grant_id)
        for row in db.session.scalars(
            select(BenefitHolding).where(
                BenefitHolding.donor_id == donor.id,
                BenefitHolding.route == "national_award",
                BenefitHolding.withdrawn_at.is_(None),
            )
        )
    }


def test_confirming_opens_the_benefits_each_donors_own_standing_would(client, scheme):
    # Issue 14 item 2: three-frees standing follows the granted award (zhejiang.toml: the
    # national_award route, awards won in Zhejiang; shandong.toml: won there, the rest an open
    # question). A whole list is granted and its benefits opened in a few statements; each
    # donor's standing, recomputed one at a time afterwards, finds nothing to change.
    today = clock.local_today()
    new = donor_row()  # 20 counts, nothing held: bronze, and the benefits from today
    donations(new, *whole_blood(*[400] * 10))
    holding_bronze = donor_row()  # 30 counts, bronze held with its benefits: silver only
    donations(holding_bronze, *whole_blood(*[400] * 15))
    grant(holding_bronze, "bronze", "2020-2021")
    revoked = donor_row()  # a revoked bronze earns nothing: bronze anew
    donations(revoked, *whole_blood(*[400] * 10))
    grant(revoked, "bronze", "2020-2021", revoked=True)
    won_in_shandong = donor_row()  # bronze won in Shandong: the benefits there, not here
    donations(won_in_shandong, *whole_blood(*[400] * 15))
    grant(won_in_shandong, "bronze", "2020-2021").region = "shandong"
    db.session.flush()
    donors = [new, holding_bronze, revoked, won_in_shandong]
    for donor in donors:
        refresh_standing(donor)
    db.session.commit()
    before = {donor.id: award_holdings(donor) for donor in donors}
    assert before[new.id] == set()

    period = f"{today.year - 1}-{today.year}"
    cycle = open_cycle(client, scheme.admin, period=period, cut_off=today.isoformat()).get_json()
    body = {"decision": "国卫医急发〔2025〕11号", "awarded_on": today.isoformat()}
    confirmed = client.post(
        f"/api/v1/admin/award-cycles/{cycle['id']}/confirm", json=body, headers=scheme.admin
    )
    assert confirmed.status_code == 200, confirmed.get_json()
    assert confirmed.get_json()["granted"] == 4

    after = {donor.id: award_holdings(donor) for donor in donors}
    for donor in donors:
        refresh_standing(donor)
    assert {donor.id: award_holdings(donor) for donor in donors} == after
    midnight = clock.as_utc(datetime.combine(today, time.min, clock.LOCAL_ZONE))
    new_bronze = db.session.scalar(
        select(AwardGrant.id).where(AwardGrant.donor_id == new.id, AwardGrant.cycle_id.is_not(None))
    )
    assert after[new.id] == {("zhejiang", midnight, new_bronze)}
    assert after[holding_bronze.id] == before[holding_bronze.id] != set()
    assert {region for region, _, _ in after[revoked.id]} == {"zhejiang"}
    assert {region for region, _, _ in after[won_in_shandong.id]} == {"shandong", "zhejiang"}
    (entry,) = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "award_cycle.confirmed")
    )
    assert (entry.details["granted"], entry.details["benefits_opened"]) == (4, 3)


def test_an_unknown_cycle_is_404(client, scheme):
    assert client.get("/api/v1/admin/award-cycles/999999", headers=scheme.admin).status_code == 404
    assert (
        client.get("/api/v1/admin/award-cycles/999999/nominations", headers=scheme.admin)
    ).status_code == 404


def test_only_admins_open_and_list_cycles(client, sms):
    scheme = Scheme(client, sms)
    other = bearer(staff_token(client, make_staff([scheme.site])))
    assert client.get("/api/v1/admin/award-cycles", headers=other).status_code == 403
    assert client.get("/api/v1/admin/award-cycles").status_code == 401

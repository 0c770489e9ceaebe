"""GET /me/blood-use and its history (issue 15 item 2): what the donor and each relative may use
today, window by window, with each figure's rule, masked, and the donor's own only."""

from __future__ import annotations

from datetime import date, timedelta

from blooduse.models import AT_HOSPITAL, SETTLED, BloodFeeReduction
from core import clock
from core.extensions import db
from core.policy import Period
from donors.models import LINK_VERIFIED, FamilyLink
from tests.factories import resident_id
from tests.factories.rewards import Scheme


def test_a_donor_sees_their_pool_and_their_relatives_with_each_rule(client, sms):
    # POLICY.md §3.2: 300 ml of whole blood: 5x for 5 years (the donor), 2x (spouse).
    scheme = Scheme(client, sms)
    donor, data, headers = scheme.donor()
    scheme.give(data, 1, volume_ml=300)
    db.session.add(
        FamilyLink(
            donor_id=donor.id,
            relation="spouse",
            name="李秀英",
            id_number=resident_id("19700101", male=False),
            id_number_hash="spouse-of-test",
            status=LINK_VERIFIED,
        )
    )
    db.session.commit()
    body = client.get("/api/v1/me/blood-use", headers=headers).get_json()
    assert body["on"] == clock.local_today().isoformat()
    assert [rules["region"] for rules in body["rules"]] == ["zhejiang"]
    own = body["own"]
    assert (own["unlimited"], own["remaining_ml"], own["refused"]) == (False, 1500, None)
    (window,) = own["windows"]
    assert (window["ml"], window["multiple"], window["allowance_ml"]) == (300, 5, 1500)
    five_years = Period.parse("P5Y").add_to(clock.local_today())
    assert window["ends_on"] == (five_years - timedelta(days=1)).isoformat()
    assert "5 years" in window["rule"]
    assert window["explanation"] == f"献血量300毫升的5倍，有效期至{window['ends_on']}。"
    (spouse,) = body["relatives"]
    assert (spouse["relation"], spouse["relation_name"], spouse["name"]) == (
        "spouse",
        "配偶",
        "李**",
    )
    assert spouse["entitlement"]["remaining_ml"] == 600
    assert "李秀英" not in str(body)


def test_the_history_lists_the_donors_own_bills_only_newest_first(client, sms):
    scheme = Scheme(client, sms)
    donor, _, headers = scheme.donor()
    other, _, other_headers = scheme.donor()
    for number, day in (("B-1", date(2026, 1, 5)), ("B-2", date(2026, 2, 5))):
        db.session.add(
            BloodFeeReduction(
                channel=AT_HOSPITAL,
                status=SETTLED,
                bill_key=f"code:H1|{number.lower()}",
                bill_number=number,
                hospital_name="浙江大学医学院附属第一医院",
                donor_id=donor.id,
                region="zhejiang",
                transfused_on=day,
                components=[{"component": "red_cells", "volume_ml": 400}],
                volume_ml=400,
                fee_cents=80000,
                covered_ml=400,
                reduction_cents=80000,
                created_by_type="device",
            )
        )
        db.session.flush()
    db.session.commit()
    page = client.get("/api/v1/me/blood-use/history?per_page=1", headers=headers).get_json()
    assert page["page"]["total"] == 2
    assert [item["bill_number"] for item in page["items"]] == ["B-2"]
    assert (
        client.get("/api/v1/me/blood-use/history", headers=other_headers).get_json()["page"][
            "total"
        ]
        == 0
    )
    assert client.get("/api/v1/me/blood-use").status_code == 401
    assert client.get("/api/v1/me/blood-use", headers=scheme.admin).status_code == 403

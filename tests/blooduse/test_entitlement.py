"""The entitlement each donation gives (issue 15 item 2), region by region, from the policy files:
POLICY.md §3.2 (Zhejiang), §3.4 (Shandong, Beijing), §4 (apheresis -> ml) and the Decisions of
2026-11-30 (a window per donation; the soonest-ending window first; Shandong's one shared pool; a
donation follows the rules of the region where it was given)."""

from __future__ import annotations

from datetime import date

import pytest

from blooduse.entitlement import entitlement, plan_draws
from blooduse.ledger import lock_pools, record_draws, restore_draws
from blooduse.models import AT_HOSPITAL, SETTLED, BloodFeeReduction
from certificate.models import IMPORTED
from core.extensions import db
from donors.models import LINK_DECLARED, LINK_VERIFIED, FamilyLink
from tests.factories import resident_id
from tests.factories.cycles import PLATELETS, donations, donor_row, whole_blood

GIVEN = date(2020, 3, 2)


def relative(donor, relation: str, status: str = LINK_VERIFIED) -> FamilyLink:
    link = FamilyLink(
        donor_id=donor.id,
        relation=relation,
        name="李秀英",
        id_number=resident_id("19500101"),
        id_number_hash=f"link-{donor.id}-{relation}",
        status=status,
    )
    db.session.add(link)
    db.session.flush()
    return link


def use(donor, pool_link, on: date, ml: int, bill: str) -> BloodFeeReduction:
    """Draw `ml` as a settlement would: under the lock, from the pool in force on `on`."""
    lock_pools(donor.id)
    found = entitlement(donor, on, pool_link)
    draws = plan_draws(found, ml)
    reduction = BloodFeeReduction(
        channel=AT_HOSPITAL,
        status=SETTLED,
        bill_key=f"test|{bill}",
        bill_number=bill,
        hospital_name="测试医院",
        donor_id=donor.id,
        family_link_id=pool_link.id if pool_link else None,
        region=donor.region,
        transfused_on=on,
        components=[{"component": "red_cells", "volume_ml": ml}],
        volume_ml=ml,
        fee_cents=ml * 100,
        created_by_type="device",
    )
    db.session.add(reduction)
    db.session.flush()
    record_draws(reduction, found.pool, draws)
    return reduction


# ---------------------------------------------------------------- Zhejiang (POLICY.md §3.2)


def test_zhejiang_a_200_ml_donor_has_five_times_for_five_years_then_the_volume(app):
    # §3.2: whole blood < 400 ml: for 5 years from the donation date up to 5x, then 1x.
    donor = donor_row()
    donations(donor, *whole_blood(200), start=GIVEN)
    within = entitlement(donor, date(2025, 3, 1))
    assert (within.unlimited, within.remaining_ml) == (False, 1000)
    (window,) = within.windows
    assert (window.multiple, window.starts_on, window.ends_on) == (5, GIVEN, date(2025, 3, 1))
    after = entitlement(donor, date(2025, 3, 2))
    assert after.remaining_ml == 200
    assert after.windows[0].ends_on is None  # after that, for life


@pytest.mark.parametrize(
    ("given", "unlimited"),
    [((200, 200), True), ((300,), False), ((400,), True)],
    ids=["two of 200 ml", "300 ml", "400 ml"],
)
def test_zhejiang_400_ml_of_whole_blood_in_all_is_unlimited_for_life(app, given, unlimited):
    # §3.2: donor, whole blood >= 400 ml cumulative: lifetime, unlimited.
    donor = donor_row()
    donations(donor, *whole_blood(*given), start=GIVEN, every=date(2020, 9, 2) - GIVEN)
    found = entitlement(donor, date(2040, 1, 1))
    assert found.unlimited is unlimited
    assert found.remaining_ml == (None if unlimited else 300)


def test_zhejiang_a_platelet_donor_is_unlimited_but_relatives_get_no_guessed_volume(app):
    # §3.2: a donor of apheresis platelets: lifetime, unlimited. §4: Zhejiang's platelet -> ml
    # factor was not found, so the relatives' 2x has no volume to multiply: shown with its
    # question, never guessed.
    donor = donor_row()
    donations(donor, (PLATELETS, 1), start=GIVEN)
    assert entitlement(donor, date(2021, 1, 1)).unlimited
    spouse = relative(donor, "spouse")
    found = entitlement(donor, date(2021, 1, 1), spouse)
    assert (found.windows, found.remaining_ml) == ([], 0)
    (no_volume,) = found.no_volume
    assert no_volume.reason == "ml_factor_unknown"
    assert "Zhejiang Blood Centre" in (no_volume.question or "")


def test_zhejiang_a_rare_blood_type_confirmed_by_the_laboratory_is_unlimited(app):
    # §3.2: rare blood type: lifetime, unlimited; zhejiang.toml [region_awards.rare_blood]: RhD
    # negative, determined by the laboratory (a self-reported group is no proof).
    rare = donor_row(rhd="negative", blood_group_source="laboratory")
    said = donor_row(rhd="negative", blood_group_source="self_reported")
    for donor in (rare, said):
        donations(donor, *whole_blood(200), start=GIVEN)
    assert entitlement(rare, date(2030, 1, 1)).unlimited
    assert entitlement(said, date(2030, 1, 1)).remaining_ml == 200


def test_zhejiang_relatives_have_twice_for_five_years_then_the_volume(app):
    # §3.2: spouse, parents, children: 5 years 2x the volume, then equal volume (since 2014).
    donor = donor_row()
    donations(donor, *whole_blood(400), start=GIVEN)
    parent = relative(donor, "parent")
    assert entitlement(donor, date(2024, 1, 1), parent).remaining_ml == 800
    assert entitlement(donor, date(2026, 1, 1), parent).remaining_ml == 400


def test_zhejiang_extended_relatives_only_once_the_donor_reached_gold(app):
    # §3.2: siblings, grandparents, spouse's parents: the same rule, only if the donor reached
    # the national gold standard (8000 ml = 40 counts, zhejiang.toml).
    short, gold = donor_row(), donor_row()
    donations(short, *whole_blood(*[400] * 19), (("whole_blood", 300)), start=date(2005, 1, 3))
    donations(gold, *whole_blood(*[400] * 20), start=date(2005, 1, 3))
    refused = entitlement(short, date(2016, 1, 1), relative(short, "sibling"))
    assert (refused.refused, refused.remaining_ml) == ("extended_relative_needs_gold", 0)
    granted = entitlement(gold, date(2016, 1, 1), relative(gold, "sibling"))
    assert granted.refused is None
    assert granted.remaining_ml and granted.remaining_ml > 0


def test_a_relation_the_region_does_not_list_is_refused(app):
    # shandong.toml lists children's spouses; Zhejiang's list does not.
    donor = donor_row()
    donations(donor, *whole_blood(400), start=GIVEN)
    found = entitlement(donor, date(2021, 1, 1), relative(donor, "child_spouse"))
    assert found.refused == "relation_not_covered"


def test_a_declared_link_is_used_only_once_verified(app):
    donor = donor_row()
    donations(donor, *whole_blood(400), start=GIVEN)
    found = entitlement(donor, date(2021, 1, 1), relative(donor, "spouse", LINK_DECLARED))
    assert (found.refused, found.remaining_ml) == ("link_not_verified", 0)


# ---------------------------------------------------------------- Shandong (POLICY.md §3.4)


def test_shandong_counts_an_apheresis_dose_as_800_ml_towards_the_lifetime_1000(app):
    # §3.4, §4: 1 therapeutic dose of any apheresis component = 800 ml; >= 1000 ml: lifetime.
    donor = donor_row(region="shandong")
    donations(donor, (PLATELETS, 1), *whole_blood(200), start=date(2024, 5, 6))
    assert entitlement(donor, date(2025, 1, 1)).unlimited
    under = donor_row(region="shandong")
    donations(under, (PLATELETS, 1), start=date(2024, 5, 6))
    assert entitlement(under, date(2025, 1, 1)).remaining_ml == 4000  # 5 x 800


def test_shandong_relatives_share_one_pool_of_the_donors_volume(app):
    # §3.4: beneficiaries' total relief <= the donor's volume, independent of the donor's own;
    # Decisions: one pool shared by all beneficiaries.
    donor = donor_row(region="shandong")
    donations(donor, *whole_blood(400, 300), start=date(2024, 5, 6))
    spouse, child_spouse = relative(donor, "spouse"), relative(donor, "child_spouse")
    assert entitlement(donor, date(2025, 1, 1), spouse).remaining_ml == 700
    use(donor, spouse, date(2025, 1, 1), 500, "SD-1")
    assert entitlement(donor, date(2025, 2, 1), child_spouse).remaining_ml == 200
    assert entitlement(donor, date(2025, 2, 1)).remaining_ml == 3500  # the donor's own: 5 x 700


def test_shandong_rules_apply_to_transfusions_in_force_dates_only(app):
    # shandong.toml: in force 2024-04-01 to 2029-03-31; donations count from 1998-10-01.
    donor = donor_row(region="shandong")
    donations(donor, *whole_blood(200), start=date(1998, 9, 1))
    donations(donor, *whole_blood(200), start=date(2024, 5, 6))
    found = entitlement(donor, date(2025, 1, 1))
    assert found.remaining_ml == 1000  # the 1998-09-01 donation is before counting began
    assert [item.reason for item in found.no_volume] == ["before_counting"]
    after = entitlement(donor, date(2029, 4, 1))
    assert (after.windows, {item.reason for item in after.no_volume}) == ([], {"no_rule_in_force"})


def test_shandong_counts_a_donation_up_to_six_months_after_the_discharge(app):
    # §3.4: volume counts from 1998-10-01 to 6 months after discharge.
    donor = donor_row(region="shandong")
    donations(donor, *whole_blood(200), start=date(2025, 6, 1))
    assert entitlement(donor, date(2025, 3, 1)).remaining_ml == 0
    found = entitlement(donor, date(2025, 3, 1), discharged_on=date(2025, 3, 10))
    assert found.remaining_ml == 1000


# ---------------------------------------------------------------- Beijing (POLICY.md §3.4)


def test_beijing_five_times_for_ten_years_then_twice(app):
    # §3.4 (2009): donor 5x within 10 years, then 2x.
    donor = donor_row(region="beijing")
    donations(donor, *whole_blood(400), start=GIVEN)
    assert entitlement(donor, date(2030, 3, 1)).remaining_ml == 2000
    assert entitlement(donor, date(2030, 3, 2)).remaining_ml == 800


def test_beijing_lifetime_needs_more_than_1000_ml(app):
    # §3.4: > 1000 ml (strictly): lifetime unlimited; 1 apheresis unit = 400 ml.
    exactly, above = donor_row(region="beijing"), donor_row(region="beijing")
    donations(exactly, (PLATELETS, 2), *whole_blood(200), start=GIVEN)  # 800 + 200 = 1000
    donations(above, (PLATELETS, 2), *whole_blood(300), start=GIVEN)  # 1100
    assert not entitlement(exactly, date(2021, 1, 1)).unlimited
    assert entitlement(above, date(2021, 1, 1)).unlimited


def test_beijing_relatives_have_the_volume_for_ten_years_then_nothing(app):
    # §3.4: spouse and direct relatives: equal volume within 10 years of the donation.
    donor = donor_row(region="beijing")
    donations(donor, *whole_blood(400), start=GIVEN)
    grandchild = relative(donor, "grandchild")
    assert entitlement(donor, date(2030, 3, 1), grandchild).remaining_ml == 400
    assert entitlement(donor, date(2030, 3, 2), grandchild).remaining_ml == 0


# ---------------------------------------------------------------- windows, drawing, the ledger


def test_each_donation_has_its_own_window_and_the_soonest_ending_is_drawn_first(app):
    # Decisions: per donation, each its own 5x for 5 years; use draws first from the window
    # that ends soonest (Shandong: two donations under 1000 ml in all).
    donor = donor_row(region="shandong")
    first, second = donations(
        donor,
        *whole_blood(200, 300),
        start=date(2024, 5, 6),
        every=date(2024, 11, 6) - date(2024, 5, 6),
    )
    found = entitlement(donor, date(2025, 1, 1))
    assert [w.donation_id for w in found.windows] == [first.id, second.id]
    assert found.remaining_ml == 2500
    reduction = use(donor, None, date(2025, 1, 1), 1200, "SD-2")
    after = entitlement(donor, date(2025, 1, 2))
    assert [(w.donation_id, w.remaining_ml) for w in after.windows] == [
        (first.id, 0),
        (second.id, 1300),
    ]
    assert restore_draws(reduction) == 1200
    assert entitlement(donor, date(2025, 1, 2)).remaining_ml == 2500


def test_the_first_years_use_does_not_eat_into_the_allowance_after_them(app):
    # The reading entitlement.py states: each phase of a window is its own allowance.
    donor = donor_row()
    donations(donor, *whole_blood(200), start=GIVEN)
    use(donor, None, date(2021, 1, 1), 1000, "ZJ-1")
    assert entitlement(donor, date(2024, 1, 1)).remaining_ml == 0
    assert entitlement(donor, date(2026, 1, 1)).remaining_ml == 200


def test_the_donors_pool_and_the_relatives_pool_do_not_draw_on_each_other(app):
    donor = donor_row()
    donations(donor, *whole_blood(300), start=GIVEN)
    child = relative(donor, "child")
    use(donor, None, date(2021, 1, 1), 1500, "ZJ-2")
    assert entitlement(donor, date(2021, 2, 1)).remaining_ml == 0
    assert entitlement(donor, date(2021, 2, 1), child).remaining_ml == 600


def test_a_draw_beyond_what_remains_covers_only_what_remains(app):
    donor = donor_row()
    donations(donor, *whole_blood(300), start=GIVEN)
    draws = plan_draws(entitlement(donor, date(2021, 1, 1)), 2000)
    assert sum(draw.ml for draw in draws) == 1500


def test_a_donation_follows_the_rules_of_the_region_where_it_was_given(app):
    # Decisions: the entitlement a donation gives follows the rules of its region.
    donor = donor_row()  # lives in Zhejiang, gave 400 ml in Beijing: Beijing's 5x for 10 years
    donations(donor, *whole_blood(400), start=GIVEN, region="beijing")
    found = entitlement(donor, date(2027, 1, 1))
    assert (found.unlimited, found.remaining_ml) == (False, 2000)
    assert {w.region for w in found.windows} == {"beijing"}
    assert entitlement(donor, date(2027, 1, 1), only_regions=["zhejiang"]).remaining_ml == 0


def test_a_voided_donation_gives_nothing(app):
    donor = donor_row()
    donations(donor, *whole_blood(300), start=GIVEN, status="voided")
    assert entitlement(donor, date(2021, 1, 1)).remaining_ml == 0


def test_the_stations_imported_history_counts_at_the_hospital_before_the_donor_claims_it(app):
    # Issue 15 item 8, "quotas right on day one": the station's imported record is what hospitals
    # and the station go by; the donor's own view shows it once the donor has proven it.
    donor = donor_row(history_claimed_at=None)
    donations(donor, *whole_blood(200), start=GIVEN, source=IMPORTED)
    assert entitlement(donor, date(2021, 1, 1)).remaining_ml == 0
    assert entitlement(donor, date(2021, 1, 1), unclaimed_history=True).remaining_ml == 1000

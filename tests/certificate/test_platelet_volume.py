"""Platelet volumes and the yearly cap on platelets + plasma collected.

GB 18467-2011 (POLICY.md §1.4): platelets + plasma collected at most 10 L a year, counted per
calendar year like the 24-a-year cap. POLICY.md "Decisions (2026-11-30)": staff record the
collected volume from the apheresis device with the units; a record without a volume (an
import) counts the policy's default of 250 ml a therapeutic unit.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from certificate.eligibility import check_eligibility, collected_volume
from certificate.models import Donation
from certificate.policy import donation_rules
from core import clock
from core.extensions import db
from core.ids import make_din
from core.policy import PolicyError, policy_for
from tests.factories import (
    ENGLISH_COMMAND_LINE,
    at,
    donor_record,
    make_site,
    make_staff,
    record,
    resident_id,
    staff_token,
)
from tests.factories.policies import POLICIES, edit, load_policies

HEADER = ["id_number", "name", "din", "kind", "volume_ml", "units", "donation_date"]


def import_rows(app, tmp_path, rows) -> str:
    path = tmp_path / "history.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return (
        app.test_cli_runner()
        .invoke(args=["certificate", "import", str(path)], env=ENGLISH_COMMAND_LINE)
        .output
    )


def platelet_row(id_number: str, sequence: int, day: date, units: int, volume: str = "") -> list:
    made = make_din("W3301", day.year, sequence)
    din = made.body + made.check
    return [id_number, "王小明", din, "apheresis_platelets", volume, units, day.isoformat()]


def give_platelets(client, staff, site, data, volume_ml: int):
    return record(
        client,
        staff,
        site,
        data["plain"]["id_number"],
        kind="apheresis_platelets",
        units=2,
        volume_ml=volume_ml,
    )


def test_the_policy_gives_the_cap_and_the_per_unit_default_with_sources():
    policy = load_policies(POLICIES)["zhejiang"]
    cap = donation_rules(policy).volume_cap("apheresis_platelets", date(2026, 1, 1))
    assert (cap.max_ml, set(cap.kinds)) == (10000, {"apheresis_platelets", "apheresis_plasma"})
    assert donation_rules(policy).volume_cap("whole_blood", date(2026, 1, 1)) is None
    platelets = donation_rules(policy).kind("apheresis_platelets", date(2026, 1, 1))
    assert (platelets.volume_required, platelets.default_ml_per_unit) == (True, 250)
    assert "Decisions (2026-11-30)" in platelets.source


def test_a_capped_kind_measured_in_units_needs_a_per_unit_default(policy_dir):
    edit(policy_dir / "national.toml", "default_ml_per_unit = 250\n", "")
    with pytest.raises(PolicyError, match="give default_ml_per_unit"):
        load_policies(policy_dir)


@pytest.fixture
def this_year(app, client, sms, tmp_path):
    """A donor with 19 imported two-unit platelet donations (no volume: 19 x 500 ml = 9500 ml)
    between 5 January and 14 September 2026, the clock at 1 October 2026, 10:00."""
    site = make_site()
    staff = staff_token(client, make_staff([site]))
    with clock.frozen_at(at(date(2026, 10, 1))):
        donor, data = donor_record(client, sms, id_number=resident_id(birth="19900505"))
        first = date(2026, 1, 5)
        person = data["plain"]["id_number"]
        rows = [platelet_row(person, 100 + n, first + timedelta(14 * n), 2) for n in range(19)]
        output = import_rows(app, tmp_path, rows)
        assert "loaded 19" in output, output
        yield donor, data, site, staff


def test_imported_platelets_without_a_volume_count_the_policy_default(this_year):
    donor, *_ = this_year
    policy = policy_for("zhejiang")
    donations = db.session.scalars(select(Donation).where(Donation.donor_id == donor.id)).all()
    assert {d.volume_ml for d in donations} == {None}
    assert sum(collected_volume(d, policy) for d in donations) == 9500


def test_a_donation_that_would_pass_the_cap_is_refused(client, this_year):
    _, data, site, staff = this_year
    with clock.frozen_at(at(date(2026, 10, 1))):
        over = give_platelets(client, staff, site, data, 520)
        assert over.status_code == 409
        assert over.get_json()["code"] == "donor_not_eligible"
        assert over.get_json()["errors"]["eligibility"] == [
            {
                "code": "yearly_volume_cap",
                "until": "2027-01-01",
                "message": "本年度单采血小板和血浆的采集总量已接近上限。",
            }
        ]
        within = give_platelets(client, staff, site, data, 500)
        assert within.status_code == 201, within.get_json()


def test_eligibility_says_when_the_cap_lifts(client, this_year):
    donor, data, site, staff = this_year
    policy = policy_for("zhejiang")
    with clock.frozen_at(at(date(2026, 10, 1))):
        assert give_platelets(client, staff, site, data, 500).status_code == 201
    result = check_eligibility(donor, "apheresis_platelets", date(2026, 10, 20), policy)
    assert not result.allowed and result.earliest_date == date(2027, 1, 1)
    [reason] = result.reasons
    assert (reason.code, reason.until) == ("yearly_volume_cap", date(2027, 1, 1))
    assert check_eligibility(donor, "whole_blood", date(2026, 11, 1), policy).allowed
    assert check_eligibility(donor, "apheresis_platelets", date(2027, 1, 1), policy).allowed


def test_the_volume_about_to_be_recorded_is_checked_against_what_is_left(this_year):
    # 9500 ml used: the smallest donation (one unit, 250 ml by the policy's default) fits,
    # 501 ml does not.
    donor, *_ = this_year
    policy = policy_for("zhejiang")
    assert check_eligibility(donor, "apheresis_platelets", date(2026, 10, 1), policy).allowed
    result = check_eligibility(
        donor, "apheresis_platelets", date(2026, 10, 1), policy, volume_ml=501
    )
    assert [reason.code for reason in result.reasons] == ["yearly_volume_cap"]


def test_an_import_keeps_a_volume_given_with_the_units(app, tmp_path):
    person = resident_id(birth="19851212")
    output = import_rows(
        app, tmp_path, [platelet_row(person, 300, date(2021, 4, 1), 2, volume="480")]
    )
    assert "loaded 1" in output, output
    donation = db.session.scalar(select(Donation))
    assert (donation.units, donation.volume_ml) == (2, 480)


def test_a_correction_of_imported_platelets_needs_no_volume(app, client, tmp_path):
    person = resident_id(birth="19851213")
    import_rows(app, tmp_path, [platelet_row(person, 301, date(2021, 4, 1), 2)])
    donation = db.session.scalar(select(Donation))
    admin = {"Authorization": f"Bearer {staff_token(client, make_staff(admin=True))}"}
    response = client.post(
        f"/api/v1/admin/donations/{donation.id}/correction",
        json={"reason": "导出时单位数录错", "units": 1},
        headers=admin,
    )
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["units"], response.get_json()["volume_ml"]) == (1, None)

"""Region policies: loaded from policies/*.toml, validated, dated, and silent where sources are."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from certificate.policy import donation_rules
from core.policy import Period, PolicyError, PolicyUndecided
from tests.factories.policies import POLICIES, SECTIONS, edit, load_policies


@pytest.fixture(scope="module")
def zhejiang():
    return load_policies(POLICIES)["zhejiang"]


def test_zhejiang_and_shandong_are_loaded_over_the_national_base():
    policies = load_policies(POLICIES)
    assert {"zhejiang", "shandong"} <= set(policies)
    assert "national" not in policies
    assert policies["shandong"].name_zh == "山东省"


def test_whole_blood_interval_is_six_calendar_months(zhejiang):
    # GB 18467-2011 (mandatory): whole blood -> whole blood at least 6 months.
    period = donation_rules(zhejiang).min_interval("whole_blood", "whole_blood", date(2026, 1, 1))
    assert period == Period(months=6)
    assert period.add_to(date(2026, 8, 31)) == date(2027, 2, 28)
    assert period.add_to(date(2026, 3, 15)) == date(2026, 9, 15)


def test_no_standard_is_in_force_before_gb_18467_2011(zhejiang):
    # GB 18467-2011 took effect 2012-07-01; earlier editions are not in the sources.
    with pytest.raises(PolicyUndecided):
        donation_rules(zhejiang).min_interval("whole_blood", "whole_blood", date(2012, 6, 30))
    assert donation_rules(zhejiang).min_interval("whole_blood", "whole_blood", date(2012, 7, 1))


def test_platelet_counts_changed_on_2010_01_01(zhejiang):
    # National awards: one platelet unit = 4 counts before 2010-01-01, 1 count since.
    assert donation_rules(zhejiang).counts_for("apheresis_platelets", 2, date(2009, 12, 31)) == 8
    assert donation_rules(zhejiang).counts_for("apheresis_platelets", 2, date(2010, 1, 1)) == 2
    # Each 200 ml of whole blood = 1 count.
    assert donation_rules(zhejiang).counts_for("whole_blood", 400, date(2026, 1, 1)) == 2


@pytest.mark.parametrize(
    ("volume_ml", "counts"),
    [(200, Fraction(1)), (300, Fraction(3, 2)), (400, Fraction(2)), (250, Fraction(1))],
)
def test_whole_blood_counts_in_halves_rounded_down(zhejiang, volume_ml, counts):
    # POLICY.md "Decisions (2026-11-30)": 300 ml counts 1.5; counts are volume / 200 ml in
    # halves. A volume between halves (only in old imported records) counts the half below.
    for on in (date(2026, 1, 1), date(2009, 6, 1)):
        assert donation_rules(zhejiang).counts_for("whole_blood", volume_ml, on) == counts


def test_a_count_step_finer_than_a_half_is_refused(policy_dir):
    # Counts are stored as whole half-counts (certificate/counts.py): a quarter cannot be kept.
    edit(policy_dir / "national.toml", "count_step = 0.5", "count_step = 0.25")
    with pytest.raises(PolicyError, match=r"whole_blood\.count_step: must be 0.5 or 1"):
        load_policies(policy_dir)


def test_a_count_step_rounding_up_is_refused(policy_dir):
    edit(policy_dir / "national.toml", 'rounding = "down"', 'rounding = "up"')
    with pytest.raises(PolicyError, match="only 'down'"):
        load_policies(policy_dir)


def test_an_open_question_is_refused_not_guessed(policy_dir):
    edit(policy_dir / "national.toml", 'min = "P3M"\n', 'open_question = "not in the sources"\n')
    zhejiang = load_policies(policy_dir)["zhejiang"]
    with pytest.raises(PolicyUndecided, match="not in the sources"):
        donation_rules(zhejiang).min_interval(
            "whole_blood", "apheresis_platelets", date(2026, 1, 1)
        )


def test_a_kind_not_offered_needs_no_amounts_or_intervals(zhejiang):
    # POLICY.md "Decisions (2026-11-30)": plasma-only apheresis is not offered.
    on = date(2026, 1, 1)
    assert donation_rules(zhejiang).kind("apheresis_plasma", on).offered is False
    with pytest.raises(PolicyUndecided):
        _ = donation_rules(zhejiang).kind("apheresis_plasma", on).allowed_amounts
    assert donation_rules(zhejiang).min_interval("apheresis_plasma", "whole_blood", on) is None


def test_upper_ages_are_inclusive_by_the_decision(zhejiang):
    # POLICY.md "Decisions (2026-11-30)": first-time donors until the day before the 56th
    # birthday, repeat donors (an earlier donation, no reaction) until the day before the 61st.
    limits = donation_rules(zhejiang).age_limits(date(2026, 1, 1))
    assert (limits.max_first_time, limits.max_repeat, limits.max_inclusive) == (55, 60, True)
    assert limits.repeat_requires == ("earlier_donation", "no_reaction")
    assert "Decisions (2026-11-30)" in limits.source
    assert not limits.above(60, limits.max_repeat) and limits.above(61, limits.max_repeat)


def test_an_unknown_repeat_condition_is_refused(policy_dir):
    edit(policy_dir / "national.toml", '"no_reaction"]', '"no_reaction", "blood_type_o"]')
    with pytest.raises(PolicyError, match=r"age\.repeat_requires"):
        load_policies(policy_dir)


def test_a_missing_value_without_an_open_question_names_file_and_key(policy_dir):
    edit(policy_dir / "national.toml", 'min = "P3M"\n', "")
    with pytest.raises(PolicyError) as raised:
        load_policies(policy_dir)
    assert raised.value.path.endswith("national.toml")
    assert raised.value.key == "standard[0].intervals[3].min"
    assert "open_question" in raised.value.problem


def test_a_misspelt_key_is_refused(policy_dir):
    edit(policy_dir / "national.toml", "max_per_year = 24", "max_per_yaer = 24")
    with pytest.raises(PolicyError, match=r"kinds\.apheresis_platelets\.max_per_yaer"):
        load_policies(policy_dir)


def test_a_wrong_type_is_refused(policy_dir):
    edit(policy_dir / "national.toml", "min_years = 18", 'min_years = "18"')
    with pytest.raises(PolicyError, match=r"standard\[0\]\.age\.min_years: must be int"):
        load_policies(policy_dir)


def test_a_bad_period_is_refused(policy_dir):
    edit(policy_dir / "national.toml", 'period = "P7D"', 'period = "7 days"')
    with pytest.raises(PolicyError, match="ISO 8601 period"):
        load_policies(policy_dir)


def test_a_region_file_whose_code_differs_from_its_name_is_refused(policy_dir):
    edit(policy_dir / "shandong.toml", 'code = "shandong"', 'code = "jiangsu"')
    with pytest.raises(PolicyError, match="shandong.toml: policy.code"):
        load_policies(policy_dir)


def test_broken_toml_is_reported_with_the_file(policy_dir):
    (policy_dir / "zhejiang.toml").write_text("[policy\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="zhejiang.toml.*not valid TOML"):
        load_policies(policy_dir)


def test_overlapping_editions_are_refused(policy_dir):
    text = (policy_dir / "national.toml").read_text(encoding="utf-8")
    start = text.index("[[standard]]")
    end = text.index(
        "# ------------------------------------------------------------------ national"
    )
    (policy_dir / "national.toml").write_text(text + "\n" + text[start:end], encoding="utf-8")
    with pytest.raises(PolicyError, match="overlap"):
        load_policies(policy_dir)


def test_the_app_refuses_to_start_with_a_broken_policy(policy_dir):
    from app import create_app

    edit(policy_dir / "national.toml", 'unit = "ml"', 'unit = "litre"')
    with pytest.raises(PolicyError, match="unit"):
        create_app({"APP_ENV": "testing", "POLICY_DIR": str(policy_dir)})


def test_a_section_no_package_reads_is_refused(policy_dir):
    with open(policy_dir / "zhejiang.toml", "a", encoding="utf-8") as handle:
        handle.write("\n[three_frees]\nthreshold = 20\n")
    with pytest.raises(PolicyError, match="zhejiang.toml: three_frees: is not a section"):
        load_policies(policy_dir)


def test_a_registered_section_is_read_and_served(policy_dir):
    from core import policy

    def read(section):
        return {"days": section.positive("days")}

    sections = {**SECTIONS, "test_only_section": (read, None)}
    with open(policy_dir / "zhejiang.toml", "a", encoding="utf-8") as handle:
        handle.write("\n[test_only_section]\ndays = 3\n")
    loaded = policy.load_policies(policy_dir, sections)
    assert loaded["zhejiang"].section("test_only_section") == {"days": 3}
    with open(policy_dir / "zhejiang.toml", "a", encoding="utf-8") as handle:
        handle.write("extra = 1\n")
    with pytest.raises(PolicyError, match="test_only_section.extra"):
        policy.load_policies(policy_dir, sections)


def test_a_section_is_known_only_to_the_app_whose_package_registered_it(policy_dir):
    # Issue 13: a package registers its sections from its init_app, on the app being built.
    from flask import Flask

    from core import policy

    def read(section):
        return {"days": section.positive("days")}

    with open(policy_dir / "zhejiang.toml", "a", encoding="utf-8") as handle:
        handle.write("\n[test_only_section]\ndays = 3\n")
    registering, other = Flask("registering"), Flask("other")
    for app in (registering, other):
        policy.register_sections(app, SECTIONS)
    policy.register_sections(registering, {"test_only_section": (read, None)})
    policy.register_sections(registering, {"test_only_section": (read, None)})
    loaded = policy.load_policies(policy_dir, policy.sections_of(registering))
    assert loaded["zhejiang"].section("test_only_section") == {"days": 3}
    with pytest.raises(PolicyError, match="test_only_section: is not a section"):
        policy.load_policies(policy_dir, policy.sections_of(other))


def test_award_tiers_are_read_from_the_national_rules(zhejiang):
    # 全国无偿献血表彰奖励办法: bronze 20, silver 30, gold 40 counts; lifetime honour after 3 golds.
    assert [(tier.code, tier.min_counts) for tier in donation_rules(zhejiang).awards.tiers] == [
        ("bronze", 20),
        ("silver", 30),
        ("gold", 40),
    ]
    assert donation_rules(zhejiang).awards.lifetime_honor_gold_awards == 3


def test_the_loader_reads_the_standard_only_through_certificates_registered_reader(policy_dir):
    # Issue 13: core/ holds no domain; the health standard is certificate's section.
    from core import policy

    others = {name: entry for name, entry in SECTIONS.items() if name not in ("standard", "awards")}
    with pytest.raises(PolicyError, match="national.toml: standard: is not a section"):
        policy.load_policies(policy_dir, {**others, "awards": SECTIONS["awards"]})
    assert not hasattr(policy, "HealthStandard") and not hasattr(policy, "AwardRules")


def test_a_file_without_a_required_section_is_refused(policy_dir):
    # Issue 13: certificate requires its sections of every file, as the loader once did itself.
    from flask import Flask

    from certificate import policy as certificate_policy
    from core import policy

    national = policy_dir / "national.toml"
    kept, in_awards = [], False
    for line in national.read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            in_awards = line.lstrip("[").startswith("awards")
        if not in_awards:
            kept.append(line)
    national.write_text("\n".join(kept) + "\n", encoding="utf-8")
    app = Flask("without_awards")
    certificate_policy.init_app(app)
    policy.register_sections(app, SECTIONS)
    with pytest.raises(PolicyError, match="national.toml: awards: is required"):
        policy.load_policies(policy_dir, policy.sections_of(app), policy.required_sections_of(app))

"""Property tests of the parsers that read what people type and scanners read (issue 17 item 3):
Resident Identity Card numbers (GB 11643, check digit ISO 7064 MOD 11-2), ISBT 128 Donation
Identification Numbers (check character ISO 7064 MOD 37-2) and certificate numbers (MOD 37-36).

For any well-formed value the parser gives back what was put in; any one character changed is
refused (each check character catches every single substitution); and no text whatever makes a
parser fail with anything but its own refusal. Hypothesis draws the cases from a fixed seed
(`derandomize`), so a run is the same every time.
"""

from __future__ import annotations

import string
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from core import ids
from donors.identity import IdentityError, parse_resident_id

SAME_EVERY_RUN = settings(max_examples=300, derandomize=True, database=None, deadline=None)
# Address codes of GB/T 2260 (Hangzhou's districts, Ningbo, Beijing's Dongcheng, Jinan).
REGIONS = ("330102", "330105", "330106", "330203", "110101", "370102")
_DIN_CHARACTERS = string.digits + string.ascii_uppercase


@st.composite
def resident_ids(draw: st.DrawFn) -> tuple[str, date, str]:
    region = draw(st.sampled_from(REGIONS))
    birth = draw(st.dates(min_value=date(1940, 1, 1), max_value=date(2008, 12, 31)))
    sequence = draw(st.integers(min_value=0, max_value=999))
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    sex = "male" if sequence % 2 == 1 else "female"
    return body + ric.calc_check_digit(body + "?"), birth, sex  # it skips the last character


def _changed_once(text: str, index: int, replacement: str) -> str | None:
    if text[index] == replacement:
        return None
    return text[:index] + replacement + text[index + 1 :]


@SAME_EVERY_RUN
@given(resident_ids())
def test_a_well_formed_id_number_gives_back_its_birth_date_and_sex(case):
    number, birth, sex = case
    parsed = parse_resident_id(number)
    assert (parsed.number, parsed.birth_date, parsed.sex) == (number, birth, sex)


@SAME_EVERY_RUN
@given(resident_ids(), st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_an_id_number_with_one_character_changed_is_refused(case, index, replacement):
    changed = _changed_once(case[0], index, replacement)
    if changed is None:
        return
    try:
        parse_resident_id(changed)
    except IdentityError:
        return
    raise AssertionError(f"{changed} accepted after changing position {index}")


@SAME_EVERY_RUN
@given(st.text(max_size=40))
def test_any_text_is_an_id_number_or_refused_by_name(text):
    try:
        parse_resident_id(text)
    except IdentityError as refused:
        assert refused.code.startswith("id_number")


@st.composite
def dins(draw: st.DrawFn) -> ids.Din:
    letter = draw(st.sampled_from(string.ascii_uppercase.replace("O", "")))  # ISBT 128: no O
    facility = letter + draw(st.text("0123456789", min_size=4, max_size=4))
    year = draw(st.integers(min_value=2000, max_value=2099))
    sequence = draw(st.integers(min_value=0, max_value=999_999))
    return ids.make_din(facility, year, sequence)


@SAME_EVERY_RUN
@given(dins())
def test_a_din_reads_the_same_from_its_label_and_from_its_bar_code(din):
    printed = ids.parse_din(din.printed)
    scanned = ids.parse_din(f"={din.body}{din.flags}")
    assert printed == scanned == din


@SAME_EVERY_RUN
@given(dins(), st.integers(min_value=0, max_value=13), st.sampled_from(_DIN_CHARACTERS))
def test_a_printed_din_with_one_character_changed_is_refused(din, index, replacement):
    text = f"{din.body}{din.check}"  # the 13 characters and the check character
    changed = _changed_once(text, index, replacement)
    if changed is None:
        return
    try:
        ids.parse_din(changed)
    except ids.DinError:
        return
    raise AssertionError(f"{changed} accepted after changing position {index} of {text}")


@SAME_EVERY_RUN
@given(st.text(max_size=40))
def test_any_text_is_a_din_or_refused_by_name(text):
    try:
        ids.parse_din(text)
    except ids.DinError as refused:
        assert refused.code.startswith("din_")


@SAME_EVERY_RUN
@given(st.integers(min_value=2000, max_value=2099))
def test_an_issued_certificate_number_reads_back_as_typed_in_any_case(year):
    number = ids.certificate_number(year)  # random groups from `secrets`: a new one each case
    assert ids.is_certificate_number(number)
    assert ids.normalise_certificate_number(f"  {number.lower()} ") == number


@SAME_EVERY_RUN
@given(
    st.integers(min_value=2000, max_value=2099),
    st.integers(min_value=0, max_value=25),
    st.sampled_from("0123456789ABCDEFGHJKMNPQRSTVWXYZ"),
)
def test_a_certificate_number_with_one_character_changed_is_not_one(year, index, replacement):
    number = ids.certificate_number(year)
    if number[index] == "-":
        return
    changed = _changed_once(number, index, replacement)
    if changed is None:
        return
    assert not ids.is_certificate_number(changed)
    assert ids.normalise_certificate_number(changed) is None


@SAME_EVERY_RUN
@given(st.text(max_size=60))
def test_any_text_is_a_certificate_number_or_none(text):
    assert ids.normalise_certificate_number(text) in (None, text.strip().upper())

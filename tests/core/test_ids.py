"""ISBT 128 donation numbers and certificate numbers."""

from __future__ import annotations

import pytest

from core.ids import (
    DinError,
    certificate_number,
    checksum_flags,
    is_certificate_number,
    make_din,
    parse_din,
)


def test_the_published_example_check_character_is_h():
    # JPAC Red Book annex 2: G123 498 654 321 -> ISO 7064 mod 37-2 checksum 17 -> "H", flags 77
    din = parse_din("G123498654321H")
    assert din.check == "H"
    assert checksum_flags(din.body) == "77"


def test_a_scanned_bar_code_with_checksum_flags_is_accepted():
    din = parse_din("=G12349865432177")
    assert (din.facility_code, din.year, din.sequence, din.flags) == ("G1234", "98", "654321", "77")


def test_the_printed_form_with_spaces_and_flags_is_accepted():
    assert parse_din("G1234 98 654321 00 H").body == "G123498654321"


@pytest.mark.parametrize("bad", ["G123498654321A", "=G12349865432178"])
def test_a_wrong_check_is_refused(bad):
    with pytest.raises(DinError) as raised:
        parse_din(bad)
    assert raised.value.code == "din_check_character"


@pytest.mark.parametrize("bad", ["", "G12349865432", "O123498654321H", "1123498654321H", "=G1234"])
def test_a_malformed_number_is_refused(bad):
    with pytest.raises(DinError) as raised:
        parse_din(bad)
    assert raised.value.code == "din_format"


def test_a_generated_din_parses_back_to_itself():
    din = make_din("W3301", 2026, 42)
    assert din.body == "W330126000042"
    assert parse_din(din.body + din.check) == din


def test_certificate_numbers_carry_a_check_character():
    number = certificate_number(2026, 123)
    assert number.startswith("2026-0000-0123-")
    assert is_certificate_number(number)
    assert not is_certificate_number(number[:-1] + ("A" if number[-1] != "A" else "B"))

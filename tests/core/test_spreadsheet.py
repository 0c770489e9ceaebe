"""CSV cells a spreadsheet could run as formulas are written as text (issue 18 item 10)."""

from __future__ import annotations

from datetime import date

import pytest

from core.spreadsheet import spreadsheet_cell

STARTERS = ["=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠"]


@pytest.mark.parametrize("starter", STARTERS, ids=[hex(ord(c)) for c in STARTERS])
def test_a_cell_starting_as_a_formula_gets_the_apostrophe(starter):
    text = f'{starter}HYPERLINK("http://evil.example","西湖")'
    assert spreadsheet_cell(text) == "'" + text


@pytest.mark.parametrize("starter", ["=", "＝", "\n"])
def test_spaces_before_a_formula_do_not_hide_it(starter):
    for blanks in (" ", "\u3000", "  \u3000"):
        assert spreadsheet_cell(f"{blanks}{starter}1+1") == f"'{blanks}{starter}1+1"


def test_plain_cells_are_kept_as_they_are():
    assert spreadsheet_cell("西湖风景名胜区") == "西湖风景名胜区"
    assert spreadsheet_cell("a=b") == "a=b"
    assert spreadsheet_cell(12) == "12"
    assert spreadsheet_cell("") == ""
    assert spreadsheet_cell(date(2026, 12, 1)) == "2026-12-01"

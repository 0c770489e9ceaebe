"""The one lookup of error texts (core.messages): core keeps the shared ones, each package its own
(issue 13: core/ holds no domain), registered by the package's init_app."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.i18n import _l
from core.messages import MESSAGES, register_messages

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("appointments", "certificate", "donors", "notifications", "rewards", "sites")


def written_codes(path: Path) -> list[str]:
    """The codes a messages module writes in its MESSAGES literal."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        target = getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id == "MESSAGES":
            assert isinstance(node.value, ast.Dict)  # type: ignore[attr-defined]
            return [key.value for key in node.value.keys]  # type: ignore[attr-defined]
    raise AssertionError(f"{path} writes no MESSAGES")


def test_core_writes_only_shared_texts_and_each_package_its_own():
    core = set(written_codes(ROOT / "core" / "messages.py"))
    owned = {package: written_codes(ROOT / package / "messages.py") for package in PACKAGES}
    assert {"bad_request", "unauthorized", "otp_invalid"} <= core
    assert "slot_full" in owned["appointments"] and "slot_full" not in core
    assert "too_young" in owned["certificate"] and "gate_allowed" in owned["rewards"]
    every = [code for codes in owned.values() for code in codes] + sorted(core)
    assert len(every) == len(set(every)), "a code is written in two places"


def test_every_packages_codes_are_in_the_one_lookup_once_the_app_is_built(app):
    for package in PACKAGES:
        assert set(written_codes(ROOT / package / "messages.py")) <= set(MESSAGES)


def test_registering_a_code_again_changes_nothing_and_another_text_for_it_is_refused():
    register_messages({"bad_request": MESSAGES["bad_request"]})
    assert MESSAGES["bad_request"].msgid == "The request is invalid."
    with pytest.raises(ValueError, match="bad_request"):
        register_messages({"bad_request": _l("Something else.")})

"""Which modules may import which (STYLE.md, "From our own tree": route modules do not import
each other; helpers that several packages' routes need live lower down, in core/)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("appointments", "certificate", "donors", "notifications", "rewards", "sites")


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_route_module_imports_another():
    offending = {
        f"{package}/routes.py": sorted(
            name
            for name in imported_modules(ROOT / package / "routes.py")
            if name.endswith(".routes") and name != f"{package}.routes"
        )
        for package in PACKAGES
    }
    assert {path: names for path, names in offending.items() if names} == {}


def test_core_imports_no_domain_package():
    offending = {
        str(path.relative_to(ROOT)): sorted(
            name for name in imported_modules(path) if name.split(".")[0] in PACKAGES
        )
        for path in (ROOT / "core").glob("*.py")
    }
    assert {path: names for path, names in offending.items() if names} == {}

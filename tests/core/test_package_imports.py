"""Which modules may import which (STYLE.md, "From our own tree": route modules do not import
each other; helpers that several packages' routes need live lower down, in core/)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "appointments",
    "blooduse",
    "card",
    "certificate",
    "donors",
    "notifications",
    "rewards",
    "sites",
    "teams",
)


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _is_route_module(name: str) -> bool:
    return name.rsplit(".", 1)[-1].endswith("routes")


def test_no_route_module_imports_another():
    """Route modules are `routes.py`, or `<job>_routes.py` where a package has several
    (blooduse's claim_routes.py, hospital_routes.py...)."""
    offending = {
        str(path.relative_to(ROOT)): sorted(
            name
            for name in imported_modules(path)
            if _is_route_module(name) and name != f"{package}.{path.stem}"
        )
        for package in PACKAGES
        for path in (ROOT / package).glob("*routes.py")
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


def _cycles(package: str) -> list[list[str]]:
    """Every chain of imports (lazy ones too) within `package` that leads back where it began."""
    prefix = f"{package}."
    graph = {
        path.stem: {
            name[len(prefix) :].split(".")[0]
            for name in imported_modules(path)
            if name.startswith(prefix) and name[len(prefix) :].split(".")[0] != path.stem
        }
        for path in (ROOT / package).glob("*.py")
        if path.stem != "__init__"
    }
    found: list[list[str]] = []

    def walk(chain: list[str]) -> None:
        for module in sorted(graph.get(chain[-1], ())):
            if module == chain[0]:
                found.append([*chain, module])
            elif module not in chain and module > chain[0]:
                walk([*chain, module])

    for start in sorted(graph):
        walk([start])
    return found


def test_no_module_of_a_package_imports_itself_back():
    """Issue 13: a cycle such as notifications' outbox <-> dispatch or services <-> schedules
    hides which module does which job; the one that both need goes lower (notifications.rules)."""
    assert {package: _cycles(package) for package in PACKAGES if _cycles(package)} == {}

"""What the code imports is declared, and only libraries' public API is used (issue 13, item 5).

An import that works only because another package happens to pull its library in breaks on the
day that package stops; a library's private name breaks on any release. Both are read from the
source, so the check covers code that no test happens to import.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterable, Iterator
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPLICATION = [
    "app.py",
    "wiring.py",
    "demo.py",
    "core",
    "donors",
    "sites",
    "certificate",
    "appointments",
    "rewards",
    "blooduse",
    "teams",
    "notifications",
    "card",
    "console",
    "migrations",
]
TOOLS = ["scripts", "bench", "tests", "ops"]
OURS = {Path(name).stem for name in APPLICATION + TOOLS}
# The face check is an extra that scripts/setup-venv always installs (README, "Dependencies").
APPLICATION_EXTRAS = ["faces"]
# A Row's underscore names are its public API: the underscore keeps them clear of column names.
PUBLIC_BY_DESIGN = {"_mapping", "_asdict", "_fields", "_t", "_tuple"}


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(extras: Iterable[str]) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    return {_key(re.match(r"[A-Za-z0-9._-]+", requirement)[0]) for requirement in requirements}


def _sources(places: Iterable[str]) -> Iterator[Path]:
    for place in places:
        path = ROOT / place
        if path.is_file():
            yield path
            continue
        for file in sorted(path.rglob("*")):
            if file.suffix == ".py" or (
                file.is_file()
                and not file.suffix
                and file.read_bytes().startswith(b"#!/usr/bin/env python")
            ):
                yield file


def _third_party_imports(places: Iterable[str]) -> dict[str, set[str]]:
    """Top-level module imported -> files importing it, for modules neither ours nor stdlib."""
    found: dict[str, set[str]] = {}
    for file in _sources(places):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top not in OURS and top not in sys.stdlib_module_names and top != "__future__":
                    found.setdefault(top, set()).add(str(file.relative_to(ROOT)))
    return found


def _undeclared(places: Iterable[str], declared: set[str]) -> dict[str, list[str]]:
    providers = packages_distributions()
    return {
        module: sorted(files)
        for module, files in _third_party_imports(places).items()
        if not {_key(dist) for dist in providers.get(module, [module])} & declared
    }


def test_every_library_the_application_imports_is_a_declared_dependency():
    assert _undeclared(APPLICATION, _declared(APPLICATION_EXTRAS)) == {}


def test_every_library_the_scripts_tests_and_benchmarks_import_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    everything = _declared(project["optional-dependencies"])
    assert _undeclared(TOOLS, everything) == {}


def test_web_servers_are_not_a_dependency_of_the_application():
    """gunicorn serves production (README) and the benchmarks; the app and tests never import it."""
    assert "gunicorn" not in _declared([])
    assert "gunicorn" in _declared(["production"])


def test_the_application_uses_no_private_name_of_sqlalchemy(app):
    import sqlalchemy  # noqa: F401  (the app has loaded the dialects and the ORM by now)

    private_in_sqlalchemy = {
        name
        for module_name, module in list(sys.modules.items())
        if module_name.startswith("sqlalchemy") and module is not None
        for value in list(vars(module).values())
        if isinstance(value, type) and value.__module__.startswith("sqlalchemy")
        for name in dir(value)
        if name.startswith("_") and not name.startswith("__")
    }
    trees = {file: ast.parse(file.read_text(encoding="utf-8")) for file in _sources(APPLICATION)}
    ours = {
        name for tree in trees.values() for node in ast.walk(tree) for name in _defined_names(node)
    }
    used = {
        f"{file.relative_to(ROOT)}:{node.lineno} {node.attr}"
        for file, tree in trees.items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in private_in_sqlalchemy - PUBLIC_BY_DESIGN - ours
    }
    assert used == set()


def _defined_names(node: ast.AST) -> list[str]:
    """Names our own code gives its objects (`self._lock = ...`, `def _keys`): not SQLAlchemy's."""
    if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
        return [node.attr]
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
        return [node.id]
    return []

"""One way to shape output and one get-or-404 (issue 13 item 4): schemas read the models, and a
row looked up for a request goes through core.lookups.get_or_404."""

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
)


def _functions(package: str):
    for path in sorted((ROOT / package).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                yield f"{package}/{path.name}:{node.name}", node


def _rows_got(function: ast.FunctionDef) -> set[str]:
    """The names given a row by `name = db.session.get(...)`."""
    return {
        target.id
        for node in ast.walk(function)
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and ast.unparse(node.value.func) == "db.session.get"
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def _raises_404(statements: list[ast.stmt]) -> bool:
    return any(
        isinstance(node, ast.Raise)
        and isinstance(node.exc, ast.Call)
        and ast.unparse(node.exc.func) == "ApiError"
        and any(isinstance(arg, ast.Constant) and arg.value == 404 for arg in node.exc.args)
        for statement in statements
        for node in ast.walk(statement)
    )


def _hand_written_404(function: ast.FunctionDef) -> bool:
    """`row = db.session.get(...)`, then `if row is None: raise ApiError(..., 404)`."""
    rows = _rows_got(function)
    return any(
        isinstance(node, ast.If)
        and any(f"{row} is None" in ast.unparse(node.test) for row in rows)
        and _raises_404(node.body)
        for node in ast.walk(function)
    )


def test_no_hand_written_get_or_404():
    offending = [
        name
        for package in PACKAGES
        for name, function in _functions(package)
        if _hand_written_404(function)
    ]
    assert offending == []


def test_no_view_function_builds_what_a_schema_dumps():
    offending = [
        name
        for package in PACKAGES
        for name, _ in _functions(package)
        if name.endswith(("_view", "_views"))
    ]
    assert offending == []

"""Policy files for tests that check the loader: a private copy to break, and a precise edit."""

from __future__ import annotations

import shutil
from pathlib import Path

from core.config import PROJECT_ROOT

POLICIES = PROJECT_ROOT / "policies"


def copy_policies(directory: Path) -> Path:
    for path in POLICIES.glob("*.toml"):
        shutil.copy(path, directory / path.name)
    return directory


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first `old` in a policy file; fails if the file no longer says it."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")

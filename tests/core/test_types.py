"""The packages type-check under mypy's settings in pyproject.toml (issue 13, item 5).

Run as a test so that the test command covers it: a type error fails the suite like a failed
assertion. mypy reads its file list and strictness from `[tool.mypy]`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_packages_type_check():
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-color-output", "--no-error-summary"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.stdout + checked.stderr == ""
    assert checked.returncode == 0

"""Policy files for tests that check the loader: a private copy to break, and a precise edit."""

from __future__ import annotations

import shutil
from pathlib import Path

from appointments import rules as appointment_rules
from blooduse import rules as blood_use_rules
from certificate import policy as certificate_policy
from core import policy
from core.config import PROJECT_ROOT
from donors import faces
from notifications import rules as notification_rules
from rewards import rules as reward_rules

POLICIES = PROJECT_ROOT / "policies"
# Every package's sections, as the app registers them (app.register_packages).
SECTIONS: policy.Sections = {
    **certificate_policy.POLICY_SECTIONS,
    **faces.POLICY_SECTIONS,
    **appointment_rules.POLICY_SECTIONS,
    **reward_rules.POLICY_SECTIONS,
    **notification_rules.POLICY_SECTIONS,
    **blood_use_rules.POLICY_SECTIONS,
}

REQUIRED = certificate_policy.REQUIRED_SECTIONS


def load_policies(directory: Path = POLICIES) -> dict[str, policy.RegionPolicy]:
    """The region files of `directory`, read as the app reads them."""
    return policy.load_policies(directory, SECTIONS, REQUIRED)


def copy_policies(directory: Path) -> Path:
    for path in POLICIES.glob("*.toml"):
        shutil.copy(path, directory / path.name)
    return directory


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first `old` in a policy file; fails if the file no longer says it."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")

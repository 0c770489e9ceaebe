"""The files a console page loads, all served by the app: ours from console/static, and the
browser libraries installed from the npm registry by `scripts/setup-assets` at the versions of
console/package-lock.json.

Only the files named in VENDOR are served from node_modules, under a path that carries the
package's version, so a browser may keep them for good and a new version is a new address. Our
own files are revalidated on each load (`no-cache` with an ETag): a fix reaches every tablet at
its next page load, and the gate's service worker keeps its copies for when the network is gone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent
STATIC = ROOT / "static"
NODE_MODULES = ROOT / "node_modules"


@dataclass(frozen=True)
class VendorFile:
    package: str
    path: str  # inside the package


# name in the page -> the file of the installed package
VENDOR = {
    "zxing-reader.js": VendorFile("zxing-wasm", "dist/iife/reader/index.js"),
    "zxing_reader.wasm": VendorFile("zxing-wasm", "dist/reader/zxing_reader.wasm"),
}


@cache
def pinned_versions() -> dict[str, str]:
    """Each runtime package's version as package-lock.json pins it."""
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    return {
        path.removeprefix("node_modules/"): entry["version"]
        for path, entry in lock["packages"].items()
        if path.startswith("node_modules/") and not entry.get("dev")
    }


def installed_version(package: str) -> str | None:
    manifest = NODE_MODULES / package / "package.json"
    if not manifest.is_file():
        return None
    return json.loads(manifest.read_text(encoding="utf-8")).get("version")


def vendor_url(name: str) -> str:
    """The address of a vendor file: its package's pinned version is part of it."""
    file = VENDOR[name]
    return f"/console/vendor/{file.package}@{pinned_versions()[file.package]}/{name}"


def vendor_file(package_at_version: str, name: str) -> Path | None:
    """The installed file behind a vendor address, if it is one we serve at the installed and
    pinned version; None otherwise (not installed: `scripts/setup-assets`)."""
    file = VENDOR.get(name)
    if file is None or package_at_version != f"{file.package}@{pinned_versions()[file.package]}":
        return None
    if installed_version(file.package) != pinned_versions()[file.package]:
        return None
    found = NODE_MODULES / file.package / file.path
    return found if found.is_file() else None

"""The web screens for the people who have no app: donation-house staff (`/console/`), gates
without a turnstile scanner (`/gate/`) and hospital cashiers (`/hospital/`).

Each page is a shell the app serves with its texts in the reader's language; its script calls the
same JSON API as the apps (there is no second path into the data), with the token the page's own
login obtained. Every script, style and the camera's barcode reader are served by the app itself
(console/assets.py), so a donation house without internet access works the same.
"""

from __future__ import annotations

from console.routes import bp

__all__ = ["bp"]

"""The three frees: awards, benefits held, benefit codes, gates online and offline, settlement.

Importing the package registers its policy sections (`three_free`, `honours`), connects its
listeners to the certificate events and to the donor's card, and registers how the shell makes a
gate device (bound to its operator: `flask users create-device --role gate --operator ID`).
"""

from rewards import rules, services  # noqa: F401  (registers policy sections and listeners)
from rewards.routes import bp

__all__ = ["bp"]

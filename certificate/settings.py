"""Certificate's operational settings: verification limits, history claims, staff entry and
deferrals.

Merged into the configuration at start-up, before the environment is applied (core.config:
load_config, from app.create_app); the environment may set those named in `from_environment`.
"""

from core.config import PackageSettings

SETTINGS = PackageSettings(
    defaults={
        "VERIFY_RATE_LIMIT": "60/minute",  # per client address, on the public verification page
        "VERIFY_MISS_RATE_LIMIT": "30/hour",  # per client address: numbers that name no certificate
        # Wrong guesses at a bag number, per donor (core.limits: a day from the first one).
        "HISTORY_CLAIM_LIMIT_PER_DONOR": "5 per day",
        # How many days back staff may date a donation they record; older history comes through
        # `flask certificate import` (an operational choice, not a regulation).
        "STAFF_ENTRY_MAX_AGE_DAYS": 7,
        # Deferrals (certificate/presence.py): staff defer only donors their site serves now; a
        # donation there counts this many days (test results and post-donation information come
        # later); recording and lifting deferrals share one limit per staff member.
        "DEFERRAL_AFTER_DONATION_DAYS": 30,
        "DEFERRAL_RATE_LIMIT": "30/hour",
        # Look-ups by ID number at a desk, per staff member: a busy desk's day, not a list's worth.
        "DONOR_LOOKUP_RATE_LIMIT": "120/hour",
    },
    from_environment=(
        "VERIFY_RATE_LIMIT",
        "VERIFY_MISS_RATE_LIMIT",
    ),
)

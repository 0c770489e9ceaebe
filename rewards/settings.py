"""Rewards' operational settings: benefit codes, offline gates, settlement reports, award lists
and the souvenir store's pick-up codes.

Merged into the configuration at start-up, before the environment is applied (core.config:
load_config, from app.create_app); the environment may set those named in `from_environment`.
"""

from datetime import timedelta

from core.config import PackageSettings

SETTINGS = PackageSettings(
    defaults={
        "BENEFIT_CODE_TTL": timedelta(
            seconds=60
        ),  # a code on the donor's screen lives about a minute
        "BENEFIT_OFFLINE_CLOCK_SKEW": timedelta(seconds=30),  # an offline gate's clock may drift
        "BENEFIT_OFFLINE_MAX_AGE": timedelta(
            days=31
        ),  # offline uses must be uploaded within a month
        "BENEFIT_OFFLINE_BATCH_MAX": 500,  # uses per upload
        "BENEFIT_USAGE_MAX_DAYS": 366,  # longest settlement report
        # A souvenir's pick-up code on the donor's screen (rewards.store), like a check-in code.
        "REDEMPTION_CODE_TTL": timedelta(seconds=120),
        # PostgreSQL's memory for grouping a cycle's nominations (a million donors' counts) in
        # the one transaction that lists them, rather than spilling to disk (rewards/cycles.py)
        "AWARD_NOMINATIONS_WORK_MEM": "256MB",
    },
    from_environment=(),
)

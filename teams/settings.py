"""Teams' operational settings: how call-out waves are sized and how often the public reply link
may be used from one address (operational choices, not regulations).

Merged into the configuration at start-up, before the environment is applied (core.config:
load_config, from app.create_app); the environment may set those named in `from_environment`.
"""

from core.config import PackageSettings

SETTINGS = PackageSettings(
    defaults={
        # A wave invites what is still needed times this factor (not everyone answers, not
        # everyone who answers can come), and never more than the maximum in one wave.
        "CALL_OUT_WAVE_FACTOR": 3,
        "CALL_OUT_MAX_WAVE": 200,
        # The reply link in a call-out's SMS (/c/<token>), per client address; the second counts
        # only tokens that name no invitation.
        "CALL_OUT_REPLY_RATE_LIMIT": "30/minute",
        "CALL_OUT_REPLY_MISS_RATE_LIMIT": "20/hour",
        # An arrival time a little in the past is a slow phone, not a mistake.
        "CALL_OUT_ARRIVAL_SKEW_MINUTES": 10,
    },
    from_environment=("CALL_OUT_REPLY_RATE_LIMIT", "CALL_OUT_REPLY_MISS_RATE_LIMIT"),
)

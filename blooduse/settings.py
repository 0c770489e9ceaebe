"""Free blood use's operational settings: how often a hospital's cashier may look patients up.

Merged into the configuration at start-up, before the environment is applied (core.config:
load_config, from app.create_app); the environment may set those named in `from_environment`.
"""

from core.config import PackageSettings

SETTINGS = PackageSettings(
    defaults={
        # Per hospital device (one cashier's desk): a busy inpatient cashier settles a few dozen
        # transfusion bills an hour, each after a look-up or two; a stolen credential must not
        # become a way to ask who among a city's people is a donor (PIPL). Operational, not a
        # regulation.
        "HOSPITAL_LOOKUP_LIMIT_PER_DEVICE": "120/hour",
        # Stations listed per region when a hospital is told to send the donor there.
        "HOSPITAL_REFERRAL_STATIONS_MAX": 5,
    },
    from_environment=("HOSPITAL_LOOKUP_LIMIT_PER_DEVICE",),
)

"""Free blood use's operational settings (choices of ours, not regulations): how often a
hospital's cashier may look patients up and report admissions, and how large an upload a claim
or an import may be.

Merged into the configuration at start-up, before the environment is applied (core.config:
load_config, from app.create_app); the environment may set those named in `from_environment`.
"""

from datetime import timedelta

from core.config import PackageSettings

SETTINGS = PackageSettings(
    defaults={
        # Per hospital device (one cashier's desk), look-ups and settlements together (each names
        # a patient): a busy inpatient cashier settles a few dozen transfusion bills an hour, each
        # after a look-up or two; a stolen credential must not become a way to ask who among a
        # city's people is a donor (PIPL). Operational, not a regulation.
        "HOSPITAL_LOOKUP_LIMIT_PER_DEVICE": "240/hour",
        # Stations listed per region when a hospital is told to send the donor there.
        "HOSPITAL_REFERRAL_STATIONS_MAX": 5,
        # Admissions a hospital's device reports (blooduse/admissions.py), per device: a large
        # hospital's admissions office sends a few hundred a day, some in a batch at a shift's end.
        "HOSPITAL_ADMISSION_LIMIT_PER_DEVICE": "120/minute;1200/hour",
        # An admission is refused as a mistake once it lies further ahead than clocks drift.
        "HOSPITAL_ADMISSION_CLOCK_SKEW": timedelta(minutes=5),
        # A claim's body: the bill and the discharge summary (each at most DOCUMENT_MAX_BYTES,
        # 8 MB, checked one by one) and the form's fields.
        "BLOOD_FEE_CLAIM_MAX_BYTES": 17 * 1024 * 1024,
        # An import of earlier use: about 100 bytes a bill, so some 80,000 bills a file; a
        # station's old system with more is imported in several files (re-runs skip what is in).
        "BLOOD_USE_IMPORT_MAX_BYTES": 8 * 1024 * 1024,
    },
    from_environment=("HOSPITAL_LOOKUP_LIMIT_PER_DEVICE",),
)

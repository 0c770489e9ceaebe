"""Free blood use's operational settings: how large an upload a claim or an import may be.

Merged into the configuration at start-up, before the environment is applied (core.config:
load_config, from app.create_app). None of these is a regulator's figure.
"""

from core.config import PackageSettings

SETTINGS = PackageSettings(
    defaults={
        # A claim's body: the bill and the discharge summary (each at most DOCUMENT_MAX_BYTES,
        # 8 MB, checked one by one) and the form's fields.
        "BLOOD_FEE_CLAIM_MAX_BYTES": 17 * 1024 * 1024,
        # An import of earlier use: about 100 bytes a bill, so some 80,000 bills a file; a
        # station's old system with more is imported in several files (re-runs skip what is in).
        "BLOOD_USE_IMPORT_MAX_BYTES": 8 * 1024 * 1024,
    },
    from_environment=(),
)

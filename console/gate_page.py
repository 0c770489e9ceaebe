"""The gate's screen: scan a benefit code, allow or deny, large; offline with the kit."""

from __future__ import annotations

from console.page import DEVICE_LOGIN, Page
from core.auth import GATE
from core.i18n import _l

PAGE = Page(
    name="gate",
    path="/gate/",
    template="console/gate.html",
    title=_l("Benefit gate"),
    login=DEVICE_LOGIN,
    roles=(GATE,),
    texts={
        "scan_heading": _l("Scan a benefit code"),
        "scan_hint": _l(
            "Hold the donor's benefit code up to the camera, or scan it with a hand scanner."
        ),
        "code_field": _l("Benefit code (a hand scanner types here)"),
        "check": _l("Check"),
        "allow": _l("Allow"),
        "deny": _l("Deny"),
        "holder": _l("Holder: {name}"),
        "checked_offline": _l("Checked offline with the gate's kit."),
        "next_code": _l("Next code"),
        "checking": _l("Checking…"),
        "scanning": _l("Scanning: hold the code in front of the camera."),
        "kit_ready": _l("Ready to check codes offline until {until}."),
        "kit_missing": _l(
            "This gate has no offline kit yet. Connect to the network once to download it."
        ),
        "reason_kit_expired": _l(
            "The offline kit has expired. Connect to the network to renew it."
        ),
        "offline_working": _l("No network: codes are checked on this gate and uploaded later."),
        "uses_waiting": _l("{count} uses checked offline wait to upload."),
        "uses_uploaded": _l("All uses checked offline are uploaded."),
        "uploading": _l("Uploading the uses checked offline…"),
        "upload_failed": _l("The uses checked offline could not be uploaded yet; they are kept."),
        "logout_blocked": _l(
            "{count} uses checked offline are not uploaded yet, and there is no network. "
            "Stay logged in until the network is back; they upload by themselves."
        ),
        # What the gate says offline, in the same words as the server's answers (rewards).
        "reason_allowed": _l("Admitted."),
        "reason_code_invalid": _l("Not a valid benefit code."),
        "reason_code_expired": _l("The code has expired; refresh it."),
        "reason_wrong_region": _l("The code is for another region."),
        "reason_wrong_kind": _l("The code does not cover this benefit."),
        "reason_replayed": _l("This code was already used."),
        "advice_kit": _l("Connect the gate to the network; it renews the kit by itself."),
    },
)

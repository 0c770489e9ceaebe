"""A console page: who logs in to it, how, and the texts its screens show.

A page's texts are English msgids marked with `_l` (the catalogue gives their Chinese); the page
is rendered in the reader's language and hands its script the same texts as JSON, so the script
never carries a language of its own. `{name}` in a text is filled in by the script.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.i18n import Message, _l

STAFF_LOGIN = "staff"  # username and password: POST /auth/staff-login
DEVICE_LOGIN = "device"  # client id and secret: POST /auth/device-token

COMMON_TEXTS: dict[str, Message] = {
    "skip_to_content": _l("Skip to the main content"),
    "log_in": _l("Log in"),
    "log_out": _l("Log out"),
    "username": _l("Username"),
    "password": _l("Password"),
    "client_id": _l("Device ID"),
    "client_secret": _l("Device secret"),
    "logging_in": _l("Logging in…"),
    "logged_out": _l("You have logged out."),
    "session_expired": _l("Your session has ended. Please log in again."),
    "wrong_role": _l("This account cannot use this screen."),
    "network_down": _l("No connection to the server. Check the network and try again."),
    "offline": _l("Offline"),
    "online": _l("Online"),
    "working": _l("Working…"),
    "scan_with_camera": _l("Scan with the camera"),
    "stop_camera": _l("Stop the camera"),
    "camera_unavailable": _l(
        "The camera cannot be used here. Type the code or use a hand scanner instead."
    ),
    "camera_denied": _l(
        "Camera access was refused. Allow the camera in the browser's settings, or type the code."
    ),
    "scanner_unavailable": _l(
        "The barcode reader did not load. Type the code or use a hand scanner instead."
    ),
    "or_type_code": _l("Or type the code (a hand scanner types here)"),
    "submit": _l("OK"),
    "cancel": _l("Cancel"),
    "back": _l("Back"),
    "try_again": _l("Try again"),
    "signed_in_as": _l("Signed in as {name}"),
    "what_next": _l("What to do next: {advice}"),
    "unexpected": _l("Something went wrong. Try again; if it keeps happening, call the station."),
    # What to do next after a refusal, by status; a page may add `advice_<error code>` texts,
    # which win over these.
    "advice_400": _l("Check what was entered and send it again."),
    "advice_401": _l("Log in again."),
    "advice_403": _l("Ask the blood station to grant this account access."),
    "advice_404": _l("Check the number; it may belong to another site or have been removed."),
    "advice_409": _l("Reload the list: someone may have changed this a moment ago."),
    "advice_413": _l("Send less at once."),
    "advice_422": _l("Correct the marked field and send it again."),
    "advice_429": _l("Wait a minute before trying again."),
    "advice_503": _l("The service is busy or restarting. Try again in a moment."),
    "advice_network": _l("Check the network cable or Wi-Fi, then try again."),
    "advice_login_failed": _l(
        "Check the username and password. After repeated failures the account is locked for a "
        "while; the station's administrator can unlock it."
    ),
    "advice_device_credentials_invalid": _l(
        "Check the device ID and secret on the device's card; the station can issue a new secret."
    ),
    "advice_device_revoked": _l("Ask the station for a new device credential."),
}


@dataclass(frozen=True)
class Page:
    name: str
    path: str  # where it is served
    template: str
    title: Message
    login: str  # STAFF_LOGIN or DEVICE_LOGIN
    roles: tuple[str, ...]  # the token roles the page works for
    texts: dict[str, Message] = field(default_factory=dict)

    def texts_in_reader_language(self) -> dict[str, str]:
        every = {**COMMON_TEXTS, **self.texts, "title": self.title}
        return {key: text.translated() for key, text in every.items()}

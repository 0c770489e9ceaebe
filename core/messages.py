"""The one lookup of donor- and staff-facing error texts, by stable code.

Codes are part of the API contract; texts may be refined. Each text is an English msgid marked
with `_l`; its Chinese is in translations/zh/LC_MESSAGES/messages.po, and `core.errors.message_for`
gives it in the reader's language. Core holds the shared ones (HTTP, fields, auth and one-time
codes, its own machinery); each package keeps its own in its `messages.py`, which its `init_app`
registers here (`register_messages`). To add a code: append `"code": _l("English.")` to your
package's `messages.py`, then `.venv/bin/python scripts/catalogue extract` and write its Chinese
in the msgstr it lists (an entry written the old way, `"code": ("中文", "English")`, is converted by
`scripts/catalogue adopt`).
"""

from collections.abc import Mapping

from core.i18n import Message, _l

MESSAGES: dict[str, Message] = {
    # generic HTTP
    "bad_request": _l("The request is invalid."),
    "invalid_json": _l("The request body is not valid JSON."),
    "validation_failed": _l("Some fields are invalid."),
    "unauthorized": _l("Authentication is required."),
    "token_expired": _l("The token has expired."),
    "token_invalid": _l("The token is invalid."),
    "token_revoked": _l("The token has been revoked."),
    "forbidden": _l("You are not allowed to do this."),
    "not_found": _l("Not found."),
    "method_not_allowed": _l("Method not allowed."),
    "conflict": _l("The request conflicts with an existing record."),
    "payload_too_large": _l("The request body is too large."),
    "unsupported_media_type": _l("Unsupported content type; send application/json."),
    "rate_limited": _l("Too many requests; try again later."),
    "internal_error": _l("Internal error; please try again."),
    "service_unavailable": _l("The service is unavailable."),
    "invalid_characters": _l(
        "The request contains a character that cannot be stored (a NUL or an unpaired surrogate)."
    ),
    "json_too_deep": _l("The JSON body is nested too deeply."),
    "value_not_storable": _l("A value is too long or out of range."),
    # field details a schema raises itself (marshmallow's own are in core/i18n.py)
    "field_required": _l("This field is required."),
    "field_empty": _l("Must not be empty."),
    # auth and one-time codes
    "otp_invalid": _l("The code is wrong or has expired."),
    "otp_too_many_attempts": _l("Too many wrong codes; request a new one."),
    "otp_resend_too_soon": _l("Wait before requesting a new code."),
    "otp_daily_limit": _l("Daily code limit reached for this number."),
    "otp_ip_limit": _l("Too many code requests from this address."),
    "login_failed": _l("Wrong username or password."),
    "account_disabled": _l("This account is disabled."),
    "device_credentials_invalid": _l("Invalid device credentials."),
    "not_registered": _l("This mobile number is not registered."),
    "refresh_reused": _l("This refresh token was already used; log in again."),
    "device_option_unused": _l("This kind of device takes no such option."),
    "login_throttled": _l("Too many failed logins from this address; wait before trying again."),
    "otp_guess_throttled": _l("Too many wrong codes from this address; wait before trying again."),
    # core's own machinery: idempotency keys, donation numbers, dates, regions, devices
    "naive_datetime": _l("Times must carry a time zone."),
    "policy_undecided": _l("This rule is not settled yet; please ask the staff."),
    "din_format": _l("Not an ISBT 128 donation number."),
    "din_check_character": _l("The donation number's check fails."),
    "idempotency_key_required": _l("Send an Idempotency-Key header (8 to 128 characters)."),
    "idempotency_key_reused": _l("This Idempotency-Key was used for a different request."),
    "region_unknown": _l("No policy for this region."),
    "device_revoked": _l("This device is revoked."),
    # the audit log (core/audit.py)
    "audit_range_invalid": _l("The end of the range is before its start."),
    "audit_export_too_large": _l(
        "Too many entries for one file; narrow the filter (a donor, an actor or a shorter range)."
    ),
}


def register_messages(messages: Mapping[str, Message]) -> None:
    """Add a package's codes to the one lookup (from its `init_app`).

    The texts are the same for every app, so registering them again changes nothing; a code
    that already names another text is refused, since clients branch on codes.
    """
    for code, message in messages.items():
        known = MESSAGES.setdefault(code, message)
        if known.msgid != message.msgid:
            raise ValueError(f"error code {code!r} already has another message")

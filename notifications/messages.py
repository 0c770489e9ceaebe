"""Notifications' texts by error code: the outbox, templates, appeals and delivery callbacks.

Registered into the one lookup (core.messages) by the package's `init_app`; see core/messages.py
for how to add a code.
"""

from core.i18n import Message, _l

MESSAGES: dict[str, Message] = {
    # notifications: outbox, templates, preferences, webhooks
    "unit_unknown": _l("No valid donation has this donation number."),
    "unit_issue_conflict": _l("This issue was already reported for another hospital."),
    "issued_in_future": _l("The issue time is in the future."),
    "message_not_retryable": _l(
        "This message cannot be sent again (not failed, or a one-time code)."
    ),
    "appeal_ends_in_past": _l("The appeal's end date has passed."),
    "signature_invalid": _l("The callback signature is invalid."),
}

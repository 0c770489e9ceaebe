"""Sites' texts by error code: sites, staff and their accounts.

Registered into the one lookup (core.messages) by the package's `init_app`; see core/messages.py
for how to add a code.
"""

from core.i18n import Message, _l

MESSAGES: dict[str, Message] = {
    # sites and staff
    "facility_code_taken": _l("This facility code is already in use."),
    "username_taken": _l("This username is already taken."),
    "site_not_served": _l("You do not serve this site."),
    "closes_before_opens": _l("Must open before it closes."),
}

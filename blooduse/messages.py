"""Free blood use's texts by error code: family links, entitlement, hospitals, settlement,
reconciliation, claims, admissions and the import of earlier use.

Registered into the one lookup (core.messages) by the package's `init_app`; see core/messages.py
for how to add a code.
"""

from core.i18n import Message, _l

MESSAGES: dict[str, Message] = {
    "blood_use_not_offered": _l("The region sets no free blood-use rules."),
    # hospitals
    "hospital_unknown": _l("There is no hospital with this id."),
    "hospital_code_taken": _l("A hospital with this code is already registered."),
    "hospital_inactive": _l("This hospital is deactivated."),
    "hospital_not_registered": _l("This device is not registered to a hospital."),
    "hospital_required": _l("A hospital device belongs to a hospital: give the hospital's id."),
    # admissions
    "admitted_in_future": _l("The admission time is in the future."),
}

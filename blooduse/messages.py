"""Free blood use's texts by error code: family links, entitlement, hospitals, settlement,
reconciliation, claims, admissions and the import of earlier use.

Registered into the one lookup (core.messages) by the package's `init_app`; see core/messages.py
for how to add a code.
"""

from core.i18n import Message, _l

MESSAGES: dict[str, Message] = {
    "blood_use_not_offered": _l("The region sets no free blood-use rules."),
    # why a relative may not use the pool, why a donation gives no volume (GET /me/blood-use)
    "link_not_verified": _l(
        "The family link is not verified yet: a hospital or the blood station verifies it from"
        " documents."
    ),
    "relation_not_covered": _l("The region's rules do not cover this relation."),
    "extended_relative_needs_gold": _l(
        "This relation is covered only once the donor reaches the national gold standard."
    ),
    "ml_factor_unknown": _l(
        "The region has not set how this kind of donation converts to ml; ask the blood station."
    ),
    "no_rule_in_force": _l("No rule of the donation's region is in force on this day."),
    "kind_not_covered": _l("The region's rules give this kind of donation no volume."),
    "before_counting": _l("Given before the region's rules start counting donations."),
    # hospitals
    "hospital_unknown": _l("There is no hospital with this id."),
    "hospital_code_taken": _l("A hospital with this code is already registered."),
    "hospital_inactive": _l("This hospital is deactivated."),
    "hospital_not_registered": _l("This device is not registered to a hospital."),
    "hospital_required": _l("A hospital device belongs to a hospital: give the hospital's id."),
    # admissions
    "admitted_in_future": _l("The admission time is in the future."),
    # settlement at the hospital
    "no_entitlement": _l(
        "The patient has no free blood-use entitlement that covers this bill; nothing was changed."
    ),
    "settle_at_donation_region": _l(
        "The patient's entitlement comes from donations in a region whose rules this hospital "
        "cannot apply; send the donor to that region's blood station."
    ),
    "link_not_patients": _l("This family link does not name this patient."),
    "bill_already_settled": _l("Another bill was already settled under this bill number."),
    "settlement_reversed": _l(
        "This bill was settled and then reversed; it cannot be settled again."
    ),
    "settlement_unknown": _l("This hospital settled no bill with this number."),
    "settlement_already_reversed": _l("This settlement is already reversed."),
    "blood_fee_reduction_unknown": _l("There is no blood-fee reduction with this id."),
    "transfused_in_future": _l("The transfusion date is later than today."),
    "discharged_before_transfusion": _l("The discharge date is earlier than the transfusion date."),
    # reconciliation
    "month_invalid": _l("There is no such month: give it as YYYY-MM."),
    "month_not_over": _l("This month is not over yet, so it cannot be confirmed."),
    "month_already_confirmed": _l("This month is already confirmed."),
    "month_confirmed": _l(
        "The hospital confirmed this bill's month: only an administrator can reverse it now."
    ),
}

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
    # claims after the fact
    "claim_unknown": _l("There is no claim with this id."),
    "claim_document_unknown": _l("This claim has no such document."),
    "relative_unknown": _l("You have declared no relative with this id."),
    "relative_not_verified": _l(
        "This relative is not verified yet: a hospital or the blood station verifies the"
        " relationship from documents first."
    ),
    "hospital_name_ambiguous": _l(
        "Several registered hospitals have this name; give the hospital's code."
    ),
    "discharged_on_invalid": _l("The discharge date must fall between the transfusion and today."),
    "components_invalid": _l(
        "List the components as JSON text: a list of objects, each with"
        ' "component" and "volume_ml".'
    ),
    "bill_already_reduced": _l("This bill has already been reduced or claimed."),
    # why a pool gives nothing (blooduse.entitlement), as a detail of no_entitlement
    "nothing_remains": _l("The donations' windows in force on the transfusion date are used up."),
    "none_in_force": _l("No donation gives free blood use on the transfusion date."),
    "not_a_donor": _l("The patient is neither a donor nor a verified relative of one."),
    "claim_already_decided": _l("This claim has already been decided."),
    "claim_already_paid": _l("This claim has already been paid out."),
    "claim_not_approved": _l("Only an approved claim is paid out."),
    "payout_exceeds_approved": _l("The payout is more than the approved reduction."),
    # the import of earlier use: the file
    "import_file_gbk": _l(
        "The file is not UTF-8 text: it looks like GBK, as Excel on Chinese Windows saves it."
        ' Save it as UTF-8 (in Excel: "CSV UTF-8 (Comma delimited)") and import it again.'
    ),
    "import_file_not_utf8": _l("The file is not UTF-8 text. Save it as UTF-8 and import it again."),
    "import_file_malformed": _l(
        "The file is not well-formed CSV (a quote left open); nothing was imported."
    ),
    "import_columns_missing": _l("The header row lacks columns the import needs."),
    # the import of earlier use: a row's outcome
    "donor_unknown": _l("No donor has this ID number."),
    "relative_not_linked": _l(
        "The donor has declared no relative with this ID number; declare and verify the link first."
    ),
    "relation_mismatch": _l("The relation differs from the one the donor declared."),
    "bill_hospital_missing": _l("Give the hospital's code or name."),
    "bill_number_missing": _l("Give the bill number (at most 64 characters)."),
    "transfused_on_invalid": _l("The transfusion date is not a date (YYYY-MM-DD) up to today."),
    "amount_invalid": _l("An amount is not a whole number in range."),
    "exceeds_entitlement": _l(
        "The ml used are more than the donor's windows held on the transfusion date; nothing"
        " was imported for this bill."
    ),
    "already_imported": _l("Already imported."),
    "already_reduced": _l("This bill was already reduced at a hospital or by a claim."),
}

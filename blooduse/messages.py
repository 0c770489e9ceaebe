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
    "transfused_in_future": _l("The transfusion date is in the future."),
    "discharged_on_invalid": _l("The discharge date must fall between the transfusion and today."),
    "components_invalid": _l(
        "List the components as JSON text: a list of objects, each with"
        ' "component" and "volume_ml".'
    ),
    "bill_already_reduced": _l("This bill has already been reduced or claimed."),
    "no_entitlement": _l("No free blood use remains that this bill could draw on."),
    # why a pool gives nothing (blooduse.entitlement), as a detail of no_entitlement
    "nothing_remains": _l("The donations' windows in force on the transfusion date are used up."),
    "link_not_verified": _l("The relative's link is not verified."),
    "relation_not_covered": _l("The region's rules do not cover this relation."),
    "extended_relative_needs_gold": _l(
        "This relation is covered only once the donor reached the national gold award."
    ),
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

"""Certificate's texts by error code: eligibility reasons (donor-facing: neutral, no medical
detail), donations, certificates and their history.

Registered into the one lookup (core.messages) by the package's `init_app`; see core/messages.py
for how to add a code.
"""

from core.i18n import Message, _l

MESSAGES: dict[str, Message] = {
    # eligibility reasons (donor-facing: neutral, no medical detail)
    "too_young": _l("Below the minimum donor age."),
    "too_old_first_time": _l("Above the age limit for a first donation."),
    "too_old_repeat": _l("Above the donor age limit."),
    "interval": _l("Too soon after the previous donation."),
    "yearly_cap": _l("This year's limit for this kind is reached."),
    "deferred": _l("Not able to donate for now; please come back after the date shown."),
    "too_old_after_reaction": _l(
        "A donation reaction is on record, so the age limit is not extended."
    ),
    "kind_not_offered": _l("This kind of donation is not offered here."),
    "interval_later_donation": _l("Too close to a later donation on record."),
    "yearly_volume_cap": _l(
        "This year's platelets and plasma collected are at or near the yearly limit."
    ),
    # donations and certificates
    "donor_not_eligible": _l(
        "The donor is not eligible now; give an override reason to record anyway."
    ),
    "donor_not_found": _l("No such donor."),
    "unknown_donation_kind": _l("Unknown donation kind."),
    "amount_unit_mismatch": _l(
        "This kind is measured in the other unit (ml or therapeutic units)."
    ),
    "amount_not_allowed": _l("This amount is not allowed for this kind."),
    "amount_not_decided": _l("The allowed amounts for this kind are not settled yet."),
    "collected_in_future": _l("The collection time is in the future."),
    "din_taken": _l("This donation number is already recorded."),
    "donation_already_voided": _l("This donation is already voided."),
    "donation_date_invalid": _l("The donation date is invalid."),
    "certificate_unknown": _l("No certificate has this number."),
    "deferral_reason_unknown": _l("Unknown deferral reason code."),
    "deferral_needs_date": _l("Give the date the period counts from, or an end date."),
    "history_claim_too_many": _l(
        "Too many failed attempts; try again tomorrow or ask at a donation site."
    ),
    "history_claim_failed": _l("This donation number does not match your records."),
    "history_to_confirm": _l(
        "We found earlier donation records that may be yours; confirm them to see and count them."
    ),
    "history_confirm_by_donation_number": _l(
        "Enter the donation number of any one of them (on a paper certificate or the bag label)."
    ),
    "history_confirm_at_site": _l(
        "Or bring your ID card to any donation site; staff confirm them after checking it."
    ),
    "history_donor_not_registered": _l(
        "The donor has not registered yet; earlier records are confirmed once they have."
    ),
    "history_not_found": _l("The donor has no records to confirm."),
    "standard_not_in_force": _l("No donor health standard is in force on this date."),
    "volume_required": _l("Give the collected volume (ml) the apheresis device shows."),
    "collected_too_long_ago": _l(
        "This collection date is too far back to enter here; older records are imported."
    ),
    "collected_not_on_visit_day": _l("The collection must be on the day of the visit."),
}

"""The donation house's screen: today's visits, the check-in scan, the face check, the donation
form, deferrals, the certificate's QR for the donor, and an administrator's void or correction."""

from __future__ import annotations

from console.page import STAFF_LOGIN, Page
from core.auth import ADMIN, STAFF
from core.i18n import _l

TEXTS = {
    # today at the site
    "today_heading": _l("Today at the site"),
    "site_label": _l("Site"),
    "no_sites": _l("This account serves no site yet. Ask the blood station to assign one."),
    "counts_line": _l("Bookings: {bookings} · Visits: {visits} · Donated: {donated}"),
    "bookings_heading": _l("Today's bookings"),
    "visits_heading": _l("Today's visits"),
    "show_more": _l("Show more"),
    "none_yet": _l("None yet."),
    "col_time": _l("Time"),
    "col_donor": _l("Donor"),
    "col_kind": _l("Kind"),
    "col_status": _l("Status"),
    "col_action": _l("Action"),
    "open_visit": _l("Open"),
    "walk_in": _l("Walk-in (no booking)"),
    "status_booked": _l("Booked"),
    "status_checked_in": _l("Checked in"),
    "status_fulfilled": _l("Donated"),
    "status_cancelled": _l("Cancelled"),
    "status_rescheduled": _l("Moved"),
    "status_no_show": _l("Did not come"),
    "status_not_donated": _l("Did not donate"),
    "status_open": _l("At the desk"),
    "status_donated": _l("Donated"),
    "status_closed": _l("Ended"),
    # check-in
    "checkin_heading": _l("Check a donor in"),
    "scan_checkin": _l("Scan the donor's check-in code"),
    "checkin_code_field": _l("Check-in code (a hand scanner types here)"),
    "walk_in_id": _l("Walk-in without the app: ID number"),
    "check_in": _l("Check in"),
    "checking_in": _l("Checking in…"),
    "identify_by_face": _l("No ID card: find the donor by face"),
    # the visit
    "visit_heading": _l("Donor at the desk"),
    "donor_name": _l("Name"),
    "donor_id_number": _l("ID number"),
    "booking": _l("Booking"),
    "booking_line": _l("{kind}, {start}–{end}"),
    "health_form": _l("Health form"),
    "health_form_signed": _l("Signed at {when}"),
    "health_form_missing": _l("Not signed: ask the donor to fill in the health form in the app."),
    "eligibility": _l("Today"),
    "eligible": _l("{kind}: may donate"),
    "not_eligible": _l("{kind}: not until {date}"),
    "not_eligible_no_date": _l("{kind}: not today"),
    "face_confirmed_at": _l("Face confirmed at {when}"),
    "face_heading": _l("Face check"),
    "blink_prompt": _l("Please blink"),
    "check_face": _l("Check the face"),
    "checking_face": _l("Hold still and blink…"),
    "face_verified": _l("Face confirmed: the donor's own face, live."),
    "face_no_match": _l(
        "The face does not match the face the donor enrolled. Check the ID card before going on."
    ),
    "face_try_again": _l("Ask the donor to look at the camera and blink, then check again."),
    "record_donation": _l("Record the donation"),
    "defer_donor": _l("Defer the donor"),
    "back_to_today": _l("Back to today"),
    "visit_over": _l("This visit has ended."),
    # the donation
    "donation_heading": _l("The donation"),
    "kind": _l("Kind of donation"),
    "volume_ml": _l("Volume (ml)"),
    "units": _l("Therapeutic units (apheresis platelets only)"),
    "din": _l("Bag's donation number (DIN)"),
    "din_hint": _l("Scan the bag label with the camera or a hand scanner, or type the number."),
    "scan_din": _l("Scan the bag label"),
    "din_read": _l("Bag label read: {din}"),
    "reaction": _l("Donation reaction"),
    "reaction_unrecorded": _l("Not recorded now"),
    "reaction_none": _l("None"),
    "reaction_mild": _l("Mild"),
    "reaction_moderate": _l("Moderate"),
    "reaction_severe": _l("Severe"),
    "reaction_note": _l("Note on the reaction (optional)"),
    "save_donation": _l("Record the donation"),
    "recording": _l("Recording…"),
    # the certificate
    "certificate_heading": _l("Certificate issued"),
    "certificate_number": _l("Certificate number"),
    "certificate_qr": _l("QR code of the certificate {number}"),
    "show_to_donor": _l("Show this code to the donor to scan with their phone."),
    "donation_din": _l("DIN"),
    "donation_amount": _l("Amount"),
    "amount_ml": _l("{ml} ml"),
    "amount_units": _l("{units} units ({ml} ml)"),
    "donation_status": _l("Status"),
    "donation_valid": _l("Valid"),
    "donation_voided": _l("Voided"),
    "next_donor": _l("Next donor"),
    # administrator
    "admin_heading": _l("Administrator: void or correct this donation"),
    "void_reason": _l("Reason for voiding"),
    "void": _l("Void the donation"),
    "voided": _l("The donation is voided; its certificate shows it as voided."),
    "correction_reason": _l("Reason for the correction"),
    "correction_volume": _l("Corrected volume (ml)"),
    "correction_units": _l("Corrected therapeutic units (apheresis platelets only)"),
    "correct": _l("Record the correction"),
    "corrected": _l("Correction recorded: the old record is voided and a new certificate issued."),
    # deferral
    "deferral_heading": _l("Defer the donor"),
    "deferral_reason": _l("Reason"),
    "deferral_anchor": _l("Counts from (the day of recovery, of the event or of the last dose)"),
    "deferral_until": _l("Until (only for a reason without a fixed period)"),
    "save_deferral": _l("Record the deferral"),
    "deferred_until": _l("Deferral recorded; the donor may donate again from {date}."),
    "deferred_permanently": _l("Deferral recorded, with no end date."),
    # face identification
    "identify_heading": _l("Find a donor by face"),
    "identify_hint": _l(
        "For a donor booked here today who has no ID card with them: the donor looks at the "
        "camera and blinks."
    ),
    "identify": _l("Find by face"),
    "identified": _l("Found: {name}, born {year}."),
    "identified_next": _l(
        "Ask the donor to say their name and year of birth. If they match, check the donor in "
        "with the ID number they give, or the check-in code in their app."
    ),
    # what to do next after the refusals a nurse meets
    "advice_checkin_code_expired": _l(
        "Ask the donor to refresh the check-in code in the app, then scan the new one."
    ),
    "advice_checkin_code_used": _l(
        "A code opens one visit. Ask the donor to refresh the code in the app and scan the new "
        "one; if the donor is already checked in, open the visit from today's list."
    ),
    "advice_checkin_code_invalid": _l(
        "Scan the code on the donor's app again, or check the donor in by ID number."
    ),
    "advice_checkin_code_or_id_number": _l("Scan the code, or type the ID number, not both."),
    "advice_donor_not_found": _l(
        "Check the ID number against the card. A donor without an account registers in the app "
        "first."
    ),
    "advice_visit_not_found": _l("Go back to today's list and open the visit from there."),
    "advice_visit_not_open": _l(
        "The visit has ended. Go back to today's list; check the donor in again if they are "
        "still here."
    ),
    "advice_visit_other_site": _l("Choose the site the donor checked in at."),
    "advice_site_not_served": _l("Choose one of your own sites."),
    "advice_face_not_enrolled": _l("The donor has no enrolled face: check the ID card instead."),
    "advice_donor_not_eligible": _l(
        "Do not collect. Tell the donor the date they may donate again, or record a deferral."
    ),
    "advice_din_check_character": _l(
        "The number was mistyped or misread: scan the bag label again."
    ),
    "advice_din_format": _l("Scan the bag label again; a DIN starts with the facility code."),
    "advice_din_taken": _l(
        "This bag's number is already on another donation: take the label of this bag."
    ),
    "advice_amount_not_allowed": _l(
        "Choose an amount the rules allow for this kind (whole blood: 200, 300 or 400 ml)."
    ),
    "advice_volume_required": _l("Enter the collected volume the apheresis device shows."),
    "advice_amount_unit_mismatch": _l(
        "Give units only for apheresis platelets; give ml for the other kinds."
    ),
    "advice_kind_not_offered": _l("Choose another kind: this one is not collected here."),
    "advice_collected_not_on_visit_day": _l(
        "The visit was opened on another day: check the donor in again today."
    ),
    "advice_deferral_needs_date": _l(
        "Enter the day the period counts from, or the end date for a reason without a period."
    ),
    "advice_donation_already_voided": _l("Nothing more to do: the donation was voided before."),
    "advice_idempotency_key_reused": _l("Go back to today's list and record the donation anew."),
}

PAGE = Page(
    name="staff",
    path="/console/",
    template="console/staff.html",
    title=_l("Donation house console"),
    login=STAFF_LOGIN,
    roles=(STAFF, ADMIN),
    texts=TEXTS,
)

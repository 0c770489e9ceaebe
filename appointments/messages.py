"""Appointments' texts by error code: slots, bookings, the health form, check-in, waiting lists.

Registered into the one lookup (core.messages) by the package's `init_app`; see core/messages.py
for how to add a code.
"""

from core.i18n import Message, _l

MESSAGES: dict[str, Message] = {
    # appointments: slots, bookings, questionnaire, check-in
    "schedule_sessions_overlap": _l("Sessions on the same day must not overlap."),
    "schedule_session_too_short": _l("A session is shorter than one slot."),
    "schedule_kind_unknown": _l("The region's policy has no such donation kind."),
    "schedule_kind_undecided": _l("This kind's rules are not settled yet, so it cannot be booked."),
    "schedule_no_places": _l("Give at least one place per slot."),
    "schedule_day_past": _l("A past day cannot be changed."),
    "date_range_invalid": _l("The date range is invalid (end before start, or more than 31 days)."),
    "point_incomplete": _l("Give both latitude and longitude."),
    "slot_not_found": _l("No such slot."),
    "slot_full": _l("This slot is full; you can join the day's waiting list."),
    "slot_closed": _l("This slot no longer takes bookings."),
    "slot_beyond_horizon": _l("This slot is not open for booking yet."),
    "already_booked": _l("You already have an active booking; cancel or reschedule it first."),
    "not_eligible_on_date": _l(
        "You may not donate on that date under the rules; choose a slot after the date shown."
    ),
    "booking_not_found": _l("No such booking."),
    "booking_not_active": _l("This booking can no longer be changed."),
    "change_window_closed": _l(
        "Too close to the appointment to change it online; please call the site."
    ),
    "no_show_too_early": _l("The appointment has not started yet."),
    "waitlist_places_available": _l("There are free places that day; book one directly."),
    "waitlist_not_offered": _l("The site offers no bookings of this kind that day."),
    "waitlist_already_joined": _l("You are already on this waiting list."),
    "waitlist_limit": _l("You are on as many waiting lists as allowed."),
    "waitlist_entry_not_found": _l("No such waiting-list entry."),
    "offer_not_open": _l("No place is held for you on this entry."),
    "offer_expired": _l("The place held for you has expired and passed to the next donor in line."),
    "questionnaire_not_in_force": _l("No health questionnaire is in force; please ask the staff."),
    "questionnaire_outdated": _l(
        "The questionnaire has changed; please answer the current version."
    ),
    "questionnaire_incomplete": _l("Answer every question of the form, once each."),
    "questionnaire_unknown_question": _l("The form has no such question."),
    "answer_date_required": _l("Give the date this question asks for when you answer yes."),
    "answer_date_not_needed": _l("No date is needed when you answer no."),
    "answer_date_in_future": _l("The date cannot be later than today."),
    "consent_required": _l("Read and agree to the donor consent to continue."),
    "questionnaire_not_found": _l("You have not answered the form yet."),
    "checkin_code_invalid": _l("This check-in code is not valid; ask the donor to refresh it."),
    "checkin_code_expired": _l("This check-in code has expired; ask the donor to refresh it."),
    "checkin_code_used": _l("This check-in code was already used; ask the donor to refresh it."),
    "checkin_code_or_id_number": _l("Give either the check-in code or the ID number."),
    "visit_not_found": _l("No such visit."),
    "visit_not_open": _l("This visit is already closed."),
    "visit_other_site": _l("This visit belongs to another site."),
    "donation_donor_or_visit": _l("Give either the donor or the visit, not both."),
    "closed_day_has_sessions": _l("A closed day has no sessions."),
}

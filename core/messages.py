"""Every donor- and staff-facing error text, by stable code.

Codes are part of the API contract; texts may be refined. Each text is an English msgid marked
with `_l`; its Chinese is in translations/zh/LC_MESSAGES/messages.po, and `core.errors.message_for`
gives it in the reader's language. To add a code: append `"code": _l("English.")` to your
package's section, then `.venv/bin/python scripts/catalogue extract` and write its Chinese in the
msgstr it lists (an entry written the old way, `"code": ("中文", "English")`, is converted by
`scripts/catalogue adopt`).
"""

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
    # donors
    "mobile_taken": _l("This mobile number is already in use."),
    "donor_erased": _l("This account has been erased."),
    "id_number_checksum": _l("The ID number's check digit is wrong."),
    "id_number_length": _l("An ID number has 18 characters."),
    "id_number_component": _l("The ID number's birth date or region code is invalid."),
    "id_number_format": _l("The ID number is malformed."),
    "id_number_birth_date": _l("The ID number's birth date is invalid."),
    "mobile_format": _l("The mobile number is malformed."),
    "mobile_not_cn": _l("Enter a valid mainland China mobile number."),
    "mobile_not_mobile": _l("Enter a mobile, not a landline, number."),
    "facility_code_format": _l("A facility code is one letter and four digits (ISBT 128)."),
    "naive_datetime": _l("Times must carry a time zone."),
    "registration_continues_by_sms": _l(
        "If the ID number is free, a login code went to this number; if not, its holder was told."
    ),
    # eligibility reasons (donor-facing: neutral, no medical detail)
    "too_young": _l("Below the minimum donor age."),
    "too_old_first_time": _l("Above the age limit for a first donation."),
    "too_old_repeat": _l("Above the donor age limit."),
    "interval": _l("Too soon after the previous donation."),
    "yearly_cap": _l("This year's limit for this kind is reached."),
    "deferred": _l("Not able to donate for now; please come back after the date shown."),
    "policy_undecided": _l("This rule is not settled yet; please ask the staff."),
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
    "din_format": _l("Not an ISBT 128 donation number."),
    "din_check_character": _l("The donation number's check fails."),
    "din_taken": _l("This donation number is already recorded."),
    "donation_already_voided": _l("This donation is already voided."),
    "idempotency_key_required": _l("Send an Idempotency-Key header (8 to 128 characters)."),
    "idempotency_key_reused": _l("This Idempotency-Key was used for a different request."),
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
    "id_card_not_checked": _l("Check the donor's own ID card first."),
    "standard_not_in_force": _l("No donor health standard is in force on this date."),
    "volume_required": _l("Give the collected volume (ml) the apheresis device shows."),
    "collected_too_long_ago": _l(
        "This collection date is too far back to enter here; older records are imported."
    ),
    "collected_not_on_visit_day": _l("The collection must be on the day of the visit."),
    # sites and staff
    "facility_code_taken": _l("This facility code is already in use."),
    "username_taken": _l("This username is already taken."),
    "site_not_served": _l("You do not serve this site."),
    "closes_before_opens": _l("Must open before it closes."),
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
    # (end of appointments)
    # rewards: totals, benefits, benefit codes, gates
    "region_unknown": _l("No policy for this region."),
    "award_unknown": _l("This award is not known in the region."),
    "award_period_invalid": _l("The award period is like 2022-2023 or 2023."),
    "awarded_in_future": _l("The award date is in the future."),
    "award_already_recorded": _l("This award for this period is already recorded."),
    "award_already_revoked": _l("This award record is already revoked."),
    "benefit_route_unavailable": _l("The region offers no three-frees route to apply for."),
    "no_three_free": _l("The region has no three-frees policy."),
    "no_application": _l("The region takes no applications."),
    "no_benefit_held": _l("You hold no three-frees benefit, so there is no benefit code."),
    "benefit_kind_unknown": _l("The region's three frees have no such benefit."),
    "operator_inactive": _l("This operator is deactivated."),
    "device_revoked": _l("This device is revoked."),
    "gate_not_registered": _l("This device is not registered to an operator."),
    "usage_range_invalid": _l("The end date is before the start."),
    "usage_range_too_long": _l("The date range is too long."),
    "offline_batch_too_large": _l("Too many uses in one upload."),
    # what a gate shows (reason codes of POST /gate/verify)
    "gate_allowed": _l("Admitted."),
    "gate_code_invalid": _l("Not a valid benefit code."),
    "gate_code_expired": _l("The code has expired; refresh it."),
    "gate_wrong_region": _l("The code is for another region."),
    "gate_wrong_kind": _l("The code does not cover this benefit."),
    "gate_not_held": _l("The holder does not hold this benefit now."),
    "gate_replayed": _l("This code was already used."),
    "gate_operator_required": _l("A gate belongs to a gate operator: give the operator's id."),
    "gate_operator_unknown": _l("There is no gate operator with this id."),
    "benefit_kind_not_operators": _l("The operator admits holders to another benefit."),
    # (end of rewards)
    # notifications: outbox, templates, preferences, webhooks
    "unit_unknown": _l("No valid donation has this donation number."),
    "unit_issue_conflict": _l("This issue was already reported for another hospital."),
    "issued_in_future": _l("The issue time is in the future."),
    "message_not_retryable": _l(
        "This message cannot be sent again (not failed, or a one-time code)."
    ),
    "appeal_ends_in_past": _l("The appeal's end date has passed."),
    "signature_invalid": _l("The callback signature is invalid."),
    # (end of notifications)
    # faces: enrolment, verification, identification
    "face_image_base64": _l("The image is not valid base64."),
    "face_image_format": _l("Send a JPEG or PNG image."),
    "face_image_unreadable": _l("The image cannot be read; it may be damaged."),
    "face_image_too_large": _l("The image is too large; send a smaller one."),
    "face_not_found": _l("No face was found; face the camera in good light and try again."),
    "face_several": _l("Several faces were found; only the donor may be in the picture."),
    "face_too_small": _l("The face is too small; come closer to the camera."),
    "face_partial": _l("Part of the face is outside the picture; keep the whole face in view."),
    "face_consent_required": _l("Read and accept the face-check consent first."),
    "face_consent_outdated": _l(
        "The consent text has changed; read the current version and accept it."
    ),
    "face_not_enrolled": _l("This donor has no enrolled face."),
    "face_photo_not_kept": _l("No photo is kept for this donor."),
    "face_burst_too_short": _l(
        "Too few frames show the face; have the donor face the camera, blink, and retake."
    ),
    "face_burst_too_long": _l("Too many frames in the burst."),
    # liveness verdicts (staff-facing): what the burst showed
    "face_live_blink": _l("A blink was seen."),
    "face_live_static_burst": _l("Every frame is the same picture: a replayed still."),
    "face_live_not_continuous": _l("The frames are not one continuous capture."),
    "face_live_faces_differ": _l("The frames show different people."),
    "face_live_no_blink": _l("No blink was seen; ask the donor to blink and retake."),
    # identification outcomes (staff-facing)
    "face_id_identified": _l("One donor matches; ask them to state their name and birth year."),
    "face_id_no_candidates": _l("No enrolled face to compare with today."),
    "face_id_no_match": _l("No donor matches; check an ID."),
    "face_id_ambiguous": _l("Several donors look alike; check an ID."),
    "face_id_liveness_failed": _l("The burst did not show a live face, so no search was made."),
    # (end of faces)
}

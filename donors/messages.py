"""Donors' texts by error code: accounts, ID and mobile numbers, faces and their liveness.

Registered into the one lookup (core.messages) by the package's `init_app`; see core/messages.py
for how to add a code.
"""

from core.i18n import Message, _l

MESSAGES: dict[str, Message] = {
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
    "registration_continues_by_sms": _l(
        "If the ID number is free, a login code went to this number; if not, its holder was told."
    ),
    "id_card_not_checked": _l("Check the donor's own ID card first."),
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
    # uploaded documents
    "document_empty": _l("The file is empty."),
    "document_too_large": _l("The file is too large."),
    "document_type_not_allowed": _l("Upload a JPEG or PNG photo, or a PDF."),
    # family links
    "family_link_unknown": _l("There is no such family link."),
    "relation_unknown": _l("This relation is not one the region's rules name."),
    "family_link_self": _l("A relative's ID number cannot be your own."),
    "family_link_duplicate": _l("This relative is already declared."),
    "family_link_limit": _l("You have declared as many relatives as allowed; remove one first."),
    "family_link_removed": _l("This family link was removed."),
    "family_link_already_verified": _l("This family link is already verified."),
    "family_link_rejected": _l(
        "This family link's document was rejected; the donor must upload a new one."
    ),
    "family_link_no_document": _l("No document has been uploaded for this family link."),
}

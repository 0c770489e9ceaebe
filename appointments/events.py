"""What appointments tell other packages, inside the transaction that caused it.

Notifications listen to these to tell donors (a place offered from the waiting list, a booking
the site had to cancel); a receiver that raises rolls the change back with everything else.
Each signal is sent with the row as a keyword: `booking=`, `entry=`, `visit=`. `booking_made`
also names the booking it replaces (`replaced=`, None for a new one): a reschedule, or an offer
accepted by a donor who had a booking, moves the appointment without cancelling it.
"""

from blinker import Namespace

_signals = Namespace()

booking_made = _signals.signal("booking-made")  # replaced: the moved booking, or None
booking_cancelled = _signals.signal(
    "booking-cancelled"
)  # booking.cancelled_by: donor | site | system
place_offered = _signals.signal("place-offered")  # entry.offered_slot, entry.offer_expires_at
offer_expired = _signals.signal("offer-expired")
# Staff checked a donor in at a site: `visit=` the new open Visit (a call-out's arrival).
visit_opened = _signals.signal("visit-opened")
# A donor signed a health form: `response=` the signed QuestionnaireResponse.
questionnaire_signed = _signals.signal("questionnaire-signed")

"""What appointments tell other packages, inside the transaction that caused it.

Notifications listen to these to tell donors (a place offered from the waiting list, a booking
the site had to cancel); a receiver that raises rolls the change back with everything else.
Each signal is sent with the row as a keyword: `booking=`, `entry=`.
"""

from blinker import Namespace

_signals = Namespace()

booking_made = _signals.signal("booking-made")
booking_cancelled = _signals.signal("booking-cancelled")  # booking.cancelled_by: donor | site
place_offered = _signals.signal("place-offered")  # entry.offered_slot, entry.offer_expires_at
offer_expired = _signals.signal("offer-expired")

"""Domain events other packages listen to, sent inside the transaction that caused them.

A receiver that raises rolls the whole transaction back, so the donation, its certificate, the
totals and whatever the listeners write (a closed visit, a thank-you message) commit together.
"""

from blinker import Namespace

_signals = Namespace()

donation_recorded = _signals.signal("donation-recorded")
donation_voided = _signals.signal("donation-voided")

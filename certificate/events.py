"""Domain events other packages listen to, sent inside the transaction that caused them.

A receiver that raises rolls the whole transaction back, so the donation, its certificate, the
totals and whatever the listeners write (a closed visit, a thank-you message) commit together.
"""

from blinker import Namespace

_signals = Namespace()

donation_recorded = _signals.signal("donation-recorded")
donation_voided = _signals.signal("donation-voided")

# Sent by `card_view` with `donor=`; each receiver returns a dict of extra card sections (such as
# "benefits"), so the card shows what listening packages add without certificate importing them.
card_requested = _signals.signal("card-requested")

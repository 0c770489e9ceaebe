"""What donors tell other packages, inside the transaction that caused it.

donors/ sits below appointments/ and notifications/ and imports neither: they listen. A receiver
that raises rolls the change back with everything else, so an erasure commits together with what
the listeners remove, or not at all. Each signal is sent with the app as sender.

- `login_code_issued` (`code_id=`, `mobile=` E.164, `code=`, `minutes=`, `expires_at=`): a
  one-time code was stored; someone must deliver it (notifications, through its outbox).
- `mobile_changed` (`audit_id=`, `old_mobile=` E.164): the account moved to another number; the
  old number should hear of it.
- `registration_for_registered_id` (`donor=`, `other_mobile=` E.164): someone proved another
  number and tried to register the donor's ID number; nothing changed, and the donor should hear
  of it at the number on record (with the other number masked).
- `donor_erased` (`donor=`, already stripped of name, numbers and face): whatever else names or
  serves the donor goes (pending messages, health answers, bookings, waiting places).
"""

from blinker import Namespace

_signals = Namespace()

login_code_issued = _signals.signal("login-code-issued")
mobile_changed = _signals.signal("mobile-changed")
registration_for_registered_id = _signals.signal("registration-for-registered-id")
donor_erased = _signals.signal("donor-erased")

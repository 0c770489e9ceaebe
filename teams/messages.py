"""Teams' texts by error code: teams, membership, call-outs, answers and drills.

Registered into the one lookup (core.messages) by the package's `init_app`; see core/messages.py
for how to add a code.
"""

from core.i18n import Message

MESSAGES: dict[str, Message] = {}

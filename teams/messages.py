"""Teams' texts by error code: teams, membership, call-outs, answers and drills.

Registered into the one lookup (core.messages) by the package's `init_app`; see core/messages.py
for how to add a code.
"""

from core.i18n import Message, _l

MESSAGES: dict[str, Message] = {
    # teams and membership (teams/membership.py)
    "team_not_found": _l("There is no team with this id."),
    "team_inactive": _l("This team is no longer active; it takes no new members."),
    "team_membership_not_found": _l("You are not a member of this team."),
    "team_membership_left": _l("You have left this team; join it again, with consent, first."),
    "team_consent_required": _l("Read and agree to the emergency team consent to join a team."),
    "team_consent_outdated": _l(
        "The team consent text has changed; read the current version and agree to it."
    ),
    "location_incomplete": _l("Give both latitude and longitude, or neither."),
    # drill reports (teams/drills.py)
    "call_out_not_found": _l("There is no call-out with this id."),
    # call-outs (teams/callouts.py)
    "call_out_needed_by_past": _l("The time the donors are needed by has passed."),
    "call_out_team_unknown": _l("A team named is not an active team of the site's region."),
    "call_out_not_open": _l("This call-out is no longer open."),
    "call_out_wave_out_of_order": _l("Waves are sent in order: this is not the next wave."),
    # answers (teams/answers.py)
    "call_out_reply_unknown": _l("This reply link is not valid."),
    "call_out_arriving_at_required": _l("Say when you will arrive."),
    "call_out_arriving_at_past": _l("The arrival time has passed."),
    "call_out_arriving_after_needed_by": _l("The donors are needed before this arrival time."),
    "call_out_already_arrived": _l("You have already arrived; the answer can no longer change."),
}

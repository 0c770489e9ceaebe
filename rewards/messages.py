"""Rewards' texts by error code: awards, benefits, benefit codes and what a gate shows.

Registered into the one lookup (core.messages) by the package's `init_app`; see core/messages.py
for how to add a code.
"""

from core.i18n import Message, _l

MESSAGES: dict[str, Message] = {
    # rewards: totals, benefits, benefit codes, gates
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
    # award cycles and grants checked against the record
    "award_scheme_unknown": _l(
        "The region has no such award scheme: the national dedication tiers or an award with"
        " criteria."
    ),
    "cut_off_in_future": _l("The cut-off date is in the future."),
    "award_cycle_open": _l("A cycle for this award scheme, region and period is already open."),
    "award_cycle_confirmed": _l("This award cycle is already confirmed."),
    "awarded_before_cut_off": _l("The award date is before the cycle's cut-off date."),
    "exclusion_repeated": _l("A donor is excluded twice."),
    "nomination_unknown": _l("An excluded donor is not on the cycle's list."),
    "award_not_supported_by_record": _l(
        "The donor's record at the award date does not support this award; give a reason to"
        " record it anyway."
    ),
    "award_not_flagged": _l("This award is not flagged for review."),
    # honour cards
    "honour_not_held": _l("You do not hold this honour, so there is no card for it."),
    "honour_card_which": _l("Give either an honour or an award id."),
    "honour_card_unknown": _l("There is no honour card with this number."),
    # points and the souvenir store
    "points_insufficient": _l("Not enough points."),
    "points_zero": _l("An adjustment adds or takes at least one point."),
    "points_not_offered": _l("The region offers no points."),
    "served_in_future": _l("The day served is in the future."),
    "pickup_sites_required": _l("An item picked up names its pick-up sites."),
    "delivery_has_no_sites": _l("An item delivered has no pick-up sites."),
    "site_not_found": _l("There is no such site."),
    "store_item_not_found": _l("There is no such item."),
    "store_item_retired": _l("This item is no longer offered."),
    "pickup_site_invalid": _l("Choose one of the item's pick-up sites."),
    "pickup_has_no_address": _l("An item picked up needs no delivery address."),
    "delivery_address_required": _l("An item delivered needs a delivery address."),
    "out_of_stock": _l("This item is out of stock."),
    "redemption_not_found": _l("There is no such order."),
    "redemption_status_invalid": _l("The order cannot do this in its present status."),
    "redemption_not_pickup": _l("This order is delivered, not picked up."),
    "redemption_not_delivery": _l("This order is picked up, not delivered."),
    "redemption_code_invalid": _l("Not a valid pick-up code."),
    "redemption_code_expired": _l("The pick-up code has expired; refresh it."),
}

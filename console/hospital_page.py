"""The hospital cashier's screen: patient look-up, the reduction, settlement, receipt, reversal."""

from __future__ import annotations

from console.page import DEVICE_LOGIN, Page
from core.auth import HOSPITAL
from core.i18n import _l

PAGE = Page(
    name="hospital",
    path="/hospital/",
    template="console/hospital.html",
    title=_l("Blood-fee reduction at the hospital"),
    login=DEVICE_LOGIN,
    roles=(HOSPITAL,),
    texts={
        # the look-up
        "lookup_heading": _l("Look up the patient"),
        "patient_id_number": _l("Patient's ID number"),
        "look_up": _l("Look up"),
        "looking_up": _l("Looking up…"),
        "reverse_a_bill": _l("Reverse a settled bill"),
        # what the look-up found
        "patient_heading": _l("The patient's entitlement"),
        "answer_donor": _l("Entitled as a blood donor"),
        "answer_relative": _l("Entitled as a blood donor's relative"),
        "answer_neither": _l("Not entitled to free blood use"),
        "answer_neither_hint": _l(
            "The patient is neither a donor nor a verified relative of one: the bill is paid "
            "in full."
        ),
        "answer_none_here": _l("No entitlement this hospital can settle today"),
        "pool_own": _l("The patient's own donations"),
        "pool_relative": _l("{relation} of donor {donor}"),
        "link_status": _l("Family link"),
        "link_verified": _l("verified"),
        "link_declared": _l("declared, not yet verified"),
        "remaining": _l("Remaining here"),
        "unlimited": _l("Unlimited"),
        "ml": _l("{ml} ml"),
        "settle_here": _l("Settled here"),
        "yes": _l("Yes"),
        "no": _l("No"),
        "why_not": _l("Why not"),
        "windows": _l("Rules applied"),
        "elsewhere": _l(
            "Donations given in {region}: send the donor to that region's blood station"
        ),
        "would_grant": _l("That station would grant: {amount}"),
        "enter_bill": _l("Enter the bill"),
        "next_patient": _l("Next patient"),
        # the bill
        "bill_heading": _l("The bill"),
        "bill_number": _l("Bill number"),
        "transfused_on": _l("Transfusion date"),
        "discharged_on": _l("Discharge date (if discharged)"),
        "components": _l("Blood components"),
        "component": _l("Component {n}"),
        "component_volume": _l("Volume of component {n} (ml)"),
        "add_component": _l("Add a component"),
        "remove_component": _l("Remove component {n}"),
        "component_red_cells": _l("Suspended red blood cells"),
        "component_plasma": _l("Fresh frozen plasma"),
        "component_platelets": _l("Apheresis platelets"),
        "component_cryo": _l("Cryoprecipitate"),
        "component_washed": _l("Washed red blood cells"),
        "component_whole": _l("Whole blood"),
        "fee_yuan": _l("Blood fee on the bill (yuan)"),
        "fee_hint": _l("As on the bill, e.g. 1234.50"),
        "draw_on": _l("Draw on"),
        "draw_automatic": _l("Automatic: the patient's own donations first"),
        "check_reduction": _l("Check the reduction"),
        "checking": _l("Working out the reduction…"),
        "required": _l("Fill this in."),
        "fee_invalid": _l("Give the fee in yuan with at most two decimals, e.g. 1234.50."),
        "volume_invalid": _l("Give the volume in whole ml, at least 1."),
        # the quote
        "quote_heading": _l("The reduction before settling"),
        "quote_hint": _l(
            "Nothing is recorded yet. Check the figures with the patient, then settle the bill."
        ),
        "quote_already_settled": _l(
            "This bill is already settled. Settling it again shows its receipt."
        ),
        "settle": _l("Settle the bill"),
        "settling": _l("Settling…"),
        "change_bill": _l("Change the bill"),
        # the receipt
        "receipt_heading": _l("Receipt: free blood use"),
        "settled": _l("The bill is settled."),
        "hospital": _l("Hospital"),
        "patient": _l("Patient"),
        "patient_line": _l("{name}, ID {id_number}"),
        "relation_line": _l("{relation} of donor {donor}"),
        "status": _l("Status"),
        "status_settled": _l("Settled"),
        "status_reversed": _l("Reversed"),
        "reversed_at": _l("Reversed at"),
        "reverse_reason": _l("Reason for reversing"),
        "volume": _l("Volume transfused"),
        "covered": _l("Volume covered free"),
        "fee": _l("Blood fee"),
        "reduction": _l("Reduction"),
        "payable": _l("Patient pays"),
        "yuan": _l("{amount} yuan"),
        "remaining_after": _l("Remaining after this bill"),
        "rules_of": _l("Under the rules of"),
        "settled_on": _l("Settled on"),
        "beijing_date": _l("{date} (Beijing time)"),
        "component_col": _l("Component"),
        "volume_col": _l("Volume"),
        "print": _l("Print the receipt"),
        "reverse_this": _l("Reverse this bill"),
        # reversing
        "reverse_heading": _l("Reverse a settled bill"),
        "reason": _l("Reason (at least 2 characters)"),
        "reverse": _l("Reverse the bill"),
        "reversing": _l("Reversing…"),
        "reversed": _l("The bill is reversed; the entitlement is restored."),
        # the month's bills
        "month_bills": _l("This hospital's bills by month"),
        "month_heading": _l("Bills settled in a month"),
        "month": _l("Month"),
        "month_hint": _l("The month the bills were settled in, Beijing time (YYYY-MM)."),
        "show_month": _l("Show the month"),
        "bills_settled": _l("Bills still settled"),
        "bills_shown": _l("Shown"),
        "shown_of": _l("{shown} of {total}"),
        "confirmed_at": _l("Confirmed for repayment at"),
        "not_confirmed": _l("Not confirmed yet"),
        "more_bills": _l("Show more bills"),
        "download_csv": _l("Download the month as CSV"),
        "downloaded": _l("The CSV file is downloaded."),
        "advice_month_invalid": _l("Choose a month with the month field."),
        # what to do next after the refusals a cashier meets
        "advice_no_entitlement": _l(
            "Bill the patient in full. If the patient is a donor's relative, the donor can "
            "declare the link in the app and the hospital or station can verify it."
        ),
        "advice_settle_at_donation_region": _l(
            "Bill the patient in full and give the donor the name of that region's blood "
            "station, which settles the reduction."
        ),
        "advice_link_not_verified": _l(
            "Check the household register or marriage certificate and have the link verified, "
            "then settle again."
        ),
        "advice_link_not_patients": _l(
            "Look the patient up again and choose one of the pools shown."
        ),
        "advice_bill_already_settled": _l(
            "Check the bill number on the bill. If it is right, look up the settled bill and "
            "reverse it first if it was wrong."
        ),
        "advice_settlement_reversed": _l(
            "A reversed bill cannot be settled again: issue a new bill number for it."
        ),
        "advice_settlement_unknown": _l(
            "Check the bill number; only this hospital's bills are found."
        ),
        "advice_settlement_already_reversed": _l(
            "Nothing more to do: the bill is reversed already."
        ),
        "advice_month_confirmed": _l("Ask the blood station's administrator to reverse it."),
        "advice_transfused_in_future": _l("Correct the transfusion date."),
        "advice_discharged_before_transfusion": _l("Correct the discharge date."),
        "advice_hospital_inactive": _l("Call the blood station: this hospital is deactivated."),
    },
)

"""Free blood use for donors and their families (issue 15): the entitlement each donation gives
under its region's rules, kept as a ledger; one-stop settlement at a hospital's cashier, claims
after the fact, the months hospitals confirm for repayment, and care for admitted donors.

`init_app` registers the texts and the policy section (`blood_use`) this package owns, and how
the shell makes a hospital device (bound to its hospital). Family
links themselves are the donor's (donors/family.py): donors never imports blooduse, so this
package tells it the region's relations and the hospital behind a cashier's token
(`family.use_blood_use_answers`).
"""

from flask import Flask

from blooduse import hospitals, messages, models, rules
from blooduse.admin_routes import admin_bp
from blooduse.admission_routes import admissions_bp
from blooduse.claim_routes import claims_bp
from blooduse.hospital_routes import hospital_bp
from blooduse.routes import bp
from core import auth, policy
from core.auth import Caller
from core.messages import register_messages
from donors import family

__all__ = ["admin_bp", "admissions_bp", "bp", "claims_bp", "hospital_bp", "init_app", "models"]


def init_app(app: Flask) -> None:
    register_messages(messages.MESSAGES)
    policy.register_sections(app, rules.POLICY_SECTIONS)
    auth.register_device_maker(app, auth.HOSPITAL, hospitals.make_hospital_device)
    family.use_blood_use_answers(
        app, family.BloodUseAnswers(relations=rules.relations_in, hospital_of=_verifying_hospital)
    )


def _verifying_hospital(caller: Caller) -> family.VerifyingHospital:
    cashier = hospitals.cashier_of(caller)
    return family.VerifyingHospital(cashier.hospital_id, cashier.device_id, cashier.name)

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
    texts={},
)

"""The donation house's screen: today's visits, the check-in scan, the face check, the donation
form, deferrals, the certificate's QR for the donor, and an administrator's void or correction."""

from __future__ import annotations

from console.page import STAFF_LOGIN, Page
from core.auth import ADMIN, STAFF
from core.i18n import _l

PAGE = Page(
    name="staff",
    path="/console/",
    template="console/staff.html",
    title=_l("Donation house console"),
    login=STAFF_LOGIN,
    roles=(STAFF, ADMIN),
    texts={},
)

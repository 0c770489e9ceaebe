"""The gate's screen: scan a benefit code, allow or deny, large; offline with the kit."""

from __future__ import annotations

from console.page import DEVICE_LOGIN, Page
from core.auth import GATE
from core.i18n import _l

PAGE = Page(
    name="gate",
    path="/gate/",
    template="console/gate.html",
    title=_l("Benefit gate"),
    login=DEVICE_LOGIN,
    roles=(GATE,),
    texts={},
)

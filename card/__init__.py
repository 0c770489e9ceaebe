"""The donor's card: the home screen in one call, built above the packages that own its parts
(certificate: totals, the latest certificate, eligibility, history to confirm; rewards: the
three frees), so none of them gathers the others' parts."""

from card.routes import bp

__all__ = ["bp"]

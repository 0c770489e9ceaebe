"""Routes: teams and membership, call-outs and answers, drills."""

from __future__ import annotations

from core.http import Blueprint

bp = Blueprint("teams", __name__, description="Emergency donor teams, call-outs and drills")

"""A call-out's report (issue 19 item 3): how many members of each team were invited, answered
and how fast, who said coming and who not now, and who arrived; with the totals. Made for
drills, where it is the point, and as good for a real call-out.

The figures are read from the call-out's invitations (one per member invited, with the answer
and its time, written by teams/callouts.py and teams/answers.py). The time to answer runs from
the invitation to the answer, in seconds; a member stood down before answering did not answer.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select

from core.extensions import db
from core.lookups import get_or_404
from core.spreadsheet import spreadsheet_cell
from teams.models import COMING, NOT_NOW, CallOut, CallOutInvitation, Team

TOTAL_LABEL = "合计"


@dataclass(frozen=True)
class Answering:
    """One invitation as the report reads it."""

    invited_at: datetime
    answer: str | None
    answered_at: datetime | None
    arrived_at: datetime | None

    @property
    def seconds_to_answer(self) -> float | None:
        if self.answer is None or self.answered_at is None:
            return None
        return (self.answered_at - self.invited_at).total_seconds()


@dataclass(frozen=True)
class Figures:
    invited: int
    answered: int
    coming: int
    not_now: int
    no_answer: int
    median_seconds: float | None  # None: nobody answered
    fastest_seconds: float | None
    arrived: int


@dataclass(frozen=True)
class TeamFigures(Figures):
    team_id: int
    team_name: str


@dataclass(frozen=True)
class CallOutReport:
    call_out: CallOut
    teams: list[TeamFigures]
    totals: Figures


def _seconds(value: float) -> float:
    return round(value, 1)


def figures_of(answerings: Iterable[Answering]) -> Figures:
    rows = list(answerings)
    times = sorted(t for t in (row.seconds_to_answer for row in rows) if t is not None)
    answered = len(times)
    return Figures(
        invited=len(rows),
        answered=answered,
        coming=sum(1 for row in rows if row.answer == COMING),
        not_now=sum(1 for row in rows if row.answer == NOT_NOW),
        no_answer=len(rows) - answered,
        median_seconds=_seconds(statistics.median(times)) if times else None,
        fastest_seconds=_seconds(times[0]) if times else None,
        arrived=sum(1 for row in rows if row.arrived_at is not None),
    )


def report(call_out_id: int) -> CallOutReport:
    """The call-out's figures per team (by team name) and in total."""
    call_out = get_or_404(CallOut, call_out_id, "call_out_not_found")
    rows = db.session.execute(
        select(
            CallOutInvitation.team_id,
            Team.name,
            CallOutInvitation.invited_at,
            CallOutInvitation.answer,
            CallOutInvitation.answered_at,
            CallOutInvitation.arrived_at,
        )
        .join(Team, Team.id == CallOutInvitation.team_id)
        .where(CallOutInvitation.call_out_id == call_out.id)
    ).all()
    by_team: dict[tuple[str, int], list[Answering]] = defaultdict(list)
    every: list[Answering] = []
    for team_id, name, invited_at, answer, answered_at, arrived_at in rows:
        answering = Answering(invited_at, answer, answered_at, arrived_at)
        by_team[(name, team_id)].append(answering)
        every.append(answering)
    teams = [
        TeamFigures(**asdict(figures_of(answerings)), team_id=team_id, team_name=name)
        for (name, team_id), answerings in sorted(by_team.items())
    ]
    return CallOutReport(call_out, teams, figures_of(every))


REPORT_COLUMNS = (
    "team_id",
    "team",
    "invited",
    "answered",
    "coming",
    "not_now",
    "no_answer",
    "median_seconds",
    "fastest_seconds",
    "arrived",
)


def _cells(team_id: int | str, team: str, figures: Figures) -> list[str]:
    values = (
        team_id,
        team,
        figures.invited,
        figures.answered,
        figures.coming,
        figures.not_now,
        figures.no_answer,
        "" if figures.median_seconds is None else figures.median_seconds,
        "" if figures.fastest_seconds is None else figures.fastest_seconds,
        figures.arrived,
    )
    return [spreadsheet_cell(value) for value in values]


def report_csv(made: CallOutReport) -> str:
    """The report as CSV: a row per team and the totals (UTF-8 with a BOM, so spreadsheets show
    the Chinese names; every cell formula-safe: team names are typed by staff)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(REPORT_COLUMNS)
    for team in made.teams:
        writer.writerow(_cells(team.team_id, team.team_name, team))
    writer.writerow(_cells("", TOTAL_LABEL, made.totals))
    return buffer.getvalue()

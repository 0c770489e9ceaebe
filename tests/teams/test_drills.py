"""A call-out's report (issue 19 item 3): per team and in total, how many members were invited,
answered (and how fast), said coming or not now, did not answer, and arrived; JSON and a
formula-safe CSV. The invitations are rows at fixed times: answers at +30 s and +90 s, and one
member who never answers, in each team."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from core import clock
from teams.models import COMING, NOT_NOW
from tests.factories import bearer, make_staff, staff_token
from tests.factories.teams import call_out_row, donor_with_token, invitation_row, join, make_team

# 02:00 in Beijing: when a rare-type drill tests who wakes up.
INVITED_AT = clock.as_utc(datetime(2026, 11, 20, 2, 0, tzinfo=clock.LOCAL_ZONE))


def _team_answering(call_out, name: str, arrivals: bool) -> None:
    """Three members invited at INVITED_AT: coming at +30 s (arrived at +40 min when
    `arrivals`), not now at +90 s, and no answer."""
    team = make_team(name=name)
    members = [join(team, donor_with_token()[0]) for _ in range(3)]
    invitation_row(
        call_out,
        members[0],
        invited_at=INVITED_AT,
        answer=COMING,
        answered_after=timedelta(seconds=30),
        arrived_after=timedelta(minutes=40) if arrivals else None,
    )
    invitation_row(
        call_out,
        members[1],
        invited_at=INVITED_AT,
        answer=NOT_NOW,
        answered_after=timedelta(seconds=90),
    )
    invitation_row(call_out, members[2], invited_at=INVITED_AT)


def _drill():
    drill = call_out_row(drill=True)
    _team_answering(drill, "甲队", arrivals=True)
    _team_answering(drill, "=乙队", arrivals=False)  # a name a spreadsheet would run
    call_out_row(drill=True)  # another call-out's invitations are not this one's
    return drill


EACH_TEAM = {
    "invited": 3,
    "answered": 2,
    "coming": 1,
    "not_now": 1,
    "no_answer": 1,
    "median_seconds": 60.0,
    "fastest_seconds": 30.0,
}


def _admin(client) -> dict[str, str]:
    return bearer(staff_token(client, make_staff(admin=True)))


def test_a_drills_report_counts_answers_and_times_per_team_and_in_total(client):
    # Issue 19 item 3: how many members answered and how fast, per team, as a report (JSON).
    drill = _drill()
    response = client.get(f"/api/v1/admin/call-outs/{drill.id}/report", headers=_admin(client))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["call_out"]["id"], body["call_out"]["drill"]) == (drill.id, True)
    assert [team["team_name"] for team in body["teams"]] == ["=乙队", "甲队"]
    by_name = {team["team_name"]: team for team in body["teams"]}
    for name, arrived in (("甲队", 1), ("=乙队", 0)):
        figures = {key: by_name[name][key] for key in EACH_TEAM}
        assert figures == EACH_TEAM, name
        assert by_name[name]["arrived"] == arrived
    assert body["totals"] == {
        "invited": 6,
        "answered": 4,
        "coming": 2,
        "not_now": 2,
        "no_answer": 2,
        "median_seconds": 60.0,
        "fastest_seconds": 30.0,
        "arrived": 1,
    }


def test_a_call_out_nobody_answered_reports_no_times(client):
    call_out = call_out_row(drill=False)
    team = make_team()
    invitation_row(call_out, join(team, donor_with_token()[0]), invited_at=INVITED_AT)
    body = client.get(
        f"/api/v1/admin/call-outs/{call_out.id}/report", headers=_admin(client)
    ).get_json()
    (figures,) = body["teams"]
    assert (figures["invited"], figures["answered"], figures["no_answer"]) == (1, 0, 1)
    assert (figures["median_seconds"], figures["fastest_seconds"]) == (None, None)


def test_the_report_as_csv_has_a_bom_a_row_per_team_the_totals_and_safe_cells(client):
    # Issue 19 item 3 (CSV); OWASP CSV injection (core.spreadsheet), UTF-8 with a BOM as the
    # other CSVs of the service.
    drill = _drill()
    response = client.get(f"/api/v1/admin/call-outs/{drill.id}/report.csv", headers=_admin(client))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert f"call-out-{drill.id}-report.csv" in response.headers["Content-Disposition"]
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == [
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
    ]
    assert [row[1:] for row in rows[1:]] == [
        ["'=乙队", "3", "2", "1", "1", "1", "60.0", "30.0", "0"],
        ["甲队", "3", "2", "1", "1", "1", "60.0", "30.0", "1"],
        ["合计", "6", "4", "2", "2", "2", "60.0", "30.0", "1"],
    ]


def test_only_administrators_read_a_report_and_an_unknown_call_out_is_404(client):
    # DESIGN.md "Who calls us": reports are the station administrators'.
    drill = _drill()
    _, donor = donor_with_token()
    for path in ("report", "report.csv"):
        url = f"/api/v1/admin/call-outs/{drill.id}/{path}"
        assert client.get(url, headers=donor).status_code == 403
        missing = client.get(f"/api/v1/admin/call-outs/999999/{path}", headers=_admin(client))
        assert (missing.status_code, missing.get_json()["code"]) == (404, "call_out_not_found")

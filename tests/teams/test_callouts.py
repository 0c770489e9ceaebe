"""Call-outs (issue 19 items 2 and 4): who is called, nearest first, in waves sized to the need,
never twice; urgent ones alone go in the night and past the weekly caps; no member's location
in any answer."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import clock
from core.extensions import db
from donors.models import Deferral
from notifications.models import OutboxMessage
from teams.models import MEMBER_LEFT, MEMBER_PAUSED, CallOutInvitation, CallOutWave
from tests.factories import bearer, make_staff, staff_token
from tests.factories.callouts import (
    SITE_AT,
    call_out_body,
    donor_token,
    gave,
    invitation_rows,
    invited_donors,
    join,
    located_site,
    member_donor,
    open_call_out,
    reply_token,
)
from tests.factories.notifications import admin_token, recent_local
from tests.factories.teams import make_team


def send_wave(client, token, call_out_id, number):
    return client.post(
        f"/api/v1/admin/call-outs/{call_out_id}/waves",
        json={"number": number},
        headers=bearer(token),
    )


def test_the_first_wave_calls_eligible_members_of_the_group_nearest_first(client, daytime):
    # Issue 19 item 2: nearest first, members without a location last; the wave is what is
    # needed times CALL_OUT_WAVE_FACTOR (3, teams/settings.py, an operational choice).
    site, team = located_site(), make_team()
    far, near, middle, nowhere = (member_donor() for _ in range(4))
    join(team, far, 9.0)
    join(team, near, 1.0)
    join(team, middle, 4.0)
    join(team, nowhere, None)
    body = open_call_out(client, admin_token(client), site, needed=1)
    assert body["counts"]["invited"] == 3
    assert invited_donors(body["call_out"]["id"]) == [near.id, middle.id, far.id]
    distances = [line["distance_km"] for line in body["invitations"]["items"]]
    assert distances == pytest.approx([1.0, 4.0, 9.0], abs=0.05)
    assert [wave["number"] for wave in body["waves"]] == [1]
    rows = invitation_rows(body["call_out"]["id"])
    assert {row.template for row in rows} == {"call_out_urgent"}
    assert all(row.status == "sent" for row in rows)  # daytime: dispatched after commit


def test_members_without_a_location_are_called_after_those_with_one(client, daytime):
    site, team = located_site(), make_team()
    nowhere, somewhere = member_donor(), member_donor()
    join(team, nowhere, None)
    join(team, somewhere, 25.0)
    body = open_call_out(client, admin_token(client), site, needed=1)
    assert invited_donors(body["call_out"]["id"]) == [somewhere.id, nowhere.id]


def test_no_call_out_reaches_a_member_not_eligible_that_day_paused_left_or_of_another_group(
    client, daytime
):
    # Issue 19 item 4; eligibility is certificate.eligibility.check_eligibility (POLICY.md §1.5
    # intervals, §1.6 deferrals, §1.2 age).
    site, team = located_site(), make_team()
    eligible = member_donor()
    join(team, eligible, 8.0)
    recent = member_donor()  # whole blood 30 days ago: the 6-month interval (POLICY.md §1.5)
    gave(recent, 30)
    join(team, recent, 1.0)
    deferred = member_donor()
    join(team, deferred, 1.5)
    staff = make_staff([site])
    db.session.add(
        Deferral(
            donor_id=deferred.id,
            reason_code="cold",
            starts_on=clock.local_today() - timedelta(days=1),
            until=clock.local_today() + timedelta(days=7),
            site_id=site.id,
            recorded_by=staff.id,
        )
    )
    too_old = member_donor(birth="19500101")  # past 60 (POLICY.md §1.2)
    join(team, too_old, 2.0)
    paused, left = member_donor(), member_donor()
    join(team, paused, 2.5, status=MEMBER_PAUSED)
    join(team, left, 3.0, status=MEMBER_LEFT)
    other_group, other_rh = member_donor(abo="A"), member_donor(rhd="positive")
    join(team, other_group, 3.5)
    join(team, other_rh, 4.0)
    no_mobile = member_donor(with_mobile=False)
    join(team, no_mobile, 4.5)
    elsewhere, resting = make_team(region="shandong"), make_team(active=False)
    for far_team in (elsewhere, resting):
        join(far_team, member_donor(), 0.5)
    body = open_call_out(client, admin_token(client), site, needed=5)
    assert invited_donors(body["call_out"]["id"]) == [eligible.id]


def test_a_member_eligible_today_but_not_on_the_day_needed_is_not_called(client, daytime):
    # "eligible on that day": a deferral starting tomorrow rules out a call-out needed in 3 days.
    site, team = located_site(), make_team()
    starting = member_donor()
    join(team, starting, 1.0)
    db.session.add(
        Deferral(
            donor_id=starting.id,
            reason_code="travel",
            starts_on=clock.local_today() + timedelta(days=1),
            until=clock.local_today() + timedelta(days=30),
            site_id=site.id,
            recorded_by=make_staff([site]).id,
        )
    )
    db.session.commit()
    needed_by = (clock.now() + timedelta(days=3)).isoformat()
    body = open_call_out(client, admin_token(client), site, needed_by=needed_by)
    assert body["counts"]["invited"] == 0


def test_a_donor_in_two_teams_is_called_once_from_the_nearer_membership(client, daytime):
    site, first, second = located_site(), make_team(), make_team()
    donor = member_donor()
    join(first, donor, 6.0)
    join(second, donor, 2.0)  # the same donor, reached from another place
    body = open_call_out(client, admin_token(client), site, needed=2)
    assert invited_donors(body["call_out"]["id"]) == [donor.id]
    (line,) = body["invitations"]["items"]
    assert line["team_id"] == second.id and line["distance_km"] == pytest.approx(2.0, abs=0.05)


def test_a_call_out_naming_teams_calls_only_their_members(client, daytime):
    site, named, other = located_site(), make_team(), make_team()
    inside, outside = member_donor(), member_donor()
    join(named, inside, 5.0)
    join(other, outside, 1.0)
    body = open_call_out(client, admin_token(client), site, team_ids=[named.id])
    assert invited_donors(body["call_out"]["id"]) == [inside.id]


def test_the_next_wave_calls_only_members_not_yet_called(client, daytime):
    site, team = located_site(), make_team()
    donors = [member_donor() for _ in range(5)]
    for km, donor in enumerate(donors, start=1):
        join(team, donor, float(km))
    token = admin_token(client)
    call_out = open_call_out(client, token, site, needed=1)["call_out"]
    assert invited_donors(call_out["id"]) == [donor.id for donor in donors[:3]]
    response = send_wave(client, token, call_out["id"], 2)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["invited"] == 2  # only two are left
    assert invited_donors(call_out["id"]) == [donor.id for donor in donors]


def test_a_retried_wave_request_sends_no_second_wave(client, daytime):
    # Issue 19 item 4: waves are idempotent; a member never receives the same call-out twice.
    site, team = located_site(), make_team()
    for km in range(1, 10):
        join(team, member_donor(), float(km))
    token = admin_token(client)
    call_out = open_call_out(client, token, site, needed=1)["call_out"]
    first = send_wave(client, token, call_out["id"], 2)
    again = send_wave(client, token, call_out["id"], 2)
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json() == first.get_json()
    invitations = db.session.scalar(
        select(func.count()).where(CallOutInvitation.call_out_id == call_out["id"])
    )
    assert invitations == 6 and len(invitation_rows(call_out["id"])) == 6
    waves = db.session.scalar(select(func.count()).where(CallOutWave.call_out_id == call_out["id"]))
    assert waves == 2
    skipped = send_wave(client, token, call_out["id"], 4)
    assert skipped.status_code == 409
    assert skipped.get_json()["code"] == "call_out_wave_out_of_order"


def test_a_retried_opening_with_the_same_key_opens_one_call_out(client, daytime):
    site, team = located_site(), make_team()
    join(team, member_donor(), 1.0)
    token = admin_token(client)
    headers = {**bearer(token), "Idempotency-Key": "call-out-retried-1"}
    first = client.post("/api/v1/admin/call-outs", json=call_out_body(site), headers=headers)
    again = client.post("/api/v1/admin/call-outs", json=call_out_body(site), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.get_json()["call_out"]["id"] == again.get_json()["call_out"]["id"]
    assert len(invitation_rows(first.get_json()["call_out"]["id"])) == 1


def test_an_urgent_call_out_goes_in_the_quiet_hours_and_past_the_weekly_cap(
    app, client, monkeypatch
):
    # Issue 19 item 2: the urgent category (URGENT in notifications/templates.py) is the only
    # one that goes at 03:00 and past NOTIFY_WEEKLY_CAP (operational settings).
    with clock.frozen_at(recent_local(3)):
        site, team = located_site(), make_team()
        donor = member_donor()
        join(team, donor, 1.0)
        monkeypatch.setitem(app.config, "NOTIFY_WEEKLY_CAP", 0)
        body = open_call_out(client, admin_token(client), site, urgent=True)
        (row,) = invitation_rows(body["call_out"]["id"])
        assert row.category == "urgent_call_out" and row.status == "sent"
        assert row.not_before == clock.now()
        assert "【紧急用血】" in row.body


def test_a_non_urgent_call_out_waits_for_the_morning_and_counts_against_the_cap(app, client):
    # Only the urgent category bypasses the manners: a non-urgent call-out is an appeal's kind.
    with clock.frozen_at(recent_local(3)):
        site, team = located_site(), make_team()
        waits, capped = member_donor(), member_donor()
        join(team, waits, 1.0)
        join(team, capped, 2.0)
        for n in range(3):
            db.session.add(
                OutboxMessage(
                    key=f"earlier-appeal:{capped.id}:{n}",
                    template="appeal",
                    category="appeal",
                    donor_id=capped.id,
                    status="sent",
                    segments=1,
                    created_at=clock.now() - timedelta(days=1),
                )
            )
        db.session.commit()
        body = open_call_out(client, admin_token(client), site, urgent=False, needed=1)
        rows = {row.donor_id: row for row in invitation_rows(body["call_out"]["id"])}
        held = rows[waits.id]
        assert held.category == "appeal" and held.status == "pending"
        assert clock.to_local(held.not_before).hour == 8  # NOTIFY_QUIET_HOURS end
        assert "紧急" not in held.body
        assert rows[capped.id].status == "skipped"
        assert rows[capped.id].status_reason == "weekly_cap"


def test_a_drill_says_it_is_one_and_that_nobody_needs_to_come(client, daytime):
    # Issue 19 item 3: texts say it is a drill; nobody is asked to come unless it says so.
    site, team = located_site(), make_team()
    stays, comes = member_donor(), member_donor()
    join(team, stays, 1.0)
    token = admin_token(client)
    drill = open_call_out(client, token, site, drill=True)["call_out"]
    (text,) = [row.body for row in invitation_rows(drill["id"])]
    assert "演练" in text and "无需前往" in text and "紧急用血" not in text
    join(team, comes, 2.0)
    coming = open_call_out(client, token, site, drill=True, drill_asks_to_come=True)["call_out"]
    texts = [row.body for row in invitation_rows(coming["id"])]
    assert all("演练" in text and "无需前往" not in text and "请于" in text for text in texts)


def test_members_locations_never_appear_in_any_answer(client, daytime):
    # Issue 19 item 4: locations are shown to nobody, as a distance to staff only.
    site, team = located_site(), make_team()
    donor = member_donor()
    member = join(team, donor, 3.3)
    token = admin_token(client)
    body = open_call_out(client, token, site)
    call_out_id = body["call_out"]["id"]
    link = reply_token(call_out_id, donor)
    answers = [
        json.dumps(body),
        client.get(f"/api/v1/admin/call-outs/{call_out_id}", headers=bearer(token)).get_data(
            as_text=True
        ),
        client.get("/api/v1/admin/call-outs", headers=bearer(token)).get_data(as_text=True),
        client.get("/api/v1/me/call-outs", headers=bearer(donor_token(donor))).get_data(
            as_text=True
        ),
        client.get(f"/c/{link}", headers={"Accept": "application/json"}).get_data(as_text=True),
        client.get(f"/c/{link}", headers={"Accept": "text/html"}).get_data(as_text=True),
    ]
    for text in answers:
        assert "latitude" not in text and "longitude" not in text
        assert f"{member.latitude:.4f}"[:7] not in text
        assert str(SITE_AT[1])[:6] not in text


def test_site_staff_follow_their_sites_call_outs_and_no_other(client, daytime):
    site, other = located_site(), located_site()
    join(make_team(), member_donor(), 1.0)
    call_out = open_call_out(client, admin_token(client), site)["call_out"]
    ours = staff_token(client, make_staff([site]))
    theirs = staff_token(client, make_staff([other]))
    path = f"/api/v1/admin/call-outs/{call_out['id']}"
    assert client.get(path, headers=bearer(ours)).status_code == 200
    assert client.get(path, headers=bearer(theirs)).status_code == 404
    listed = client.get("/api/v1/admin/call-outs", headers=bearer(theirs)).get_json()
    assert listed["items"] == []
    assert send_wave(client, ours, call_out["id"], 2).status_code == 403  # administrators only


@pytest.mark.parametrize(
    "fields,code",
    [
        ({"needed_by": "2020-01-01T10:00:00+08:00"}, "call_out_needed_by_past"),
        ({"team_ids": [2_000_000]}, "call_out_team_unknown"),
        ({"kind": "apheresis_plasma"}, "validation_failed"),
        ({"needed": 0}, "validation_failed"),
        ({"needed_by": "2030-01-01T10:00:00"}, "validation_failed"),  # naive: no offset
    ],
)
def test_a_call_out_asked_wrongly_is_refused_and_opens_nothing(client, daytime, fields, code):
    site = located_site()
    join(make_team(), member_donor(), 1.0)
    response = client.post(
        "/api/v1/admin/call-outs",
        json=call_out_body(site, **fields),
        headers={**bearer(admin_token(client)), "Idempotency-Key": f"bad-call-out-{code}"},
    )
    assert response.status_code == 422 and response.get_json()["code"] == code
    assert db.session.scalar(select(func.count()).select_from(CallOutInvitation)) == 0


def test_opening_a_call_out_needs_an_idempotency_key(client, daytime):
    site = located_site()
    response = client.post(
        "/api/v1/admin/call-outs", json=call_out_body(site), headers=bearer(admin_token(client))
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "idempotency_key_required"

"""Answers to a call-out (issue 19 item 2): by the SMS's reply link or in the app; the call-out
filled once enough are coming, the rest thanked and stood down once; staff close or cancel;
arrivals checked in as visits and the donation on that visit linked."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core import clock
from core.extensions import db
from notifications.models import OutboxMessage
from teams.models import CallOut, CallOutInvitation
from tests.factories import bearer, make_staff, record, staff_token
from tests.factories.callouts import (
    donor_token,
    invitation_rows,
    join,
    located_site,
    member_donor,
    open_call_out,
    reply_token,
)
from tests.factories.notifications import admin_token, recent_local
from tests.factories.teams import make_team

JSON = {"Accept": "application/json"}


def soon(minutes: int = 40) -> str:
    return (clock.now() + timedelta(minutes=minutes)).isoformat()


def reply(client, token, answer, arriving_at=None):
    body = {"answer": answer}
    if arriving_at is not None:
        body["arriving_at"] = arriving_at
    return client.post(f"/c/{token}", json=body, headers=JSON)


def called(client, how_many=3, **fields):
    """A call-out that invited `how_many` members (1 km, 2 km ... from the site)."""
    site, team = located_site(), make_team()
    donors = [member_donor() for _ in range(how_many)]
    for km, donor in enumerate(donors, start=1):
        join(team, donor, float(km))
    token = admin_token(client)
    body = open_call_out(client, token, site, **fields)
    assert body["counts"]["invited"] == how_many
    return site, token, body["call_out"]["id"], donors


def invitation(call_out_id, donor) -> CallOutInvitation:
    return db.session.scalars(
        select(CallOutInvitation)
        .where(CallOutInvitation.call_out_id == call_out_id, CallOutInvitation.donor_id == donor.id)
        .execution_options(populate_existing=True)
    ).one()


def stand_down_rows(call_out_id) -> dict[int, OutboxMessage]:
    ids = select(CallOutInvitation.id).where(CallOutInvitation.call_out_id == call_out_id)
    rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.key.like("call_out_stand_down:%"))
    ).all()
    invited = {f"call_out_stand_down:{row}" for row in db.session.scalars(ids)}
    return {row.donor_id: row for row in rows if row.key in invited}


def progress(client, token, call_out_id):
    response = client.get(f"/api/v1/admin/call-outs/{call_out_id}", headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_reply_link_answers_coming_and_staff_see_it_at_once(client, daytime):
    site, token, call_out_id, (first, second, third) = called(client, needed=2)
    response = reply(client, reply_token(call_out_id, second), "coming", soon(30))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["answer"] == "coming" and response.get_json()["can_answer"]
    reply(client, reply_token(call_out_id, third), "not_now")
    seen = progress(client, token, call_out_id)
    assert seen["counts"] == {
        "invited": 3,
        "coming": 1,
        "not_now": 1,
        "no_answer": 1,
        "arrived": 0,
        "donated": 0,
        "stood_down": 0,
    }
    lines = seen["invitations"]["items"]
    assert [line["answer"] for line in lines] == ["coming", None, "not_now"]  # coming first
    assert lines[0]["name"] == "李**" and lines[0]["answered_via"] == "link"
    assert lines[0]["arriving_at"] is not None


def test_only_the_reply_tokens_hash_is_kept(client, daytime):
    # The link is the member's key: a copy of the database must not answer for them.
    _, _, call_out_id, (donor, *_) = called(client)
    token = reply_token(call_out_id, donor)
    kept = invitation(call_out_id, donor).reply_token_hash
    assert token not in kept and len(kept) == 64


def test_an_unknown_reply_link_is_answered_404_and_changes_nothing(client, daytime):
    _, _, call_out_id, (donor, *_) = called(client)
    token = reply_token(call_out_id, donor)
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert reply(client, forged, "coming", soon()).status_code == 404
    assert client.get(f"/c/{forged}", headers=JSON).get_json()["code"] == "call_out_reply_unknown"
    page = client.get(f"/c/{forged}", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "链接无效" in page.get_data(as_text=True)
    assert invitation(call_out_id, donor).answer is None


def test_the_reply_link_is_limited_per_address(app, client, daytime):
    # CALL_OUT_REPLY_MISS_RATE_LIMIT (teams/settings.py): links that name nothing, per address.
    limit = int(app.config["CALL_OUT_REPLY_MISS_RATE_LIMIT"].split("/")[0])
    answers = [
        client.get(f"/c/{'x' * 22}{n:04d}", headers=JSON).status_code for n in range(limit + 1)
    ]
    assert answers[:limit] == [404] * limit and answers[limit] == 429


def test_coming_needs_a_time_of_arrival_before_the_donors_are_needed(client, daytime):
    _, _, call_out_id, (donor, *_) = called(client)
    token = reply_token(call_out_id, donor)
    missing = reply(client, token, "coming")
    assert missing.status_code == 422
    assert missing.get_json()["code"] == "call_out_arriving_at_required"
    late = reply(client, token, "coming", soon(60 * 24))
    assert late.get_json()["code"] == "call_out_arriving_after_needed_by"
    past = reply(client, token, "coming", soon(-60))
    assert past.get_json()["code"] == "call_out_arriving_at_past"
    assert invitation(call_out_id, donor).answer is None


def test_a_member_may_change_their_mind_while_the_call_out_is_open(client, daytime):
    _, _, call_out_id, (donor, *_) = called(client, needed=2)
    token = reply_token(call_out_id, donor)
    assert reply(client, token, "coming", soon()).status_code == 200
    changed = reply(client, token, "not_now")
    assert changed.status_code == 200 and changed.get_json()["answer"] == "not_now"
    row = invitation(call_out_id, donor)
    assert row.answer == "not_now" and row.arriving_at is None


def test_when_enough_are_coming_the_rest_are_thanked_and_stood_down_once(client, daytime):
    # Issue 19 item 2: "when enough said coming, the rest get a thank-you and stand down".
    _, token, call_out_id, (first, second, third) = called(client, needed=1)
    reply(client, reply_token(call_out_id, third), "not_now")
    assert reply(client, reply_token(call_out_id, first), "coming", soon()).status_code == 200
    assert db.session.get(CallOut, call_out_id, populate_existing=True).status == "filled"
    told = stand_down_rows(call_out_id)
    assert set(told) == {second.id, third.id}
    # urgent: the one who has not answered may be on the way, so is told now; "not now" later
    assert told[second.id].template == "call_out_stand_down_urgent"
    assert told[third.id].template == "call_out_stand_down"
    assert "所需献血者已经落实" in told[second.id].body
    assert invitation(call_out_id, first).stood_down_at is None
    assert invitation(call_out_id, second).stood_down_at is not None
    late = reply(client, reply_token(call_out_id, second), "coming", soon())
    assert late.status_code == 409 and late.get_json()["code"] == "call_out_not_open"
    closed = client.post(
        f"/api/v1/admin/call-outs/{call_out_id}/close", json={}, headers=bearer(token)
    )
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    assert set(stand_down_rows(call_out_id)) == {second.id, third.id}  # nobody told twice
    assert progress(client, token, call_out_id)["counts"]["stood_down"] == 2


def test_a_drill_that_asks_nobody_to_come_is_never_filled(client, daytime):
    # Issue 19 item 3: a drill measures how many answer, so everyone called may answer.
    _, _, call_out_id, (first, second, _) = called(client, needed=1, drill=True)
    reply(client, reply_token(call_out_id, first), "coming", soon())
    assert reply(client, reply_token(call_out_id, second), "coming", soon()).status_code == 200
    assert db.session.get(CallOut, call_out_id, populate_existing=True).status == "open"
    assert stand_down_rows(call_out_id) == {}


def test_cancelling_stands_down_those_coming_too(client, daytime):
    _, token, call_out_id, (first, second, _) = called(client, needed=2)
    reply(client, reply_token(call_out_id, first), "coming", soon())
    response = client.post(
        f"/api/v1/admin/call-outs/{call_out_id}/close", json={"cancel": True}, headers=bearer(token)
    )
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    told = stand_down_rows(call_out_id)
    assert first.id in told and "已取消" in told[first.id].body
    again = client.post(
        f"/api/v1/admin/call-outs/{call_out_id}/close", json={}, headers=bearer(token)
    )
    assert again.status_code == 409


def test_closing_leaves_those_coming_to_come(client, daytime):
    _, token, call_out_id, (first, second, _) = called(client, needed=2)
    reply(client, reply_token(call_out_id, first), "coming", soon())
    client.post(f"/api/v1/admin/call-outs/{call_out_id}/close", json={}, headers=bearer(token))
    told = stand_down_rows(call_out_id)
    assert first.id not in told and second.id in told
    assert "本次召集已结束" in told[second.id].body


def test_an_invitation_still_held_by_the_night_is_cancelled_not_followed(client):
    # A non-urgent invitation waits for the morning; filled meanwhile, it never goes, and no
    # stand-down follows a text that was never sent.
    with clock.frozen_at(recent_local(3)):
        _, token, call_out_id, (first, second, _) = called(client, needed=1, urgent=False)
        app_token = donor_token(first)
        response = client.post(
            f"/api/v1/me/call-outs/{call_out_id}/answer",
            json={"answer": "coming", "arriving_at": soon()},
            headers=bearer(app_token),
        )
        assert response.status_code == 200, response.get_json()
        held = {row.donor_id: row for row in invitation_rows(call_out_id)}
        assert held[second.id].status == "cancelled"
        assert held[second.id].status_reason == "call_out_filled"
        assert stand_down_rows(call_out_id) == {}
        assert invitation(call_out_id, second).stood_down_at is not None


def test_members_see_and_answer_their_call_outs_in_the_app(client, daytime):
    _, _, call_out_id, (donor, *_) = called(client, needed=2)
    headers = bearer(donor_token(donor))
    listed = client.get("/api/v1/me/call-outs", headers=headers).get_json()
    (item,) = listed["items"]
    assert item["call_out_id"] == call_out_id and item["group"] == "O型RhD阴性"
    assert item["urgent"] and item["can_answer"] and item["answer"] is None
    response = client.post(
        f"/api/v1/me/call-outs/{call_out_id}/answer",
        json={"answer": "coming", "arriving_at": soon()},
        headers=headers,
    )
    assert response.status_code == 200 and response.get_json()["answer"] == "coming"
    assert invitation(call_out_id, donor).answered_via == "app"


def test_a_member_cannot_answer_a_call_out_they_were_not_called_to(client, daytime):
    _, _, call_out_id, _ = called(client)
    stranger = member_donor(abo="B")
    response = client.post(
        f"/api/v1/me/call-outs/{call_out_id}/answer",
        json={"answer": "not_now"},
        headers=bearer(donor_token(stranger)),
    )
    assert response.status_code == 404 and response.get_json()["code"] == "call_out_not_found"


def test_an_arrival_is_checked_in_as_a_visit_and_its_donation_closes_the_loop(client, daytime):
    # Issue 19 item 2: "Arrivals are checked in as visits, so the donation closes the loop".
    site, token, call_out_id, (donor, *_) = called(client, needed=1)
    reply(client, reply_token(call_out_id, donor), "coming", soon())
    desk = staff_token(client, make_staff([site]))
    visit = client.post(
        "/api/v1/staff/checkins",
        json={"site_id": site.id, "id_number": donor.id_number},
        headers=bearer(desk),
    )
    assert visit.status_code == 201, visit.get_json()
    arrived = invitation(call_out_id, donor)
    assert arrived.visit_id == visit.get_json()["id"] and arrived.arrived_at is not None
    given = record(client, desk, site, donor.id_number)
    assert given.status_code == 201, given.get_json()
    assert invitation(call_out_id, donor).donation_id == given.get_json()["id"]
    counts = progress(client, token, call_out_id)["counts"]
    assert counts["arrived"] == 1 and counts["donated"] == 1


def test_a_check_in_elsewhere_is_no_arrival(client, daytime):
    _, _, call_out_id, (donor, *_) = called(client, needed=1)
    reply(client, reply_token(call_out_id, donor), "coming", soon())
    elsewhere = located_site()
    client.post(
        "/api/v1/staff/checkins",
        json={"site_id": elsewhere.id, "id_number": donor.id_number},
        headers=bearer(staff_token(client, make_staff([elsewhere]))),
    )
    assert invitation(call_out_id, donor).arrived_at is None


def test_the_reply_page_is_chinese_and_not_cached(client, daytime):
    _, _, call_out_id, (donor, *_) = called(client)
    page = client.get(f"/c/{reply_token(call_out_id, donor)}", headers={"Accept": "text/html"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "紧急用血" in text and "暂时不能来" in text
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"

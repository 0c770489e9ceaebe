"""Teams and membership (issue 19 item 1): administrators keep teams; donors join with consent,
pause, resume and leave at any time; a member's blood group shows as confirmed or declared;
staff see members masked and never their locations; an erasure ends every membership."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.extensions import db
from core.models import AuditEntry
from donors.models import Donor
from teams import membership
from teams.models import MEMBER_LEFT, TeamMember
from tests.factories import bearer, donor_record, last_code, make_staff, send_code, staff_token
from tests.factories.teams import donor_with_token, join, make_team
from tests.timetravel import later

CONSENT = {"consent": True, "consent_version": membership.CONSENT.version}


def _admin(client) -> dict[str, str]:
    return bearer(staff_token(client, make_staff(admin=True)))


def _member(team, donor) -> TeamMember:
    return db.session.scalars(
        select(TeamMember).where(TeamMember.team_id == team.id, TeamMember.donor_id == donor.id)
    ).one()


def _actions(target_type: str, target_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.target_type == target_type, AuditEntry.target_id == str(target_id))
            .order_by(AuditEntry.id)
        )
    )


# ---------------------------------------------------------------- administrators: teams


def test_an_administrator_creates_lists_changes_and_deactivates_teams_each_audited(client):
    # Issue 19 item 1: teams with a name, a region from the policies and a kind.
    admin = _admin(client)
    created = client.post(
        "/api/v1/admin/teams",
        json={"name": " 咸宁市人防应急献血队 ", "region": "zhejiang", "kind": "civil_defence"},
        headers=admin,
    )
    assert created.status_code == 201, created.get_json()
    team = created.get_json()
    assert (team["name"], team["region"], team["kind"], team["active"]) == (
        "咸宁市人防应急献血队",
        "zhejiang",
        "civil_defence",
        True,
    )
    make_team(region="shandong", kind="civil_defence")
    make_team(region="zhejiang", kind="university")
    listed = client.get(
        "/api/v1/admin/teams?region=zhejiang&kind=civil_defence", headers=admin
    ).get_json()
    assert [item["id"] for item in listed["items"]] == [team["id"]]
    assert listed["page"]["total"] == 1

    changed = client.patch(
        f"/api/v1/admin/teams/{team['id']}",
        json={"description": "每季度演练一次", "kind": "rare_type"},
        headers=admin,
    )
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["description"], changed.get_json()["kind"]) == (
        "每季度演练一次",
        "rare_type",
    )
    deactivated = client.post(f"/api/v1/admin/teams/{team['id']}/deactivate", headers=admin)
    assert deactivated.get_json()["active"] is False
    assert (
        client.get(f"/api/v1/admin/teams/{team['id']}", headers=admin).get_json()["active"] is False
    )
    assert _actions("team", team["id"]) == ["team.created", "team.updated", "team.deactivated"]


def test_a_team_needs_a_region_with_a_policy_and_a_known_kind(client):
    # POLICY.md §1: the regions are those with a policy file; kinds are teams.models.TEAM_KINDS.
    admin = _admin(client)
    unknown_region = client.post(
        "/api/v1/admin/teams",
        json={"name": "队", "region": "hubei", "kind": "civil_defence"},
        headers=admin,
    )
    assert (unknown_region.status_code, unknown_region.get_json()["code"]) == (
        422,
        "region_unknown",
    )
    unknown_kind = client.post(
        "/api/v1/admin/teams",
        json={"name": "队", "region": "zhejiang", "kind": "militia"},
        headers=admin,
    )
    assert unknown_kind.status_code == 422
    assert "kind" in unknown_kind.get_json()["errors"]
    region_change = client.patch(
        f"/api/v1/admin/teams/{make_team().id}", json={"region": "shandong"}, headers=admin
    )
    assert region_change.status_code == 422


def test_a_deactivated_team_is_not_listed_to_donors_and_takes_no_new_members(client):
    # Issue 19 item 1: administrators keep teams; a deactivated one takes nobody new.
    admin = _admin(client)
    open_team, closed_team = make_team(), make_team()
    client.post(f"/api/v1/admin/teams/{closed_team.id}/deactivate", headers=admin)
    _, headers = donor_with_token()
    listed = client.get("/api/v1/teams", headers=headers).get_json()
    ids = [item["id"] for item in listed["items"]]
    assert open_team.id in ids and closed_team.id not in ids
    refused = client.post(f"/api/v1/me/teams/{closed_team.id}/join", json=CONSENT, headers=headers)
    assert (refused.status_code, refused.get_json()["code"]) == (409, "team_inactive")


def test_donors_list_the_active_teams_of_their_region_or_of_another(client):
    zhejiang, shandong = make_team(region="zhejiang"), make_team(region="shandong")
    _, headers = donor_with_token()
    own = [item["id"] for item in client.get("/api/v1/teams", headers=headers).get_json()["items"]]
    assert zhejiang.id in own and shandong.id not in own
    other = client.get("/api/v1/teams?region=shandong", headers=headers).get_json()["items"]
    assert [item["id"] for item in other] == [shandong.id]
    unknown = client.get("/api/v1/teams?region=hubei", headers=headers)
    assert (unknown.status_code, unknown.get_json()["code"]) == (422, "region_unknown")


# ---------------------------------------------------------------- joining with consent


def test_joining_needs_consent_to_the_current_text_which_is_kept_on_the_membership(client):
    # Issue 19 item 1 (members joined with consent); README "Privacy" (consent records).
    team = make_team()
    donor, headers = donor_with_token()
    url = f"/api/v1/me/teams/{team.id}/join"
    shown = client.get("/api/v1/teams/consent", headers=headers).get_json()
    assert shown["version"] == membership.CONSENT.version
    assert "应急献血队伍" in shown["text"]

    without = client.post(url, json={"consent_version": shown["version"]}, headers=headers)
    assert without.status_code == 422 and "consent" in without.get_json()["errors"]
    refused = client.post(
        url,
        json={"consent": False, "consent_version": shown["version"]},
        headers={**headers, "Accept-Language": "en"},
    )
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["consent"] == [
        "Read and agree to the emergency team consent to join a team."
    ]
    outdated = client.post(
        url, json={"consent": True, "consent_version": "2020-01-01"}, headers=headers
    )
    assert (outdated.status_code, outdated.get_json()["code"]) == (409, "team_consent_outdated")
    assert db.session.scalars(select(TeamMember)).all() == []

    joined = client.post(url, json=CONSENT, headers=headers)
    assert joined.status_code == 201, joined.get_json()
    body = joined.get_json()
    assert (body["team"]["id"], body["status"], body["consent_version"]) == (
        team.id,
        "active",
        membership.CONSENT.version,
    )
    member = _member(team, donor)
    assert (member.consent_text, member.consent_version) == (
        membership.CONSENT.text,
        membership.CONSENT.version,
    )
    assert _actions("team", team.id) == ["team.joined"]


def test_joining_twice_is_idempotent(client):
    # Issue 19 item 1: one membership per team and donor; a second join changes nothing.
    team = make_team()
    donor, headers = donor_with_token()
    url = f"/api/v1/me/teams/{team.id}/join"
    first = client.post(
        url, json={**CONSENT, "latitude": 30.27, "longitude": 120.16}, headers=headers
    )
    assert first.status_code == 201
    with later(timedelta(minutes=5)):
        again = client.post(url, json=CONSENT, headers=headers)
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["joined_at"] == first.get_json()["joined_at"]
    assert again.get_json()["location"] == {"latitude": 30.27, "longitude": 120.16}
    assert len(db.session.scalars(select(TeamMember)).all()) == 1
    assert _actions("team", team.id) == ["team.joined"]


def test_a_location_is_both_degrees_in_range_or_none(client):
    team = make_team()
    _, headers = donor_with_token()
    url = f"/api/v1/me/teams/{team.id}/join"
    for bad in ({"latitude": 91, "longitude": 120}, {"latitude": 30, "longitude": -181}):
        response = client.post(url, json={**CONSENT, **bad}, headers=headers)
        assert response.status_code == 422, bad
    half = client.post(url, json={**CONSENT, "latitude": 30.2}, headers=headers)
    assert half.status_code == 422
    assert list(half.get_json()["errors"]) == ["longitude"]
    assert db.session.scalars(select(TeamMember)).all() == []

    assert client.post(url, json=CONSENT, headers=headers).get_json()["location"] is None
    moved = client.patch(
        f"/api/v1/me/teams/{team.id}",
        json={"latitude": 29.87, "longitude": 121.55},
        headers=headers,
    )
    assert moved.get_json()["location"] == {"latitude": 29.87, "longitude": 121.55}
    cleared = client.patch(
        f"/api/v1/me/teams/{team.id}", json={"latitude": None, "longitude": None}, headers=headers
    )
    assert cleared.get_json()["location"] is None
    missing = client.patch(f"/api/v1/me/teams/{team.id}", json={}, headers=headers)
    assert missing.status_code == 422


# ---------------------------------------------------------------- pause, resume, leave


def test_a_member_pauses_resumes_and_leaves_and_joining_again_needs_consent_again(client):
    # Issue 19 item 1 (members can leave at any time; a donor can pause membership), item 4
    # (no call-out reaches a member who paused or left).
    team = make_team()
    donor, headers = donor_with_token()
    base = f"/api/v1/me/teams/{team.id}"
    first = client.post(
        f"{base}/join", json={**CONSENT, "latitude": 30.27, "longitude": 120.16}, headers=headers
    )
    assert first.status_code == 201

    paused = client.post(f"{base}/pause", headers=headers).get_json()
    assert (paused["status"], paused["paused_at"] is not None) == ("paused", True)
    assert client.post(f"{base}/pause", headers=headers).get_json()["status"] == "paused"
    resumed = client.post(f"{base}/resume", headers=headers).get_json()
    assert (resumed["status"], resumed["paused_at"]) == ("active", None)

    left = client.post(f"{base}/leave", headers=headers).get_json()
    assert (left["status"], left["location"]) == ("left", None)
    member = _member(team, donor)
    assert (member.status, member.latitude, member.longitude) == (MEMBER_LEFT, None, None)
    for action in ("pause", "resume"):
        refused = client.post(f"{base}/{action}", headers=headers)
        assert (refused.status_code, refused.get_json()["code"]) == (409, "team_membership_left")
    assert client.post(f"{base}/leave", headers=headers).status_code == 200

    assert client.post(f"{base}/join", json={}, headers=headers).status_code == 422
    with later(timedelta(minutes=5)):
        again = client.post(f"{base}/join", json=CONSENT, headers=headers)
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["status"] == "active"
    assert again.get_json()["consented_at"] > first.get_json()["consented_at"]
    assert _actions("team", team.id) == [
        "team.joined",
        "team.paused",
        "team.resumed",
        "team.left",
        "team.joined",
    ]


def test_another_donors_membership_is_404_and_unchanged(client):
    # DESIGN.md "Who calls us": a donor sees and changes only their own rows.
    team = make_team()
    owner, owner_headers = donor_with_token()
    join(team, owner, latitude=30.27, longitude=120.16)
    _, other_headers = donor_with_token()
    base = f"/api/v1/me/teams/{team.id}"
    for method, path, body in (
        ("post", f"{base}/pause", None),
        ("post", f"{base}/resume", None),
        ("post", f"{base}/leave", None),
        ("patch", base, {"latitude": 1.0, "longitude": 1.0}),
    ):
        response = client.open(path, method=method, json=body, headers=other_headers)
        assert (response.status_code, response.get_json()["code"]) == (
            404,
            "team_membership_not_found",
        ), path
    assert client.get("/api/v1/me/teams", headers=other_headers).get_json()["items"] == []
    member = _member(team, owner)
    assert (member.status, member.latitude, member.longitude) == ("active", 30.27, 120.16)
    mine = client.get("/api/v1/me/teams", headers=owner_headers).get_json()
    assert [item["team"]["id"] for item in mine["items"]] == [team.id]


# ---------------------------------------------------------------- what staff see


def test_the_member_list_masks_names_and_never_shows_locations(client):
    # Issue 19 item 4 (locations never shown); DESIGN.md "Security and privacy" (masked, every
    # staff look logged).
    team = make_team()
    located, _ = donor_with_token(abo="O", rhd="negative", source="laboratory")
    unlocated, _ = donor_with_token()
    join(team, located, latitude=30.274084, longitude=120.155070)
    join(team, unlocated)
    admin = _admin(client)
    response = client.get(f"/api/v1/admin/teams/{team.id}/members", headers=admin)
    assert response.status_code == 200, response.get_json()
    page = response.get_json()
    assert page["page"]["total"] == 2
    by_donor = {item["donor_id"]: item for item in page["items"]}
    assert by_donor[located.id]["name"] == "王**"
    assert (by_donor[located.id]["location_set"], by_donor[unlocated.id]["location_set"]) == (
        True,
        False,
    )
    text = response.get_data(as_text=True)
    assert "王小明" not in text
    assert "30.27" not in text and "120.15" not in text
    assert not {"latitude", "longitude", "location"} & set(by_donor[located.id])
    assert by_donor[located.id]["status"] == "active" and by_donor[located.id]["joined_at"]
    assert _actions("team", team.id)[-1] == "team.members_viewed"
    paused = client.get(f"/api/v1/admin/teams/{team.id}/members?status=paused", headers=admin)
    assert paused.get_json()["page"]["total"] == 0


def test_a_members_blood_group_shows_as_confirmed_or_declared(client):
    # Issue 19 item 1: confirmed by a donation's test result where one is on record, declared
    # otherwise; a group stated at joining is kept only while the donor has none, never over a
    # laboratory group (COMMON19.md "Shared facts").
    team = make_team()
    confirmed, confirmed_headers = donor_with_token(abo="O", rhd="negative", source="laboratory")
    newcomer, newcomer_headers = donor_with_token()
    url = f"/api/v1/me/teams/{team.id}/join"
    declared_over_lab = client.post(
        url,
        json={**CONSENT, "blood_group": {"abo": "A", "rhd": "positive"}},
        headers=confirmed_headers,
    ).get_json()
    assert declared_over_lab["blood_group"] == {"abo": "O", "rhd": "negative", "basis": "confirmed"}
    db.session.refresh(confirmed)
    assert (confirmed.abo, confirmed.rhd, confirmed.blood_group_source) == (
        "O",
        "negative",
        "laboratory",
    )
    declared = client.post(
        url,
        json={**CONSENT, "blood_group": {"abo": "AB", "rhd": "negative"}},
        headers=newcomer_headers,
    ).get_json()
    assert declared["blood_group"] == {"abo": "AB", "rhd": "negative", "basis": "declared"}
    db.session.refresh(newcomer)
    assert newcomer.blood_group_source == "self_reported"

    members = client.get(f"/api/v1/admin/teams/{team.id}/members", headers=_admin(client))
    groups = {item["donor_id"]: item["blood_group"] for item in members.get_json()["items"]}
    assert groups[confirmed.id]["basis"] == "confirmed"
    assert groups[newcomer.id]["basis"] == "declared"
    mine = client.get("/api/v1/me/teams", headers=newcomer_headers).get_json()["items"]
    assert mine[0]["blood_group"]["basis"] == "declared"


# ---------------------------------------------------------------- erasure


def test_an_erasure_leaves_every_membership_and_clears_the_locations(client, sms):
    # README "Privacy": an erasure reaches every package in its transaction.
    donor, data = donor_record(client, sms)
    headers = bearer(data["tokens"]["access_token"])
    first, second = make_team(), make_team()
    join(first, donor, latitude=30.27, longitude=120.16)
    join(second, donor, latitude=30.28, longitude=120.17)
    client.post(f"/api/v1/me/teams/{second.id}/pause", headers=headers)
    with later(timedelta(minutes=2)):
        send_code(client, data["plain"]["mobile"])
        erased = client.post(
            "/api/v1/me/erasure",
            json={"code": last_code(sms, data["plain"]["mobile"])},
            headers=headers,
        )
    assert erased.status_code == 204, erased.get_json()
    rows = db.session.scalars(
        select(TeamMember).where(TeamMember.donor_id == donor.id).order_by(TeamMember.id)
    ).all()
    assert [(row.status, row.latitude, row.longitude) for row in rows] == [
        (MEMBER_LEFT, None, None),
        (MEMBER_LEFT, None, None),
    ]
    assert all(row.left_at is not None for row in rows)
    assert db.session.get(Donor, donor.id).status == "erased"

"""Personal data never in logs (issue 17 item 6): a mixed workload runs in-process with every
logger at DEBUG, and every line it writes, exception text included, is scanned for ID numbers,
mobile numbers, one-time codes, tokens and the donors' names."""

from __future__ import annotations

import logging
import re

import pytest

from tests.factories import bearer, make_staff, record, register_donor, staff_token
from tests.factories.hospitals import hospital_cashier
from tests.factories.rewards import Scheme
from tests.logscan import captured_logs, find_personal_data

NAMES = ("欧阳锋", "慕容复")
UNKNOWN_ID_NUMBER = "110101199003070011"  # valid, and nobody's


def codes_sent(sms: list) -> set[str]:
    return {code for message in sms for code in re.findall(r"\d{6}", message.body)}


def workload(client, sms) -> list[str]:
    """Registration with codes, logins, profile reads, staff look-up, check-in and donations,
    a gate's verification, a hospital's look-up, refusals and a malformed request: the secrets
    it handled (ID numbers, numbers, names, tokens)."""
    scheme = Scheme(client, sms)
    donor, holder, headers, _ = scheme.holder(name=NAMES[0])  # registers, gives ten times
    for path in ("/api/v1/me", "/api/v1/me/card", "/api/v1/me/certificates"):
        assert client.get(path, headers=headers).status_code == 200
    walk_in = register_donor(client, sms, name=NAMES[1])
    id_number = walk_in["plain"]["id_number"]
    looked = client.post(
        "/api/v1/staff/donor-lookup",
        json={"site_id": scheme.site.id, "id_number": id_number},
        headers=bearer(scheme.staff),
    )
    assert looked.status_code == 200
    visit = client.post(
        "/api/v1/staff/checkins",
        json={"site_id": scheme.site.id, "id_number": id_number},
        headers=bearer(scheme.staff),
    )
    assert visit.status_code == 201, visit.get_json()
    given = record(client, scheme.staff, scheme.site, id_number)
    assert given.status_code == 201, given.get_json()

    _, gate = scheme.gate()
    code = scheme.code(headers)
    assert scheme.verify(gate, code)["decision"] == "allow"
    assert scheme.verify(gate, code)["decision"] == "deny"  # a replay, refused
    _, cashier = hospital_cashier(client)
    found = client.post(
        "/api/v1/hospital/entitlements/lookup",
        json={"id_number": holder["plain"]["id_number"]},
        headers=cashier,
    )
    assert found.status_code == 200, found.get_json()

    refusals = [
        client.post(
            "/api/v1/auth/login", json={"mobile": holder["plain"]["mobile"], "code": "000000"}
        ),
        client.post(
            "/api/v1/auth/staff-login",
            json={"username": make_staff().username, "password": "wrong-password-1"},
        ),
        client.post(
            "/api/v1/donors",
            json={"name": NAMES[0], "id_number": "11010119900307001X", "mobile": "1234"},
        ),
        client.post(
            "/api/v1/staff/donor-lookup",
            json={"site_id": scheme.site.id, "id_number": UNKNOWN_ID_NUMBER},
            headers=bearer(scheme.staff),
        ),
        client.get("/api/v1/admin/audit", headers=headers),
        client.get("/api/v1/me", headers=bearer(holder["tokens"]["access_token"] + "x")),
        client.post(
            "/api/v1/staff/donor-lookup",
            data='{"id_number": "' + id_number,  # malformed JSON
            headers={**bearer(scheme.staff), "Content-Type": "application/json"},
        ),
    ]
    assert [answer.status_code for answer in refusals] == [400, 401, 422, 404, 403, 401, 400], [
        answer.get_json() for answer in refusals
    ]
    staff_token(client, make_staff())  # one more login after the refusals
    return [
        *NAMES,
        holder["plain"]["id_number"],
        holder["plain"]["mobile"],
        id_number,
        walk_in["plain"]["mobile"],
        UNKNOWN_ID_NUMBER,
        holder["tokens"]["access_token"],
        holder["tokens"]["refresh_token"],
        walk_in["tokens"]["access_token"],
        code,
        donor.id_number,
    ]


@pytest.mark.committed_db
def test_a_mixed_workload_writes_no_personal_data_to_any_log_line(client, sms):
    with captured_logs() as lines:
        secrets = workload(client, sms)
    secrets += codes_sent(sms)
    assert codes_sent(sms), "the workload sent one-time codes"
    findings = find_personal_data(lines, secrets)
    assert not findings, "\n".join(str(finding) for finding in findings)


def test_the_scanner_finds_each_kind_of_personal_data():
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkb25vcjoxIn0.c2lnbmF0dXJl"
    lines = [
        "looked up 110101199003070011 at the desk",
        "SMS to +8613912345678 failed",
        "sent to 13912345678",
        f"Authorization: Bearer {token}",
        "code 482913 sent",
        "donor 欧阳锋 registered",
        "masked 139****5678, 110101********0011 and 2026-12-01 10:00:00,123 are fine",
    ]
    kinds = [finding.kind for finding in find_personal_data(lines, ["482913", "欧阳锋"])]
    assert sorted(kinds) == ["id_number", "jwt", "mobile", "mobile", "secret", "secret"]


def test_the_capture_takes_debug_records_of_every_logger_and_their_exceptions():
    quiet = logging.getLogger("tests.logscan.quiet")
    quiet.setLevel(logging.WARNING)
    with captured_logs() as lines:
        quiet.debug("a debug line")
        try:
            raise ValueError("inner 13912345678")
        except ValueError:
            quiet.exception("failed")
    assert quiet.level == logging.WARNING
    assert any("a debug line" in line for line in lines)
    assert {finding.kind for finding in find_personal_data(lines)} == {"mobile"}  # traceback

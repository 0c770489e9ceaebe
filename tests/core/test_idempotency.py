"""An idempotent retry is the same request when its JSON means the same (issue 18, item 10).

The key's row held a hash of the raw body, so a client library that wrote the keys in another
order, or spaced them differently, got 422 `idempotency_key_reused` for a true retry.
"""

from __future__ import annotations

import json

from certificate.models import Donation
from core import clock
from core.extensions import db
from tests.factories import bearer, donor_record, make_site, make_staff, staff_token


def _post(client, token: str, raw: str, key: str):
    return client.post(
        "/api/v1/staff/donations",
        data=raw.encode(),
        content_type="application/json",
        headers={**bearer(token), "Idempotency-Key": key},
    )


def _donations() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(Donation))


def test_a_retry_with_keys_reordered_and_spaced_replays_the_first_answer(client, sms, daytime):
    site = make_site()
    token = staff_token(client, make_staff([site]))
    _, data = donor_record(client, sms)
    body = {
        "site_id": site.id,
        "donor": {"id_number": data["plain"]["id_number"]},
        "kind": "whole_blood",
        "volume_ml": 400,
        "collected_at": clock.now().isoformat(),
        "reaction": {"severity": "mild", "note": "头晕"},
    }
    first = _post(client, token, json.dumps(body, separators=(",", ":")), "bag-order-0001")
    assert first.status_code == 201, first.get_json()
    reordered = {key: body[key] for key in reversed(body)}
    reordered["reaction"] = {"note": "头晕", "severity": "mild"}
    retry = _post(client, token, json.dumps(reordered, indent=4), "bag-order-0001")
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_json() == first.get_json()
    assert _donations() == 1


def test_a_retry_that_means_something_else_is_still_refused(client, sms, daytime):
    site = make_site()
    token = staff_token(client, make_staff([site]))
    _, data = donor_record(client, sms)
    body = {
        "site_id": site.id,
        "donor": {"id_number": data["plain"]["id_number"]},
        "kind": "whole_blood",
        "volume_ml": 400,
        "collected_at": clock.now().isoformat(),
    }
    assert _post(client, token, json.dumps(body), "bag-other-0001").status_code == 201
    changed = _post(client, token, json.dumps({**body, "volume_ml": 200}), "bag-other-0001")
    assert changed.status_code == 422
    assert changed.get_json()["code"] == "idempotency_key_reused"
    assert _donations() == 1

"""The packages are connected once, at start-up, in wiring.py: for the app being built alone,
and with no hook on a global class (issue 13, item 1)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import wiring
from core.extensions import db
from notifications.models import OutboxMessage
from tests.appointments.test_visit_donation import (
    at_nine_today,
    booked_and_checked_in,
    record_for_visit,
    setup,
)


def test_wiring_an_app_again_runs_each_reaction_once(app, client):
    # A second fulfilment would find the visit closed and refuse the donation (visit_not_open).
    wiring.init_app(app)
    wiring.init_app(app)
    site, staff = setup(client)
    _, _, visit = booked_and_checked_in(client, site, staff)
    with at_nine_today():
        response = record_for_visit(client, staff, site, visit["id"])
    assert response.status_code == 201, response.get_json()
    thanks = select(func.count()).where(OutboxMessage.key == f"thanks:{response.json['id']}")
    assert db.session.scalar(thanks) == 1


def test_each_event_has_one_receiver_for_the_app_and_none_for_another(app):
    other = Flask("other")
    for signal, _ in wiring.REACTIONS:
        assert len(list(signal.receivers_for(app))) == 1, signal.name
        assert list(signal.receivers_for(other)) == [], signal.name


def test_no_listener_is_put_on_sqlalchemys_session_class(app):
    # A session no step was queued on (the dispatcher's own, another app's) runs nothing.
    events = Session().dispatch
    assert not events.before_commit and not events.after_commit and not events.after_rollback

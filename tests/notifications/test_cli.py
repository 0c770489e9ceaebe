"""`flask notifications ...`: the embedded scheduler and sender, run once from the shell."""

from __future__ import annotations

from datetime import timedelta

from core import clock
from core.extensions import db
from notifications.outbox import Draft, write
from tests.factories import donor_record


def test_tick_sends_what_is_due_and_status_counts_it(app, client, sms, daytime):
    donor, _ = donor_record(client, sms)
    later = clock.now() + timedelta(minutes=10)
    write(
        "birthday",
        [Draft(key="birthday:cli", donor=donor, context={"name": ""})],
        not_before=later,
        expires_at=later + timedelta(hours=1),
    )
    db.session.commit()
    runner = app.test_cli_runner()
    with clock.travelled(timedelta(minutes=11)):
        result = runner.invoke(args=["notifications", "tick"])
    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output
    assert [m for m in sms if m.key == "birthday:cli"]
    status = runner.invoke(args=["notifications", "status"])
    # registration's two codes and the greeting
    assert status.output.split() == ["sent", str(len(sms))] and len(sms) == 3

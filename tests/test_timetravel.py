"""The suite's own clock: `--local-time` starts a run at a Beijing hour, and programs the tests
start in other processes (Celery workers) run on the same clock."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from core import clock
from tests.timetravel import WORKER_START, at_service_time, parse_local_time, run_start


def test_a_local_time_alone_is_that_hour_today_in_beijing():
    moment = parse_local_time("03:00", date(2026, 12, 1))
    assert moment.astimezone(UTC) == datetime(2026, 11, 30, 19, 0, tzinfo=UTC)


def test_a_local_time_may_name_its_day():
    moment = parse_local_time("2026-06-14T21:30", date(2026, 12, 1))
    assert clock.to_local(moment).isoformat() == "2026-06-14T21:30:00+08:00"


@pytest.mark.parametrize("text", ["3", "25:00", "12:60", "noon", "2026-13-01T03:00"])
def test_a_malformed_local_time_is_refused(text):
    with pytest.raises(ValueError):
        parse_local_time(text, date(2026, 12, 1))


def test_another_process_runs_on_this_processs_clock(tmp_path):
    program = tmp_path / "now.py"
    program.write_text("from datetime import datetime, UTC\nprint(datetime.now(UTC).isoformat())\n")
    night = datetime(2026, 12, 1, 3, 0, tzinfo=clock.LOCAL_ZONE)
    with time_machine.travel(night.astimezone(UTC).replace(tzinfo=None), tick=False):
        command = at_service_time(str(program))
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    seen = datetime.fromisoformat(output.strip())
    assert night <= seen < night + timedelta(minutes=1)


def test_an_xdist_worker_starts_its_clock_where_the_controller_read_it():
    """`--local-time 03:00` names the hour on the day the run began: a worker that read `today`
    itself, just after midnight, would start a day later than the others."""
    controller = run_start("03:00", None, date(2026, 6, 14))
    worker = run_start("03:00", {WORKER_START: controller.isoformat()}, date(2026, 6, 15))
    assert worker == controller == datetime(2026, 6, 14, 3, 0, tzinfo=clock.LOCAL_ZONE)


def test_without_local_time_the_run_keeps_the_real_clock():
    assert run_start(None, None, date(2026, 6, 14)) is None

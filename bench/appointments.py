"""Appointments benchmark: booking throughput and p99 on PostgreSQL under gunicorn, and the time
to answer eligibility for a donor with 100 past donations.

    .venv/bin/python -m bench.appointments [--seconds 10] [--connections 20] [--donors 6000]

Donors, their tokens and the slots are made in bulk beforehand; every request books for a donor
who has no booking yet (wrk's Lua walks a token list, each thread its own part), so each 201 is a
real booking. Two runs: places spread over 200 slots (the normal case), and every request on one
slot (all writers on one row). Then, in-process: eligibility for one kind and for every kind for
a donor with 100 donations (p50/p95 over repeats). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from bench.harness import app_env, gunicorn, machine, migrate, postgres, show, wrk

SLOT_COUNT = 200


def build(database_url: str, donors_per_run: int) -> dict:
    """Sites, slots, donors and tokens, straight through the models (seconds, not minutes)."""
    os.environ.update(app_env(database_url))
    from sqlalchemy import insert, select

    from app import create_app
    from appointments.models import Slot
    from certificate.models import Donation
    from core import auth, clock
    from core.crypto import cipher
    from core.extensions import db
    from core.ids import make_din
    from donors.models import Donor
    from sites.models import Site

    app = create_app()
    with app.app_context():
        site = Site(
            facility_code="W3399",
            name="压测献血屋",
            kind="donation_house",
            address="浙江省杭州市压测路1号",
            city="杭州市",
            region="zhejiang",
            opening_hours=[],
        )
        db.session.add(site)
        db.session.flush()
        day = clock.local_today() + timedelta(days=2)
        start = datetime.combine(day, datetime.min.time(), clock.LOCAL_ZONE).astimezone(UTC)
        rows = [
            {
                "site_id": site.id,
                "day": day,
                "starts_at": start + timedelta(minutes=index),
                "ends_at": start + timedelta(minutes=index + 30),
                "kind": "whole_blood",
                "capacity": donors_per_run,
                "booked": 0,
                "held": 0,
                "status": "open",
            }
            for index in range(SLOT_COUNT + 1)
        ]
        db.session.execute(insert(Slot), rows)
        slot_ids = db.session.scalars(select(Slot.id).order_by(Slot.starts_at)).all()

        def donors(count: int, offset: int) -> list[str]:
            ids = db.session.scalars(
                insert(Donor).returning(Donor.id),
                [
                    {
                        "status": "active",
                        "name": "压测献血者",
                        "id_number_hash": cipher().lookup_hash("ric", f"bench-{offset + n}"),
                        "birth_date": date(1990, 1, 1),
                        "sex": "male",
                        "region": "zhejiang",
                        "created_at": clock.now(),
                    }
                    for n in range(count)
                ],
            ).all()
            return [auth.issue_tokens("donor", i, auth.DONOR)["access_token"] for i in ids]

        spread_tokens = donors(donors_per_run, 0)
        hot_tokens = donors(donors_per_run, donors_per_run)
        warm_tokens = donors(donors_per_run // 4, 2 * donors_per_run)

        veteran = Donor(
            status="active",
            name="百次献血者",
            id_number_hash=cipher().lookup_hash("ric", "bench-veteran"),
            birth_date=date(1970, 6, 1),
            sex="male",
            region="zhejiang",
        )
        db.session.add(veteran)
        db.session.flush()
        donated = clock.local_today() - timedelta(days=20)
        for number in range(100):
            kind = "whole_blood" if number % 5 == 0 else "apheresis_platelets"
            din = make_din(site.facility_code, donated.year, 900_000 + number)
            db.session.add(
                Donation(
                    donor_id=veteran.id,
                    site_id=site.id,
                    facility_code=site.facility_code,
                    kind=kind,
                    volume_ml=400 if kind == "whole_blood" else None,
                    units=None if kind == "whole_blood" else 1,
                    collected_at=datetime.combine(donated, datetime.min.time(), UTC),
                    donation_date=donated,
                    din=din.body,
                    din_flags=din.flags,
                    din_check=din.check,
                    status="valid",
                    source="imported",
                    region="zhejiang",
                )
            )
            donated -= timedelta(days=30)
        db.session.commit()
        veteran_id = veteran.id
        db.engine.dispose()
    return {
        "spread_slots": slot_ids[:SLOT_COUNT],
        "hot_slot": slot_ids[SLOT_COUNT],
        "spread_tokens": spread_tokens,
        "hot_tokens": hot_tokens,
        "warm_tokens": warm_tokens,
        "veteran": veteran_id,
        "app": app,
    }


def booking_script(tokens: list[str], slots: list[int], threads: int) -> str:
    """wrk Lua: thread k sends tokens k, k+threads, k+2*threads, ... so no donor books twice."""
    return f"""
local tokens = {json.dumps(tokens).replace("[", "{").replace("]", "}")}
local slots = {json.dumps(slots).replace("[", "{").replace("]", "}")}
local threads, made, sent = {threads}, 0, 0
setup = function(thread)
  thread:set("offset", made)
  made = made + 1
end
request = function()
  local i = offset + sent * threads
  sent = sent + 1
  local token = tokens[(i % #tokens) + 1]
  local slot = slots[(i % #slots) + 1]
  return wrk.format("POST", "/api/v1/me/appointments",
    {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}},
    '{{"slot_id": ' .. slot .. '}}')
end
"""


def booked_counts(app, slot_ids: list[int]) -> tuple[int, int]:
    from sqlalchemy import func, select

    from appointments.models import Booking, Slot
    from core.extensions import db

    with app.app_context():
        bookings = db.session.scalar(
            select(func.count()).select_from(Booking).where(Booking.slot_id.in_(slot_ids))
        )
        overfull = db.session.scalar(
            select(func.count())
            .select_from(Slot)
            .where(Slot.id.in_(slot_ids), Slot.booked + Slot.held > Slot.capacity)
        )
        db.engine.dispose()
    return bookings, overfull


def eligibility_timing(app, donor_id: int, repeats: int) -> None:
    from certificate.eligibility import check_eligibility, eligibility_for_all_kinds, past_donations
    from core import clock
    from core.extensions import db
    from core.policy import policy_for
    from donors.models import Donor

    with app.app_context():
        donor = db.session.get(Donor, donor_id)
        policy = policy_for(donor.region)
        on = clock.local_today() + timedelta(days=2)
        print(f"donor with {len(past_donations(donor.id, on))} past donations")
        for name, answer in (
            (
                "check_eligibility (whole blood)",
                lambda: check_eligibility(donor, "whole_blood", on, policy),
            ),
            ("eligibility_for_all_kinds", lambda: eligibility_for_all_kinds(donor, on, policy)),
        ):
            answer()  # warm the statement cache
            times = []
            for _ in range(repeats):
                db.session.expire_all()
                began = time.perf_counter()
                answer()
                times.append((time.perf_counter() - began) * 1000)
            times.sort()
            p95 = times[int(len(times) * 0.95) - 1]
            print(
                f"{name:<44} p50 {statistics.median(times):>7.2f} ms   p95 {p95:>7.2f} ms   "
                f"({repeats} repeats, history and deferrals read from PostgreSQL each time)"
            )
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--donors", type=int, default=6000, help="fresh donors per booking run")
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()

    print(f"machine: {machine()}")
    with postgres() as url:
        migrate(url)
        began = time.perf_counter()
        data = build(url, args.donors)
        print(
            f"setup: {2 * args.donors} donors with tokens (and some to warm up), "
            f"{SLOT_COUNT + 1} slots, a donor with "
            f"100 donations in {time.perf_counter() - began:.1f} s"
        )
        threads = 2
        load = {"seconds": args.seconds, "connections": args.connections, "threads": threads}
        with gunicorn(url, workers=2) as base:
            wrk(base + "/healthz", seconds=2, connections=4)  # warm-up
            wrk(  # warm-up: both workers compile the booking path's statements once
                base + "/api/v1/me/appointments",
                script=booking_script(data["warm_tokens"], data["spread_slots"], threads),
                seconds=3,
                connections=4,
                threads=threads,
            )
            for name, tokens, slots in (
                ("POST /me/appointments (200 slots)", data["spread_tokens"], data["spread_slots"]),
                ("POST /me/appointments (one hot slot)", data["hot_tokens"], [data["hot_slot"]]),
            ):
                before, _ = booked_counts(data["app"], slots)
                figures = wrk(
                    base + "/api/v1/me/appointments",
                    script=booking_script(tokens, slots, threads),
                    **load,
                )
                show(name, figures)
                made, overfull = booked_counts(data["app"], slots)
                created = figures["requests"] - figures["non_2xx"]
                wrapped = (
                    "  (tokens wrapped: raise --donors)"
                    if figures["requests"] > len(tokens)
                    else ""
                )
                print(
                    f"{'':<44} bookings stored {made - before}, 201 answers {created}, "
                    f"slots over capacity {overfull}{wrapped}"
                )
        eligibility_timing(data["app"], data["veteran"], args.repeats)
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()

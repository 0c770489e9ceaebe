"""Call-outs benchmark: opening a call-out over a register of 100,000 emergency team members.

    .venv/bin/python -m bench.call_outs [--members 100000]

Starts its own PostgreSQL, migrates it, and seeds with COPY 100,000 Zhejiang donors, each a member
of one of 20 teams (one in 20 also of a second team), located within about 60 km of a donation
house (one in 25 gave no location), with blood groups as in the Han population and one in ten
Rh-negative (a rare-type register), and about three donations each, the latest within the last
year for most (so many are not eligible by interval that day), a few paused or left. Then opens
call-outs through the service, as POST /admin/call-outs does (the selection, the first wave's
invitations and their outbox rows written and flushed; the commit and the in-process sending of
the texts timed apart), for a rare group and for the commonest, and sends a second wave.
Target: opening under 1 s. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import random
import time
from datetime import date, timedelta

from bench.harness import machine, migrate, postgres

SITE_AT = (30.2741, 120.1551)
TEAMS = 20
GROUPS = [("O", 0.34), ("A", 0.30), ("B", 0.27), ("AB", 0.09)]


def _group(rng: random.Random) -> tuple[str, str]:
    pick, chosen = rng.random(), GROUPS[-1][0]
    for abo, share in GROUPS:
        if pick < share:
            chosen = abo
            break
        pick -= share
    return chosen, "negative" if rng.random() < 0.10 else "positive"


def seed(members: int) -> tuple[float, int]:
    from sqlalchemy import text

    from core import clock
    from core.crypto import cipher
    from core.extensions import db

    started = time.perf_counter()
    rng = random.Random(19)
    today = clock.local_today()
    sealed_id = cipher().encrypt("330102199001011234")  # one ciphertext each: never read here
    sealed_mobile = cipher().encrypt("+8613900000000")
    connection = db.engine.raw_connection()
    donations = 0
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO teams (id, name, region, kind, active, created_at) "
                "SELECT n, '应急献血队' || n, 'zhejiang', 'civil_defence', true, now() "
                f"FROM generate_series(1, {TEAMS}) AS n"
            )
            columns = (
                "id, status, name, id_number, id_number_hash, mobile, mobile_hash, birth_date, "
                "sex, abo, rhd, blood_group_source, region, created_at"
            )
            with cursor.copy(f"COPY donors ({columns}) FROM STDIN") as copy:
                for n in range(1, members + 1):
                    abo, rhd = _group(rng)
                    copy.write_row(
                        (
                            n,
                            "active",
                            f"队员{n}",
                            sealed_id,
                            f"bench-{n:058d}",
                            sealed_mobile,
                            f"bench-m-{n:056d}",
                            date(1970, 1, 1) + timedelta(days=rng.randrange(11000)),
                            "male" if n % 2 else "female",
                            abo,
                            rhd,
                            "laboratory" if n % 3 else "self_reported",
                            "zhejiang",
                            "2024-01-01 00:00:00+00",
                        )
                    )
            columns = (
                "id, team_id, donor_id, status, consented_at, consent_text, consent_version, "
                "joined_at, latitude, longitude"
            )
            member_id = 0
            with cursor.copy(f"COPY team_members ({columns}) FROM STDIN") as copy:
                for n in range(1, members + 1):
                    teams = [rng.randint(1, TEAMS)]
                    if n % 20 == 0:
                        teams.append(teams[0] % TEAMS + 1)
                    for team in teams:
                        member_id += 1
                        status = "active"
                        if n % 50 == 0:
                            status = "paused"
                        elif n % 71 == 0:
                            status = "left"
                        located = n % 25 != 0
                        copy.write_row(
                            (
                                member_id,
                                team,
                                n,
                                status,
                                "2025-01-01 00:00:00+00",
                                "同意加入应急献血队",
                                "2025-01-01",
                                "2025-01-01 00:00:00+00",
                                SITE_AT[0] + rng.uniform(-0.55, 0.55) if located else None,
                                SITE_AT[1] + rng.uniform(-0.6, 0.6) if located else None,
                            )
                        )
            columns = (
                "id, donor_id, facility_code, kind, volume_ml, units, collected_at, "
                "donation_date, din, din_flags, din_check, status, source, region, created_at"
            )
            with cursor.copy(f"COPY donations ({columns}) FROM STDIN") as copy:
                buffer = io.StringIO()
                for donor in range(1, members + 1):
                    latest = today - timedelta(days=rng.randint(10, 540))
                    for index in range(rng.randint(1, 5)):
                        donations += 1
                        day = latest - timedelta(days=200 * index)
                        platelets = rng.random() < 0.15
                        kind = "apheresis_platelets" if platelets else "whole_blood"
                        volume, units = ("250", "1") if platelets else ("400", "\\N")
                        buffer.write(
                            f"{donations}\t{donor}\tW3301\t{kind}\t{volume}\t{units}\t"
                            f"{day.isoformat()} 02:00:00+00\t{day.isoformat()}\t"
                            f"C{donations:012d}\t00\tX\tvalid\trecorded\tzhejiang\t"
                            f"{day.isoformat()} 02:00:00+00\n"
                        )
                copy.write(buffer.getvalue())
            for table in ("donors", "donations", "teams", "team_members"):
                cursor.execute(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
        connection.commit()
    finally:
        connection.close()
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - started, donations


def time_opening(site_id: int, abo: str, rhd: str, needed: int, admin) -> None:
    from sqlalchemy import func, select

    from core import clock
    from core.extensions import db
    from notifications.models import OutboxMessage
    from teams import callouts
    from teams.models import CallOutInvitation

    wanted = callouts.CallOutRequest(
        site_id=site_id,
        abo=abo,
        rhd=rhd,
        kind="whole_blood",
        needed=needed,
        needed_by=clock.now() + timedelta(hours=4),
        urgent=True,
    )
    group = f"{abo} Rh{'-' if rhd == 'negative' else '+'}"
    candidates = db.session.scalar(
        select(func.count()).select_from(
            callouts.candidates_query(
                callouts.CallOut(id=0, abo=abo, rhd=rhd, region="zhejiang", team_ids=[]),
                _site(site_id),
            ).subquery()
        )
    )
    db.session.rollback()
    started = time.perf_counter()
    call_out = callouts.open_call_out(wanted, admin)
    db.session.flush()
    opened = time.perf_counter() - started
    started = time.perf_counter()
    db.session.commit()
    committed = time.perf_counter() - started
    invited = db.session.scalar(
        select(func.count()).where(CallOutInvitation.call_out_id == call_out.id)
    )
    outbox = db.session.scalar(
        select(func.count()).where(OutboxMessage.key.like(f"call_out:{call_out.id}:%"))
    )
    print(
        f"call-out {group}, {needed} needed ({candidates:,} memberships of the group that may be "
        f"called): first wave {invited} invited, {outbox} outbox rows"
    )
    print(
        f"  opening (selection, invitations, outbox rows, flushed): {opened:6.3f} s (target < 1 s)"
    )
    print(f"  commit and in-process sending of the {outbox} texts:     {committed:6.3f} s")
    started = time.perf_counter()
    wave, _ = callouts.send_wave(call_out.id, 2, admin)
    db.session.flush()
    second = time.perf_counter() - started
    db.session.commit()
    print(f"  second wave ({wave.invited} more, flushed):                 {second:6.3f} s")


def _site(site_id: int):
    from core.extensions import db
    from sites.models import Site

    return db.session.get_one(Site, site_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    args = parser.parse_args()

    print(f"machine: {machine()}")
    with postgres() as url:
        migrate(url)
        from app import create_app
        from core import auth
        from core.extensions import db
        from sites.models import Site

        app = create_app(
            {"APP_ENV": "development", "SQLALCHEMY_DATABASE_URI": url, "SMS_BACKEND": "memory"}
        )
        with app.app_context():
            seconds, donations = seed(args.members)
            print(
                f"seeded {args.members:,} donors in {TEAMS} teams with their locations and "
                f"{donations:,} donations with COPY in {seconds:.1f} s"
            )
            site = Site(
                facility_code="W3301",
                name="杭州市武林献血屋",
                kind="donation_house",
                address="杭州市下城区武林路1号",
                city="杭州市",
                region="zhejiang",
                latitude=SITE_AT[0],
                longitude=SITE_AT[1],
                opening_hours=[],
            )
            db.session.add(site)
            db.session.commit()
            admin = auth.Caller("staff", None, auth.ADMIN, "bench", {})  # type: ignore[arg-type]
            time_opening(site.id, "O", "negative", 5, admin)
            time_opening(site.id, "O", "positive", 20, admin)
            time_opening(site.id, "AB", "negative", 2, admin)
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()

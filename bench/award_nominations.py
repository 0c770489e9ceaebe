"""Award cycles benchmark: the donors newly qualified at a cut-off among 1,000,000 donors.

    .venv/bin/python -m bench.award_nominations [--donors 1000000]

Starts its own PostgreSQL, migrates it, and seeds with COPY 1,000,000 Zhejiang donors and their
donations (most give a few times, a long tail gives dozens: whole blood of 200, 300 and 400 ml,
apheresis platelets of one or two units, some before 2010, when a unit counted four; a few
voided, some imported and not claimed), and bronze or gold awards already granted to some.
Then opens a cycle through the service, as POST /admin/award-cycles does, and times the
nominations: the first page as GET .../nominations serves it (the count and the page), the
whole list that confirming grants, and the CSV for the nomination forms; the same for
Zhejiang's provincial award; then confirms both lists (the grants and the three frees resting
on them). Target: the list in under 10 s. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import random
import time
from datetime import date, timedelta

from bench.harness import machine, migrate, postgres

# (share of donors, fewest, most donations)
GIVING = [(0.55, 1, 4), (0.25, 5, 12), (0.12, 13, 25), (0.06, 26, 45), (0.02, 46, 75)]
FIRST_DAY = date(2006, 1, 1)
CUT_OFF = date(2025, 12, 31)
BATCH = 200_000


def _donations_of(rng: random.Random) -> int:
    pick = rng.random()
    for share, fewest, most in GIVING:
        if pick < share:
            return rng.randint(fewest, most)
        pick -= share
    return 1


def _amount(rng: random.Random) -> tuple[str, str, str]:
    """(kind, volume_ml, units) as COPY text."""
    pick = rng.random()
    if pick < 0.55:
        return "whole_blood", "400", "\\N"
    if pick < 0.70:
        return "whole_blood", "300", "\\N"
    if pick < 0.85:
        return "whole_blood", "200", "\\N"
    return "apheresis_platelets", "250", "1" if pick < 0.95 else "2"


def seed(donors: int) -> tuple[float, int]:
    """Donors, donations and some grants with COPY; the donations' indexes built afterwards."""
    from sqlalchemy import text

    from core.crypto import cipher
    from core.extensions import db

    started = time.perf_counter()
    rng = random.Random(14)
    sealed = cipher().encrypt("330102199001011234")  # one ciphertext: the list masks it anyway
    span = (CUT_OFF + timedelta(days=200) - FIRST_DAY).days
    connection = db.engine.raw_connection()
    total = 0
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'donations' "
                "AND indexname <> 'pk_donations'"
            )
            indexes = [row[0] for row in cursor.fetchall()]
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'donations' "
                "AND indexname <> 'pk_donations'"
            )
            for (name,) in cursor.fetchall():
                cursor.execute(f'DROP INDEX "{name}"')
            columns = (
                "id, status, name, id_number, id_number_hash, birth_date, sex, abo, rhd, "
                "blood_group_source, region, created_at, history_claimed_at"
            )
            with cursor.copy(f"COPY donors ({columns}) FROM STDIN") as copy:
                for n in range(1, donors + 1):
                    rare = n % 250 == 0
                    copy.write_row(
                        (
                            n,
                            "active",
                            f"献血者{n}",
                            sealed,
                            f"bench-{n:058d}",
                            date(1970, 1, 1) + timedelta(days=n % 12000),
                            "male" if n % 2 else "female",
                            "O",
                            "negative" if rare else "positive",
                            "laboratory" if rare else "self_reported",
                            "zhejiang",
                            "2024-01-01 00:00:00+00",
                            None if n % 20 == 0 else "2024-01-02 00:00:00+00",
                        )
                    )
            columns = (
                "id, donor_id, facility_code, kind, volume_ml, units, collected_at, "
                "donation_date, din, din_flags, din_check, status, source, region, created_at"
            )
            with cursor.copy(f"COPY donations ({columns}) FROM STDIN") as copy:
                buffer = io.StringIO()
                for donor in range(1, donors + 1):
                    given = _donations_of(rng)
                    start = rng.randrange(span)
                    step = max(14, min(190, (span - start) // max(given, 1)))
                    for index in range(given):
                        total += 1
                        day = FIRST_DAY + timedelta(days=start + index * step)
                        kind, volume, units = _amount(rng)
                        status = "voided" if total % 500 == 0 else "valid"
                        source = "imported" if total % 7 == 0 else "recorded"
                        buffer.write(
                            f"{total}\t{donor}\tW3301\t{kind}\t{volume}\t{units}\t"
                            f"{day.isoformat()} 02:00:00+00\t{day.isoformat()}\t"
                            f"B{total:012d}\t00\tX\t{status}\t{source}\tzhejiang\t"
                            f"{day.isoformat()} 02:00:00+00\n"
                        )
                    if buffer.tell() > 8_000_000:
                        copy.write(buffer.getvalue())
                        buffer = io.StringIO()
                copy.write(buffer.getvalue())
            for definition in indexes:
                cursor.execute(definition)
            # awards already granted: bronze to one donor in 40, a gold to one in 400
            cursor.execute(
                "INSERT INTO award_grants (donor_id, award, region, period, decision, "
                "awarded_on, source, recorded_at) "
                "SELECT id, 'bronze', 'zhejiang', '2020-2021', 'bench', DATE '2022-06-14', "
                "'admin', now() FROM donors WHERE id % 40 = 0 "
                "UNION ALL SELECT id, 'gold', 'zhejiang', '2020-2021', 'bench', "
                "DATE '2022-06-14', 'admin', now() FROM donors WHERE id % 400 = 7"
            )
            for table in ("donors", "donations"):
                cursor.execute(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
        connection.commit()
    finally:
        connection.close()
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - started, total


def time_cycle(scheme: str, admin) -> object:
    from core.extensions import db
    from rewards import cycles

    cycle = cycles.open_cycle(cycles.CycleOpening(scheme, "zhejiang", "2024-2025", CUT_OFF), admin)
    db.session.commit()
    started = time.perf_counter()
    page = cycles.nominations_page(cycle, 1, 20)
    first = time.perf_counter() - started
    db.session.rollback()
    started = time.perf_counter()
    listed = cycles.nominations(cycle)
    whole = time.perf_counter() - started
    db.session.rollback()
    started = time.perf_counter()
    text = cycles.nominations_csv(cycle)
    exported = time.perf_counter() - started
    db.session.rollback()
    by_award: dict[str, int] = {}
    for item in listed:
        by_award[item.award] = by_award.get(item.award, 0) + 1
    print(f"cycle {scheme}, cut-off {CUT_OFF}: {len(listed):,} nominations {by_award}")
    print(f"  first page (count + 20 rows, as GET .../nominations): {first:6.2f} s (target < 10 s)")
    print(f"  whole list (what confirming grants):                  {whole:6.2f} s (target < 10 s)")
    print(
        f"  CSV for the nomination forms ({len(text) / 1e6:.1f} MB, names and IDs masked): "
        f"{exported:6.2f} s"
    )
    assert page["page"]["total"] == len(listed)
    return cycle


def time_confirming(cycle, admin) -> None:
    """Confirm the list as POST .../confirm does, in one transaction: the grants and the
    benefits resting on them, committed."""
    from sqlalchemy import func, select

    from core import clock
    from core.extensions import db
    from rewards import cycles
    from rewards.models import BenefitHolding

    confirmation = cycles.Confirmation("浙卫发〔2026〕1号", clock.local_today())
    started = time.perf_counter()
    cycles.confirm_cycle(cycle, confirmation, admin)
    db.session.commit()
    seconds = time.perf_counter() - started
    holdings = db.session.scalar(select(func.count()).select_from(BenefitHolding))
    print(
        f"  confirming it ({cycle.granted:,} grants; {holdings:,} benefit holdings open "
        f"after): {seconds:6.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--donors", type=int, default=1_000_000)
    args = parser.parse_args()

    print(f"machine: {machine()}")
    with postgres() as url:
        migrate(url)
        from sqlalchemy import text

        from app import create_app
        from core import auth
        from core.extensions import db

        app = create_app(
            {"APP_ENV": "development", "SQLALCHEMY_DATABASE_URI": url, "SMS_BACKEND": "memory"}
        )
        with app.app_context():
            seconds, donations = seed(args.donors)
            print(
                f"seeded {args.donors:,} donors, {donations:,} donations and their awards "
                f"with COPY in {seconds:.1f} s"
            )
            admin = auth.Caller("staff", None, auth.ADMIN, "bench", {})  # type: ignore[arg-type]
            work_mem = db.session.execute(text("SHOW work_mem")).scalar()
            print(
                f"PostgreSQL work_mem {work_mem}; the list's transaction sets "
                f"{app.config['AWARD_NOMINATIONS_WORK_MEM']} (AWARD_NOMINATIONS_WORK_MEM)"
            )
            db.session.rollback()
            national = time_cycle("dedication", admin)
            provincial = time_cycle("zhejiang_dedication", admin)
            time_confirming(national, admin)
            time_confirming(provincial, admin)
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()

"""Notifications benchmark: today's birthdays among 1,000,000 donors in PostgreSQL.

    .venv/bin/python -m bench.notifications [--donors 1000000]

Seeds donors with COPY (birth dates spread over ages 18-60, encrypted mobile numbers and their
keyed hashes, as registration writes them) and their totals, then times the daily birthday job:
finding today's birthdays and writing one outbox row each (target: under 30 s). Also times a
second run of the same day (it must write nothing new) and sending the rows at 09:00 through the
memory backend. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date, timedelta

from bench.harness import machine, migrate, postgres


def seed(app, donors: int) -> float:
    from sqlalchemy import text

    from core.crypto import cipher
    from core.extensions import db

    started = time.perf_counter()
    rng = random.Random(7)
    youngest = date.today() - timedelta(days=18 * 366)
    span = 42 * 365
    keys = cipher()
    sealed = keys.encrypt("+8613800000000")  # one ciphertext: the job never decrypts numbers
    connection = db.engine.raw_connection()
    try:
        with connection.cursor() as cursor:
            columns = (
                "id, status, name, id_number_hash, mobile, mobile_hash, birth_date, sex, abo, "
                "rhd, city, region, created_at"
            )
            with cursor.copy(f"COPY donors ({columns}) FROM STDIN") as copy:
                for n in range(1, donors + 1):
                    birth = youngest - timedelta(days=rng.randrange(span))
                    copy.write_row(
                        (
                            n,
                            "active",
                            f"献血者{n}",
                            keys.lookup_hash("ric", f"bench-{n}"),
                            sealed,
                            keys.lookup_hash("mobile", f"+86138{n:08d}"),
                            birth,
                            "male" if n % 2 else "female",
                            rng.choice("AABBOOO") if n % 10 else "AB",
                            "positive",
                            rng.choice(("杭州市", "宁波市", "温州市", "绍兴市")),
                            "zhejiang",
                            "2024-01-01 00:00:00+00",
                        )
                    )
            cursor.execute(
                "INSERT INTO donor_totals (donor_id, donations, award_half_counts, by_kind, "
                "last_donation_date, updated_at) SELECT id, 1 + id % 7, 4 * (1 + id % 7), '{}', "
                "DATE '2025-01-01' - (id % 900), now() FROM donors"
            )
            cursor.execute("SELECT setval('donors_id_seq', (SELECT max(id) FROM donors))")
        connection.commit()
    finally:
        connection.close()
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--donors", type=int, default=1_000_000)
    args = parser.parse_args()

    print(f"machine: {machine()}")
    with postgres() as url:
        migrate(url)
        from sqlalchemy import func, select, text

        from app import create_app
        from core import clock
        from core.extensions import db
        from notifications.dispatch import deliver_due
        from notifications.models import OutboxMessage
        from notifications.schedules import birthday_dates, greet_birthdays

        app = create_app(
            {"APP_ENV": "development", "SQLALCHEMY_DATABASE_URI": url, "SMS_BACKEND": "memory"}
        )
        with app.app_context():
            seconds = seed(app, args.donors)
            print(f"seeded {args.donors:,} donors and their totals with COPY in {seconds:.1f} s")
            today = clock.local_today()
            dates = birthday_dates([(today.month, today.day)], today)
            plan = db.session.execute(
                text(
                    "EXPLAIN SELECT id FROM donors WHERE birth_date = ANY(:dates) "
                    "AND region = 'zhejiang' AND status = 'active'"
                ),
                {"dates": dates},
            ).scalars()
            print("plan: " + " / ".join(line.strip() for line in plan if "Scan" in line))
            db.session.rollback()

            just_after_midnight = clock.as_utc(
                clock.local_now().replace(hour=0, minute=5, second=0, microsecond=0)
            )
            with clock.frozen_at(just_after_midnight):  # when the daily job runs
                started = time.perf_counter()
                written = greet_birthdays(today)
                db.session.commit()
                first = time.perf_counter() - started
            print(
                f"birthdays of {today}: found and wrote {written:,} outbox rows in {first:.2f} s "
                f"(target < 30 s)"
            )

            started = time.perf_counter()
            with clock.frozen_at(just_after_midnight + timedelta(minutes=5)):
                again = greet_birthdays(today)
                db.session.commit()
            rows = db.session.scalar(select(func.count()).select_from(OutboxMessage))
            print(
                f"the same day again: {again:,} rows looked at, outbox still {rows:,} rows, "
                f"in {time.perf_counter() - started:.2f} s"
            )

            nine = clock.as_utc(
                clock.local_now().replace(hour=9, minute=0, second=0, microsecond=0)
            )
            with clock.frozen_at(nine):
                started = time.perf_counter()
                report = deliver_due(max_batches=1000)
                spent = time.perf_counter() - started
            print(
                f"sent at 09:00 through the memory backend: {report.sent:,} messages in "
                f"{spent:.2f} s ({report.sent / spent:.0f}/s; 3 commits each)"
            )
            db.session.remove()
            db.engine.dispose()
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()

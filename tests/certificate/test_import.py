"""`flask certificate import`: legacy history, row by row, idempotent; claimed by a DIN."""

from __future__ import annotations

import csv

from sqlalchemy import func, select, text

from certificate.history import HISTORY_CLAIM
from certificate.models import Donation, DonorTotals
from core import limits
from core.extensions import db
from core.ids import make_din
from donors.models import Donor
from tests.factories import ENGLISH_COMMAND_LINE, bearer, donor_record, resident_id

HEADER = [
    "id_number",
    "name",
    "din",
    "kind",
    "volume_ml",
    "units",
    "donation_date",
    "facility_code",
]


def din(sequence: int, year: int = 2020) -> str:
    made = make_din("W3301", year, sequence)
    return made.body + made.check


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return str(path)


def run_import(app, path):
    # English output (the command line is Chinese by default: tests/core/test_cli_messages.py).
    return app.test_cli_runner().invoke(
        args=["certificate", "import", path], env=ENGLISH_COMMAND_LINE
    )


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_good_rows_load_and_bad_rows_are_reported_by_line(app, tmp_path):
    person = resident_id(birth="19800101")
    bad_check = din(3)[:-1] + ("A" if din(3)[-1] != "A" else "B")
    path = write_csv(
        tmp_path / "history.csv",
        [
            [person, "王小明", din(1), "whole_blood", "400", "", "2020-03-01", "W3301"],
            [person, "王小明", din(2), "apheresis_platelets", "", "2", "2020-09-01", "W3301"],
            [
                person[:-1] + "0" if person[-1] != "0" else person[:-1] + "1",
                "某人",
                din(4),
                "whole_blood",
                "400",
                "",
                "2020-03-01",
                "W3301",
            ],
            [person, "王小明", bad_check, "whole_blood", "400", "", "2020-03-01", "W3301"],
            [person, "王小明", din(5), "whole_blood", "450", "", "2020-03-01", "W3301"],
            [person, "王小明", din(6), "whole_blood", "400", "", "2099-03-01", "W3301"],
            [person, "王小明", din(7), "plasma_magic", "400", "", "2020-03-01", "W3301"],
        ],
    )
    result = run_import(app, path)
    assert result.exit_code == 0, result.output
    assert "loaded 2" in result.output and "rejected 5" in result.output
    assert "Line 4: The ID number's check digit is wrong." in result.output
    assert "Line 5: The donation number's check fails." in result.output
    assert "Line 6: This amount is not allowed for this kind." in result.output
    assert "Line 7: The donation date is invalid." in result.output
    assert "Line 8: Unknown donation kind." in result.output
    assert count(Donation) == 2
    pending = db.session.scalar(select(Donor))
    assert pending.status == "pending" and pending.mobile is None
    assert pending.id_number == person  # encrypted on the way in (COPY on PostgreSQL), readable
    stored = db.session.execute(text("SELECT id_number FROM donors")).scalar()
    assert person not in stored


def test_running_the_same_file_again_loads_nothing_twice(app, tmp_path):
    person = resident_id()
    path = write_csv(
        tmp_path / "history.csv",
        [
            [person, "王小明", din(11), "whole_blood", "400", "", "2020-03-01", "W3301"],
            [person, "王小明", din(12), "whole_blood", "200", "", "2020-10-01", "W3301"],
        ],
    )
    run_import(app, path)
    again = run_import(app, path)
    assert "loaded 0, skipped 2" in again.output
    assert count(Donation) == 2 and count(Donor) == 1


def test_a_missing_column_is_a_clear_error(app, tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text("id_number,name\n1,2\n", encoding="utf-8")
    result = run_import(app, str(path))
    assert result.exit_code != 0
    assert "The header row lacks these columns: din, kind, donation_date." in result.output


def test_imported_history_shows_only_after_the_donor_proves_a_din(app, client, sms, tmp_path):
    person = resident_id(birth="19850505")
    path = write_csv(
        tmp_path / "history.csv",
        [
            [person, "王小明", din(21), "whole_blood", "400", "", "2021-03-01", "W3301"],
            [person, "王小明", din(22), "whole_blood", "400", "", "2021-10-01", "W3301"],
        ],
    )
    run_import(app, path)
    donor, data = donor_record(client, sms, id_number=person, name="王小明")
    headers = bearer(data["tokens"]["access_token"])
    assert client.get("/api/v1/me/certificates", headers=headers).get_json()["page"]["total"] == 0
    assert client.get("/api/v1/me/card", headers=headers).get_json()["donations"] == 0

    wrong = client.post("/api/v1/me/history-claims", json={"din": din(99)}, headers=headers)
    assert wrong.status_code == 422
    claimed = client.post("/api/v1/me/history-claims", json={"din": din(22)}, headers=headers)
    assert claimed.status_code == 200
    assert claimed.get_json() == {"claimed_donations": 2}
    page = client.get("/api/v1/me/certificates", headers=headers).get_json()
    assert page["page"]["total"] == 2
    totals = db.session.get(DonorTotals, donor.id)
    assert (totals.donations, totals.award_counts) == (2, 4)


def test_guessing_donation_numbers_is_bounded(app, client, sms, tmp_path):
    person = resident_id(birth="19850506")
    path = write_csv(
        tmp_path / "history.csv",
        [[person, "王小明", din(31), "whole_blood", "400", "", "2021-03-01", "W3301"]],
    )
    run_import(app, path)
    _, data = donor_record(client, sms, id_number=person, name="王小明")
    headers = bearer(data["tokens"]["access_token"])
    limit = limits.windows(HISTORY_CLAIM)[0].amount
    for sequence in range(40, 40 + limit):
        wrong = client.post(
            "/api/v1/me/history-claims", json={"din": din(sequence)}, headers=headers
        )
        assert wrong.status_code == 422
    blocked = client.post("/api/v1/me/history-claims", json={"din": din(31)}, headers=headers)
    assert blocked.status_code == 429
    assert blocked.get_json()["code"] == "history_claim_too_many"
    assert int(blocked.headers["Retry-After"]) > 0

"""Award counts in halves: 300 ml of whole blood is 1.5, exactly, everywhere it is shown.

POLICY.md "Decisions (2026-11-30)": counts are whole-blood volume / 200 ml, in halves.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from certificate.counts import as_number, from_halves, to_halves
from certificate.models import DonorTotals
from core.extensions import db
from tests.conftest import DATABASES
from tests.factories import (
    ENGLISH_COMMAND_LINE,
    bearer,
    donor_record,
    make_site,
    make_staff,
    record,
    staff_token,
)


def test_half_counts_round_trip_exactly():
    assert to_halves(Fraction(3, 2)) == 3 and from_halves(3) == Fraction(3, 2)
    assert sum((from_halves(3) for _ in range(10)), Fraction(0)) == 15
    assert (as_number(Fraction(3, 2)), as_number(Fraction(20))) == (1.5, 20)
    assert isinstance(as_number(Fraction(20)), int)
    with pytest.raises(ValueError):
        to_halves(Fraction(1, 4))


def test_a_300_ml_donation_counts_one_and_a_half_on_the_card(client, sms):
    site = make_site()
    staff = staff_token(client, make_staff([site]))
    donor, data = donor_record(client, sms)
    assert record(client, staff, site, data["plain"]["id_number"], volume_ml=300).status_code == 201
    totals = db.session.get(DonorTotals, donor.id)
    assert (totals.award_half_counts, totals.award_counts) == (3, Fraction(3, 2))
    response = client.get("/api/v1/me/card", headers=bearer(data["tokens"]["access_token"]))
    assert response.get_json()["award_counts"] == 1.5
    assert b'"award_counts":1.5' in response.data.replace(b" ", b"")


def test_whole_counts_are_shown_as_whole_numbers(client, sms):
    site = make_site()
    staff = staff_token(client, make_staff([site]))
    _, data = donor_record(client, sms)
    record(client, staff, site, data["plain"]["id_number"], volume_ml=400)
    response = client.get("/api/v1/me/card", headers=bearer(data["tokens"]["access_token"]))
    assert b'"award_counts":2,' in response.data.replace(b" ", b"")


def test_the_api_document_describes_counts_as_numbers(client):
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    assert schemas["Card"]["properties"]["award_counts"]["type"] == "number"
    for name in ("counted", "required", "remaining"):
        assert schemas["Route"]["properties"][name]["type"] == "number", name


@pytest.fixture(params=DATABASES)
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
    return request.getfixturevalue("postgres").create_database("donor_migration_0008")


def test_migration_0008_keeps_recorded_counts_as_half_counts(empty_database):
    app = create_app(
        {"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": empty_database, "SMS_BACKEND": "memory"}
    )
    with app.app_context():
        upgrade(revision="0007")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO donors (id, status, id_number_hash, birth_date, sex, region, "
                    "created_at) VALUES (1, 'active', 'h', '1990-01-01', 'male', 'zhejiang', "
                    "'2026-01-01 00:00:00+00:00')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO donor_totals (donor_id, donations, award_counts, by_kind, "
                    "updated_at) VALUES (1, 9, 18, '{}', '2026-01-01 00:00:00+00:00')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO benefit_applications (donor_id, region, applied_at, outcome, "
                    "counted, required) VALUES (1, 'zhejiang', '2026-01-01 00:00:00+00:00', "
                    "'refused', 18, 20)"
                )
            )
        upgrade(revision="0008")
        with db.engine.connect() as connection:
            totals = connection.scalar(text("SELECT award_half_counts FROM donor_totals"))
            applied = connection.scalar(
                text("SELECT counted_half_counts FROM benefit_applications")
            )
            assert (totals, applied) == (36, 36)
        db.engine.dispose()


def test_refresh_totals_recomputes_counts_recorded_under_the_old_rule(app, client, sms):
    # Before 0008 a 300 ml donation counted nothing (the question was open); the command brings
    # such totals to the decided 1.5.
    site = make_site()
    staff = staff_token(client, make_staff([site]))
    donor, data = donor_record(client, sms)
    record(client, staff, site, data["plain"]["id_number"], volume_ml=300)
    db.session.get(DonorTotals, donor.id).award_half_counts = 0
    db.session.commit()
    result = app.test_cli_runner().invoke(
        args=["certificate", "refresh-totals"], env=ENGLISH_COMMAND_LINE
    )
    assert result.exit_code == 0 and "Totals recomputed for 1 donors." in result.output
    db.session.expire_all()
    assert db.session.get(DonorTotals, donor.id).award_counts == Fraction(3, 2)

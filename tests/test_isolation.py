"""The suite's isolation (tests/isolation.py): a test's rows are rolled back after it, every
request and the outbox dispatcher see them meanwhile, and a test that reaches the database apart
from its transaction is stopped with the advice to mark it `committed_db`.

These tests run `rolled_back()` themselves, inside a `committed_db` test, so that the tables are
emptied after them whatever happens inside.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from core.extensions import db
from sites.models import Site
from tests.factories import make_site, register_donor
from tests.isolation import rolled_back


def sites() -> int:
    return db.session.scalar(select(func.count()).select_from(Site))


@pytest.mark.committed_db
def test_what_a_test_commits_is_seen_by_its_requests_and_gone_after_it(client):
    with rolled_back():
        site = make_site()
        assert client.get(f"/api/v1/sites/{site.id}").status_code == 200
    assert sites() == 0


@pytest.mark.committed_db
def test_the_outbox_dispatcher_sends_what_a_rolled_back_test_wrote(client, sms, daytime):
    with rolled_back():
        registered = register_donor(client, sms)  # logs in with the code the dispatcher sent
        assert registered["tokens"]["access_token"]
        assert sms
    assert db.session.scalar(text("SELECT count(*) FROM notification_outbox")) == 0


@pytest.mark.committed_db
def test_a_commit_on_a_connection_of_its_own_fails_the_test_and_leaves_nothing(app):
    with pytest.raises(pytest.fail.Exception, match="mark it @pytest.mark.committed_db"):
        with rolled_back():
            with db.engine.begin() as connection:
                connection.execute(
                    Site.__table__.insert().values(
                        facility_code="W9999",
                        name="另一个连接",
                        kind="donation_house",
                        address="浙江省杭州市某路1号",
                        city="杭州市",
                        region="zhejiang",
                        opening_hours=[],
                    )
                )
    assert sites() == 0


@pytest.mark.committed_db
def test_another_thread_is_refused_the_connection_of_a_rolled_back_test(app):
    refused: list[BaseException] = []

    def count_in_another_thread() -> None:
        with app.app_context():
            try:
                sites()
            except RuntimeError as error:
                refused.append(error)

    with pytest.raises(pytest.fail.Exception, match="from another thread"):
        with rolled_back():
            thread = threading.Thread(target=count_in_another_thread)
            thread.start()
            thread.join()
    assert len(refused) == 1

"""The forecast's in-memory queue count: a case whose transaction rolled back is not counted ahead of later ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inboxd.config import load_config
from inboxd.dev.demo import config_yaml
from inboxd.service.forecast import Forecaster
from inboxd.service.runtime import build_runtime
from inboxd.store import repo
from inboxd.store.db import make_engine, migrate

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class RolledBack(Exception):
    pass


@pytest.fixture
def store(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    yield repo.Store(engine)
    engine.dispose()


def test_a_case_rolled_back_is_not_counted_ahead_of_the_next(store, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("x\n")
    (tmp_path / "inboxd.yaml").write_text(config_yaml(support="s@x.example", imap_port=1, smtp_port=2,
                                                      password_file=secret, staff=[]))
    rt = build_runtime(load_config(tmp_path / "inboxd.yaml"), tmp_path)

    def open_case(conn, customer: str) -> int:
        _id, number = repo.insert_case(conn, mailbox="support", customer=customer, customer_name="C", subject="s",
                                       priority="normal", language="en", now=NOW)
        repo.update_case(conn, number, status="waiting_on_us")
        return number

    forecaster = Forecaster()
    with store.begin() as conn:
        first = open_case(conn, "first@x.example")
        assert forecaster.estimate(conn, rt, NOW, "normal", first).ahead == 0
    forecaster.settle(committed=True)
    with pytest.raises(RolledBack), store.begin() as conn:  # estimated, then the message's transaction failed
        lost = open_case(conn, "lost@x.example")
        assert forecaster.estimate(conn, rt, NOW + timedelta(seconds=1), "normal", lost).ahead == 1
        raise RolledBack
    forecaster.settle(committed=False)  # as inboxd.service.ingest.Processor does
    with store.begin() as conn:
        second = open_case(conn, "second@x.example")
        assert forecaster.estimate(conn, rt, NOW + timedelta(seconds=2), "normal", second).ahead == 1
    forecaster.settle(committed=True)
    with store.begin() as conn:
        third = open_case(conn, "third@x.example")
        assert forecaster.estimate(conn, rt, NOW + timedelta(seconds=3), "normal", third).ahead == 2

"""One daemon, many mailboxes, one database: watchers commit side by side and no message is lost.

On PostgreSQL the watchers' transactions really run at once; case numbers come from a sequence and
conflicts are retried. Also: daemons starting together on an empty database take turns to migrate it.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from inboxd.dev.demo import sample_mail
from inboxd.service.daemon import Daemon
from inboxd.store import repo
from inboxd.store.db import current_revision, make_engine
from inboxd.store.schema import cases as cases_table
from tests.integration.harness import many_mailboxes_config, wait_until

pytestmark = pytest.mark.integration

MAILBOXES = 12
BACKLOG = 8


def test_every_message_of_many_mailboxes_gets_its_own_case(tmp_path, dovecot, smtp_hub, mailboxes, database_url):
    addresses = [mailboxes(f"box{i}") for i in range(MAILBOXES)]
    for i, address in enumerate(addresses):
        with dovecot.imap(address) as client:
            for j in range(BACKLOG):
                sender = f"c{i}-{j}@customer.example"
                client.append("INBOX", sample_mail(sender, "A Customer", address, f"Request {i}/{j}", "Help."))
    total = MAILBOXES * BACKLOG
    daemon = Daemon(many_mailboxes_config(tmp_path, addresses, dovecot.imap_port, smtp_hub.port), database_url)
    daemon.start()
    try:
        def recorded() -> dict[str, int]:
            with daemon.store.connect() as conn:
                return repo.counts(conn)

        wait_until(lambda: recorded()["messages"] >= total, timeout=60)
        smtp_hub.wait_for(total, timeout=30)
        with daemon.store.connect() as conn:
            numbers = [row.number for row in conn.execute(select(cases_table.c.number))]
            distinct = conn.execute(select(func.count(func.distinct(cases_table.c.customer)))).scalar()
        assert recorded()["quarantined"] == 0
        assert len(numbers) == len(set(numbers)) == total and distinct == total
        assert min(numbers) == repo.FIRST_CASE_NUMBER
        assert len(smtp_hub.messages) == total
    finally:
        daemon.shutdown()


def test_daemons_starting_together_on_an_empty_database_both_migrate_it(database_url):
    env = dict(os.environ, INBOXD_DATABASE_URL=database_url)
    runs = [subprocess.Popen([sys.executable, "-m", "inboxd.cli.main", "migrate"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [(run.wait(60), run.stdout.read() if run.stdout else "", run.stderr.read() if run.stderr else "")
               for run in runs]
    assert [code for code, _, _ in results] == [0, 0, 0, 0], results
    engine = make_engine(database_url)
    assert current_revision(engine) is not None
    engine.dispose()


def test_case_numbers_continue_after_existing_cases_on_upgrade(database_url):
    """An existing database (0007) with cases up to 1500: the next case is 1501, on every backend."""
    from alembic import command
    from sqlalchemy import insert

    from inboxd.store.db import alembic_config, migrate

    engine = make_engine(database_url)
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")
    from datetime import UTC, datetime

    now = datetime(2026, 12, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(insert(cases_table), [
            {"number": number, "mailbox": "support", "status": "waiting_on_us", "priority": "normal",
             "language": "en", "customer": f"c{number}@x.example", "subject": "s", "opened_at": now,
             "last_activity_at": now} for number in (1001, 1500)])
    migrate(engine)
    store = repo.Store(engine)
    with store.begin() as conn:
        _, number = repo.insert_case(conn, mailbox="support", customer="new@x.example", customer_name="",
                                     subject="s", priority="normal", language="en", now=now)
    assert number == 1501
    engine.dispose()


def test_one_message_met_by_several_daemons_at_once_is_recorded_once(tmp_path, dovecot, smtp_hub, mailboxes,
                                                                      database_url):
    """Daemons sharing a mailbox and a database fetch the same message together: one records it, the others
    lose the race on its row, run their transaction again and find it recorded. Nobody quarantines it."""
    import threading

    address = mailboxes("support")
    config = many_mailboxes_config(tmp_path, [address], dovecot.imap_port, smtp_hub.port)
    daemons = [Daemon(config, database_url) for _ in range(6)]
    daemons[0].prepare()
    raw = sample_mail("race@customer.example", "A Customer", address, "Seen by everyone", "Help.")
    mailbox = daemons[0].runtime.mailbox("box0")
    barrier = threading.Barrier(len(daemons))
    outcomes: list[str] = []

    def process(daemon: Daemon) -> None:
        barrier.wait()
        outcomes.append(daemon.processor.process(mailbox, "inbox", "INBOX", 1, 1, raw).status)

    threads = [threading.Thread(target=process, args=(d,)) for d in daemons]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    with daemons[0].store.connect() as conn:
        counts = repo.counts(conn)
        sent = repo.outbox_counts(conn)
    for daemon in daemons:
        daemon.store.dispose()
    assert sorted(outcomes) == ["duplicate"] * (len(daemons) - 1) + ["processed"]
    assert counts["quarantined"] == 0 and counts["messages"] == 1 and sent == {"pending": 1}

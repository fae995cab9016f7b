"""Several daemons on one database: leases, the spread of mailboxes, fencing of claims, one daemon per SQLite file.

The coordination runs on PostgreSQL in production; its queries are portable, so they are checked on SQLite too.
Heartbeats are driven by hand here (``Coordinator.beat``); the real timing is the failover test's
(tests/e2e/test_failover.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from inboxd.config import load_config
from inboxd.dev.demo import config_yaml
from inboxd.errors import DatabaseConfigError, TransientError
from inboxd.service.forecast import Forecaster
from inboxd.service.nodes import Coordinator, DaemonLock
from inboxd.service.runtime import build_runtime
from inboxd.store import nodes as store_nodes
from inboxd.store import repo
from inboxd.store.db import make_engine, migrate
from inboxd.store.schema import leases
from tests.integration.harness import make_setup, wait_until

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
TTL = timedelta(seconds=15)


@pytest.fixture
def store(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    yield repo.Store(engine)
    engine.dispose()


def test_a_lease_has_one_holder_until_it_lapses_and_each_new_holder_a_higher_token(store):
    with store.begin() as conn:
        first = store_nodes.acquire_lease(conn, "mailbox:a", "n1", NOW, TTL)
        assert store_nodes.acquire_lease(conn, "mailbox:a", "n2", NOW + timedelta(seconds=5), TTL) is None
        assert store_nodes.renew_leases(conn, "n1", NOW + timedelta(seconds=10), TTL) == {"mailbox:a": first}
        # Renewed at +10 s: still n1's at +20 s; lapsed at +26 s, when n2 takes it with a higher token.
        assert store_nodes.acquire_lease(conn, "mailbox:a", "n2", NOW + timedelta(seconds=20), TTL) is None
        second = store_nodes.acquire_lease(conn, "mailbox:a", "n2", NOW + timedelta(seconds=26), TTL)
        assert first is not None and second is not None and second > first
        assert store_nodes.renew_leases(conn, "n1", NOW + timedelta(seconds=27), TTL) == {}
        assert not store_nodes.release_lease(conn, "mailbox:a", "n1")  # not n1's any more
        assert store_nodes.release_lease(conn, "mailbox:a", "n2")
        assert store_nodes.current_holders(conn, NOW + timedelta(seconds=27)) == {}
        third = store_nodes.acquire_lease(conn, "mailbox:a", "n1", NOW + timedelta(seconds=27), TTL)
        assert third is not None and third > second


def _enqueue(conn, key: str) -> None:
    repo.enqueue(conn, idempotency_key=key, message_id=f"<{key}@x.example>", kind="ack", case_id=None,
                 mailbox="support", mail_from="support@x.example", rcpt_to=["c@x.example"], raw=b"x", now=NOW,
                 copy_wanted=False)


def test_only_the_claim_s_owner_completes_a_message(store):
    with store.begin() as conn:
        _enqueue(conn, "k1")
        (row,) = repo.claim_outbox(conn, NOW, worker="n1", lease=TTL)
        # n1 renews while it sends; then it is cut off, the claim lapses and n2 takes the message over.
        assert store_nodes.renew_outbox_claims(conn, [row.id], "n1", NOW + timedelta(seconds=20)) == 1
        assert repo.claim_outbox(conn, NOW + timedelta(seconds=19), worker="n2", lease=TTL) == []
        (again,) = repo.claim_outbox(conn, NOW + timedelta(seconds=21), worker="n2", lease=TTL)
        assert again.id == row.id
        assert store_nodes.renew_outbox_claims(conn, [row.id], "n1", NOW + timedelta(minutes=1)) == 0
        assert not repo.mark_sent(conn, row.id, NOW, "n1")
        assert not repo.mark_retry(conn, row.id, "451", NOW, "n1")
        assert repo.mark_sent(conn, row.id, NOW, "n2")
        assert repo.outbox_counts(conn) == {"sent": 1}


def test_a_leaving_daemon_gives_its_claims_back_at_once(store):
    with store.begin() as conn:
        _enqueue(conn, "k1")
        _enqueue(conn, "k2")
        assert len(repo.claim_outbox(conn, NOW, worker="n1", lease=TTL)) == 2
        assert store_nodes.release_claims_of(conn, "n1", NOW) == 2
        assert len(repo.claim_outbox(conn, NOW, worker="n2", lease=TTL)) == 2


def test_a_due_item_is_handled_only_while_its_claim_stands(store):
    with store.begin() as conn:
        repo.schedule(conn, key="reminder:1", kind="reminder", case_id=None, due_at=NOW, payload={}, now=NOW)
        (item,) = repo.claim_due(conn, NOW, "n1", lease=TTL)
        assert repo.holds_claim(conn, item.id, "n1") and not repo.holds_claim(conn, item.id, "n2")
        (again,) = repo.claim_due(conn, NOW + timedelta(seconds=16), "n2", lease=TTL)
        assert not repo.holds_claim(conn, item.id, "n1") and repo.holds_claim(conn, item.id, "n2")


class Node:
    """A Coordinator whose watchers are a set: what it serves."""

    def __init__(self, store, name: str, mailboxes: list[str]) -> None:
        self.serving: set[str] = set()
        self.coordinator = Coordinator(store, name=name, mailboxes=lambda: mailboxes,
                                       on_acquire=self.serving.add, on_release=self.serving.discard)

    def beat(self) -> set[str]:
        self.coordinator.beat()
        return set(self.serving)


def test_mailboxes_spread_when_a_daemon_joins_and_move_when_one_leaves_or_dies(store):
    boxes = ["a", "b"]
    n1, n2, n3 = Node(store, "n1", boxes), Node(store, "n2", boxes), Node(store, "n3", boxes)
    assert n1.beat() == {"a", "b"} and n1.coordinator.leads()
    assert n2.beat() == set() and not n2.coordinator.leads()  # n1 still holds both
    assert n1.beat() == {"a"}  # n2 is live now: n1 gives "b" up (after its watchers stopped) …
    assert n2.beat() == {"b"}  # … and n2 takes it
    assert n3.beat() == set()  # two mailboxes, three daemons: one stands by
    assert (n1.beat(), n2.beat(), n3.beat()) == ({"a"}, {"b"}, set())
    # n1 leaves cleanly: its mailbox and the tick go at once.
    n1.coordinator.leave()
    n3.beat()
    n2.beat()
    assert n2.serving | n3.serving == {"a", "b"} and not n2.serving & n3.serving
    assert n2.coordinator.leads() or n3.coordinator.leads()
    # n2 dies: nothing is given back, its leases lapse (here: made to lapse) and n3 takes its mailbox.
    with store.begin() as conn:
        long_ago = datetime(2020, 1, 1, tzinfo=UTC)  # before the database's now, whatever the test's NOW
        conn.execute(update(leases).where(leases.c.holder == "n2").values(expires_at=long_ago))
        conn.execute(update(store_nodes.nodes).where(store_nodes.nodes.c.name == "n2")
                     .values(heartbeat_at=long_ago + timedelta(minutes=5)))
    assert n3.beat() == {"a", "b"} and n3.coordinator.leads()
    # Had n2 only been cut off, whatever it still records of a message is refused (the fencing token) …
    with pytest.raises(TransientError, match="mailbox b: this daemon no longer holds it"), store.begin() as conn:
        n2.coordinator.fence(conn, "b")
    with store.begin() as conn:
        n3.coordinator.fence(conn, "b")
    # … and its next heartbeat finds the leases gone: its watchers stop.
    assert n2.beat() == set() and not n2.coordinator.leads()


def test_a_second_daemon_on_one_sqlite_file_is_refused(tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes)
    first = setup.daemon()
    first.start()
    try:
        second = setup.daemon()
        with pytest.raises(DatabaseConfigError, match="another inboxd daemon .* runs on .*inboxd.db; one daemon"):
            second.start()
        assert second.watchers == []
        second.shutdown()
    finally:
        first.shutdown()
    again = setup.daemon()
    again.start()  # the lock went with the daemon that held it
    again.shutdown()


def test_the_lock_file_is_beside_the_database(tmp_path):
    lock = DaemonLock(tmp_path / "inboxd.db")
    lock.acquire()
    try:
        assert (tmp_path / "inboxd.db.daemon.lock").read_text().count(":") == 1
        with pytest.raises(DatabaseConfigError):
            DaemonLock(tmp_path / "inboxd.db").acquire()
    finally:
        lock.release()


def test_the_shared_forecast_counts_cases_other_daemons_opened(store, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("x\n")
    (tmp_path / "inboxd.yaml").write_text(config_yaml(support="s@x.example", imap_port=1, smtp_port=2,
                                                      password_file=secret, staff=[]))
    rt = build_runtime(load_config(tmp_path / "inboxd.yaml"), tmp_path)

    def open_case(conn, customer: str, at: datetime) -> int:
        _id, number = repo.insert_case(conn, mailbox="support", customer=customer, customer_name="C", subject="s",
                                       priority="normal", language="en", now=at)
        repo.update_case(conn, number, status="waiting_on_us")
        return number

    shared, alone = Forecaster(shared=True), Forecaster()
    with store.begin() as conn:
        number = open_case(conn, "first@x.example", NOW - timedelta(minutes=10))
        assert shared.estimate(conn, rt, NOW, "normal", number).ahead == 0
        assert alone.estimate(conn, rt, NOW, "normal", number).ahead == 0
    with store.begin() as conn:  # another daemon opens ten cases
        for i in range(10):
            open_case(conn, f"other{i}@x.example", NOW - timedelta(minutes=5))
    with store.begin() as conn:
        number = open_case(conn, "mine@x.example", NOW)
        counted = shared.estimate(conn, rt, NOW, "normal", number)
        missed = alone.estimate(conn, rt, NOW, "normal", number)
    # Within the refit interval: the shared forecast counts the other daemon's ten; one counting in its own
    # memory sees only the first case.
    assert (counted.ahead, missed.ahead) == (11, 1)


def test_a_daemon_on_postgresql_serves_its_mailbox_and_a_reload_keeps_one_watcher_per_folder(
        tmp_path, dovecot, smtp_hub, mailboxes, database_url):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, database_url=database_url)
    daemon = setup.daemon()
    daemon.start()
    try:
        wait_until(lambda: len(daemon.watchers) == 2 and all(w.status.last_poll for w in daemon.watchers), timeout=20)
        assert (daemon.cluster is not None) == database_url.startswith("postgresql")
        setup.config_path.write_text(setup.config_path.read_text().replace("poll_interval: 5s", "poll_interval: 7s"))
        assert daemon.reload()
        wait_until(lambda: all(w.status.last_poll for w in daemon.watchers), timeout=20)
        assert sorted(w.folder for w in daemon.watchers) == ["INBOX", "Sent"]
        customer = mailboxes("customer")
        setup.deliver(setup.customer_mail(customer, "After the reload"), sender=customer)
        setup.hub.wait_for(1, timeout=20, predicate=lambda m: m.rcpt_tos == [customer])
        if daemon.cluster is not None:
            assert daemon.cluster.leads() and "serving 1 of 1 mailboxes, tick leader" in daemon.status_line()
    finally:
        daemon.shutdown()
    if database_url.startswith("postgresql"):
        with daemon.store.engine.connect() as conn:  # it left: nothing held, no node row
            assert store_nodes.read_leases(conn) == [] and store_nodes.read_nodes(conn) == []

"""Not a tool against anyone: unguessable Message-IDs, strangers kept off cases, no reflected or backscattered acks.

Over the real IMAP path (Dovecot) and SMTP hub, with a controlled clock.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from inboxd.core.clock import FrozenClock
from inboxd.dev.demo import sample_mail
from inboxd.service.daemon import Daemon
from inboxd.store import repo
from inboxd.store.db import alembic_config, make_engine, migrate
from tests.integration.harness import TUESDAY_MORNING, Setup, case_detail, cases, make_setup

pytestmark = pytest.mark.integration

# A Tuesday morning in Berlin: the team is at work.
T0 = TUESDAY_MORNING


def started(setup: Setup, clock: FrozenClock | None = None) -> Daemon:
    daemon = Daemon(setup.config_path, setup.database_url, clock=clock or FrozenClock(T0))
    daemon.prepare()
    daemon.run_once()
    return daemon


@pytest.fixture
def env(tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes)
    clock = FrozenClock(T0)
    return setup, started(setup, clock), clock


# -- guessable Message-IDs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["In-Reply-To", "References"])
def test_a_stranger_citing_the_ack_cannot_opt_the_customer_out(env, mailboxes, header):
    setup, daemon, _ = env
    ann, mallory = mailboxes("ann"), mailboxes("mallory")
    setup.deliver(setup.customer_mail(ann, "My invoice"), sender=ann)
    daemon.run_once()
    (ack,) = setup.dovecot.wait_for(ann, count=1)
    # Mallory cites the acknowledgement (no case token in the subject) and asks to stop.
    setup.deliver(sample_mail(mallory, "Mallory", setup.support, "stop", "stop",
                              **{header.replace("-", "_"): ack["Message-ID"]}), sender=mallory)
    daemon.run_once()
    rows = {c["customer"]: c["number"] for c in cases(daemon)}
    assert set(rows) == {ann, mallory}
    anns = case_detail(daemon, rows[ann])
    assert not anns["updates_opted_out"]
    assert [m["from_addr"] for m in anns["messages"] if m["kind"] == "customer"] == [ann]
    assert case_detail(daemon, rows[mallory])["linked_to"] == rows[ann]
    # Ann herself still can.
    setup.deliver(setup.customer_mail(ann, "stop", "stop", In_Reply_To=ack["Message-ID"]), sender=ann)
    daemon.run_once()
    assert case_detail(daemon, rows[ann])["updates_opted_out"]


def test_someone_copied_on_the_case_still_joins_it(env, mailboxes):
    setup, daemon, _ = env
    ann, colleague = mailboxes("ann"), mailboxes("colleague")
    setup.deliver(setup.customer_mail(ann, "Printer", Cc=colleague), sender=ann)
    daemon.run_once()
    (ack,) = setup.dovecot.wait_for(ann, count=1)
    setup.deliver(setup.customer_mail(colleague, "Re: Printer", "It is the toner.", References=ack["Message-ID"]),
                  sender=colleague)
    daemon.run_once()
    (case,) = cases(daemon)
    messages = case_detail(daemon, case["number"])["messages"]
    assert [m["from_addr"] for m in messages if m["kind"] == "customer"] == [ann, colleague]


def test_ack_message_ids_cannot_be_derived_from_public_data(tmp_path, dovecot, smtp_hub, mailboxes):
    ids = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        setup = make_setup(tmp_path / name, dovecot, smtp_hub, mailboxes)
        daemon = started(setup)
        customer = mailboxes("ann")
        setup.deliver(setup.customer_mail(customer, "Help"), sender=customer)
        daemon.run_once()
        (ack,) = setup.dovecot.wait_for(customer, count=1)
        assert [c["number"] for c in cases(daemon)] == [1001]  # the same idempotency key, ack:1001
        ids.append(ack["Message-ID"].strip("<>"))
        # The same installation after a restart: the same secret, so a retried send keeps its Message-ID.
        again = Daemon(setup.config_path, setup.database_url)
        again.prepare()
        assert again.runtime.message_id_secret == daemon.runtime.message_id_secret
        assert again.reload() and again.runtime.message_id_secret == daemon.runtime.message_id_secret
        assert "message_id_secret" not in repr(again.runtime)
    one, two = ids
    assert one != two
    assert hashlib.sha256(b"ack:1001").hexdigest()[:20] not in one


def test_stored_message_ids_survive_the_upgrade(database_url):
    """A database from before keyed Message-IDs: queued mail keeps its IDs, and replies still find their case."""
    engine = make_engine(database_url)
    cfg = alembic_config(engine)
    (guards,) = [r for r in ScriptDirectory.from_config(cfg).walk_revisions() if r.revision.endswith("_guards")]
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, str(guards.down_revision))  # the schema just before this change
    legacy = "inboxd.ack." + hashlib.sha256(b"ack:1001").hexdigest()[:20] + "@example.com"
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO cases (number, mailbox, status, priority, language, customer, subject, opened_at, "
            "last_activity_at, updates_opted_out) VALUES (1001, 'support', 'waiting_on_us', 'normal', 'en', "
            "'ann@customer.example', 'Help', :t, :t, :f)"), {"t": T0, "f": False})
        case_id = conn.execute(sa.text("SELECT id FROM cases WHERE number = 1001")).scalar()
        conn.execute(sa.text(
            "INSERT INTO outbox (idempotency_key, message_id, kind, case_id, mailbox, mail_from, rcpt_to, raw, "
            "state, attempts, next_attempt_at, created_at) VALUES ('ack:1001', :mid, 'ack', :case, 'support', "
            "'support@example.com', :rcpt, :raw, 'pending', 0, :t, :t)"),
            {"mid": legacy, "case": case_id, "rcpt": '["Ann@Customer.example"]', "raw": b"x", "t": T0})
    migrate(engine)
    store = repo.Store(engine)
    with store.begin() as conn:
        assert repo.is_own_message_id(conn, legacy)
        assert repo.ConnIndex(conn).case_for_message_ids([legacy]) == 1001
        assert repo.acks_to(conn, "ann@customer.example", T0 - timedelta(days=1)) == 1
        secret = repo.message_id_secret(conn)
        assert len(secret) == 32 and repo.message_id_secret(conn) == secret
    engine.dispose()


# -- reflected acknowledgements -----------------------------------------------------------------------------


def test_many_senders_naming_one_reply_to_cannot_flood_it(env, mailboxes):
    setup, daemon, clock = env
    victim = mailboxes("victim")
    for i in range(12):
        attacker = f"promo{i}@evil{i}.example"
        setup.deliver(setup.customer_mail(attacker, f"WIN BIG at evil{i}.example/claim", "Click now",
                                          Reply_To=victim), sender=attacker)
        clock.advance(timedelta(minutes=1))
    daemon.run_once()
    acks = setup.acks_for(victim)
    assert len(acks) == 5  # loop_guard.acks_per_sender (5/1d), counted for the address we send to
    for ack in acks:
        text = ack.as_string()
        assert "evil" not in text and "WIN BIG" not in text and "Click" not in text
        assert ack["In-Reply-To"] is None
    assert len(cases(daemon)) == 12  # every message still has its case
    (alert,) = setup.dovecot.fetch_all(setup.staff)
    assert victim in alert["Subject"]


def test_a_reply_to_in_the_senders_domain_gets_the_usual_ack(env, mailboxes):
    setup, daemon, _ = env
    ann, office = mailboxes("ann"), mailboxes("office")  # the same domain
    setup.deliver(setup.customer_mail(ann, "Toner order", Reply_To=office), sender=ann)
    daemon.run_once()
    (ack,) = setup.dovecot.wait_for(office, count=1)
    assert "Toner order" in ack["Subject"]
    assert setup.dovecot.fetch_all(ann) == []


def test_the_global_limit_holds_acks_and_tells_staff_once(tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, extra="loop_guard: {acks_total: 3/1h}\n")
    clock = FrozenClock(T0)
    daemon = started(setup, clock)
    customers = [mailboxes("c") for _ in range(6)]
    for customer in customers[:5]:
        setup.deliver(setup.customer_mail(customer, "Outage?"), sender=customer)
    daemon.run_once()
    clock.advance(timedelta(minutes=10))
    setup.deliver(setup.customer_mail(customers[5], "Outage?"), sender=customers[5])
    daemon.run_once()
    assert sum(len(setup.acks_for(c)) for c in customers) == 3
    assert len(cases(daemon)) == 6
    (alert,) = setup.dovecot.fetch_all(setup.staff)
    assert "Acknowledgements paused" in alert["Subject"]


# -- backscatter ---------------------------------------------------------------------------------------------


def test_mail_our_server_found_forged_is_recorded_but_not_acknowledged(tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes)
    setup.trust_authserv("mx.example.com")
    daemon = started(setup)
    victim, genuine = mailboxes("victim"), mailboxes("genuine")
    forged = (b"Authentication-Results: mx.example.com; spf=fail smtp.mailfrom=example.com; dkim=none; "
              b"dmarc=fail (p=none) header.from=example.com\r\n" + setup.customer_mail(victim, "Invoice attached"))
    setup.deliver(forged, sender=victim)
    passed = (b"Authentication-Results: mx.example.com; dkim=pass header.d=example.com; "
              b"dmarc=pass header.from=example.com\r\n" + setup.customer_mail(genuine, "Invoice question"))
    setup.deliver(passed, sender=genuine)
    daemon.run_once()
    rows = {c["customer"]: c["number"] for c in cases(daemon)}
    assert set(rows) == {victim, genuine}
    detail = case_detail(daemon, rows[victim])
    assert detail["sent"] == []
    assert "not_acknowledged.forged_sender" in [e["kind"] for e in detail["events"]]
    assert setup.dovecot.fetch_all(victim) == []
    assert len(setup.dovecot.wait_for(genuine, count=1)) == 1
    assert setup.dovecot.fetch_all(setup.staff) == []  # no alert per forged message


def test_daemons_starting_together_share_one_secret(database_url):
    """Several daemons on one database: whichever makes the secret first, all key their Message-IDs with it."""
    engine = make_engine(database_url)
    migrate(engine)
    stores = [repo.Store(make_engine(database_url)) for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    secrets: list[bytes] = []

    def start(store: repo.Store) -> None:
        barrier.wait()
        with store.begin() as conn:
            secrets.append(repo.message_id_secret(conn))

    threads = [threading.Thread(target=start, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(secrets) == len(stores) and len(set(secrets)) == 1
    for store in stores:
        store.dispose()
    engine.dispose()

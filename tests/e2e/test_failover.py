"""Three `inboxd run` processes on one PostgreSQL database, two mailboxes in a real Dovecot, one daemon killed.

While customers write to both mailboxes, the daemon serving one of them is killed with SIGKILL. Then:

- every message has its case (none quarantined, none twice), every case exactly one acknowledgement — except
  the documented SMTP window (killed between the server's 250 and the record): then the same message, with the
  same Message-ID, may arrive twice, and only from a message the killed daemon never recorded as sent;
- the killed daemon's mailbox is served by another daemon within 30 s (``LEASE_SECONDS`` and a heartbeat);
- nobody got a delay notice: the acknowledgements' promises counted one queue, read from the database.

Skipped without INBOXD_TEST_POSTGRES_URL (CI sets it). The figures: ``pytest -s tests/e2e/test_failover.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from inboxd.cli.main import main
from inboxd.dev.demo import sample_mail
from inboxd.dev.mailserver import Dovecot, SmtpHub
from inboxd.store.db import make_engine
from inboxd.store.schema import cases, leases, messages, outbox, promises
from tests.conftest import POSTGRES_URL_ENV, _postgres_schema_url
from tests.integration.harness import many_mailboxes_config, wait_until

pytestmark = pytest.mark.e2e

DAEMONS = 3
PER_MAILBOX = 20  # customer mails per mailbox, half before the kill, half after
SERVED_AGAIN_WITHIN = 30.0  # seconds from the kill until another daemon holds the killed one's mailbox


@pytest.fixture
def postgres_url() -> Iterator[str]:
    base = os.environ.get(POSTGRES_URL_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set")
    yield from _postgres_schema_url(base)


class Daemon:
    """One `inboxd run` process with its JSON log."""

    def __init__(self, index: int, config: Path, database_url: str, tmp_path: Path) -> None:
        self.log_path = tmp_path / f"daemon-{index}.log"
        env = dict(os.environ, INBOXD_CONFIG=str(config), INBOXD_DATABASE_URL=database_url,
                   INBOXD_LOG_FORMAT="json", PYTHONPATH=str(Path(__file__).resolve().parents[2]))
        env.pop("NOTIFY_SOCKET", None)
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "inboxd.cli", "run"], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def events(self) -> list[dict[str, object]]:
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
        return found

    def node(self) -> str | None:
        return next((str(e["node"]) for e in self.events() if e.get("event") == "nodes.joined"), None)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(30)
        self.log.close()
        return code


def test_a_killed_daemon_s_mailbox_moves_and_nothing_is_lost_or_doubled(tmp_path, dovecot: Dovecot,
                                                                         smtp_hub: SmtpHub, mailboxes,
                                                                         postgres_url: str, capsys) -> None:
    addresses = [mailboxes("box0"), mailboxes("box1")]
    for address in addresses:
        with dovecot.imap(address) as client:
            client.create_folder("Sent")
    config = many_mailboxes_config(tmp_path, addresses, dovecot.imap_port, smtp_hub.port, sent_copies=True)
    engine = make_engine(postgres_url)
    daemons = [Daemon(i, config, postgres_url, tmp_path) for i in range(DAEMONS)]
    try:
        nodes = wait_until(lambda: all(d.node() for d in daemons) and [d.node() for d in daemons], timeout=90)

        def holders() -> dict[str, str]:
            with engine.connect() as conn:
                rows = conn.execute(select(leases.c.name, leases.c.holder).where(leases.c.holder.isnot(None),
                                                                                 leases.c.expires_at > func.now()))
                return {str(r.name): str(r.holder) for r in rows}

        def spread() -> dict[str, str] | None:
            h = holders()
            if {"mailbox:box0", "mailbox:box1", "tick"} <= h.keys() and h["mailbox:box0"] != h["mailbox:box1"]:
                return h
            return None

        # The two mailboxes on two different daemons: spread over the live daemons (whoever started first took
        # both, and gave one up when the others joined).
        held = wait_until(spread, timeout=30)
        assert {held["mailbox:box0"], held["mailbox:box1"]} <= set(nodes)

        sent: list[tuple[str, str, str]] = []  # (mailbox address, customer, Message-ID)
        half = threading.Event()

        def customers_write() -> None:
            for n in range(PER_MAILBOX):
                for index, address in enumerate(addresses):
                    customer = f"c{index}-{n}@customer.example"
                    raw = sample_mail(customer, "A Customer", address, f"Request {index}/{n}", "Please help.")
                    dovecot.deliver(address, raw, sender=customer)
                    message_id = next(line for line in raw.decode().splitlines() if line.startswith("Message-ID:"))
                    sent.append((address, customer, message_id.split(":", 1)[1].strip().strip("<>")))
                if n == PER_MAILBOX // 2:
                    half.set()
                time.sleep(0.25)

        writer = threading.Thread(target=customers_write)
        writer.start()
        half.wait(30)
        victim_node = held["mailbox:box0"]
        victim = next(d for d in daemons if d.node() == victim_node)
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(10)
        killed_at = time.monotonic()
        moved = wait_until(lambda: (h := holders()).get("mailbox:box0") not in (None, victim_node) and h,
                           timeout=SERVED_AGAIN_WITHIN, interval=0.2)
        served_again = time.monotonic() - killed_at
        assert moved["mailbox:box0"] in set(nodes) - {victim_node}
        writer.join(60)
        total = 2 * PER_MAILBOX
        assert len(sent) == total

        def acknowledged() -> bool:
            with engine.connect() as conn:
                acks = conn.execute(select(func.count()).select_from(outbox)
                                    .where(outbox.c.kind == "ack", outbox.c.state == "sent")).scalar()
            return acks == total

        waited = time.monotonic()
        wait_until(acknowledged, timeout=60, interval=0.5)
        all_done = time.monotonic() - waited

        # `inboxd status` shows who is alive, who serves which mailbox and who leads the tick.
        capsys.readouterr()
        main(["status", "--json", "--database-url", postgres_url])
        report = json.loads(next(line for line in capsys.readouterr().out.splitlines() if line.startswith('{"up"')))
        now_held = holders()
        assert {n["name"] for n in report["nodes"] if n["alive"]} == set(nodes) - {victim_node}
        assert [n["mailboxes"] for n in report["nodes"] if n["name"] == victim_node] in ([[]], [])
        assert {m["name"]: m["holder"] for m in report["mailboxes"]} == {
            "box0": now_held["mailbox:box0"], "box1": now_held["mailbox:box1"]}
        assert report["tick_leader"] == now_held["tick"] != victim_node

        with engine.connect() as conn:
            rows = conn.execute(select(messages.c.message_id, messages.c.status, messages.c.case_id)
                                .where(messages.c.direction == "in")).all()
            ack_rows = conn.execute(select(outbox.c.case_id, outbox.c.message_id)
                                    .where(outbox.c.kind == "ack")).all()
            case_count = conn.execute(select(func.count()).select_from(cases)).scalar()
            delay_promises = conn.execute(select(func.count()).select_from(promises)
                                          .where(promises.c.source == "delay_notice")).scalar()
            delay_mail = conn.execute(select(func.count()).select_from(outbox)
                                      .where(outbox.c.kind == "delay")).scalar()
        by_id = {r.message_id.strip("<>"): r for r in rows}
        # Every message has its case, once: nothing quarantined, nothing recorded twice.
        assert Counter(r.message_id for r in rows).most_common(1)[0][1] == 1
        assert [mid for _a, _c, mid in sent if mid not in by_id] == []
        assert [r.message_id for r in rows if r.status != "processed" or r.case_id is None] == []
        assert case_count == total
        # Every case exactly one acknowledgement queued …
        assert sorted(Counter(r.case_id for r in ack_rows).values()) == [1] * total
        # … and delivered once: a second copy only in the SMTP window (the same Message-ID, which the killed
        # daemon sent but never recorded).
        recorded_by_victim = {str(e.get("message_id")).strip("<>") for e in victim.events()
                              if e.get("event") == "mail.sent"}
        twice = []
        for _address, customer, _mid in sent:
            got = [m for m in smtp_hub.messages if m.rcpt_tos == [customer]]
            ids = {str(m.message["Message-ID"]).strip("<>") for m in got}
            assert len(got) >= 1 and len(ids) == 1, (customer, len(got), ids)
            if len(got) > 1:
                twice.append(customer)
                assert len(got) == 2 and ids.pop() not in recorded_by_victim
        # No needless delay notice: every daemon's promises counted the one queue in the database.
        assert delay_promises == 0 and delay_mail == 0
        print(f"\nFAILOVER {DAEMONS} daemons, {total} mails: mailbox served again {served_again:5.1f} s after "
              f"SIGKILL, all acknowledged {all_done:5.1f} s later, sent twice in the SMTP window {len(twice)}")
    finally:
        codes = []
        for daemon in daemons:
            if daemon.proc.poll() is None:
                codes.append(daemon.stop(signal.SIGTERM))
            elif not daemon.log.closed:
                daemon.log.close()
        engine.dispose()
    assert codes == [0] * (DAEMONS - 1)
    for daemon in daemons:
        assert "Traceback" not in daemon.log_path.read_text(errors="replace")

"""Faults of the database are ours, not the message's: a full disk stalls, nothing is quarantined or lost.

The disk is a real size-limited filesystem (a tmpfs mounted for the test), filled with a file until the
kernel says ENOSPC, so SQLite meets "database or disk is full" where it would in production.
"""

from __future__ import annotations

import errno
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from inboxd.core.clock import FrozenClock, SystemClock
from inboxd.errors import TransientError
from inboxd.service.outbox import Sender
from inboxd.store import repo
from tests.integration.harness import Setup, cases, make_setup, wait_until

pytestmark = pytest.mark.integration


@dataclass
class SmallDisk:
    """A 16 MiB filesystem of its own, which the test fills up and frees again."""

    path: Path

    @property
    def database(self) -> Path:
        return self.path / "inboxd.db"

    def fill(self) -> None:
        """Use every free byte; first shrink SQLite's write-ahead log, so that the next write needs new space."""
        with sqlite3.connect(self.database, timeout=10) as db:
            while db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] != 0:
                pass
        with open(self.path / "filler", "ab", buffering=0) as filler:
            for chunk in (1 << 20, 1 << 12, 1):
                try:
                    while True:
                        filler.write(b"\0" * chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC

    def free(self) -> None:
        (self.path / "filler").unlink()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A tmpfs mounted under tmp_path (needs root, or a machine that allows the mount); unmounted after."""
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], check=True,
                       capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", None) or str(exc)
        pytest.skip(f"cannot mount a size-limited tmpfs for the disk-full test: {detail.strip()}")
    try:
        yield SmallDisk(mount)
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, capture_output=True, timeout=20)


def _setup(tmp_path: Path, dovecot: Any, hub: Any, mailboxes: Any, disk: SmallDisk) -> Setup:
    return make_setup(tmp_path, dovecot, hub, mailboxes, sent_folder=None,
                      database_url=f"sqlite:///{disk.database}")


def _watermark(daemon: Any, mailbox: str) -> int:
    with daemon.store.connect() as conn:
        state = repo.get_folder_state(conn, mailbox, "INBOX")
    assert state is not None
    return state.last_uid


def _counts(daemon: Any) -> dict[str, int]:
    with daemon.store.connect() as conn:
        return repo.counts(conn)


def test_message_on_a_full_disk_waits_and_is_processed_once_space_is_back(
        tmp_path, dovecot, smtp_hub, mailboxes, small_disk):
    setup = _setup(tmp_path, dovecot, smtp_hub, mailboxes, small_disk)
    daemon = setup.started()
    mailbox = daemon.runtime.mailbox("support")
    customer = mailboxes("customer")
    raw = setup.customer_mail(customer, "Written while the disk was full")
    before = _watermark(daemon, "support")

    small_disk.fill()
    with pytest.raises(TransientError, match="database or disk is full"):
        daemon.processor.process(mailbox, "inbox", "INBOX", 1, before + 1, raw)
    with pytest.raises(TransientError):
        daemon.processor.process(mailbox, "inbox", "INBOX", 1, before + 1, raw)
    small_disk.free()

    # Nothing of it was recorded: no quarantine, no case, and the watermark did not move past it.
    assert _counts(daemon)["quarantined"] == 0 and _counts(daemon)["messages"] == 0
    assert _watermark(daemon, "support") == before
    outcome = daemon.processor.process(mailbox, "inbox", "INBOX", 1, before + 1, raw)
    assert outcome.status == "processed" and outcome.acknowledged
    assert daemon.processor.process(mailbox, "inbox", "INBOX", 1, before + 1, raw).status == "duplicate"
    daemon.sender.flush()
    setup.hub.wait_for(1, timeout=10, predicate=lambda m: m.rcpt_tos == [customer])
    assert [m.rcpt_tos for m in setup.hub.messages] == [[customer]]
    assert [c["customer"] for c in cases(daemon)] == [customer]
    assert _watermark(daemon, "support") == before + 1
    daemon.store.dispose()


def test_running_daemon_on_a_full_disk_shows_it_and_catches_up_without_loss(
        tmp_path, dovecot, smtp_hub, mailboxes, small_disk):
    setup = _setup(tmp_path, dovecot, smtp_hub, mailboxes, small_disk)
    daemon = setup.daemon()
    daemon.start()
    try:
        wait_until(lambda: all(w.status.last_poll for w in daemon.watchers), timeout=10)
        small_disk.fill()
        customers = [mailboxes("customer") for _ in range(3)]
        for customer in customers:
            setup.deliver(setup.customer_mail(customer, "Disk full"), sender=customer)
        wait_until(lambda: "database unavailable" in daemon.status_line(), timeout=15)
        daemon.tick()  # due work on a full disk: deferred, not lost
        small_disk.free()
        setup.hub.wait_for(len(customers), timeout=20)
        wait_until(lambda: len(cases(daemon)) == len(customers), timeout=10)
        assert _counts(daemon)["quarantined"] == 0
        assert sorted(m.rcpt_tos[0] for m in setup.hub.messages) == sorted(customers)
    finally:
        daemon.shutdown()


class _FillsDiskAfterSending:
    """An SMTP connection that fills the disk once the server has accepted the message: the worst moment."""

    def __init__(self, real: Any, disk: SmallDisk) -> None:
        self.real, self.disk = real, disk

    def connect(self) -> None:
        self.real.connect()

    def send(self, mail_from: str, rcpt_to: list[str], raw: bytes) -> None:
        self.real.send(mail_from, rcpt_to, raw)
        self.disk.fill()

    def close(self) -> None:
        self.real.close()


def test_sent_mail_is_recorded_once_the_disk_has_room_and_never_sent_twice(
        tmp_path, dovecot, smtp_hub, mailboxes, small_disk):
    setup = _setup(tmp_path, dovecot, smtp_hub, mailboxes, small_disk)
    daemon = setup.started()
    mailbox = daemon.runtime.mailbox("support")
    customer = mailboxes("customer")
    assert daemon.processor.process(mailbox, "inbox", "INBOX", 1, 10_000,
                                    setup.customer_mail(customer, "Ack me once")).acknowledged
    clock = FrozenClock(SystemClock().now())
    sender = Sender(daemon.store, lambda: daemon.runtime, clock,
                    lambda name: _FillsDiskAfterSending(daemon._smtp_for(name), small_disk))

    result = sender.flush()  # the server takes the ack; recording it fails on the full disk
    assert result.sent == 1
    setup.hub.wait_for(1, timeout=10)
    small_disk.free()
    # Long after the claim's lease: the ack is recorded as sent, not sent again.
    clock.advance(timedelta(minutes=30))
    sender.smtp_factory = daemon._smtp_for
    assert sender.flush().sent == 0
    with daemon.store.connect() as conn:
        assert repo.outbox_counts(conn) == {"sent": 1}
    assert [m.rcpt_tos for m in setup.hub.messages] == [[customer]]
    daemon.store.dispose()


def test_message_on_a_read_only_database_is_not_quarantined(tmp_path, dovecot, smtp_hub, mailboxes):
    """The admin's backup job left the database read-only: the message waits, it is not the message's fault."""
    from inboxd.service.ingest import Processor
    from inboxd.store.db import make_engine

    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, sent_folder=None)
    daemon = setup.started()
    path = setup.database_url.removeprefix("sqlite:///")
    read_only = repo.Store(make_engine(f"sqlite:///file:{path}?mode=ro&uri=true"))
    processor = Processor(read_only, lambda: daemon.runtime, daemon.clock)
    customer = mailboxes("customer")
    raw = setup.customer_mail(customer, "Written during the backup")
    with pytest.raises(TransientError, match="readonly database"):
        processor.process(daemon.runtime.mailbox("support"), "inbox", "INBOX", 1, 1, raw)
    read_only.dispose()
    assert _counts(daemon) == {"messages": 0, "quarantined": 0}
    assert daemon.processor.process(daemon.runtime.mailbox("support"), "inbox", "INBOX", 1, 1, raw).acknowledged
    daemon.store.dispose()

"""The real `inboxd run` process: readiness, SIGTERM, SIGHUP reload, and kill -9 mid-flight."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from inboxd.dev.demo import sample_mail
from tests.integration.harness import Setup, make_setup, wait_until

pytestmark = pytest.mark.e2e


class NotifySocket:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.received: list[str] = []

    def drain(self) -> list[str]:
        while True:
            try:
                self.received.append(self.sock.recv(65536).decode())
            except (TimeoutError, BlockingIOError):
                return self.received

    def wait_for(self, text: str, timeout: float = 90.0) -> str:
        return wait_until(lambda: next((m for m in self.drain() if text in m), None), timeout)

    def close(self) -> None:
        self.sock.close()


class Process:
    def __init__(self, setup: Setup, tmp_path: Path, notify: NotifySocket | None = None) -> None:
        self.log_path = tmp_path / f"daemon-{time.monotonic_ns()}.log"
        env = dict(os.environ, INBOXD_CONFIG=str(setup.config_path), INBOXD_DATABASE_URL=setup.database_url,
                   INBOXD_LOG_FORMAT="json", PYTHONPATH=str(Path(__file__).resolve().parents[2]))
        if notify is not None:
            env["NOTIFY_SOCKET"] = str(notify.path)
            env["WATCHDOG_USEC"] = "2000000"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "inboxd.cli.main", "run"], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, needle: str, timeout: float = 20.0, count: int = 1) -> None:
        wait_until(lambda: self.text().count(needle) >= count, timeout)

    def wait_synced(self) -> None:
        """Both folders had their first sync: mail delivered from now on is new to inboxd."""
        self.wait_log('"folder.first_sync"', count=2)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self.log.close()
        return code


@pytest.fixture
def setup(tmp_path, dovecot, smtp_hub, mailboxes):
    # As root, Dovecot cannot enter pytest's tmp_path, but inboxd only needs its config and database there.
    return make_setup(tmp_path, dovecot, smtp_hub, mailboxes)


def test_ready_ack_and_clean_sigterm(setup, tmp_path, mailboxes):
    notify = NotifySocket(tmp_path / "notify")
    daemon = Process(setup, tmp_path, notify)
    try:
        notify.wait_for("READY=1")
        daemon.wait_synced()
        setup.hub.clear()
        customer = mailboxes("customer")
        setup.deliver(setup.customer_mail(customer, "Help please"), sender=customer)
        (ack,) = setup.hub.wait_for(1, timeout=15, predicate=lambda m: m.rcpt_tos == [customer])
        assert "[#1001]" in ack.message["Subject"]
        # Every notification ever received is kept: the first with the status may be READY's, so look for the
        # watchdog's keep-alive carrying it.
        wait_until(lambda: next((m for m in notify.drain() if "WATCHDOG=1" in m and "STATUS=folders up 2/2" in m),
                                None), 60)
    finally:
        code = daemon.stop(signal.SIGTERM)
        notify.drain()
        notify.close()
    assert code == 0
    assert any("STOPPING=1" in m for m in notify.received)
    assert '"event": "daemon.stopped"' in daemon.text()


def test_sighup_keeps_old_config_when_new_one_is_broken(setup, tmp_path, mailboxes):
    daemon = Process(setup, tmp_path)
    try:
        daemon.wait_log('"daemon.started"')
        daemon.wait_synced()
        good = setup.config_path.read_text()
        setup.config_path.write_text(good.replace("timezone: Europe/Berlin", "timezone: Europe/Berln"))
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_log("config.reload_rejected")
        assert "team.timezone" in daemon.text()
        assert daemon.proc.poll() is None
        customer = mailboxes("customer")
        setup.hub.clear()
        setup.deliver(setup.customer_mail(customer, "Still there?"), sender=customer)
        setup.hub.wait_for(1, timeout=15, predicate=lambda m: m.rcpt_tos == [customer])  # still on the old config
        # A valid change is taken on the next reload.
        setup.config_path.write_text(good.replace("name: Example Support", "name: Renamed Support"))
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_log('"config.reloaded"')
        other = mailboxes("customer")
        setup.deliver(setup.customer_mail(other, "And now?"), sender=other)
        (renamed,) = setup.hub.wait_for(1, timeout=15, predicate=lambda m: m.rcpt_tos == [other])
        assert "Renamed Support" in renamed.message.get_body(("plain",)).get_content()
    finally:
        assert daemon.stop() == 0


def test_kill_9_mid_backlog_loses_nothing_and_sends_nothing_twice(tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, initial_sync="all", sent_folder=None)
    count = 150
    customers = [f"backlog{i}-{os.getpid()}@customer.example" for i in range(count)]
    with dovecot.imap(setup.support) as client:
        for i, customer in enumerate(customers):
            client.append("INBOX", sample_mail(customer, "C", setup.support, f"Backlog {i}", "Hello"))
    wanted = set(customers)

    def to_customers(message) -> bool:
        return bool(set(message.rcpt_tos) & wanted)

    first = Process(setup, tmp_path)
    try:
        smtp_hub.wait_for(20, timeout=30, predicate=to_customers)
    finally:
        first.stop(signal.SIGKILL)
    killed_at = len([m for m in smtp_hub.messages if to_customers(m)])
    assert killed_at < count, "the daemon finished before it could be killed: raise the count"
    second = Process(setup, tmp_path)
    try:
        smtp_hub.wait_for(count, timeout=60, predicate=to_customers)
        time.sleep(1.0)  # anything sent twice would arrive now
    finally:
        assert second.stop() == 0
    acks = [m for m in smtp_hub.messages if to_customers(m)]
    by_recipient = Counter(r for m in acks for r in m.rcpt_tos)
    assert set(by_recipient) == set(customers)  # nothing lost
    # Nothing twice: only the one message in flight at the kill may have been re-sent, and then with the
    # same Message-ID, which mail clients show once.
    repeats = {r: n for r, n in by_recipient.items() if n > 1}
    assert sum(n - 1 for n in repeats.values()) <= 1, repeats
    ids = Counter(m.message["Message-ID"] for m in acks)
    assert len(ids) == count

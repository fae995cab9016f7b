"""Watchers under faults: a dropped IDLE connection, a database that keeps failing. Seen at once, no busy loop,
no login storm, nothing lost."""

from __future__ import annotations

import json
import resource
import socket
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from structlog.testing import capture_logs

from inboxd.cli.main import main
from inboxd.errors import TransientError
from inboxd.service.sdnotify import Notifier
from inboxd.store import repo
from inboxd.transport.imap import ImapConnection
from tests.integration.harness import cases, make_setup, wait_until

pytestmark = pytest.mark.integration


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def test_dovecot_restart_mid_idle_is_seen_at_once_and_recovered(tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes)
    daemon = setup.daemon()
    daemon.start()
    seen: dict[str, float] = {}
    try:
        wait_until(lambda: all(w.status.idle and w.status.last_poll for w in daemon.watchers), timeout=10)
        with capture_logs() as logs:

            def while_down() -> None:
                wait_until(lambda: daemon.status_line().startswith("folders up 0/2"), timeout=5)
                assert any(e["event"] == "imap.disconnected" and e["folder"] == "INBOX" for e in list(logs))
                # While the server is down the watchers wait out a backoff: few attempts, hardly any CPU.
                connects = sum(w.status.connects for w in daemon.watchers)
                cpu, started = _cpu_seconds(), time.monotonic()
                wait_until(lambda: time.monotonic() - started > 2.0, timeout=5)
                seen["cpu"] = _cpu_seconds() - cpu
                seen["attempts"] = sum(w.status.connects for w in daemon.watchers) - connects

            dovecot.restart(down=while_down)
        assert seen["cpu"] < 0.5, seen  # a watcher spinning on the dead socket burns a core: ~2 s here
        assert seen["attempts"] <= 6, seen  # two watchers, backoff from 1 s: at most ~2 each in 2 s
        # Back: reconnected within seconds, and mail delivered after the restart is acknowledged.
        wait_until(lambda: daemon.status_line().startswith("folders up 2/2"), timeout=15)
        customer = mailboxes("customer")
        setup.deliver(setup.customer_mail(customer, "After the restart"), sender=customer)
        setup.hub.wait_for(1, timeout=10, predicate=lambda m: m.rcpt_tos == [customer])
        assert all(w.alive() for w in daemon.watchers) and daemon.healthy()
    finally:
        daemon.shutdown()
        if not dovecot.running:
            dovecot.start()


def test_persistent_database_fault_is_retried_with_backoff_not_a_login_storm(tmp_path, dovecot, smtp_hub,
                                                                             mailboxes, monkeypatch):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, sent_folder=None)
    logins = []
    real_connect = ImapConnection.connect

    def counting_connect(self: ImapConnection) -> ImapConnection:
        logins.append(time.monotonic())
        return real_connect(self)

    monkeypatch.setattr(ImapConnection, "connect", counting_connect)
    daemon = setup.daemon()
    real_process = daemon.processor.process
    failing = {"on": True, "calls": 0}

    def process(*args: object, **kwargs: object) -> object:
        if failing["on"]:
            failing["calls"] += 1
            raise TransientError("database unavailable: disk full")
        return real_process(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(daemon.processor, "process", process)
    daemon.start()
    try:
        wait_until(lambda: all(w.status.last_poll for w in daemon.watchers), timeout=10)
        customer = mailboxes("customer")
        with capture_logs() as logs:
            setup.deliver(setup.customer_mail(customer, "While the disk is full"), sender=customer)
            wait_until(lambda: "processing: database unavailable" in daemon.status_line(), timeout=10)
            wait_until(lambda: failing["calls"] >= 3, timeout=15)
        # Retried over the one connection, with backoff: no new logins, one warning per attempt, no traceback.
        assert len(logins) == 1
        deferred = [e for e in logs if e["event"] == "ingest.deferred"]
        assert len(deferred) == failing["calls"] or len(deferred) == failing["calls"] - 1
        assert not any("exc_info" in e or e["log_level"] == "error" for e in logs)
        assert [c["customer"] for c in cases(daemon)] == []
        failing["on"] = False
        setup.hub.wait_for(1, timeout=20, predicate=lambda m: m.rcpt_tos == [customer])
        assert [c["customer"] for c in cases(daemon)] == [customer]
        wait_until(lambda: "error" not in daemon.status_line(), timeout=5)
    finally:
        daemon.shutdown()


def _status(capsys: pytest.CaptureFixture[str], url: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main(["status", "--json", "--database-url", url])
    # The daemon's threads log to stdout too (structlog's default in tests): the report is the JSON line.
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return code, json.loads(lines[-1]) if lines else {}


def test_inboxd_status_shows_mailboxes_up_and_the_last_imap_error(tmp_path, dovecot, smtp_hub, mailboxes, capsys,
                                                                  database_url):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, database_url=database_url)
    daemon = setup.daemon()
    daemon.start()
    try:
        wait_until(lambda: all(w.status.last_poll for w in daemon.watchers), timeout=10)
        code, report = wait_until(lambda: (r := _status(capsys, setup.database_url))[0] == 0 and r, timeout=5)
        (mailbox,) = report["mailboxes"]
        assert report["up"] and mailbox["up"] and not mailbox["stale"]
        assert mailbox["name"] == "support" and mailbox["node"] == daemon.node
        assert {f["folder"]: (f["up"], f["mode"]) for f in mailbox["folders"]} == {
            "INBOX": (True, "idle"), "Sent": (True, "idle")}
        assert mailbox["last_poll"] and mailbox["last_imap_error"] is None
        assert mailbox["quarantined"] == 0 and mailbox["outbox"] == {"pending": 0, "sending": 0, "failed": 0}
    finally:
        daemon.shutdown()
    # The daemon stopped: its mailboxes are no longer up.
    code, report = _status(capsys, setup.database_url)
    assert code == 3 and not report["mailboxes"][0]["up"]


def test_inboxd_status_shows_a_wrong_password(tmp_path, dovecot, smtp_hub, mailboxes, capsys):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes)
    (tmp_path / "imap-password").write_text("wrong\n")
    daemon = setup.daemon()
    daemon.start()
    try:
        code, report = wait_until(lambda: (r := _status(capsys, setup.database_url))[1].get("mailboxes")
                                  and all(f["error"] for f in r[1]["mailboxes"][0]["folders"]) and r, timeout=10)
        (mailbox,) = report["mailboxes"]
        assert code == 3 and not mailbox["up"]
        assert "login rejected" in mailbox["last_imap_error"]["error"] and mailbox["last_imap_error"]["at"]
        assert all("login rejected" in f["error"] for f in mailbox["folders"])
        capsys.readouterr()
        assert main(["status", "--database-url", setup.database_url]) == 3
        text = capsys.readouterr().out
        assert "support: DOWN" in text and "login rejected" in text
    finally:
        daemon.shutdown()


def test_inboxd_status_without_a_database_says_so_and_creates_none(tmp_path, capsys):
    path = tmp_path / "missing.db"
    assert main(["status", "--database-url", f"sqlite:///{path}"]) == 66
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no inboxd database" in err and not path.exists()


def test_mail_that_arrives_while_the_password_is_wrong_is_acknowledged_once_it_is_fixed(
        tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, sent_folder=None)
    before = mailboxes("before")
    dovecot.append(setup.support, "INBOX", setup.customer_mail(before, "Before inboxd was started"),
                   received_at=datetime.now(UTC) - timedelta(minutes=5))
    (tmp_path / "imap-password").write_text("wrong\n")
    daemon = setup.daemon()
    daemon.start()
    try:
        wait_until(lambda: "login rejected" in daemon.status_line(), timeout=10)
        customer = mailboxes("customer")
        setup.deliver(setup.customer_mail(customer, "While the password was wrong"), sender=customer)
        (tmp_path / "imap-password").write_text("secret\n")
        assert daemon.reload()
        setup.hub.wait_for(1, timeout=10, predicate=lambda m: m.rcpt_tos == [customer])
        wait_until(lambda: all(w.status.last_poll for w in daemon.watchers), timeout=5)
        # "new" still means new since the first start: mail that was there before gets no case.
        assert [c["customer"] for c in cases(daemon)] == [customer]
    finally:
        daemon.shutdown()


def test_importing_history_opens_cases_but_acknowledges_only_recent_mail(tmp_path, dovecot, smtp_hub, mailboxes,
                                                                         capsys):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, initial_sync="all", sent_folder=None)
    old, recent = mailboxes("old"), mailboxes("recent")
    now = datetime.now(UTC)
    dovecot.append(setup.support, "INBOX", setup.customer_mail(old, "Last month"), received_at=now - timedelta(days=30))
    dovecot.append(setup.support, "INBOX", setup.customer_mail(recent, "This morning"),
                   received_at=now - timedelta(hours=2))
    daemon = setup.started()
    assert sorted(c["customer"] for c in cases(daemon)) == sorted([old, recent])
    assert [m.rcpt_tos for m in smtp_hub.messages] == [[recent]]
    capsys.readouterr()
    assert main(["check-config", str(setup.config_path)]) == 0
    assert "get no acknowledgement" in capsys.readouterr().out


def test_the_watchdog_is_fed_only_while_every_watcher_comes_round(tmp_path, dovecot, smtp_hub, mailboxes,
                                                                   monkeypatch):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, sent_folder=None)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "notify"))
    listener.setblocking(False)

    def received() -> list[str]:
        datagrams = []
        while True:
            try:
                datagrams.append(listener.recv(65536).decode())
            except BlockingIOError:
                return datagrams

    daemon = setup.daemon()
    daemon.notifier = Notifier(str(tmp_path / "notify"))
    daemon.wedged_after = 2.0
    release = threading.Event()
    real_process = daemon.processor.process

    def hung(*args: Any, **kwargs: Any) -> Any:
        release.wait(30)  # a database call that never returns
        return real_process(*args, **kwargs)

    monkeypatch.setattr(daemon.processor, "process", hung)
    daemon.start()
    try:
        wait_until(lambda: all(w.status.last_poll for w in daemon.watchers), timeout=10)
        daemon._report()
        assert any("WATCHDOG=1" in d for d in received())
        customer = mailboxes("customer")
        setup.deliver(setup.customer_mail(customer, "Hangs the watcher"), sender=customer)
        wait_until(lambda: not daemon.healthy(), timeout=10)
        daemon._report()
        datagrams = received()
        assert not any("WATCHDOG=1" in d for d in datagrams)
        assert any("STATUS=not healthy (watch-support-inbox)" in d for d in datagrams)
        release.set()
        wait_until(daemon.healthy, timeout=10)
        daemon._report()
        assert any("WATCHDOG=1" in d for d in received())
        setup.hub.wait_for(1, timeout=10, predicate=lambda m: m.rcpt_tos == [customer])
    finally:
        release.set()
        daemon.shutdown()
        listener.close()


def test_inboxd_status_shows_the_last_smtp_error(tmp_path, dovecot, smtp_hub, mailboxes, capsys):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, sent_folder=None)
    daemon = setup.daemon()
    daemon.start()
    try:
        wait_until(lambda: all(w.status.last_poll for w in daemon.watchers), timeout=10)
        smtp_hub.fail_next(1, code=451)
        customer = mailboxes("customer")
        setup.deliver(setup.customer_mail(customer, "The hub is busy"), sender=customer)
        wait_until(lambda: "SMTP: " in daemon.status_line(), timeout=10)
        code, report = wait_until(lambda: (r := _status(capsys, setup.database_url))[1].get("mailboxes")
                                  and r[1]["mailboxes"][0]["last_smtp_error"] and r, timeout=5)
        (mailbox,) = report["mailboxes"]
        assert code == 3 and mailbox["up"]  # IMAP is fine; the outbox is not
        assert "451" in mailbox["last_smtp_error"]["error"] and mailbox["smtp_error"]
        assert mailbox["outbox"]["pending"] == 1
    finally:
        daemon.shutdown()


def test_a_database_fault_in_the_watcher_itself_is_retried_without_a_crash(tmp_path, dovecot, smtp_hub, mailboxes,
                                                                           monkeypatch):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, sent_folder=None)
    logins = []
    real_connect = ImapConnection.connect

    def counting_connect(self: ImapConnection) -> ImapConnection:
        logins.append(time.monotonic())
        return real_connect(self)

    monkeypatch.setattr(ImapConnection, "connect", counting_connect)
    daemon = setup.daemon()
    daemon.start()
    try:
        wait_until(lambda: all(w.status.last_poll for w in daemon.watchers), timeout=10)
        real_state = repo.get_folder_state
        failing = {"on": True, "calls": 0}

        def folder_state(*args: Any) -> Any:
            if failing["on"]:
                failing["calls"] += 1
                raise OperationalError("SELECT folder_state", {}, Exception("database or disk is full"))
            return real_state(*args)

        monkeypatch.setattr(repo, "get_folder_state", folder_state)
        customer = mailboxes("customer")
        with capture_logs() as logs:
            setup.deliver(setup.customer_mail(customer, "While the disk is full"), sender=customer)
            wait_until(lambda: "processing: database unavailable: database or disk is full"
                       in daemon.status_line(), timeout=10)
            wait_until(lambda: failing["calls"] >= 2, timeout=10)
        assert len(logins) == 1 and all(w.is_alive() for w in daemon.watchers)
        assert not any(e["event"] == "watcher.crashed" for e in logs)
        failing["on"] = False
        setup.hub.wait_for(1, timeout=20, predicate=lambda m: m.rcpt_tos == [customer])
    finally:
        daemon.shutdown()


def test_inboxd_status_on_a_database_without_status_says_so(tmp_path, capsys):
    path = tmp_path / "other.db"
    sqlite3.connect(path).close()
    assert main(["status", "--database-url", f"sqlite:///{path}"]) == 66
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no inboxd" in err

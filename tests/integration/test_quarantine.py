"""Quarantined and failed mail is visible from the command line and retried once, never twice."""

from __future__ import annotations

import json
import re

import pytest

import inboxd.service.evaluate as gather  # every message is classified through inboxd.service.evaluate
import inboxd.service.outbox as outbox_module
from inboxd.cli.main import main
from inboxd.store import repo
from tests.integration.harness import cases, make_setup, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def setup(tmp_path, dovecot, smtp_hub, mailboxes, database_url):
    return make_setup(tmp_path, dovecot, smtp_hub, mailboxes, database_url=database_url)


# A line the daemon running in this process logs (console format) while a command's output is captured.
_DAEMON_LOG = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[")


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Run a command; its stdout and stderr without the lines the daemon in this process logs meanwhile."""
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()

    def own(text: str) -> str:
        return "".join(line for line in text.splitlines(keepends=True) if not _DAEMON_LOG.match(line))

    return code, own(out), own(err)


def _outbox_rows(daemon) -> list[dict]:
    with daemon.store.connect() as conn:
        return repo.outbox_rows(conn, ("pending", "sending", "sent", "failed"))


def test_quarantined_message_is_listed_and_retried_once_while_the_daemon_runs(setup, mailboxes, monkeypatch,
                                                                              capsys):
    db = ("--database-url", setup.database_url)
    real = gather.classify

    def buggy(msg, *args, **kwargs):
        if msg.subject == "Invoice question":
            raise RuntimeError("a bug met this message")
        return real(msg, *args, **kwargs)

    monkeypatch.setattr(gather, "classify", buggy)
    daemon = setup.daemon()
    daemon.start()
    try:
        wait_until(lambda: all(w.status.last_poll for w in daemon.watchers), timeout=10)
        customer = mailboxes("customer")
        setup.deliver(setup.customer_mail(customer, "Invoice question"), sender=customer)
        wait_until(lambda: _cli(capsys, "quarantine", "list", "--json", *db)[1].strip(), timeout=10)
        code, out, _ = _cli(capsys, "quarantine", "list", "--json", *db)
        (entry,) = [json.loads(line) for line in out.splitlines()]
        assert code == 0 and entry["status"] == "quarantined" and entry["subject"] == "Invoice question"
        assert "RuntimeError: a bug met this message" in entry["error"]
        code, out, _ = _cli(capsys, "quarantine", "show", str(entry["id"]), *db)
        assert code == 0 and "a bug met this message" in out and f"From: A Customer <{customer}>" in out
        code, raw, _ = _cli(capsys, "quarantine", "show", str(entry["id"]), "--raw", *db)
        assert code == 0 and "Subject: Invoice question" in raw and "Please help." in raw
        assert cases(daemon) == []

        # While the bug is still there, a retry fails and leaves the message quarantined with its error.
        code, _, err = _cli(capsys, "quarantine", "retry", str(entry["id"]), "--config", str(setup.config_path), *db)
        assert code == 1 and "still failing: RuntimeError: a bug met this message" in err
        assert cases(daemon) == []

        # The cause is gone: one retry gives the message its case and its acknowledgement.
        monkeypatch.setattr(gather, "classify", real)
        code, out, _ = _cli(capsys, "quarantine", "retry", str(entry["id"]), "--config", str(setup.config_path), *db)
        assert code == 0 and "customer, case 1001, acknowledgement queued" in out
        setup.hub.wait_for(1, timeout=15, predicate=lambda m: m.rcpt_tos == [customer])

        # Again, one by one or all at once: nothing new.
        code, out, _ = _cli(capsys, "quarantine", "retry", str(entry["id"]), "--config", str(setup.config_path), *db)
        assert code == 0 and "already retried" in out
        code, out, _ = _cli(capsys, "quarantine", "retry", "--all", "--config", str(setup.config_path), *db)
        assert code == 0 and "no quarantined messages" in out
        assert len([r for r in _outbox_rows(daemon) if r["kind"] == "ack"]) == 1
        assert _cli(capsys, "quarantine", "list", *db)[1].strip() == "no quarantined messages"
        code, out, _ = _cli(capsys, "quarantine", "list", "--all", "--json", *db)
        assert [json.loads(line)["status"] for line in out.splitlines()] == ["resolved"]
    finally:
        daemon.shutdown()
    assert [c["customer"] for c in cases(daemon)] == [customer]
    assert len(setup.acks_for(customer)) == 1


def test_failed_outbox_mail_is_listed_and_sent_after_retry(setup, mailboxes, monkeypatch, capsys):
    db = ("--database-url", setup.database_url)
    daemon = setup.started()
    # The SMTP server defers the message, and inboxd gives up on the first attempt.
    setup.hub.fail_next(1, code=451)
    monkeypatch.setattr(outbox_module, "MAX_ATTEMPTS", 1)
    customer = mailboxes("customer")
    setup.deliver(setup.customer_mail(customer, "Lost ack?"), sender=customer)
    assert daemon.run_once()["failed"] == 1
    code, out, _ = _cli(capsys, "outbox", "list", "--json", *db)
    # The staff alert about the failed acknowledgement waits beside it.
    (row,) = [r for r in map(json.loads, out.splitlines()) if r["kind"] == "ack"]
    assert code == 0 and row["state"] == "failed" and row["kind"] == "ack" and row["rcpt_to"] == [customer]
    assert row["case"] == 1001 and "gave up after 1 attempts" in row["last_error"]
    code, out, _ = _cli(capsys, "outbox", "list", *db)
    assert "failed" in out and customer in out

    # The server takes mail again; the admin requeues the message.
    monkeypatch.setattr(outbox_module, "MAX_ATTEMPTS", 20)
    code, out, _ = _cli(capsys, "outbox", "retry", str(row["id"]), *db)
    assert code == 0 and "queued again" in out
    assert daemon.run_once()["sent"] == 2  # the acknowledgement and the staff alert about its failure
    assert len(setup.acks_for(customer)) == 1
    code, _, err = _cli(capsys, "outbox", "retry", str(row["id"]), *db)
    assert code == 1 and "has not failed" in err
    assert _cli(capsys, "outbox", "list", *db)[1].startswith("no mail")


def test_a_retry_cut_short_by_a_crash_is_taken_over_with_force(setup, mailboxes, monkeypatch, capsys):
    db = ("--database-url", setup.database_url)
    config = ("--config", str(setup.config_path))
    real = gather.classify

    def buggy(msg, *args, **kwargs):
        if msg.subject == "Invoice question":
            raise RuntimeError("a bug met this message")
        return real(msg, *args, **kwargs)

    monkeypatch.setattr(gather, "classify", buggy)
    daemon = setup.started()
    customer = mailboxes("customer")
    setup.deliver(setup.customer_mail(customer, "Invoice question"), sender=customer)
    daemon.run_once()
    monkeypatch.setattr(gather, "classify", real)
    with daemon.store.begin() as conn:
        (entry,) = repo.quarantine_rows(conn)
        # A retry claimed it and was killed before it could record the outcome.
        assert repo.set_quarantine_status(conn, entry["id"], "retrying", expected="quarantined")

    code, _, err = _cli(capsys, "quarantine", "retry", str(entry["id"]), *config, *db)
    assert code == 1 and "another retry of it is running" in err
    assert f"inboxd quarantine retry {entry['id']} --force" in err
    assert _cli(capsys, "quarantine", "retry", "--all", *config, *db)[1].strip() == "no quarantined messages"
    assert cases(daemon) == []

    code, out, _ = _cli(capsys, "quarantine", "retry", "--all", "--force", *config, *db)
    assert code == 0 and "customer, case 1001, acknowledgement queued" in out
    code, out, _ = _cli(capsys, "quarantine", "retry", str(entry["id"]), "--force", *config, *db)
    assert code == 0 and "already retried" in out
    daemon.run_once()
    assert [c["customer"] for c in cases(daemon)] == [customer]
    assert len([r for r in _outbox_rows(daemon) if r["kind"] == "ack"]) == 1

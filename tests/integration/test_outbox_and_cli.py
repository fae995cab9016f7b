"""Delivery retries, Sent copies, and the commands admins run, against the real servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from inboxd.store import repo
from tests.integration.harness import cases, make_setup

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def setup(tmp_path, dovecot, smtp_hub, mailboxes):
    return make_setup(tmp_path, dovecot, smtp_hub, mailboxes)


def test_temporary_smtp_failure_is_retried_with_backoff(setup, mailboxes):
    customer = mailboxes("customer")
    daemon = setup.started()
    setup.hub.fail_next(1, code=451)
    setup.deliver(setup.customer_mail(customer, "Retry me"), sender=customer)
    first = daemon.run_once()
    assert first["sent"] == 0 and first["retried"] == 1
    with daemon.store.connect() as conn:
        (row,) = [r for r in conn.execute(repo.outbox.select())]
    assert row.state == "pending" and row.attempts == 1 and "451" in row.last_error
    assert row.next_attempt_at > row.created_at  # backed off, not hammered
    # Once the retry is due, it goes out, exactly once.
    with daemon.store.begin() as conn:
        conn.execute(repo.outbox.update().values(next_attempt_at=row.created_at))
    assert daemon.run_once()["sent"] == 1
    assert len(setup.dovecot.wait_for(customer, count=1)) == 1


def test_permanent_failure_is_recorded_not_retried(setup, mailboxes):
    customer = mailboxes("customer")
    daemon = setup.started()
    setup.hub.fail_next(1, code=554)
    setup.deliver(setup.customer_mail(customer, "Refused"), sender=customer)
    assert daemon.run_once()["failed"] == 1
    (case,) = cases(daemon)
    with daemon.store.connect() as conn:
        detail = repo.case_detail(conn, case["number"])
    assert detail["sent"][0]["state"] == "failed"
    assert "ack.failed" in [e["kind"] for e in detail["events"]]
    # The ack is not tried again; the team hears that it could not go out.
    setup.hub.clear()
    assert daemon.run_once()["sent"] == 1
    (alert,) = setup.hub.messages
    assert alert.rcpt_tos == [setup.staff] and "Could not send the ack" in str(alert.message["Subject"])
    assert daemon.run_once()["sent"] == 0


def test_copy_of_ack_is_filed_in_sent_and_recognised_as_ours(setup, mailboxes):
    customer = mailboxes("customer")
    daemon = setup.started()
    setup.deliver(setup.customer_mail(customer, "Copy please"), sender=customer)
    daemon.run_once()
    (copy,) = setup.dovecot.fetch_all(setup.support, "Sent")
    (ack,) = setup.dovecot.fetch_all(customer)
    assert copy["Message-ID"] == ack["Message-ID"]
    daemon.run_once()  # inboxd meets its own message in the Sent folder: recorded as its own, nothing else
    (case,) = cases(daemon)
    with daemon.store.connect() as conn:
        detail = repo.case_detail(conn, case["number"])
    assert [m["kind"] for m in detail["messages"]] == ["customer", "own"]
    assert detail["first_response_at"] is None  # our own ack is not a staff response


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "inboxd.cli.main", *args], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), **(env or {})), timeout=60, cwd=ROOT)


def test_check_config_accepts_the_example_and_names_the_broken_key(tmp_path):
    ok = run_cli("check-config", "config/inboxd.yaml")
    assert ok.returncode == 0, ok.stderr
    broken = tmp_path / "broken.yaml"
    text = (ROOT / "config" / "inboxd.yaml").read_text()
    broken.write_text(text.replace("timezone: Europe/Berlin", "timezone: Europe/Berln")
                      .replace("      port: 993", "      port: nine-nine-three"))
    bad = run_cli("check-config", "--config", str(broken))
    assert bad.returncode == 1
    assert "team.timezone" in bad.stderr and "mailboxes[0].imap.port" in bad.stderr
    assert "broken.yaml:" in bad.stderr  # with the line


def test_cases_list_and_show(setup, mailboxes):
    customer = mailboxes("customer")
    daemon = setup.started()
    setup.deliver(setup.customer_mail(customer, "Where is my order?"), sender=customer)
    daemon.run_once()
    env = {"INBOXD_CONFIG": str(setup.config_path), "INBOXD_DATABASE_URL": setup.database_url}
    listing = run_cli("cases", "list", env=env)
    assert listing.returncode == 0 and "Where is my order?" in listing.stdout and "1001" in listing.stdout
    rows = [json.loads(line) for line in run_cli("cases", "--json", env=env).stdout.splitlines()]
    assert rows[0]["customer"] == customer and rows[0]["promised_by"]
    shown = run_cli("cases", "show", "1001", env=env)
    assert shown.returncode == 0
    assert "ack.queued" in shown.stdout and "ack.sent" in shown.stdout and "[open] team" in shown.stdout
    assert run_cli("cases", "show", "999", env=env).returncode == 1


def test_explain_reports_one_line_per_file_without_side_effects(tmp_path):
    from inboxd.dev.demo import sample_mail

    customer = tmp_path / "customer.eml"
    customer.write_bytes(sample_mail("ann@customer.example", "Ann", "support@example.com", "Help", "Hi"))
    ooo = tmp_path / "ooo.eml"
    ooo.write_bytes(sample_mail("bob@customer.example", "Bob", "support@example.com", "Out of office", "Away",
                                Auto_Submitted="auto-replied"))
    # The example configuration trusts mx.example.com, which found this one forged: no acknowledgement.
    forged = tmp_path / "forged.eml"
    forged.write_bytes(b"Authentication-Results: mx.example.com; dmarc=fail header.from=bank.example\r\n"
                       + sample_mail("alerts@bank.example", "Bank", "support@example.com", "Help", "Hi"))
    result = run_cli("explain", "--config", "config/inboxd.yaml", "--json", str(customer), str(ooo),
                     str(tmp_path / "missing.eml"), str(forged))
    assert result.returncode == 1, result.stderr  # every file has its line, but one could not be read
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(x["file"].rsplit("/", 1)[1], x["kind"], x["would_acknowledge"]) for x in lines] == [
        ("customer.eml", "customer", True), ("ooo.eml", "auto_reply", False), ("missing.eml", "ignored", False),
        ("forged.eml", "customer", False)]
    assert set(lines[0]) >= {"file", "kind", "would_acknowledge", "reason", "rules", "priority", "language",
                             "reply_text"}


def test_explain_reports_the_case_a_reply_would_join(setup, mailboxes, tmp_path):
    customer = mailboxes("customer")
    daemon = setup.started()
    ack = setup.open_case(daemon, customer, "Order missing")
    from inboxd.dev.demo import sample_mail

    reply = tmp_path / "reply.eml"
    reply.write_bytes(sample_mail(customer, "C", setup.support, f"Re: {ack['Subject']}", "Thanks!\n\n> quoted",
                                  In_Reply_To=ack["Message-ID"]))
    env = {"INBOXD_CONFIG": str(setup.config_path), "INBOXD_DATABASE_URL": setup.database_url}
    (line,) = [json.loads(x) for x in run_cli("explain", "--json", str(reply), env=env).stdout.splitlines()]
    assert line["case"] == 1001 and line["would_acknowledge"] is False
    assert line["reply_text"] == "Thanks!"
    human = run_cli("explain", str(reply), env=env).stdout
    assert "join case 1001" in human


def test_eta_uses_the_history_in_the_database(setup, mailboxes):
    daemon = setup.started()
    for _ in range(3):
        customer = mailboxes("customer")
        setup.deliver(setup.customer_mail(customer, "Queue"), sender=customer)
    daemon.run_once()
    env = {"INBOXD_CONFIG": str(setup.config_path), "INBOXD_DATABASE_URL": setup.database_url}
    result = run_cli("eta", "--json", env=env)  # now: after the three cases opened
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["source"] == "history" and answer["ahead"] == 3
    # When the customer would hear that this promise may break, and how likely the break must be.
    assert answer["notices"].startswith("a delay notice goes out from 2h before the due time once a break is 95%")
    from datetime import datetime

    assert datetime.fromisoformat(answer["due"]) > datetime.fromisoformat(answer["at"])
    # Without a database: the configured fallback, counted in business time.
    fallback = json.loads(run_cli("eta", "--json", "--config", str(setup.config_path), "--database-url",
                                  "sqlite:////nonexistent/inboxd.db", "--priority", "urgent",
                                  "--at", "2026-11-20T18:00:00+01:00").stdout)
    # Friday 18:00, urgent (4h): not "within 4 hours" of Friday evening, but Monday 13:00.
    assert fallback["source"].startswith("fallback") and fallback["due"] == "2026-11-23T13:00:00+01:00"

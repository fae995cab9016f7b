"""Rules through the real daemon (tags, assignee, template sets, no_ack) and ``inboxd replay`` over the mailbox.

Replay's promise is that it only reads: after it, the SMTP hub has accepted nothing new, every table of
the store holds what it held, and the messages in the mailbox keep their flags.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from inboxd.cli.main import main
from inboxd.mail.render import resolve_template_dir
from inboxd.store.db import make_engine, migrate
from inboxd.store.repo import Store
from inboxd.store.schema import cases as cases_table
from inboxd.store.schema import metadata
from inboxd.web.page import gather, render_page
from tests.integration.harness import Setup, cases, make_setup

pytestmark = pytest.mark.integration

RULES_THEN = """\
rules:
  - name: vip
    match: {from: '^vip-'}
    set: {priority: high, tags: [vip]}
"""

RULES_NOW = """\
rules:
  - name: vip
    match: {from: '^vip-'}
    set: {priority: urgent, tags: [vip, gold], assignee: lead@example.com}
  - name: invoices
    match: {subject: {contains: invoice}}
    set: {tags: [billing]}
    action: no_ack
"""


def snapshot(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to compare the store before and after."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return {name: sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
                    for name, table in metadata.tables.items()}
    finally:
        engine.dispose()


def flags(setup: Setup) -> dict[int, tuple[bytes, ...]]:
    with setup.dovecot.imap(setup.support) as client:
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["ALL"])
        assert uids
        return {int(uid): tuple(sorted(item[b"FLAGS"])) for uid, item in client.fetch(uids, ["FLAGS"]).items()}


def replay_rows(setup: Setup, capsys: pytest.CaptureFixture[str], *extra: str) -> list[dict[str, Any]]:
    capsys.readouterr()
    code = main(["replay", "--since", "7d", "--json", "--config", str(setup.config_path),
                 "--database-url", setup.database_url, *extra])
    out = capsys.readouterr().out
    assert code == 0
    return [json.loads(line) for line in out.splitlines()]


def test_replay_lists_what_the_changed_rules_would_do_and_sends_and_stores_nothing(
        tmp_path: Path, dovecot, smtp_hub, mailboxes, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, extra=RULES_THEN, database_url=database_url)
    vip, shop, asker = mailboxes("vip"), mailboxes("shop"), mailboxes("asker")
    daemon = setup.started()
    try:
        setup.deliver(setup.customer_mail(vip, "Question from a big customer"), sender=vip)
        setup.deliver(setup.customer_mail(shop, "Invoice 7 is wrong"), sender=shop)
        setup.deliver(setup.customer_mail(asker, "How do I log in?"), sender=asker)
        daemon.run_once()
        for customer in (vip, shop, asker):
            dovecot.wait_for(customer, count=1)
    finally:
        daemon.shutdown()
    setup.config_path.write_text(setup.config_path.read_text().replace(RULES_THEN, RULES_NOW))
    sent_before, store_before, flags_before = len(smtp_hub.messages), snapshot(setup.database_url), flags(setup)

    rows = {row["from"]: row for row in replay_rows(setup, capsys)}

    assert set(rows) == {vip, shop}  # the unchanged message is left out
    assert rows[vip]["changed"] == ["priority", "tags", "assignee"]
    assert (rows[vip]["was"]["priority"], rows[vip]["was"]["tags"], rows[vip]["was"]["assignee"]) == (
        "high", ["vip"], None)
    assert (rows[vip]["now"]["priority"], rows[vip]["now"]["tags"], rows[vip]["now"]["assignee"]) == (
        "urgent", ["vip", "gold"], "lead@example.com")
    assert rows[vip]["was"]["acknowledged"] and rows[vip]["now"]["acknowledged"]
    assert rows[shop]["changed"] == ["tags", "acknowledged"]
    assert (rows[shop]["was"]["acknowledged"], rows[shop]["now"]["acknowledged"]) == (True, False)
    assert rows[shop]["now"]["why"] == "rule invoices"
    assert rows[shop]["now"]["rules"] == ["invoices"]
    assert all(row["case"] is not None for row in rows.values())

    everything = replay_rows(setup, capsys, "--all", "--mailbox", "support")
    assert {row["from"]: row["changed"] for row in everything}[asker] == []

    capsys.readouterr()
    assert main(["replay", "--config", str(setup.config_path), "--database-url", setup.database_url]) == 0
    listing = capsys.readouterr().out
    assert "acknowledged: yes → no (rule invoices)" in listing
    assert "3 message(s) replayed, 2 would change" in listing

    assert len(smtp_hub.messages) == sent_before
    assert snapshot(setup.database_url) == store_before
    assert flags(setup) == flags_before


def test_store_read_only_refuses_a_write(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    store = Store(engine)
    now = datetime.now(UTC)
    row = {"mailbox": "m", "status": "s", "priority": "p", "language": "en", "customer": "c", "subject": "",
           "opened_at": now, "last_activity_at": now}
    with pytest.raises(Exception, match="readonly|read-only|attempt to write"):
        with store.read_only() as conn:
            conn.execute(insert(cases_table).values(number=999_999, **row))
    with store.begin() as conn:  # the connection went back to the pool writable
        conn.execute(insert(cases_table).values(number=999_998, **row))
    engine.dispose()


def test_rules_tag_assign_route_and_silence_through_the_daemon(
        tmp_path: Path, dovecot, smtp_hub, mailboxes, capsys: pytest.CaptureFixture[str]) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(resolve_template_dir(None), templates)
    (templates / "sets" / "vip" / "en").mkdir(parents=True)
    (templates / "sets" / "vip" / "en" / "ack.txt.j2").write_text(
        "Subject: {{ token }} Priority service: {{ subject }}\n\nHello {{ customer_name or 'there' }},\n\n"
        "your case {{ token }} is with our priority team; you hear from us {{ promise.phrase }}.\n")
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, extra=RULES_NOW.replace(
        "assignee: lead@example.com}", "assignee: lead@example.com, template_set: vip}")
        + f"templates:\n  directory: {templates}\n")
    vip, shop = mailboxes("vip"), mailboxes("shop")
    daemon = setup.started()
    try:
        setup.deliver(setup.customer_mail(vip, "Broken export"), sender=vip)
        setup.deliver(setup.customer_mail(shop, "Invoice 9"), sender=shop)
        daemon.run_once()
        (ack,) = dovecot.wait_for(vip, count=1)
        assert ack["Subject"].endswith("Priority service: Broken export")
        assert "priority team" in ack.get_content()
        daemon.run_once()
        assert setup.acks_for(shop) == []  # no_ack: a case, but nothing sent
        by_customer = {c["customer"]: c for c in cases(daemon)}
        assert set(by_customer) == {vip, shop}
        assert (by_customer[vip]["priority"], by_customer[vip]["tags"], by_customer[vip]["assignee"]) == (
            "urgent", ["vip", "gold"], "lead@example.com")
        assert (by_customer[shop]["tags"], by_customer[shop]["assignee"]) == (["billing"], None)
        with daemon.store.connect() as conn:
            page = render_page(gather(conn, daemon.runtime, datetime.now(UTC)))
        assert "<td>lead@example.com</td><td>vip, gold</td>" in page
        assert "<td>billing</td>" in page
    finally:
        daemon.shutdown()

    def listed(*args: str) -> list[int]:
        capsys.readouterr()
        assert main(["cases", "list", "--json", "--database-url", setup.database_url, *args]) == 0
        return [json.loads(line)["number"] for line in capsys.readouterr().out.splitlines()]

    assert listed("--tag", "gold") == [by_customer[vip]["number"]]
    assert listed("--tag", "billing") == [by_customer[shop]["number"]]
    assert listed("--tag", "gol") == []  # a whole tag, not a part of one
    assert listed("--assignee", "LEAD@example.com") == [by_customer[vip]["number"]]
    capsys.readouterr()
    assert main(["cases", "show", str(by_customer[vip]["number"]), "--config", str(setup.config_path),
                 "--database-url", setup.database_url]) == 0
    shown = capsys.readouterr().out
    assert "tags vip, gold" in shown and "template set vip" in shown and "assigned to lead@example.com" in shown

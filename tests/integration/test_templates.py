"""A broken template is the configuration's fault: refused by check-config and reload, never costing a mail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from inboxd.mail.render import resolve_template_dir
from inboxd.store import repo
from tests.integration.harness import Setup, cases, make_setup, wait_until

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _with_own_templates(tmp_path: Path, dovecot, smtp_hub, mailboxes) -> tuple[Setup, Path]:
    """A setup whose configuration names its own copy of the shipped templates."""
    templates = tmp_path / "templates"
    shutil.copytree(resolve_template_dir(None), templates)
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, extra=f"templates:\n  directory: {templates}\n")
    return setup, templates


def _replace_line(path: Path, number: int, text: str) -> str:
    """Put ``text`` on line ``number``; return the file as it was."""
    before = path.read_text(encoding="utf-8")
    lines = before.splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return before


def test_check_config_names_the_broken_template_and_line(tmp_path, dovecot, smtp_hub, mailboxes):
    setup, templates = _with_own_templates(tmp_path, dovecot, smtp_hub, mailboxes)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "inboxd.cli.main", "check-config", str(setup.config_path)]
    assert subprocess.run(command, env=env, capture_output=True, text=True).returncode == 0
    _replace_line(templates / "de" / "ack.txt.j2", 3, "Hallo {{ promis.phrase }},")
    _replace_line(templates / "en" / "nudge.txt.j2", 2, "{% if %}")
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert f"error: {templates / 'de' / 'ack.txt.j2'}:3: 'promis' is undefined" in done.stderr
    assert f"error: {templates / 'en' / 'nudge.txt.j2'}:2: " in done.stderr
    assert "Traceback" not in done.stderr


def test_reload_with_a_broken_template_keeps_the_old_set(tmp_path, dovecot, smtp_hub, mailboxes):
    setup, templates = _with_own_templates(tmp_path, dovecot, smtp_hub, mailboxes)
    daemon = setup.started()
    _replace_line(templates / "en" / "ack.txt.j2", 3, "Hello {{ custmer_name }},")
    assert daemon.reload() is False
    assert "config reload rejected" in daemon.status_line() and "ack.txt.j2:3" in daemon.status_line()
    # Mail keeps flowing on the templates checked before, though the file on disk is now broken.
    customer = mailboxes("customer")
    ack = setup.open_case(daemon, customer, "After the rejected reload")
    assert "thank you for writing to us" in ack.get_body(("plain",)).get_content()
    with daemon.store.connect() as conn:
        assert repo.quarantined_messages(conn) == []


def test_a_template_failing_on_one_message_leaves_it_to_be_acked_after_the_fix(tmp_path, dovecot, smtp_hub,
                                                                              mailboxes):
    setup, templates = _with_own_templates(tmp_path, dovecot, smtp_hub, mailboxes)
    # Fine for the sample subject ("Printer does not print"), fails on a one-word subject.
    good = _replace_line(templates / "en" / "ack.txt.j2", 2, "About: {{ subject.split()[1] }}")
    daemon = setup.daemon()
    daemon.start()
    try:
        wait_until(lambda: all(w.status.last_poll for w in daemon.watchers), timeout=10)
        customer = mailboxes("customer")
        setup.deliver(setup.customer_mail(customer, "Help"), sender=customer)
        wait_until(lambda: any("ack.txt.j2:2" in (w.status.error or "") for w in daemon.watchers), timeout=10)
        with daemon.store.connect() as conn:
            assert repo.quarantined_messages(conn) == []
        assert cases(daemon) == []
        # The admin fixes the template and reloads: the same mail gets its case and its ack, once.
        (templates / "en" / "ack.txt.j2").write_text(good, encoding="utf-8")
        assert daemon.reload()
        setup.hub.wait_for(1, timeout=15, predicate=lambda m: m.rcpt_tos == [customer])
        wait_until(lambda: daemon.status_line().startswith("folders up 2/2") and "error" not in daemon.status_line())
    finally:
        daemon.shutdown()
    assert [c["customer"] for c in cases(daemon)] == [customer]
    assert len(setup.acks_for(customer)) == 1
    with daemon.store.connect() as conn:
        assert repo.quarantined_messages(conn) == []

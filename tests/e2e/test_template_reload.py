"""`inboxd run` refuses a SIGHUP with a broken template, says so, and keeps acknowledging with the old set."""

from __future__ import annotations

import shutil
import signal

import pytest

from inboxd.mail.render import resolve_template_dir
from tests.e2e.test_daemon_process import NotifySocket, Process
from tests.integration.harness import make_setup

pytestmark = pytest.mark.e2e


def test_sighup_with_a_broken_template_is_rejected_and_the_old_set_kept(tmp_path, dovecot, smtp_hub, mailboxes):
    templates = tmp_path / "templates"
    shutil.copytree(resolve_template_dir(None), templates)
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, extra=f"templates:\n  directory: {templates}\n")
    notify = NotifySocket(tmp_path / "notify")
    daemon = Process(setup, tmp_path, notify)
    try:
        notify.wait_for("READY=1")
        daemon.wait_synced()
        ack = templates / "en" / "ack.txt.j2"
        good = ack.read_text(encoding="utf-8")
        lines = good.splitlines()
        lines[2] = "Hello {{ promis.phrase }},"
        ack.write_text("\n".join(lines) + "\n", encoding="utf-8")
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_log("config.reload_rejected")
        assert f"{ack}:3: 'promis' is undefined" in daemon.text()
        notify.wait_for("config reload rejected")
        customer = mailboxes("customer")
        setup.hub.clear()
        setup.deliver(setup.customer_mail(customer, "Still acknowledged?"), sender=customer)
        (sent,) = setup.hub.wait_for(1, timeout=15, predicate=lambda m: m.rcpt_tos == [customer])
        assert "thank you for writing to us" in sent.message.get_body(("plain",)).get_content()
        # Fixed and reloaded: taken, and the status no longer mentions the rejection.
        ack.write_text(good, encoding="utf-8")
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_log('"config.reloaded"')
        notify.wait_for("READY=1")
    finally:
        code = daemon.stop()
        notify.close()
    assert code == 0
    assert "message.quarantined" not in daemon.text()

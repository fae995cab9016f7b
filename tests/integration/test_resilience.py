"""A dead or unwilling server: retried with backoff, visible in status and logs, nothing lost."""

from __future__ import annotations

import pytest

from inboxd.dev.mailserver import free_port
from tests.integration.harness import cases, make_setup, wait_until

pytestmark = pytest.mark.integration


def test_dead_imap_server_shows_in_status_and_recovers(tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes)
    good = setup.config_path.read_text()
    dead_port = free_port()
    setup.config_path.write_text(good.replace(f"port: {dovecot.imap_port}", f"port: {dead_port}"))
    daemon = setup.daemon()
    daemon.start()
    try:
        wait_until(lambda: "error: IMAP connect" in daemon.status_line(), timeout=10)
        assert daemon.status_line().startswith("folders up 0/2")
        # The server comes back (here: the admin fixes the port and reloads): the watchers reconnect.
        setup.config_path.write_text(good)
        assert daemon.reload()
        # Up, and past the first sync (which, with initial_sync: new, starts after the mail already there).
        wait_until(lambda: daemon.status_line().startswith("folders up 2/2")
                   and all(w.status.last_poll for w in daemon.watchers), timeout=10)
        customer = mailboxes("customer")
        setup.deliver(setup.customer_mail(customer, "After the outage"), sender=customer)
        setup.hub.wait_for(1, timeout=10, predicate=lambda m: m.rcpt_tos == [customer])
    finally:
        daemon.shutdown()


def test_wrong_password_is_an_auth_error_not_a_crash(tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes)
    (tmp_path / "imap-password").write_text("wrong\n")
    daemon = setup.daemon()
    daemon.start()
    try:
        wait_until(lambda: "login rejected" in daemon.status_line(), timeout=10)
        assert all(w.is_alive() for w in daemon.watchers)
    finally:
        daemon.shutdown()


def test_polling_without_idle_picks_up_mail(tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes)
    setup.config_path.write_text(setup.config_path.read_text().replace("idle: true", "idle: false"))
    daemon = setup.daemon()
    daemon.start()
    try:
        wait_until(lambda: all(w.status.last_poll for w in daemon.watchers), timeout=10)
        assert not any(w.status.idle for w in daemon.watchers)
        customer = mailboxes("customer")
        setup.deliver(setup.customer_mail(customer, "Polled"), sender=customer)
        setup.hub.wait_for(1, timeout=15, predicate=lambda m: m.rcpt_tos == [customer])
        assert [c["customer"] for c in cases(daemon)] == [customer]
    finally:
        daemon.shutdown()

"""The sender keeps one SMTP session per mailbox across flushes, and opens a new one when the kept one is gone."""

from __future__ import annotations

import socket
from typing import Any

from inboxd.service import outbox as outbox_module
from inboxd.store import repo
from tests.integration.harness import make_setup


def _rows(daemon: Any) -> list[Any]:
    with daemon.store.connect() as conn:
        return list(conn.execute(repo.outbox.select().order_by(repo.outbox.c.id)))


def _counting(daemon: Any) -> list[Any]:
    """Count the sessions the sender opens."""
    opened: list[Any] = []
    real = daemon.sender.smtp_factory

    def factory(mailbox: str) -> Any:
        connection = real(mailbox)
        opened.append(connection)
        return connection

    daemon.sender.smtp_factory = factory
    return opened


def test_one_session_carries_the_acknowledgements_of_several_flushes(tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, sent_folder=None)
    daemon = setup.started()
    opened = _counting(daemon)
    customers = [mailboxes("customer") for _ in range(4)]
    for customer in customers[:2]:
        setup.deliver(setup.customer_mail(customer, "First flush"), sender=customer)
    daemon.run_once()
    for customer in customers[2:]:
        setup.deliver(setup.customer_mail(customer, "Second flush"), sender=customer)
    daemon.run_once()
    smtp_hub.wait_for(4, predicate=lambda m: m.rcpt_tos[0] in customers)
    assert len(opened) == 1
    assert [r.state for r in _rows(daemon)] == ["sent"] * 4
    daemon.sender.close()
    assert opened[0].client is None  # closed (QUIT) at stop


def test_a_session_the_server_dropped_is_replaced_without_charging_the_message(tmp_path, dovecot, smtp_hub,
                                                                              mailboxes, monkeypatch):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, sent_folder=None)
    daemon = setup.started()
    opened = _counting(daemon)
    first, second = mailboxes("customer"), mailboxes("customer")
    setup.deliver(setup.customer_mail(first, "Before the drop"), sender=first)
    daemon.run_once()
    smtp_hub.wait_for(1, predicate=lambda m: m.rcpt_tos == [first])
    # The server closes the idle session (its timeout); the sender checks a session that waited before using it.
    opened[0].client.sock.shutdown(socket.SHUT_RDWR)
    monkeypatch.setattr(outbox_module, "SESSION_CHECK_AFTER_SECONDS", 0.0)
    setup.deliver(setup.customer_mail(second, "After the drop"), sender=second)
    daemon.run_once()
    smtp_hub.wait_for(1, predicate=lambda m: m.rcpt_tos == [second])
    assert len(opened) == 2
    rows = {r.rcpt_to[0]: r for r in _rows(daemon)}
    assert rows[second].state == "sent" and rows[second].attempts == 1 and rows[second].last_error is None
    daemon.sender.close()


def test_a_session_idle_too_long_is_closed_and_a_new_one_opened(tmp_path, dovecot, smtp_hub, mailboxes,
                                                                monkeypatch):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, sent_folder=None)
    daemon = setup.started()
    opened = _counting(daemon)
    first, second = mailboxes("customer"), mailboxes("customer")
    setup.deliver(setup.customer_mail(first, "One"), sender=first)
    daemon.run_once()
    monkeypatch.setattr(outbox_module, "SESSION_IDLE_SECONDS", 0.0)
    setup.deliver(setup.customer_mail(second, "Two"), sender=second)
    daemon.run_once()
    smtp_hub.wait_for(2, predicate=lambda m: m.rcpt_tos[0] in (first, second))
    assert len(opened) == 2 and opened[0].client is None
    daemon.sender.close()

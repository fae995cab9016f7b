"""What one odd message does to the outbox: it fails or goes out on its own, and never holds the others back."""

from __future__ import annotations

import uuid

import pytest

from inboxd.dev.mailserver import SmtpHub
from inboxd.store import repo
from tests.integration.harness import make_setup

pytestmark = pytest.mark.integration

UTF8_LOCAL = "jdöe@mächine.example"
UTF8_LOCAL_WIRE = "jdöe@xn--mchine-bua.example"
UTF8_DOMAIN = "joe@mächine.example"
UTF8_DOMAIN_WIRE = "joe@xn--mchine-bua.example"


def utf8_mail(sender: str, to: str, subject: str) -> bytes:
    """A customer mail with a UTF-8 From header (RFC 6532), as SMTPUTF8 servers deliver them."""
    return (f"From: J Doe <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@customer.example>\r\n"
            "Date: Fri, 04 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nPlease help.\r\n").encode()


def outbox_rows(daemon) -> list:
    with daemon.store.connect() as conn:
        return list(conn.execute(repo.outbox.select().order_by(repo.outbox.c.id)))


def test_a_non_ascii_address_without_smtputf8_fails_alone_and_staff_hear_of_it(tmp_path, dovecot, smtp_hub,
                                                                                mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes)
    daemon = setup.started()
    first, last = mailboxes("customer"), mailboxes("customer")
    setup.deliver(setup.customer_mail(first, "Before"), sender=first)
    setup.deliver(utf8_mail(UTF8_LOCAL, setup.support, "Umlaut im Namen"))
    setup.deliver(utf8_mail(UTF8_DOMAIN, setup.support, "Umlaut in der Domain"))
    setup.deliver(setup.customer_mail(last, "After"), sender=last)
    daemon.run_once()
    # Everyone else got their acknowledgement; the IDNA domain needs no SMTPUTF8.
    for rcpt in (first, last, UTF8_DOMAIN_WIRE):
        smtp_hub.wait_for(1, predicate=lambda m, rcpt=rcpt: m.rcpt_tos == [rcpt])
    (failed,) = [r for r in outbox_rows(daemon) if r.rcpt_to == [UTF8_LOCAL]]
    assert failed.state == "failed"
    assert "non-ASCII local part" in failed.last_error and "SMTPUTF8" in failed.last_error
    assert "sending" not in {r.state for r in outbox_rows(daemon)}
    # The team is told, once.
    daemon.run_once()
    (alert,) = smtp_hub.wait_for(1, predicate=lambda m: m.rcpt_tos == [setup.staff])
    assert str(alert.message["Subject"]) == f"[inboxd] Could not send the ack to {UTF8_LOCAL}"
    assert UTF8_LOCAL in alert.message.get_content() and "SMTPUTF8" in alert.message.get_content()
    assert "[#1002]" in alert.message.get_content()
    daemon.run_once()
    assert {r.state for r in outbox_rows(daemon)} == {"sent", "failed"}
    assert len([m for m in smtp_hub.messages if m.rcpt_tos == [setup.staff]]) == 1


def test_a_non_ascii_address_goes_out_over_smtputf8_when_the_server_offers_it(tmp_path, dovecot, mailboxes):
    with SmtpHub(dovecot, smtputf8=True) as hub:
        setup = make_setup(tmp_path, dovecot, hub, mailboxes)
        daemon = setup.started()
        setup.deliver(utf8_mail(UTF8_LOCAL, setup.support, "Umlaut im Namen"))
        daemon.run_once()
        (ack,) = hub.wait_for(1, predicate=lambda m: m.rcpt_tos == [UTF8_LOCAL_WIRE])
        assert ack.message["To"] == UTF8_LOCAL_WIRE
        assert str(ack.message["Subject"]) == "[#1001] Umlaut im Namen"
        assert [r.state for r in outbox_rows(daemon)] == ["sent"]


def test_an_unforeseen_error_with_one_message_holds_back_no_other(tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes)
    daemon = setup.started()
    customers = [mailboxes("customer") for _ in range(3)]
    odd = customers[1]
    real_factory = daemon.sender.smtp_factory

    def factory(mailbox: str):
        connection = real_factory(mailbox)
        real_send = connection.send

        def send(mail_from, rcpt_to, raw):
            if rcpt_to == [odd]:
                raise ValueError("something nobody planned for")
            return real_send(mail_from, rcpt_to, raw)

        connection.send = send
        return connection

    daemon.sender.smtp_factory = factory
    for customer in customers:
        setup.deliver(setup.customer_mail(customer, "Hello"), sender=customer)
    daemon.run_once()
    for customer in customers[0], customers[2]:
        smtp_hub.wait_for(1, predicate=lambda m, c=customer: m.rcpt_tos == [c])
    rows = {r.rcpt_to[0]: r for r in outbox_rows(daemon)}
    assert rows[odd].state == "pending" and "something nobody planned for" in rows[odd].last_error
    assert rows[odd].next_attempt_at > rows[odd].created_at  # retried later, with backoff
    assert "sending" not in {r.state for r in rows.values()}


def test_a_thousand_character_unbroken_subject_is_acknowledged_intact(tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes)
    daemon = setup.started()
    customer = mailboxes("customer")
    subject = "Fehler-" + "x" * 993
    setup.deliver(setup.customer_mail(customer, subject), sender=customer)
    daemon.run_once()
    (ack,) = smtp_hub.wait_for(1, predicate=lambda m: m.rcpt_tos == [customer])
    assert str(ack.message["Subject"]) == f"[#1001] {subject}"
    header_block = ack.data.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in header_block.split(b"\r\n")) <= 998
    assert [r.state for r in outbox_rows(daemon)] == ["sent"]


def test_a_copy_filed_before_a_stop_is_not_filed_twice(tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes)
    daemon = setup.started()
    filer, daemon.sender.imap_factory = daemon.sender.imap_factory, None
    customer = mailboxes("customer")
    setup.deliver(setup.customer_mail(customer, "Copy once"), sender=customer)
    daemon.run_once()  # sent; the Sent copy not filed yet
    (row,) = outbox_rows(daemon)
    assert row.state == "sent" and row.copy_state == "pending"
    # The daemon appended the copy and was stopped before it could record that.
    with dovecot.imap(setup.support) as client:
        client.append("Sent", row.raw, flags=[b"\\Seen"])
    daemon.sender.imap_factory = filer
    daemon.run_once()
    (copy,) = dovecot.fetch_all(setup.support, "Sent")
    assert copy["Message-ID"] == f"<{row.message_id}>"
    (row,) = outbox_rows(daemon)
    assert row.copy_state == "done"


def test_a_long_smtp_outage_uses_up_no_attempts_and_loses_nothing(tmp_path, dovecot, smtp_hub, mailboxes,
                                                                  monkeypatch):
    from datetime import timedelta

    from inboxd.core.clock import FrozenClock
    from inboxd.dev.mailserver import free_port
    from inboxd.service import outbox as outbox_module

    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes)
    good = setup.config_path.read_text()
    daemon = setup.started()
    clock = FrozenClock(daemon.clock.now())
    daemon.clock = daemon.sender.clock = daemon.processor.clock = clock
    # Even a server that is never reached would not make inboxd give up on a message that was never tried.
    monkeypatch.setattr(outbox_module, "MAX_ATTEMPTS", 1)
    setup.config_path.write_text(good.replace(f"port: {setup.hub.port}", f"port: {free_port()}"))
    assert daemon.reload()
    customer = mailboxes("customer")
    setup.deliver(setup.customer_mail(customer, "During the outage"), sender=customer)
    for _ in range(5):  # hours without a server, tried again and again
        daemon.run_once()
        clock.advance(timedelta(hours=1))
    (row,) = [r for r in outbox_rows(daemon) if r.rcpt_to == [customer]]
    assert (row.state, row.attempts) == ("pending", 0)
    assert "SMTP connect" in row.last_error
    setup.config_path.write_text(good)
    assert daemon.reload()
    daemon.run_once()
    smtp_hub.wait_for(1, predicate=lambda m: m.rcpt_tos == [customer])
    (row,) = [r for r in outbox_rows(daemon) if r.rcpt_to == [customer]]
    assert row.state == "sent"

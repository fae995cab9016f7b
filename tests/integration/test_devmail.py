"""Smoke tests for the local mail servers every integration and end-to-end test stands on."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING

import pytest

from inboxd.dev.mailserver import Dovecot, SmtpHub

if TYPE_CHECKING:
    from tests.conftest import MailboxFactory

pytestmark = pytest.mark.integration


def make_mail(
    sender: str, recipient: str, subject: str, body: str = "Hello.\n", **headers: str
) -> EmailMessage:
    """Build a plain-text message with a fresh Message-ID and any extra headers."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.com")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def send(hub: SmtpHub, msg: EmailMessage, to_addrs: list[str] | None = None) -> None:
    """Send a message through the hub like any SMTP client would."""
    with smtplib.SMTP(hub.host, hub.port, local_hostname="localhost", timeout=30) as smtp:
        smtp.send_message(msg, to_addrs=to_addrs)


def is_auto_reply(msg: EmailMessage) -> bool:
    return str(msg.get("Auto-Submitted", "")).startswith("auto-replied")


def test_append_then_fetch_all_round_trips_without_marking_seen(
    dovecot: Dovecot, mailboxes: MailboxFactory
) -> None:
    support = mailboxes("support")
    first = make_mail("customer@example.net", support, "Invoice 1042 is wrong", "Bitte prüfen.\n")
    second = make_mail("customer@example.net", support, "Re: Invoice 1042 is wrong")

    uid_first = dovecot.append(support, "Archive", first.as_bytes())
    uid_second = dovecot.append(support, "Archive", second.as_bytes())

    assert uid_second > uid_first >= 1
    fetched = dovecot.fetch_all(support, "Archive")
    assert [m["Message-ID"] for m in fetched] == [first["Message-ID"], second["Message-ID"]]
    assert fetched[0].get_content() == "Bitte prüfen.\n"
    assert dovecot.fetch_all(support) == []
    with dovecot.imap(support) as client:
        client.select_folder("Archive", readonly=True)
        assert client.search(["SEEN"]) == []


def test_mail_sent_through_the_hub_lands_in_the_recipients_inbox(
    dovecot: Dovecot, smtp_hub: SmtpHub, mailboxes: MailboxFactory
) -> None:
    customer, support = mailboxes("customer"), mailboxes("support")
    stranger = "nobody@elsewhere.example"
    msg = make_mail(customer, support, "My order has not arrived")

    send(smtp_hub, msg, to_addrs=[support, stranger])

    [delivered] = dovecot.wait_for(support)
    assert delivered["Message-ID"] == msg["Message-ID"]
    assert delivered["Return-Path"] == f"<{customer}>"
    # A recipient Dovecot does not know is recorded, not delivered, and does not make the hub refuse the mail.
    [accepted] = smtp_hub.wait_for(1)
    assert (accepted.mail_from, accepted.rcpt_tos) == (customer, [support, stranger])
    assert accepted.message["Message-ID"] == msg["Message-ID"]


def test_hub_answers_injected_temporary_failures_then_accepts(
    dovecot: Dovecot, smtp_hub: SmtpHub, mailboxes: MailboxFactory
) -> None:
    support = mailboxes("support")
    msg = make_mail("customer@example.net", support, "Retry me")
    smtp_hub.fail_next(1)

    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(smtp_hub, msg)
    send(smtp_hub, msg)

    assert refused.value.smtp_code == 451
    assert len(smtp_hub.wait_for(1)) == 1
    assert len(dovecot.wait_for(support)) == 1


def test_hub_with_require_auth_refuses_mail_before_login(dovecot: Dovecot, mailboxes: MailboxFactory) -> None:
    support = mailboxes("support")
    msg = make_mail(support, support, "Authenticated")

    with SmtpHub(dovecot, require_auth=True, credentials={support: "secret"}) as auth_hub:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            send(auth_hub, msg)
        with smtplib.SMTP(auth_hub.host, auth_hub.port, local_hostname="localhost", timeout=30) as smtp:
            with pytest.raises(smtplib.SMTPAuthenticationError):
                smtp.login(support, "wrong")
            smtp.login(support, "secret")
            smtp.send_message(msg)

        assert refused.value.smtp_code == 530
        assert [m.login for m in auth_hub.wait_for(1)] == [support]
    assert len(dovecot.wait_for(support)) == 1


def test_vacation_responder_answers_the_envelope_sender(
    dovecot: Dovecot, smtp_hub: SmtpHub, mailboxes: MailboxFactory
) -> None:
    customer, support = mailboxes("customer"), mailboxes("support")
    dovecot.set_vacation(customer, text='Back on Monday, "really".', subject="Away")
    ack = make_mail(support, customer, "[#1042] We received your request")

    send(smtp_hub, ack)

    [reply] = dovecot.wait_for(support, predicate=is_auto_reply)
    assert reply["Auto-Submitted"] == "auto-replied (vacation)"
    assert reply["In-Reply-To"] == ack["Message-ID"]
    assert reply["Subject"] == "Away"
    assert reply.get_content().strip() == 'Back on Monday, "really".'
    # The reply went out with the null reverse-path, as RFC 3834 asks.
    assert [m.mail_from for m in smtp_hub.messages if m.rcpt_tos == [support]] == [""]
    assert [m["Message-ID"] for m in dovecot.wait_for(customer)] == [ack["Message-ID"]]


def test_vacation_responder_stays_silent_for_automatic_mail(
    dovecot: Dovecot, smtp_hub: SmtpHub, mailboxes: MailboxFactory
) -> None:
    customer, support = mailboxes("customer"), mailboxes("support")
    dovecot.set_vacation(customer)
    automatic = make_mail(support, customer, "Auto: received", Auto_Submitted="auto-replied")
    normal = make_mail(support, customer, "A person writing")

    # The hub answers 250 only after Dovecot (and Sieve) finished, so the automatic mail's reply, had there
    # been one, would be in the INBOX before the normal mail is even sent; and with ":days 1" it would also
    # have suppressed the reply to the normal mail.
    send(smtp_hub, automatic)
    send(smtp_hub, normal)

    replies = dovecot.wait_for(support, predicate=is_auto_reply)
    assert [r["In-Reply-To"] for r in replies] == [normal["Message-ID"]]
    assert len(dovecot.wait_for(customer, count=2)) == 2

"""The backbone over real protocols: customer mail in Dovecot → case → acknowledgement via SMTP → customer's mailbox."""

from __future__ import annotations

import pytest

from inboxd.store import repo
from tests.integration.harness import case_detail, cases, make_setup

pytestmark = pytest.mark.integration


def poison_subject(monkeypatch: pytest.MonkeyPatch, subject: str) -> None:
    """Make processing fail for messages with this subject (a stand-in for any unforeseen failure)."""
    import inboxd.service.evaluate as gather  # every message is classified through inboxd.service.evaluate

    real = gather.classify

    def exploding(msg, *args, **kwargs):
        if msg.subject == subject:
            raise RuntimeError("cannot process this one")
        return real(msg, *args, **kwargs)

    monkeypatch.setattr(gather, "classify", exploding)


@pytest.fixture
def setup(tmp_path, dovecot, smtp_hub, mailboxes, database_url):
    """A support mailbox, a staff member and a configuration, on SQLite and on PostgreSQL."""
    return make_setup(tmp_path, dovecot, smtp_hub, mailboxes, database_url=database_url)


def test_customer_mail_gets_exactly_one_threaded_ack(setup, mailboxes):
    customer = mailboxes("customer")
    daemon = setup.daemon()
    daemon.prepare()
    daemon.run_once()  # the folders are first seen empty: the watermark starts here
    original = setup.customer_mail(customer, "Printer broken", "It prints blank pages.")
    setup.deliver(original, sender=customer)
    result = daemon.run_once()
    assert result["processed"] == 1 and result["sent"] == 1

    acks = setup.dovecot.wait_for(customer, count=1)
    assert len(acks) == 1
    ack = acks[0]
    (case,) = cases(daemon)
    token = f"[#{case['number']}]"
    assert token in ack["Subject"]
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["X-Auto-Response-Suppress"] == "All"
    assert ack["Reply-To"] == setup.support
    from email import message_from_bytes

    original_id = message_from_bytes(original)["Message-ID"]
    assert ack["In-Reply-To"] == original_id
    assert original_id in ack["References"]
    assert ack["Message-ID"].endswith("@example.com>")
    # The promise is stated as a time, and stored as the team's open promise.
    assert "You will hear from Example Support" in ack.get_body(("plain",)).get_content()
    detail = case_detail(daemon, case["number"])
    assert [p["owner"] for p in detail["promises"]] == ["team"]
    assert detail["promises"][0]["state"] == "open"
    # Nothing more on a second pass.
    assert daemon.run_once()["sent"] == 0
    assert len(setup.dovecot.fetch_all(customer)) == 1


def test_reply_to_ack_joins_case_without_second_ack(setup, mailboxes):
    customer = mailboxes("customer")
    daemon = setup.started()
    ack = setup.open_case(daemon, customer, "Login fails")
    # The customer answers the acknowledgement: by In-Reply-To …
    setup.deliver(setup.customer_mail(customer, f"Re: {ack['Subject']}", "More detail.",
                                      In_Reply_To=ack["Message-ID"]), sender=customer)
    # … and once more with only the case token in the subject (a client that drops threading headers).
    setup.deliver(setup.customer_mail(customer, f"AW: {ack['Subject']}", "Even more."), sender=customer)
    # Two customer messages, and the copy of our ack that inboxd filed in Sent (known as its own).
    assert daemon.run_once() == {"processed": 3, "sent": 0, "retried": 0, "failed": 0}
    (case,) = cases(daemon)
    detail = case_detail(daemon, case["number"])
    assert [m["kind"] for m in detail["messages"]] == ["customer", "customer", "customer", "own"]
    assert len(setup.dovecot.fetch_all(customer)) == 1


def test_staff_reply_all_marks_first_response_and_keeps_promise(setup, mailboxes):
    customer = mailboxes("customer")
    daemon = setup.started()
    ack = setup.open_case(daemon, customer, "Invoice question")
    from inboxd.dev.demo import sample_mail

    reply = sample_mail(setup.staff, "Staff", customer, f"Re: {ack['Subject']}", "We'll look into it today.",
                        Cc=setup.support, In_Reply_To=ack["Message-ID"])
    setup.deliver(reply, sender=setup.staff)
    daemon.run_once()
    (case,) = cases(daemon)
    detail = case_detail(daemon, case["number"])
    assert detail["first_response_at"] is not None
    assert detail["status"] == "waiting_on_customer"
    assert detail["promises"][0]["state"] == "kept"
    assert len(setup.dovecot.fetch_all(customer)) == 1  # staff mail is never acknowledged


def test_auto_replies_are_never_acknowledged(setup, mailboxes):
    """A real Sieve vacation responder stays silent on our ack, and its reply to us is never answered."""
    customer = mailboxes("customer")
    setup.dovecot.set_vacation(customer)
    daemon = setup.started()
    setup.deliver(setup.customer_mail(customer, "Question"), sender=customer)
    daemon.run_once()
    setup.dovecot.wait_for(customer, count=1)  # our ack arrived at the customer …
    # … and their vacation responder did not answer it (our ack carries Auto-Submitted).
    assert setup.dovecot.fetch_all(setup.support) != []
    vacation_replies = [m for m in setup.dovecot.fetch_all(setup.support) if m["Subject"] == "Out of office"]
    assert vacation_replies == []
    # A vacation reply that does reach support (triggered by a person's mail, say) is recorded, never answered.
    import smtplib

    from inboxd.dev.demo import sample_mail

    with smtplib.SMTP(setup.hub.host, setup.hub.port) as smtp:
        smtp.sendmail(setup.support, [customer], sample_mail(setup.support, "Person", customer, "Hi", "Hello"))
    setup.dovecot.wait_for(setup.support, count=1, predicate=lambda m: m["Subject"] == "Out of office")
    result = daemon.run_once()
    assert result["sent"] == 0
    with daemon.store.connect() as conn:
        assert repo.counts(conn)["messages"] >= 2
    assert len(cases(daemon)) == 1


def test_restart_reacknowledges_nothing_and_catches_up(setup, mailboxes):
    first, second = mailboxes("customer"), mailboxes("customer")
    daemon = setup.started()
    setup.deliver(setup.customer_mail(first, "One"), sender=first)
    daemon.run_once()
    daemon.store.dispose()
    # Down: a new message arrives meanwhile.
    setup.deliver(setup.customer_mail(second, "Two"), sender=second)
    restarted = setup.daemon()
    restarted.prepare()
    assert restarted.run_once()["sent"] == 1
    assert restarted.run_once()["sent"] == 0
    assert len(setup.dovecot.fetch_all(first)) == 1
    assert len(setup.dovecot.fetch_all(second)) == 1


def test_malformed_message_is_quarantined_and_the_next_flows(setup, mailboxes, monkeypatch):
    customer = mailboxes("customer")
    daemon = setup.started()
    poison = setup.customer_mail(customer, "POISON", "x")
    setup.dovecot.append(setup.support, "INBOX", poison)
    # Real garbage degrades instead of failing: broken MIME, an unknown charset, 8-bit headers.
    garbage = (b"From: \xff\xfe <broken@customer.example>\r\nSubject: =?x-unknown?q?=FF?=\r\n"
               b"Content-Type: multipart/mixed; boundary=\"nope\"\r\n\r\n--wrong\r\n\x00\x01\r\n")
    setup.dovecot.append(setup.support, "INBOX", garbage)
    setup.deliver(setup.customer_mail(customer, "Fine", "y"), sender=customer)
    # A message that makes processing fail (here: a template error on that one message) is quarantined.
    poison_subject(monkeypatch, "POISON")
    result = daemon.run_once()
    assert result["processed"] == 3 and result["sent"] == 2
    with daemon.store.connect() as conn:
        (bad,) = repo.quarantined_messages(conn)
    assert "cannot process this one" in bad["error"]
    assert sorted(c["customer"] for c in cases(daemon)) == ["broken@customer.example", customer]


def test_bounce_of_our_ack_joins_its_case_and_is_never_answered(setup, mailboxes):
    """A DSN for our acknowledgement (carrying its headers) is recognised as about our own mail."""
    customer = mailboxes("customer")
    daemon = setup.started()
    ack = setup.open_case(daemon, customer, "Bounce me")
    dsn = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>\r\n"
        f"To: {setup.support}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx.customer.example>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nThe mail system: mailbox full\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.customer.example\r\n\r\nFinal-Recipient: rfc822; {customer}\r\n"
        "Action: failed\r\nStatus: 5.2.2\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: {setup.support}\r\nTo: {customer}\r\nMessage-ID: {ack['Message-ID']}\r\n"
        f"Subject: {ack['Subject']}\r\n\r\n--B--\r\n"
    ).encode()
    setup.deliver(dsn, sender="")
    setup.hub.clear()
    daemon.run_once()
    # The only mail it causes is the notice to staff that the customer is unreachable.
    recipients = [r for m in setup.hub.messages for r in m.rcpt_tos]
    assert setup.staff in recipients and customer not in recipients
    assert not any("mailer-daemon" in r.lower() for r in recipients)
    (case,) = cases(daemon)
    detail = case_detail(daemon, case["number"])
    assert [m["kind"] for m in detail["messages"] if m["kind"] != "own"] == ["customer", "bounce"]


def test_uidvalidity_change_rescans_without_acknowledging_twice(setup, mailboxes, monkeypatch):
    customer = mailboxes("customer")
    daemon = setup.started()
    setup.deliver(setup.customer_mail(customer, "First"), sender=customer)
    setup.dovecot.append(setup.support, "INBOX", setup.customer_mail(customer, "POISON"))
    poison_subject(monkeypatch, "POISON")
    daemon.run_once()
    # The server renumbers the folder (a restore, a migration): every UID is new to inboxd.
    with daemon.store.begin() as conn:
        conn.execute(repo.folder_state.update().values(uidvalidity=repo.folder_state.c.uidvalidity + 1))
    result = daemon.run_once()
    assert result["sent"] == 0
    assert len(setup.dovecot.fetch_all(customer)) == 1
    with daemon.store.connect() as conn:
        assert len(repo.quarantined_messages(conn)) == 1

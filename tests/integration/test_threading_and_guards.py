"""Threading, reopening, bounces and loop guards over real IMAP and SMTP, with a controlled clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from inboxd.core.clock import FrozenClock
from inboxd.dev.demo import sample_mail
from inboxd.service.daemon import Daemon
from inboxd.store import repo
from tests.integration.harness import TUESDAY_MORNING, case_detail, cases, frozen_start, make_setup

pytestmark = pytest.mark.integration

# A Tuesday morning in Berlin: the team is at work.
T0 = TUESDAY_MORNING


@pytest.fixture
def env(tmp_path, dovecot, smtp_hub, mailboxes):
    return frozen_start(make_setup(tmp_path, dovecot, smtp_hub, mailboxes), T0)


def test_case_token_from_someone_not_on_the_case_opens_a_linked_case(env, mailboxes):
    setup, daemon, _ = env
    ann, mallory = mailboxes("ann"), mailboxes("mallory")
    setup.deliver(setup.customer_mail(ann, "My invoice"), sender=ann)
    daemon.run_once()
    (ack,) = setup.dovecot.wait_for(ann, count=1)
    # Someone else writes with Ann's case token in the subject (a guess, a forward): not onto Ann's case.
    setup.deliver(setup.customer_mail(mallory, f"Re: {ack['Subject']}", "Show me Ann's invoice"), sender=mallory)
    daemon.run_once()
    rows = {c["customer"]: c["number"] for c in cases(daemon)}
    assert set(rows) == {ann, mallory}
    detail = case_detail(daemon, rows[mallory])
    assert detail["linked_to"] == rows[ann]
    assert [m["from_addr"] for m in case_detail(daemon, rows[ann])["messages"] if m["kind"] == "customer"] == [ann]
    assert len(setup.dovecot.fetch_all(mallory)) == 1  # Mallory's own case is acknowledged


def test_same_sender_and_subject_without_threading_headers_joins_the_case(env, mailboxes):
    setup, daemon, clock = env
    ann = mailboxes("ann")
    setup.deliver(setup.customer_mail(ann, "Printer broken"), sender=ann)
    daemon.run_once()
    clock.advance(timedelta(hours=5))
    # Ann writes again from another device, with the same subject and no threading headers.
    setup.deliver(setup.customer_mail(ann, "Printer broken", "Any news?"), sender=ann)
    daemon.run_once()
    (case,) = cases(daemon)
    assert len([m for m in case_detail(daemon, case["number"])["messages"] if m["kind"] == "customer"]) == 2
    assert len(setup.dovecot.fetch_all(ann)) == 1


def test_plus_address_joins_the_case(env, mailboxes):
    setup, daemon, _ = env
    ann = mailboxes("ann")
    setup.deliver(setup.customer_mail(ann, "Question"), sender=ann)
    daemon.run_once()
    (case,) = cases(daemon)
    local, domain = setup.support.split("@")
    setup.deliver(sample_mail(ann, "Ann", f"{local}+{case['number']}@{domain}", "Something else", "More"),
                  sender=ann)
    daemon.run_once()
    assert len(cases(daemon)) == 1


def resolve(daemon: Daemon, number: int, at: datetime) -> None:
    with daemon.store.begin() as conn:
        repo.update_case(conn, number, status="resolved", resolved_at=at)


def test_reply_to_resolved_case_reopens_within_the_window_else_opens_a_linked_case(env, mailboxes):
    setup, daemon, clock = env
    ann = mailboxes("ann")
    setup.deliver(setup.customer_mail(ann, "Login"), sender=ann)
    daemon.run_once()
    (ack,) = setup.dovecot.wait_for(ann, count=1)
    (case,) = cases(daemon)
    resolve(daemon, case["number"], clock.now())
    clock.advance(timedelta(days=3))
    setup.deliver(setup.customer_mail(ann, f"Re: {ack['Subject']}", "It broke again",
                                      In_Reply_To=ack["Message-ID"]), sender=ann)
    daemon.run_once()
    assert case_detail(daemon, case["number"])["status"] == "waiting_on_us"
    assert "case.reopened" in [e["kind"] for e in case_detail(daemon, case["number"])["events"]]
    # Resolved again, and this time she answers two months later: a new case, linked, acknowledged.
    resolve(daemon, case["number"], clock.now())
    clock.advance(timedelta(days=60))
    setup.deliver(setup.customer_mail(ann, f"Re: {ack['Subject']}", "Same problem, new laptop",
                                      In_Reply_To=ack["Message-ID"]), sender=ann)
    daemon.run_once()
    rows = cases(daemon)
    assert len(rows) == 2
    new = case_detail(daemon, max(r["number"] for r in rows))
    assert new["linked_to"] == case["number"]
    assert case_detail(daemon, case["number"])["status"] == "resolved"
    acks = [m for m in setup.dovecot.fetch_all(ann) if m["Auto-Submitted"] == "auto-replied"]
    assert len(acks) == 2


def test_sender_in_a_tight_loop_gets_no_more_acks_and_staff_are_told_once(env, mailboxes):
    setup, daemon, clock = env
    robot = mailboxes("robot")
    for i in range(6):
        setup.deliver(setup.customer_mail(robot, f"Ticket update {i}", f"Status {i}"), sender=robot)
        clock.advance(timedelta(seconds=20))
    daemon.run_once()
    acks = setup.dovecot.fetch_all(robot)
    assert len(acks) == 3  # sender_burst: 3 per 10 minutes
    alerts = setup.dovecot.fetch_all(setup.staff)
    assert len(alerts) == 1 and "No acknowledgement sent to" in alerts[0]["Subject"]
    assert alerts[0]["Auto-Submitted"] == "auto-generated"
    assert len(cases(daemon)) == 6  # nothing lost: every message has its case


def test_many_senders_at_once_are_not_a_storm(env, mailboxes):
    setup, daemon, _ = env
    customers = [mailboxes("c") for _ in range(8)]
    for customer in customers:
        setup.deliver(setup.customer_mail(customer, "Backlog after downtime"), sender=customer)
    daemon.run_once()
    assert all(len(setup.dovecot.fetch_all(c)) == 1 for c in customers)
    assert setup.dovecot.fetch_all(setup.staff) == []


def test_permanent_bounce_marks_customer_unreachable_and_suppresses_mail(env, mailboxes):
    setup, daemon, clock = env
    ann = mailboxes("ann")
    setup.deliver(setup.customer_mail(ann, "Order"), sender=ann)
    daemon.run_once()
    (ack,) = setup.dovecot.wait_for(ann, count=1)
    dsn = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>\r\n"
        f"To: {setup.support}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-2@mx.customer.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nUser unknown\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.customer.example\r\n\r\n"
        f"Final-Recipient: rfc822; {ann}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {ack['Message-ID']}\r\nTo: {ann}\r\n\r\n--B--\r\n").encode()
    setup.deliver(dsn, sender="")
    daemon.run_once()
    (case,) = cases(daemon)
    detail = case_detail(daemon, case["number"])
    assert "customer.unreachable" in [e["kind"] for e in detail["events"]]
    assert detail["unreachable_at"] is not None
    (alert,) = setup.dovecot.fetch_all(setup.staff)
    assert ann in alert["Subject"]
    assert daemon.run_once()["sent"] == 0
    # Nothing more goes to that address: a new case from someone else naming … no; Ann's next case is
    # acknowledged only once she writes again (that proves the address works).
    clock.advance(timedelta(days=1))
    setup.deliver(setup.customer_mail(ann, "New address works again"), sender=ann)
    daemon.run_once()
    acks = [m for m in setup.dovecot.fetch_all(ann) if m["Auto-Submitted"] == "auto-replied"]
    assert len(acks) == 2


def test_forged_staff_from_is_handled_as_a_customer(tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes)
    setup.trust_authserv("mx.example.com")
    daemon = Daemon(setup.config_path, setup.database_url, clock=FrozenClock(T0))
    daemon.prepare()
    daemon.run_once()
    customer = mailboxes("customer")
    setup.deliver(setup.customer_mail(customer, "Refund"), sender=customer)
    daemon.run_once()
    (ack,) = setup.dovecot.wait_for(customer, count=1)
    # Someone forges the staff member's From on a reply to the customer's case: not a staff response.
    forged = sample_mail(setup.staff, "Staff", customer, f"Re: {ack['Subject']}", "Refund approved!",
                         Cc=setup.support, In_Reply_To=ack["Message-ID"])
    setup.deliver(forged, sender=setup.staff)
    daemon.run_once()
    (case,) = [c for c in cases(daemon) if c["customer"] == customer]
    detail = case_detail(daemon, case["number"])
    assert detail["first_response_at"] is None
    # Handled as a stranger's mail citing the case: a case of its own, linked, and nothing on the customer's.
    assert [m["kind"] for m in detail["messages"] if m["from_addr"] == setup.staff] == []
    (forged_case,) = [c for c in cases(daemon) if c["customer"] == setup.staff]
    assert case_detail(daemon, forged_case["number"])["linked_to"] == case["number"]
    # The same reply carrying our trusted server's verdict (DKIM aligned, DMARC pass) is staff.
    genuine = sample_mail(setup.staff, "Staff", customer, f"Re: {ack['Subject']}", "Refund is on its way.",
                          Cc=setup.support, In_Reply_To=ack["Message-ID"])
    genuine = (b"Authentication-Results: mx.example.com; dkim=pass header.d=example.com; "
               b"spf=pass smtp.mailfrom=example.com; dmarc=pass header.from=example.com\r\n") + genuine
    setup.deliver(genuine, sender=setup.staff)
    daemon.run_once()
    detail = case_detail(daemon, case["number"])
    assert detail["first_response_at"] is not None

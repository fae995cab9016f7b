"""Never used against anyone: forged senders, injected headers and machine mail, over real IMAP and SMTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from inboxd.service.daemon import Daemon
from inboxd.store import schema
from tests.integration.harness import TUESDAY_MORNING, Setup, case_detail, cases, frozen_start, make_setup

pytestmark = pytest.mark.integration

# A Tuesday morning in Berlin: the team is at work.
T0 = TUESDAY_MORNING


@pytest.fixture
def env(tmp_path, dovecot, smtp_hub, mailboxes):
    return frozen_start(make_setup(tmp_path, dovecot, smtp_hub, mailboxes), T0)


def _q(text: str) -> str:
    """``text`` as one RFC 2047 Q-encoded word, every byte escaped."""
    return "=?utf-8?Q?" + "".join(f"={b:02X}" for b in text.encode()) + "?="


def _raw(setup: Setup, from_: str, subject: str = "Help", body: str = "Please help.") -> bytes:
    return (f"From: {from_}\r\nTo: {setup.support}\r\nSubject: {subject}\r\n"
            f"Date: Tue, 24 Nov 2026 09:29:00 +0000\r\nMessage-ID: <{abs(hash((from_, subject)))}@customer.example>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


def test_a_display_name_that_decodes_to_a_staff_address_is_a_customer_not_a_staff_note(env, mailboxes):
    setup, daemon, _ = env
    eve = mailboxes("eve")
    # Decoded, the From reads "Staff <staff@…> <eve@…>"; only eve@… is an address.
    setup.deliver(_raw(setup, f"{_q(f'Staff <{setup.staff}>')} <{eve}>", "Resolve case 1",
                       "#resolve\n#priority urgent"), sender=eve)
    daemon.run_once()
    (case,) = cases(daemon)
    assert case["customer"] == eve
    detail = case_detail(daemon, case["number"])
    assert [m["kind"] for m in detail["messages"] if m["direction"] == "in"] == ["customer"]
    assert len(setup.acks_for(eve)) == 1  # acknowledged as the customer it is
    assert setup.dovecot.fetch_all(setup.staff) == []  # no note confirmation, nothing on the staff's behalf


def test_a_display_name_that_decodes_to_crlf_and_bcc_acknowledges_only_the_real_sender(env, mailboxes):
    setup, daemon, _ = env
    ann, victim = mailboxes("ann"), mailboxes("victim")
    name = _q(f"Ann\r\nBcc: {victim}\r\n")
    setup.deliver(_raw(setup, f"{name} <{ann}>", "Help"), sender=ann)
    daemon.run_once()
    (ack,) = setup.dovecot.wait_for(ann, count=1)
    assert ack["Bcc"] is None
    daemon.run_once()
    assert setup.dovecot.fetch_all(victim) == []
    assert all(victim not in m.rcpt_tos for m in setup.hub.wait_for(1))
    (case,) = cases(daemon)
    assert case["customer"] == ann and "\n" not in (case_detail(daemon, case["number"])["customer_name"] or "")


def _kinds(daemon: Daemon) -> list[tuple[str, str]]:
    with daemon.store.connect() as conn:
        rows = conn.execute(select(schema.messages.c.kind, schema.messages.c.reason)
                            .where(schema.messages.c.direction == "in").order_by(schema.messages.c.id))
        return [(str(r.kind), str(r.reason)) for r in rows]


def test_a_sender_without_a_domain_is_recorded_but_gets_no_mail(env):
    setup, daemon, _ = env
    setup.deliver(_raw(setup, "Someone <someone>", "Help"), sender="someone@customer.example")
    daemon.run_once()
    assert cases(daemon) == []
    ((kind, reason),) = _kinds(daemon)
    assert kind == "ignored" and "no domain" in reason
    daemon.run_once()
    assert setup.hub.messages == []


REPORTS = Path(__file__).resolve().parents[1] / "data" / "mail" / "reports"


@pytest.mark.parametrize("name", ["dmarc_aggregate_microsoft.eml", "tlsrpt_mailru.eml", "sisimai_arf-01.eml",
                                  "sisimai_arf-22.eml", "arf_no_report_type.eml", "gateway_groupwise.eml",
                                  "parsedmarc_dmarc_failure_report_domain_de.eml"])
def test_reports_about_mail_are_recorded_and_never_acknowledged(env, name):
    setup, daemon, _ = env
    setup.deliver((REPORTS / name).read_bytes(), sender="reports@provider.example")
    daemon.run_once()
    daemon.run_once()
    ((kind, reason),) = _kinds(daemon)
    assert kind in ("auto_reply", "bounce"), reason
    assert setup.hub.messages == []  # no acknowledgement, no staff alert
    assert cases(daemon) == []


def _auto_response(setup: Setup, sender: str, number: int) -> bytes:
    # A plain responder: no Auto-Submitted, no Precedence, no In-Reply-To, a new subject each time.
    return setup.customer_mail(sender, f"Your message has arrived ({number})",
                               "Thank you for your email.\n\nKind regards,\nACME Ltd")


def test_an_auto_responder_without_headers_gets_one_acknowledgement_and_no_staff_alert(env, mailboxes):
    setup, daemon, _ = env
    ann = mailboxes("ann")
    setup.deliver(setup.customer_mail(ann, "Order 4711 missing"), sender=ann)
    answered = 0
    for _ in range(4):
        daemon.run_once()
        acks = setup.acks_for(ann)
        # Each acknowledgement that reaches Ann's mailbox is answered at once by her responder.
        for _ack in acks[answered:]:
            setup.deliver(_auto_response(setup, ann, answered + 1), sender=ann)
            answered += 1
    assert answered == 1
    assert len(setup.acks_for(ann)) == 1
    assert setup.dovecot.fetch_all(setup.staff) == []
    assert [kind for kind, _ in _kinds(daemon)] == ["customer", "auto_reply"]
    assert len(cases(daemon)) == 1


def test_an_auto_responder_that_cites_the_ack_is_attached_to_the_case_without_an_alert(env, mailboxes):
    setup, daemon, _ = env
    ann = mailboxes("ann")
    ack = setup.open_case(daemon, ann, "Order 4711 missing")
    setup.deliver(setup.customer_mail(ann, "Automatic confirmation", "Thank you for your message.",
                                      In_Reply_To=ack["Message-ID"], References=ack["Message-ID"]), sender=ann)
    daemon.run_once()
    (case,) = cases(daemon)
    kinds = [m["kind"] for m in case_detail(daemon, case["number"])["messages"] if m["direction"] == "in"]
    assert kinds == ["customer", "auto_reply"]
    assert len(setup.acks_for(ann)) == 1 and setup.dovecot.fetch_all(setup.staff) == []


def test_a_customer_who_thanks_for_the_ack_and_says_more_is_still_a_customer(env, mailboxes):
    setup, daemon, clock = env
    ann = mailboxes("ann")
    setup.open_case(daemon, ann, "Order 4711 missing")
    setup.deliver(setup.customer_mail(ann, "Payment fails", "Thank you for your email, but it still does not work. "
                                      "The page shows error 500 when I pay with my card."), sender=ann)
    daemon.run_once()
    assert [kind for kind, _ in _kinds(daemon)] == ["customer", "customer"]
    assert len(setup.acks_for(ann)) == 2

"""Who wrote a message: a machine is never acknowledged, staff are recognised, customers get their ack.

The kind decides what a user sees: ``customer`` gets an acknowledgement, ``auto_reply``/``bounce``/``list``
never do (that is how inboxd stays out of mail loops), ``staff`` replies count as the team's response,
``staff_note`` is internal. Realistic whole messages are in ``tests/data/mail/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from inboxd.mail.classify import Classification, FolderRole, TeamIdentity, classify
from inboxd.mail.parse import ParsedMessage, parse_message

MAIL = Path(__file__).resolve().parents[1] / "data" / "mail"

TEAM = TeamIdentity(
    our_addresses=frozenset({"support@example.com", "help@example.com"}),
    staff=frozenset({"freelancer@gmail.com"}),
    staff_domains=frozenset({"example.com"}),
)



def customer(subject: str = "Invoice missing", extra: str = "") -> str:
    """The headers of an ordinary customer mail, with ``extra`` header lines."""
    headers = f"From: Ann Customer <ann@customer.example>\nTo: support@example.com\nSubject: {subject}"
    return headers + ("\n" + extra if extra else "")


CUSTOMER = customer()


def parsed(headers: str, body: str = "Hello, my invoice is missing.\n") -> ParsedMessage:
    return parse_message((headers.rstrip("\n") + "\n\n" + body).encode("utf-8"))


def kind_of(headers: str, folder_role: FolderRole = "inbox", ignored_by_rule: str | None = None) -> Classification:
    return classify(parsed(headers), TEAM, folder_role, ignored_by_rule)


def test_a_normal_customer_is_a_customer() -> None:
    verdict = kind_of(CUSTOMER)
    assert verdict.kind == "customer"
    assert not verdict.automated


# --------------------------------------------------------------------------------------------
# Machines: one signal each, on an otherwise ordinary customer mail
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("extra", "kind", "subject"),
    [
        # RFC 3834
        ("Auto-Submitted: auto-replied", "auto_reply", "Invoice missing"),
        ("Auto-Submitted: auto-generated", "auto_reply", "Invoice missing"),
        ("Auto-Submitted: auto-replied (vacation)", "auto_reply", "Invoice missing"),
        ("Auto-Submitted: Auto-Notified", "auto_reply", "Invoice missing"),
        ("Auto-Submitted: no", "customer", "Invoice missing"),
        ("Auto-Submitted: No", "customer", "Invoice missing"),
        # Precedence
        ("Precedence: bulk", "auto_reply", "Invoice missing"),
        ("Precedence: junk", "auto_reply", "Invoice missing"),
        ("Precedence: auto_reply", "auto_reply", "Invoice missing"),
        ("Precedence: list", "list", "Invoice missing"),
        ("Precedence: Bulk", "auto_reply", "Invoice missing"),
        ("Precedence: first-class", "customer", "Invoice missing"),
        # Mailing lists (RFC 2369, RFC 2919)
        ("List-Id: Vendor news <news.vendor.example>", "list", "Invoice missing"),
        ("List-Unsubscribe: <mailto:leave@vendor.example>", "list", "Invoice missing"),
        ("List-Post: <mailto:news@vendor.example>", "list", "Invoice missing"),
        # Vendor auto-reply markers
        ("X-Autoreply: yes", "auto_reply", "Invoice missing"),
        ("X-Autorespond: Out of office", "auto_reply", "Invoice missing"),
        # The null sender: only bounces and auto-replies use it (RFC 5321 4.5.5)
        ("Return-Path: <>", "auto_reply", "Invoice missing"),
        ("Return-Path: <ann@customer.example>", "customer", "Invoice missing"),
        # Exchange marks its own out-of-office replies this way, often without Auto-Submitted.
        ("X-Auto-Response-Suppress: All", "auto_reply", "Automatic reply: Invoice missing"),
        ("X-Auto-Response-Suppress: All", "auto_reply", "Automatische Antwort: Rechnung fehlt"),
        # Outlook also sets it on ordinary mail (meeting requests, some add-ins): not a signal alone.
        ("X-Auto-Response-Suppress: All", "customer", "Invoice missing"),
    ],
)
def test_automation_signal(extra: str, kind: str, subject: str) -> None:
    assert kind_of(customer(subject, extra)).kind == kind


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        pytest.param("From: MAILER-DAEMON@mx.customer.example (Mail Delivery System)\nReturn-Path: <>\n"
                     "Subject: Undelivered Mail Returned to Sender", "bounce", id="postfix"),
        pytest.param("From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
                     "Subject: Delivery Status Notification (Failure)", "bounce", id="gmail"),
        pytest.param("From: postmaster@outlook.com\nSubject: Undeliverable: Invoice missing", "bounce",
                     id="exchange"),
        pytest.param("From: Ann <ann@customer.example>\nReturn-Path: <>\nSubject: failure notice", "bounce",
                     id="qmail, null sender"),
        pytest.param("From: Mail System <system@mx.customer.example>\nMIME-Version: 1.0\n"
                     "Content-Type: multipart/report; report-type=delivery-status; boundary=x", "bounce",
                     id="multipart/report from an unusual sender"),
    ],
)
def test_bounces(headers: str, kind: str) -> None:
    assert kind_of(headers + "\nTo: support@example.com").kind == kind


@pytest.mark.parametrize(
    "sender",
    [
        "noreply@shop.example",
        "no-reply@accounts.google.com",
        "do-not-reply@bank.example",
        "donotreply@bank.example",
        "DoNotReply@Bank.Example",
        "no-reply+tracking@shop.example",
        "notifications@github.com",
        "bounces+12345@mail.vendor.example",
        "autoresponder@vendor.example",
    ],
)
def test_no_reply_senders_are_never_acknowledged(sender: str) -> None:
    verdict = kind_of(f"From: Shop <{sender}>\nTo: support@example.com\nSubject: Your order has shipped")
    assert verdict.kind == "auto_reply"
    assert verdict.automated


@pytest.mark.parametrize(
    "sender",
    ["noah@customer.example", "replying.customer@customer.example", "notice.board@school.example",
     "bouncer@club.example"],
)
def test_people_whose_names_look_like_machines_are_customers(sender: str) -> None:
    assert kind_of(f"From: {sender}\nTo: support@example.com\nSubject: Question").kind == "customer"


OUT_OF_OFFICE = {
    "en": ["Out of Office: Invoice missing", "Automatic reply: Invoice missing", "Auto-Reply: Invoice missing",
           "Autoreply: Invoice missing", "Out of the office until Monday", "AutoResponse: Invoice missing"],
    "de": ["Automatische Antwort: Rechnung fehlt", "Abwesenheitsnotiz: Rechnung fehlt",
           "Abwesenheit bis 30.11.", "Autoantwort: Rechnung fehlt"],
    "fr": ["Réponse automatique : Facture manquante", "Reponse automatique: Facture manquante",
           "Absent du bureau jusqu'au 30/11", "Absence : Facture manquante"],
    "es": ["Respuesta automática: Falta la factura", "Respuesta automatica: Falta la factura",
           "Fuera de la oficina: Falta la factura"],
    "it": ["Risposta automatica: Fattura mancante", "Fuori ufficio: Fattura mancante"],
    "nl": ["Automatisch antwoord: Factuur ontbreekt", "Afwezig: Factuur ontbreekt"],
    "pt": ["Resposta automática: Fatura em falta", "Fora do escritório: Fatura em falta",
           "Resposta automatica: Fatura em falta"],
}


@pytest.mark.parametrize(
    "subject",
    [pytest.param(subject, id=f"{lang}: {subject}") for lang, subjects in OUT_OF_OFFICE.items()
     for subject in subjects],
)
def test_out_of_office_subjects_in_common_languages(subject: str) -> None:
    # Only the subject gives it away: some clients send nothing else.
    headers = f"From: Ann Customer <ann@customer.example>\nTo: support@example.com\nSubject: {subject}"
    assert kind_of(headers).kind == "auto_reply"


@pytest.mark.parametrize(
    "subject",
    ["Re: [#1042] Out of office hours support?", "Question about your office hours",
     "Fwd: Automatic reply received", "Rechnung fehlt", "Réponse à votre offre"],
)
def test_customer_subjects_that_merely_mention_an_absence_are_customers(subject: str) -> None:
    headers = f"From: Ann Customer <ann@customer.example>\nTo: support@example.com\nSubject: {subject}"
    assert kind_of(headers).kind == "customer"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("sieve_vacation.eml", "auto_reply"),
        ("exchange_ooo.eml", "auto_reply"),
        ("postfix_dsn.eml", "bounce"),
        ("mailman_list.eml", "list"),
        ("gmail_customer.eml", "customer"),
    ],
)
def test_realistic_messages(name: str, kind: str) -> None:
    msg = parse_message((MAIL / name).read_bytes())
    assert classify(msg, TEAM).kind == kind


# --------------------------------------------------------------------------------------------
# Staff, our own addresses, rules
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("headers", "folder_role", "kind"),
    [
        pytest.param("From: Alice <alice@example.com>\nTo: ann@customer.example\nCc: support@example.com",
                     "inbox", "staff", id="Reply-All from a staff domain"),
        pytest.param("From: Alice <Alice@Example.com>\nTo: Ann <ann@customer.example>, support@example.com",
                     "inbox", "staff", id="staff address in another case"),
        pytest.param("From: freelancer@gmail.com\nTo: ann@customer.example\nCc: support@example.com",
                     "inbox", "staff", id="listed staff outside the staff domain"),
        pytest.param("From: alice@example.com\nTo: support@example.com", "inbox", "staff_note",
                     id="staff to the support address only"),
        pytest.param("From: alice@example.com\nTo: support+1042@example.com\nCc: bob@example.com, help@example.com",
                     "inbox", "staff_note", id="staff to our addresses and colleagues only"),
        pytest.param("From: Support <support@example.com>\nTo: ann@customer.example", "sent", "staff",
                     id="Sent folder of the shared mailbox"),
        pytest.param("From: Support <support@example.com>\nTo: alice@example.com", "sent", "staff_note",
                     id="Sent folder, to a colleague"),
        pytest.param("From: Support <support@example.com>\nTo: ann@customer.example", "inbox", "ignored",
                     id="our own address in the inbox"),
        pytest.param("From: support+1042@example.com\nTo: ann@customer.example", "inbox", "ignored",
                     id="our own plus address"),
        pytest.param("From: alice@example.com.evil.example\nTo: support@example.com", "inbox", "customer",
                     id="look-alike domain is not staff"),
        pytest.param("To: support@example.com", "inbox", "ignored", id="no sender at all"),
    ],
)
def test_staff_and_own_mail(headers: str, folder_role: FolderRole, kind: str) -> None:
    assert kind_of(headers + "\nSubject: Re: [#1042] Invoice missing", folder_role).kind == kind


@pytest.mark.parametrize(
    "extra",
    ["Auto-Submitted: auto-replied", "Auto-Submitted: auto-generated", "Precedence: bulk"],
)
def test_a_staff_members_auto_reply_is_not_a_staff_reply(extra: str) -> None:
    # Alice's out-of-office answering a reminder (threaded to the case) must not count as the team's response.
    headers = ("From: Alice <alice@example.com>\nTo: support@example.com\nCc: ann@customer.example\n"
               "Subject: Out of Office: Reminder [#1042]\n" + extra)
    verdict = kind_of(headers)
    assert verdict.kind == "auto_reply"
    assert verdict.automated


def test_rule_ignore_wins_over_customer() -> None:
    verdict = kind_of(CUSTOMER, ignored_by_rule="vendors")
    assert verdict.kind == "ignored"
    assert "vendors" in verdict.reason


def test_machine_mail_stays_machine_mail_even_when_a_rule_ignores_it() -> None:
    # Either way it gets no ack; the kind says why in ``inboxd explain``.
    assert kind_of(customer(extra="Auto-Submitted: auto-replied"), ignored_by_rule="vendors").automated


def test_every_signal_is_reported() -> None:
    verdict = classify(parse_message((MAIL / "postfix_dsn.eml").read_bytes()), TEAM)
    assert verdict.kind == "bounce"
    assert len(verdict.signals) >= 3  # multipart/report, MAILER-DAEMON, null sender, Auto-Submitted

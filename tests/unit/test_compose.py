"""Outgoing mail: it threads in the customer's client, never starts a loop, and cannot be hijacked.

Every assertion reads the composed bytes back the way a receiving client would
(``email.message_from_bytes`` with the modern policy).
"""

from __future__ import annotations

import email
import email.policy
import hashlib
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxd.mail.compose import OutgoingMail, compose, deterministic_message_id

SECRET = b"this installation's secret"
WHEN = datetime(2026, 11, 20, 18, 0, tzinfo=timezone(timedelta(hours=1)))

ACK = OutgoingMail(
    from_addr="support@example.com",
    from_name="Example Support",
    to=("ann@customer.example",),
    subject="We have your request [#1042]",
    body="Hello Ann,\n\nwe will answer by Monday 23 November, 13:00 CET.\n",
    message_id=deterministic_message_id("ack:1042", "example.com", SECRET),
    date=WHEN,
    reply_to="support+1042@example.com",
    in_reply_to="CAJx8q@mail.gmail.com",
    references=("root@customer.example",),
)


def read(mail: OutgoingMail) -> EmailMessage:
    parsed = email.message_from_bytes(compose(mail), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def content(msg: EmailMessage) -> str:
    """The body as the customer reads it (line endings normalised)."""
    return str(msg.get_content()).replace("\r\n", "\n")


def header_lines(raw: bytes) -> list[str]:
    """The header block as logical lines (continuation lines unfolded)."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    return head.replace("\r\n ", " ").replace("\r\n\t", " ").split("\r\n")


# --------------------------------------------------------------------------------------------
# Message-IDs
# --------------------------------------------------------------------------------------------

def test_deterministic_message_id_is_stable() -> None:
    # A retried send is the same message, so the customer's client shows it once.
    assert (deterministic_message_id("ack:1042", "example.com", SECRET)
            == deterministic_message_id("ack:1042", "example.com", SECRET))


def test_message_id_cannot_be_derived_without_the_secret() -> None:
    # The key is public ("ack:1042"); the Message-ID is not: another secret, another ID, and the
    # unkeyed hash of the key appears nowhere in it.
    ours = deterministic_message_id("ack:1042", "example.com", SECRET)
    theirs = deterministic_message_id("ack:1042", "example.com", b"another install")
    assert ours != theirs
    assert hashlib.sha256(b"ack:1042").hexdigest()[:20] not in ours
    with pytest.raises(ValueError, match="secret"):
        deterministic_message_id("ack:1042", "example.com", b"")


@pytest.mark.parametrize(
    ("a", "b"),
    [("ack:1042", "ack:1043"), ("ack:1042", "update:1042"), ("update:1042:1", "update:1042:2"),
     ("ack:1042", "Ack:1042 ")],
)
def test_deterministic_message_id_differs_per_key(a: str, b: str) -> None:
    assert deterministic_message_id(a, "example.com", SECRET) != deterministic_message_id(b, "example.com", SECRET)


@settings(max_examples=200, deadline=None)
@given(key=st.text(min_size=1, max_size=60))
def test_deterministic_message_id_is_a_valid_msg_id(key: str) -> None:
    message_id = deterministic_message_id(key, "example.com", SECRET)
    assert message_id.endswith("@example.com")
    assert message_id.isascii() and message_id.isprintable()
    assert not any(ch in message_id for ch in " <>\"\\,;:")


def test_message_id_header_carries_the_deterministic_id() -> None:
    assert read(ACK)["Message-ID"] == f"<{ACK.message_id}>"


# --------------------------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------------------------

def test_loop_prevention_headers() -> None:
    msg = read(ACK)
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"


def test_threading_and_reply_headers() -> None:
    msg = read(ACK)
    assert msg["In-Reply-To"] == "<CAJx8q@mail.gmail.com>"
    assert msg["References"].split() == ["<root@customer.example>", "<CAJx8q@mail.gmail.com>"]
    assert [a.addr_spec for a in msg["Reply-To"].addresses] == ["support+1042@example.com"]
    assert [a.addr_spec for a in msg["To"].addresses] == ["ann@customer.example"]
    assert msg["From"].addresses[0].display_name == "Example Support"
    assert parsedate_to_datetime(msg["Date"]) == WHEN


def test_in_reply_to_already_in_references_is_not_repeated() -> None:
    msg = read(replace(ACK, references=("root@customer.example", "CAJx8q@mail.gmail.com")))
    assert msg["References"].split() == ["<root@customer.example>", "<CAJx8q@mail.gmail.com>"]


def test_no_reply_headers_for_a_new_thread() -> None:
    msg = read(replace(ACK, in_reply_to=None, references=(), reply_to=None))
    for name in ("In-Reply-To", "References", "Reply-To"):
        assert msg[name] is None


@pytest.mark.parametrize("length", [19, 20, 25, 200])
def test_very_long_reference_chains_are_trimmed_keeping_the_root(length: int) -> None:
    chain = tuple(f"m{i}@x.example" for i in range(length))
    msg = read(replace(ACK, references=chain, in_reply_to="last@x.example"))
    refs = msg["References"].split()
    full = [f"<{r}>" for r in (*chain, "last@x.example")]
    assert len(refs) == min(20, len(full))
    assert refs[0] == "<m0@x.example>"  # the thread root keeps the conversation together
    assert refs[-1] == "<last@x.example>"  # the message we answer
    assert refs[1:] == full[len(full) - len(refs) + 1:]  # then the most recent ancestors, in order


INJECTION = "\r\nBcc: victim@evil.example"


@pytest.mark.parametrize(
    "field",
    [
        {"subject": "Your request" + INJECTION},
        {"from_name": "Example Support" + INJECTION},
        {"to": ("ann@customer.example" + INJECTION,)},
        {"reply_to": "support@example.com" + INJECTION},
        {"in_reply_to": "CAJx8q@mail.gmail.com" + INJECTION},
        {"references": ("root@customer.example" + INJECTION,)},
        {"subject": "Your request\nBcc: victim@evil.example\n\nfake body"},
        {"subject": "Grüße" + INJECTION},
        {"from_name": "Jörg" + INJECTION},
    ],
    ids=lambda field: next(iter(field)),
)
def test_header_injection_adds_no_header(field: dict[str, object]) -> None:
    raw = compose(replace(ACK, **field))  # type: ignore[arg-type]
    lines = header_lines(raw)
    clean = header_lines(compose(ACK))
    assert len(lines) == len(clean)
    assert not any(line.lower().startswith("bcc") for line in lines)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Bcc"] is None
    recipients = [a.addr_spec for name in ("To", "Cc", "Reply-To") if msg[name] for a in msg[name].addresses]
    assert "victim@evil.example" not in recipients
    assert content(msg) == ACK.body


# --------------------------------------------------------------------------------------------
# International text
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("subject", "body", "name"),
    [
        ("Ihre Anfrage – Grüße aus Köln [#1042]", "Hallo Jörg,\n\nwir melden uns bis Montag, 13:00 Uhr.\n€ ✓\n",
         "Süpport Team"),
        ("Votre demande « facture » [#1042]", "Bonjour Amélie,\n\nnous répondrons lundi.\n", "Équipe"),
        ("Заявка [#1042]" + " очень длинная тема" * 6, "Здравствуйте!\n" + "строка\n" * 3, "Поддержка"),
        ("ご依頼 [#1042]", "お問い合わせありがとうございます。\n", "サポート"),
        ("Plain ASCII [#1042]", "Hello\n\n-- \nSupport\n", "Support"),
    ],
)
def test_non_ascii_text_survives_a_round_trip(subject: str, body: str, name: str) -> None:
    mail = replace(ACK, subject=subject, body=body, from_name=name)
    raw = compose(mail)
    assert raw.isascii()  # 7-bit clean: survives any relay
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only, as SMTP wants
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    # Clients trim the whitespace that folding may leave before the first encoded word.
    assert msg["Subject"].strip() == subject
    assert msg["From"].addresses[0].display_name == name
    assert content(msg) == body


@settings(max_examples=150, deadline=None)
@given(subject=st.text(max_size=120), body=st.text(max_size=300), name=st.text(max_size=40))
def test_any_text_composes_into_one_message_with_the_same_headers(subject: str, body: str, name: str) -> None:
    raw = compose(replace(ACK, subject=subject, body=body, from_name=name))
    names = [line.split(":", 1)[0].lower() for line in header_lines(raw)]
    assert names == [line.split(":", 1)[0].lower() for line in header_lines(compose(ACK))]


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=1200))
@settings(max_examples=60, deadline=None)
def test_no_header_line_exceeds_998_octets_and_the_subject_survives(subject: str) -> None:
    raw = compose(replace(ACK, subject="x" * 900 + subject))
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 998
    assert str(read(replace(ACK, subject="x" * 900 + subject))["Subject"]) == " ".join(
        ("x" * 900 + subject).replace("\x00", " ").split())


def test_a_non_ascii_recipient_keeps_its_local_part_and_gets_an_idna_domain() -> None:
    raw = compose(replace(ACK, to=("jdöe@mächine.example", "joe@mächine.example")))
    assert b"\r\nTo: jd\xc3\xb6e@xn--mchine-bua.example, joe@xn--mchine-bua.example\r\n" in raw


# --------------------------------------------------------------------------------------------
# An HTML alternative
# --------------------------------------------------------------------------------------------


def test_with_html_the_message_is_text_then_html_and_always_the_same_bytes() -> None:
    page = "<!DOCTYPE html><html lang=\"de\"><body><p>" + "Grüße, " * 40 + "</p></body></html>\n"
    mail = replace(ACK, subject="Ihre Anfrage " + "x" * 120, html=page)
    raw = compose(mail)
    assert raw == compose(mail)  # the boundary follows from the Message-ID: a retry is the same message
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    msg = read(mail)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert content(msg.get_body(("plain",))) == ACK.body  # type: ignore[arg-type]
    assert content(msg.get_body(("html",))) == page  # type: ignore[arg-type]
    assert msg["Subject"] == mail.subject and msg["Message-ID"] == f"<{ACK.message_id}>"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert "MIME-Version" not in msg.get_body(("html",))  # type: ignore[operator]


def test_without_html_the_message_stays_plain_text() -> None:
    assert read(ACK).get_content_type() == "text/plain"

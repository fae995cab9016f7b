"""Parsing real-world mail: what staff see in a case (subject, sender, text) is readable, and nothing raises.

Each table row is a message a support mailbox really meets: encoded-word subjects in several charsets,
raw 8-bit headers, bodies in legacy charsets or HTML only, missing or broken headers. Realistic whole
messages live in ``tests/data/mail/``.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inboxd.mail.classify import TeamIdentity, classify
from inboxd.mail.parse import Attachment, parse_message
from inboxd.mail.reply import reply_text

MAIL = Path(__file__).resolve().parents[1] / "data" / "mail"


def eml(name: str) -> bytes:
    return (MAIL / name).read_bytes()


def message(headers: bytes | str, body: bytes | str = b"Hello\n") -> bytes:
    """A message from a header block (one header a line, LF endings) and a body."""
    head = headers.encode("utf-8") if isinstance(headers, str) else headers
    text = body.encode("utf-8") if isinstance(body, str) else body
    return head.rstrip(b"\n") + b"\n\n" + text


def b64word(text: str, charset: str = "utf-8") -> bytes:
    return b"=?" + charset.encode() + b"?b?" + base64.b64encode(text.encode(charset)) + b"?="


# --------------------------------------------------------------------------------------------
# Subjects
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        pytest.param(b"=?utf-8?q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=", "Grüße aus Köln", id="utf-8 q"),
        pytest.param(b"=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus =?UTF-8?Q?K=C3=B6ln?=", "Grüße aus Köln",
                     id="utf-8 q, mixed with plain words"),
        pytest.param(b64word("Заказ №5 не пришёл"), "Заказ №5 не пришёл", id="utf-8 b, cyrillic"),
        pytest.param(b"=?iso-8859-1?q?Gr=FC=DFe_aus_K=F6ln?=", "Grüße aus Köln", id="iso-8859-1 q"),
        pytest.param(b64word("Grüße aus Köln", "iso-8859-1"), "Grüße aus Köln", id="iso-8859-1 b"),
        pytest.param(b"=?windows-1252?q?=93Rechnung=94_=96_10_=80?=", "“Rechnung” – 10 €", id="windows-1252 q"),
        pytest.param(b"Re: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\n =?utf-8?q?_aus_K=C3=B6ln?=", "Re: Grüße aus Köln",
                     id="folded over two lines"),
        pytest.param("Grüße aus Köln".encode(), "Grüße aus Köln", id="raw 8-bit utf-8"),
        pytest.param("Grüße aus Köln".encode("latin-1"), "Grüße aus Köln", id="raw 8-bit latin-1"),
        pytest.param("“Rechnung” – 10 €".encode("cp1252"), "“Rechnung” – 10 €", id="raw 8-bit cp1252"),
    ],
)
def test_subject_is_decoded_for_staff(subject: bytes, expected: str) -> None:
    msg = parse_message(message(b"From: ann@example.org\nSubject: " + subject))
    assert msg.subject == expected


@pytest.mark.parametrize(
    "word",
    [
        pytest.param(b"=?x-unknown-charset?q?Gr=FC=DFe?=", id="unknown charset"),
        pytest.param(b"=?utf-8?q?Gr=FC=DFe?=", id="latin-1 bytes labelled utf-8"),
        pytest.param(b"=?utf-8?b?!!!not*base64?=", id="broken base64"),
        pytest.param(b"=?utf-8?x?Gr=FC=DFe?=", id="unknown encoding letter"),
        pytest.param(b"=?utf-8?q?Gr=C3=BC=C3", id="unterminated word"),
    ],
)
def test_broken_encoded_word_degrades_and_keeps_the_rest_of_the_subject(word: bytes) -> None:
    msg = parse_message(message(b"From: ann@example.org\nSubject: Invoice " + word + b" attached"))
    assert msg.subject.startswith("Invoice ")
    assert msg.subject.endswith(" attached")
    assert msg.from_addr == "ann@example.org"


@pytest.mark.parametrize(
    ("raw", "subject", "text"),
    [
        # Codecs whose errors are UnicodeError but not UnicodeDecodeError, and a NUL in a charset name.
        pytest.param(b"Subject: =?idna?q?xn--abc?= hello\n\nhi", "xn--abc hello", "hi", id="idna word"),
        pytest.param(b"Subject: =?punycode?q?abc-9999999999?= hello\n\nhi", "abc-9999999999 hello", "hi",
                     id="punycode word"),
        pytest.param(b"Subject: =?utf\x00?q?abc?= hello\n\nhi", "abc hello", "hi", id="NUL in the charset"),
        pytest.param(b"Subject: s\nContent-Type: text/plain; charset=punycode\n\nabc-9999999999", "s",
                     "abc-9999999999", id="punycode body"),
        pytest.param(b"Subject: s\nContent-Type: text/plain; charset*=utf-8''utf%00\n\nhello there", "s",
                     "hello there", id="NUL in the body charset"),
    ],
)
def test_hostile_charsets_degrade_instead_of_raising(raw: bytes, subject: str, text: str) -> None:
    msg = parse_message(b"From: ann@example.org\n" + raw)
    assert (msg.subject, msg.text) == (subject, text)


@pytest.mark.parametrize(
    ("header", "name", "addr"),
    [
        (b"From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <Joerg@Example.ORG>", "Jörg Müller", "joerg@example.org"),
        ("From: Jörg Müller <joerg@example.org>".encode(), "Jörg Müller", "joerg@example.org"),
        ("From: Jörg Müller <joerg@example.org>".encode("latin-1"), "Jörg Müller", "joerg@example.org"),
        (b"From: joerg@example.org (Joerg)", "Joerg", "joerg@example.org"),
        (b"X-Nothing: here", "", ""),
    ],
)
def test_sender_name_and_address(header: bytes, name: str, addr: str) -> None:
    msg = parse_message(message(header + b"\nSubject: x"))
    assert (msg.from_name, msg.from_addr) == (name, addr)


# --------------------------------------------------------------------------------------------
# Bodies
# --------------------------------------------------------------------------------------------

GREETING = "Grüße, Jörg – der Preis ist 10 €"


@pytest.mark.parametrize(
    ("content_type", "cte", "body", "expected"),
    [
        pytest.param("text/plain; charset=utf-8", "8bit", GREETING.encode(), GREETING, id="utf-8"),
        pytest.param("text/plain; charset=iso-8859-1", "8bit", "Grüße, Jörg".encode("latin-1"),
                     "Grüße, Jörg", id="latin-1"),
        pytest.param("text/plain; charset=iso-8859-1", "quoted-printable", b"Gr=FC=DFe, J=F6rg",
                     "Grüße, Jörg", id="latin-1 quoted-printable"),
        pytest.param("text/plain; charset=windows-1252", "8bit", GREETING.encode("cp1252"), GREETING,
                     id="cp1252"),
        pytest.param("text/plain; charset=utf-8", "base64", base64.b64encode(GREETING.encode()), GREETING,
                     id="utf-8 base64"),
        pytest.param("text/plain; charset=x-bogus", "8bit", GREETING.encode(), GREETING,
                     id="unknown charset, utf-8 bytes"),
        pytest.param("text/plain; charset=x-bogus", "8bit", GREETING.encode("cp1252"), GREETING,
                     id="unknown charset, cp1252 bytes"),
        pytest.param("text/plain; charset=utf-8", "8bit", GREETING.encode("cp1252"), GREETING,
                     id="cp1252 bytes labelled utf-8"),
        pytest.param("text/plain", "8bit", GREETING.encode(), GREETING, id="no charset, utf-8 bytes"),
    ],
)
def test_plain_text_body_is_readable(content_type: str, cte: str, body: bytes, expected: str) -> None:
    raw = message(f"From: ann@example.org\nSubject: x\nMIME-Version: 1.0\nContent-Type: {content_type}\n"
                  f"Content-Transfer-Encoding: {cte}", body)
    msg = parse_message(raw)
    assert msg.text == expected
    assert not msg.html_only


HTML_HEAD = "From: ann@example.org\nSubject: x\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8"


@pytest.mark.parametrize(
    ("html", "expected_lines"),
    [
        pytest.param("<p>Hello&nbsp;there &amp; welcome</p><p>Second <b>para</b></p>",
                     ["Hello there & welcome", "Second para"], id="paragraphs and entities"),
        pytest.param("<html><head><title>Newsletter</title><style>p { color: red }</style></head>"
                     "<body><script>alert('x')</script><div>Order 1042</div><div>is late</div></body></html>",
                     ["Order 1042", "is late"], id="head, style and script dropped"),
        pytest.param("Line one<br>Line two<br/>Line three", ["Line one", "Line two", "Line three"], id="br"),
        pytest.param("<ul><li>First</li><li>Second</li></ul>", ["  * First", "  * Second"], id="list"),
        pytest.param("<ol><li>Open</li><li>Export</li></ol>", [" 1. Open", " 2. Export"], id="numbered list"),
        pytest.param("<table><tr><td>Order</td><td>1042</td></tr></table>", ["Order  1042"], id="table row"),
        pytest.param('<p>See <a href="https://x.example/help">our help page</a>.</p>', ["See our help page."],
                     id="link text"),
        pytest.param("<p>Unclosed <b>bold <i>italic", ["Unclosed bold italic"], id="unclosed tags"),
        pytest.param("<p>Caf&eacute; &#8364;5 &lt;cheap&gt;</p>", ["Café €5 <cheap>"], id="character refs"),
    ],
)
def test_html_only_mail_becomes_readable_text(html: str, expected_lines: list[str]) -> None:
    msg = parse_message(message(HTML_HEAD, html))
    assert msg.html_only
    lines = [line for line in msg.text.splitlines() if line.strip()]
    assert lines == expected_lines
    for leftover in ("alert", "color", "Newsletter", "<p", "<div", "</", "&amp;", "&nbsp;"):
        assert leftover not in msg.text


ALTERNATIVE = b"""\
From: ann@example.org
Subject: alternative
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="MIX"

--MIX
Content-Type: multipart/alternative; boundary="ALT"

--ALT
Content-Type: text/html; charset=utf-8

<p>HTML version</p>
--ALT
Content-Type: text/plain; charset=utf-8

Plain version
--ALT--
--MIX
Content-Type: application/pdf; name="invoice.pdf"
Content-Disposition: attachment; filename="invoice.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--MIX
Content-Type: text/plain; name="server.log"
Content-Disposition: attachment; filename="server.log"

ERROR secret stack trace
--MIX
Content-Type: image/png; name="screenshot.png"
Content-Disposition: inline; filename="screenshot.png"
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--MIX
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="=?utf-8?q?Pr=C3=BCfbericht.docx?="
Content-Transfer-Encoding: base64

UEsDBA==
--MIX--
"""


def test_multipart_alternative_prefers_text_plain_whatever_the_order() -> None:
    msg = parse_message(ALTERNATIVE)
    assert msg.text == "Plain version"
    assert not msg.html_only


def test_attachments_are_listed_as_metadata_and_kept_out_of_the_text() -> None:
    msg = parse_message(ALTERNATIVE)
    assert msg.attachments[:3] == (
        Attachment("invoice.pdf", "application/pdf", 9),
        Attachment("server.log", "text/plain", len(b"ERROR secret stack trace")),
        Attachment("screenshot.png", "image/png", 8),
    )
    assert len(msg.attachments) == 4
    assert "ERROR" not in msg.text


def test_encoded_word_attachment_name_is_decoded() -> None:
    assert parse_message(ALTERNATIVE).attachments[3].filename == "Prüfbericht.docx"


def test_realistic_gmail_mail() -> None:
    msg = parse_message(eml("gmail_customer.eml"))
    assert msg.from_name == "Ann Müller"
    assert msg.from_addr == "ann.customer@gmail.com"
    assert msg.subject == "Rechnung fehlt – Bestellung 1042"
    assert msg.text.startswith("Hallo,\n\nzu meiner Bestellung 1042")
    assert "Können Sie sie mir bitte schicken?" in msg.text
    assert msg.to == ("support@example.com",)
    assert msg.date == datetime(2026, 11, 23, 9, 14, 9, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# Identity, dates, envelope and threading headers
# --------------------------------------------------------------------------------------------

def test_message_id_is_taken_without_brackets() -> None:
    msg = parse_message(message("Message-ID: <CAJx8q@mail.gmail.com>\nSubject: x"))
    assert msg.message_id == "CAJx8q@mail.gmail.com"


def test_missing_message_id_gets_a_stable_generated_one() -> None:
    first = message("From: ann@example.org\nSubject: hello", "first")
    second = message("From: ann@example.org\nSubject: hello", "second")
    ids = [parse_message(raw).message_id for raw in (first, first, second)]
    # The same bytes (say, met again after a UIDVALIDITY change) must be recognised as the same message.
    assert ids[0] == ids[1]
    assert ids[0] != ids[2]
    assert all(id_ and " " not in id_ and "@" in id_ for id_ in ids)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("Date: ", None),
        ("Date: garbage", None),
        ("Date: 32 Foo 2026 99:99:99", None),
        ("Date: Fri, 20 Nov 2026 18:00:00 +0100", datetime(2026, 11, 20, 18, tzinfo=timezone(timedelta(hours=1)))),
        ("Date: Fri, 20 Nov 2026 18:00:00 +0100 (CET)", datetime(2026, 11, 20, 17, tzinfo=UTC)),
        ("Date: 20 Nov 2026 18:00 -0500", datetime(2026, 11, 20, 23, tzinfo=UTC)),
        # No zone at all: taken as UTC rather than left naive (naive datetimes break the calendar).
        ("Date: Fri, 20 Nov 2026 18:00:00", datetime(2026, 11, 20, 18, tzinfo=UTC)),
    ],
)
def test_date(header: str | None, expected: datetime | None) -> None:
    headers = "From: ann@example.org\nSubject: x" + (f"\n{header}" if header else "")
    msg = parse_message(message(headers))
    assert msg.date == expected
    if msg.date is not None:
        assert msg.date.tzinfo is not None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),  # not delivered through an MTA that records the envelope: unknown
        ("Return-Path: <>", ""),  # the null sender: a bounce or an auto-reply
        ("Return-Path: <Bounce+Ann@Example.ORG>", "bounce+ann@example.org"),
    ],
)
def test_return_path_tells_the_null_sender_from_an_absent_header(header: str | None, expected: str | None) -> None:
    headers = "From: ann@example.org\nSubject: x" + (f"\n{header}" if header else "")
    assert parse_message(message(headers)).return_path == expected


@pytest.mark.parametrize(
    ("headers", "in_reply_to", "references"),
    [
        ("In-Reply-To: <a@x.example>", ("a@x.example",), ()),
        ("In-Reply-To: Your message of Mon 23 Nov <a@x.example> (comment)", ("a@x.example",), ()),
        ("References: <r1@x.example> <r2@x.example>\n\t<r3@x.example>\nIn-Reply-To: <r3@x.example>",
         ("r3@x.example",), ("r1@x.example", "r2@x.example", "r3@x.example")),
        ("References: <r1@x.example>,<r2@x.example>", (), ("r1@x.example", "r2@x.example")),
        ("References: garbage without brackets", (), ()),
        ("Subject: none", (), ()),
    ],
)
def test_reply_headers(headers: str, in_reply_to: tuple[str, ...], references: tuple[str, ...]) -> None:
    msg = parse_message(message("From: ann@example.org\n" + headers))
    assert (msg.in_reply_to, msg.references) == (in_reply_to, references)


def test_recipients_are_lower_cased_addresses() -> None:
    msg = parse_message(message('From: ann@example.org\nTo: "Support, Team" <Support@Example.com>, bob@x.example'
                                "\nCc: =?utf-8?q?J=C3=B6rg?= <joerg@x.example>, undisclosed-recipients:;"))
    assert msg.to == ("support@example.com", "bob@x.example")
    assert msg.cc == ("joerg@x.example",)


# --------------------------------------------------------------------------------------------
# Content hash and size limit
# --------------------------------------------------------------------------------------------

BODY = "Please send the invoice.\n"


def test_content_hash_ignores_headers_added_in_transit() -> None:
    inbox_copy = message("Received: from mx1.example.com by imap.example.com; Mon, 23 Nov 2026 10:00:00 +0100\n"
                         "Received: from mail.customer.example by mx1.example.com\n"
                         "From: ann@example.org\nSubject: x", BODY)
    other_copy = message("Received: from relay.example.net by mx2.example.com; Mon, 23 Nov 2026 10:00:05 +0100\n"
                         "From: ann@example.org\nSubject: x", BODY)
    crlf_copy = other_copy.replace(b"\n", b"\r\n")
    different = message("From: ann@example.org\nSubject: x", "Please send the receipt.\n")
    hashes = [parse_message(raw).content_hash for raw in (inbox_copy, other_copy, crlf_copy, different)]
    assert hashes[0] == hashes[1] == hashes[2]
    assert hashes[3] != hashes[0]


def test_oversized_message_keeps_its_headers_and_skips_the_body() -> None:
    raw = message("Message-ID: <big@x.example>\nFrom: Ann <ann@example.org>\nTo: support@example.com\n"
                  "Subject: =?utf-8?q?Gro=C3=9Fe_Datei?=\nIn-Reply-To: <ack@example.com>\n"
                  "Date: Mon, 23 Nov 2026 10:00:00 +0100", "x" * 5000)
    msg = parse_message(raw, max_bytes=1000)
    assert msg.truncated
    assert msg.size == len(raw)
    assert (msg.message_id, msg.from_addr, msg.subject) == ("big@x.example", "ann@example.org", "Große Datei")
    assert msg.in_reply_to == ("ack@example.com",)
    assert msg.date is not None
    assert msg.text == ""
    assert not parse_message(raw, max_bytes=len(raw)).truncated


# --------------------------------------------------------------------------------------------
# Never raises
# --------------------------------------------------------------------------------------------

SAMPLES = [eml(name) for name in sorted(p.name for p in MAIL.glob("*.eml"))] + [ALTERNATIVE]
TEAM = TeamIdentity(frozenset({"support@example.com"}), staff_domains=frozenset({"example.com"}))


def _survives(raw: bytes, max_bytes: int) -> None:
    """The whole pure pipeline a message goes through in ``inboxd explain``."""
    msg = parse_message(raw, max_bytes=max_bytes)
    assert isinstance(msg.subject, str) and isinstance(msg.text, str) and msg.message_id
    # Everything parsed must be valid text, storable in the database and printable in a log.
    for value in (msg.subject, msg.text, msg.from_name, *(v for _, v in msg.headers)):
        value.encode("utf-8")
    classify(msg, TEAM)
    reply_text(msg.text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=2000), max_bytes=st.sampled_from([100, 25 * 1024 * 1024]))
def test_arbitrary_bytes_never_raise(raw: bytes, max_bytes: int) -> None:
    _survives(raw, max_bytes)


# Every text codec Python knows by a name a sender could write, plus a few that are not text codecs at all.
_CHARSETS = ["utf-8", "us-ascii", "iso-8859-1", "cp1252", "utf-7", "utf-16", "utf-32", "idna", "punycode",
             "unicode_escape", "raw_unicode_escape", "shift_jis", "iso-2022-jp", "gb18030", "koi8-r",
             "rot13", "base64", "hex", "zip", "uu", "x-bogus", "utf-8\x00", ""]


def _encoded_word(charset: str, data: bytes, q: bool) -> bytes:
    text = "".join(f"={b:02X}" for b in data) if q else base64.b64encode(data).decode()
    return f"=?{charset}?{'q' if q else 'b'}?{text}?=".encode("utf-8", "surrogateescape")


@pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")  # unicode_escape, as declared
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(charset=st.sampled_from(_CHARSETS), data=st.binary(max_size=40), q=st.booleans(),
       where=st.sampled_from(["subject", "from", "filename", "body"]))
def test_any_declared_charset_never_raises(charset: str, data: bytes, q: bool, where: str) -> None:
    word = _encoded_word(charset, data, q)
    headers = {"subject": b"Subject: Re: " + word + b" hello\n", "from": b"From: " + word + b" <a@b.example>\n",
               "filename": b"Content-Disposition: attachment; filename=\"" + word + b"\"\n",
               "body": b"Content-Type: text/plain; charset=\"" + charset.encode() + b"\"\n"}[where]
    _survives(b"From: ann@example.org\nMIME-Version: 1.0\n" + headers + b"\n" + data, 25 * 1024 * 1024)


_MUTATION = st.tuples(st.sampled_from(["insert", "delete", "flip"]), st.floats(0, 1, exclude_max=True),
                      st.binary(min_size=1, max_size=8))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample=st.sampled_from(SAMPLES), mutations=st.lists(_MUTATION, min_size=1, max_size=12),
       max_bytes=st.sampled_from([600, 25 * 1024 * 1024]))
def test_mutated_real_mail_never_raises(sample: bytes, mutations: list[tuple[str, float, bytes]],
                                        max_bytes: int) -> None:
    data = bytearray(sample)
    for op, where, chunk in mutations:
        at = int(where * len(data)) if data else 0
        if op == "insert":
            data[at:at] = chunk
        elif op == "delete":
            del data[at:at + len(chunk)]
        elif data:
            data[at] ^= chunk[0]
    _survives(bytes(data), max_bytes)


# --------------------------------------------------------------------------------------------
# Robustness: TNEF, messages carried inside messages, torn MIME, huge headers
# --------------------------------------------------------------------------------------------

TNEF_MAIL = b"""\
From: Bob <bob@customer.example>
Subject: Report
Date: Mon, 2 Nov 2026 10:00:00 +0100
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="MIX"

--MIX
Content-Type: text/plain; charset=us-ascii

Please see the attached report.
--MIX
Content-Type: application/ms-tnef; name="winmail.dat"
Content-Disposition: attachment; filename="winmail.dat"
Content-Transfer-Encoding: base64

eJ8+IhABBpAIAAQAAAAAAAEAAQABB5AGAAgAAADkBAAAAAAAAOgAAQ2ABAACAAAAAgACAAEEkAYA
--MIX--
"""


def test_tnef_is_listed_as_an_attachment_and_noted_for_staff() -> None:
    msg = parse_message(TNEF_MAIL)
    assert msg.text == "Please see the attached report."
    assert msg.attachments == (Attachment("winmail.dat", "application/ms-tnef", 57),)
    assert any("TNEF" in defect for defect in msg.defects)


def test_tnef_without_a_filename_still_gets_one() -> None:
    raw = TNEF_MAIL.replace(b'; name="winmail.dat"', b"").replace(b'; filename="winmail.dat"', b"")
    assert parse_message(raw).attachments[0].filename == "winmail.dat"


FORWARDED_AS_ATTACHMENT = b"""\
From: Ann <ann@customer.example>
To: support@example.com
Subject: Fwd: Rechnung
Date: Mon, 2 Nov 2026 10:00:00 +0100
Message-ID: <outer@customer.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="OUTER"

--OUTER
Content-Type: text/plain; charset=utf-8

FYI, the shop sent me this.
--OUTER
Content-Type: message/rfc822
Content-Disposition: attachment

From: Shop <orders@shop.example>
Subject: =?utf-8?q?Rechnung_f=C3=BCr_1042?=
Message-ID: <orig@shop.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="INNER"

--INNER
Content-Type: text/plain; charset=utf-8

Your invoice is attached. We will ship on Friday.
--INNER
Content-Type: application/pdf; name="invoice.pdf"
Content-Disposition: attachment; filename="invoice.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--INNER--

--OUTER--
"""


def test_a_forwarded_message_is_an_attachment_named_by_its_subject() -> None:
    msg = parse_message(FORWARDED_AS_ATTACHMENT)
    assert [(a.filename, a.content_type) for a in msg.attachments] == [("Rechnung für 1042", "message/rfc822")]
    assert msg.attachments[0].size > 200
    # The bounce detector still finds the carried message's identity.
    assert msg.embedded_message_ids == ("orig@shop.example",)
    assert {"message/rfc822", "application/pdf"} <= set(msg.content_types)


def test_the_text_of_a_carried_message_is_not_the_senders() -> None:
    msg = parse_message(FORWARDED_AS_ATTACHMENT)
    # The shop's promise is not the customer's words, and must not read as a commitment of theirs.
    assert msg.text == "FYI, the shop sent me this."
    assert msg.reply_text == "FYI, the shop sent me this."


def test_a_message_that_only_carries_another_has_no_text_of_its_own() -> None:
    head, _, rest = FORWARDED_AS_ATTACHMENT.partition(b"--OUTER\nContent-Type: text/plain; charset=utf-8\n\n"
                                                      b"FYI, the shop sent me this.\n")
    msg = parse_message(head + rest)
    assert msg.text == ""
    assert [a.content_type for a in msg.attachments] == ["message/rfc822"]


TORN = """\
From: ann@example.org
Subject: torn
MIME-Version: 1.0
Content-Type: {content_type}

--REAL
Content-Type: text/plain; charset=utf-8

The part staff must see.
--REAL
Content-Type: application/pdf; name="a.pdf"
Content-Disposition: attachment; filename="a.pdf"

JVBERi0xLjQK
{end}"""


@pytest.mark.parametrize(
    ("content_type", "end", "defect"),
    [
        pytest.param('multipart/mixed; boundary="STALE"', "--REAL--\n", "boundary", id="boundary not in the body"),
        pytest.param("multipart/mixed", "--REAL--\n", "boundary", id="no boundary parameter"),
        pytest.param('multipart/mixed; boundary="REAL"', "", "CloseBoundaryNotFound", id="no closing boundary"),
    ],
)
def test_torn_mime_still_yields_the_text_and_says_what_was_wrong(content_type: str, end: str, defect: str) -> None:
    msg = parse_message(TORN.format(content_type=content_type, end=end).encode())
    assert msg.text == "The part staff must see."
    assert [a.filename for a in msg.attachments] == ["a.pdf"]
    assert any(defect in d for d in msg.defects)


def test_a_body_with_no_parts_to_find_is_noted() -> None:
    msg = parse_message(message("From: ann@example.org\nContent-Type: multipart/mixed; boundary=X", "no parts"))
    assert msg.text == ""
    assert any("boundary not found" in d for d in msg.defects)


def test_missing_date_is_noted() -> None:
    msg = parse_message(message("From: ann@example.org\nSubject: x"))
    assert msg.date is None
    assert "missing Date header" in msg.defects


def test_a_megabyte_header_line_is_cut_and_the_fields_after_it_survive() -> None:
    raw = message(b"Subject: " + b"spam " * 200_000 + b"\nFrom: Ann <ann@example.org>\nMessage-ID: <big@x.example>",
                  "Hello")
    msg = parse_message(raw)
    assert (msg.from_addr, msg.message_id, msg.text) == ("ann@example.org", "big@x.example", "Hello")
    assert msg.subject.startswith("spam spam") and len(msg.subject) <= 64 * 1024
    assert any(d.startswith("header subject of 1000009 bytes cut") for d in msg.defects)


def test_ten_thousand_headers_are_all_read() -> None:
    received = b"".join(b"Received: from relay%d.example by mx.example.com\n" % i for i in range(9_997))
    msg = parse_message(message(received + b"From: ann@example.org\nSubject: many hops\nMessage-ID: <m@x.example>"))
    assert len(msg.headers) == 10_000
    assert (msg.from_addr, msg.subject) == ("ann@example.org", "many hops")


def test_beyond_twenty_thousand_headers_the_rest_is_not_read() -> None:
    junk = b"X-Junk: x\n" * 21_000
    msg = parse_message(message(b"Subject: flood\n" + junk + b"From: ann@example.org"))
    assert len(msg.headers) == 20_000
    assert msg.subject == "flood"
    assert msg.from_addr == ""  # past the limit: a flood, not a header block worth trusting
    assert any("20000 fields" in d for d in msg.defects)


def test_a_mass_mailing_recipient_list_is_read_only_in_part() -> None:
    to = b"To: " + b", ".join(b"r%d@example.com" % i for i in range(30_000))
    msg = parse_message(message(b"From: ann@example.org\n" + to))
    assert msg.to[:2] == ("r0@example.com", "r1@example.com")
    assert 1000 < len(msg.to) < 30_000
    assert all(address.endswith("@example.com") for address in msg.to)  # no address cut in half


def test_a_megabyte_mime_parameter_is_cut_and_the_part_still_read() -> None:
    raw = message("From: ann@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B",
                  "--B\nContent-Type: text/plain; charset=utf-8; " + "x=y; " * 200_000 + "\n\nStill here.\n--B--\n")
    msg = parse_message(raw)
    assert msg.text == "Still here."
    assert any(d.startswith("header content-type of") for d in msg.defects)


def test_messages_nested_past_the_parsers_depth_keep_their_headers() -> None:
    raw = message("From: ann@example.org\nSubject: nested\nMIME-Version: 1.0\nContent-Type: message/rfc822",
                  "Content-Type: message/rfc822\n\n" * 1500 + "Subject: deep\n\nhi\n")
    msg = parse_message(raw)
    assert (msg.from_addr, msg.subject) == ("ann@example.org", "nested")
    assert any(d.startswith("unparseable") for d in msg.defects)


# --------------------------------------------------------------------------------------------
# The new words, computed once
# --------------------------------------------------------------------------------------------

def test_reply_text_of_a_plain_message_leaves_the_quote_in_text() -> None:
    body = "Thanks, it works.\n\nOn Mon, 2 Nov 2026 at 10:00, Support <support@example.com> wrote:\n> We will fix it."
    msg = parse_message(message("From: ann@example.org\nSubject: Re: x", body))
    assert msg.reply_text == "Thanks, it works."
    assert msg.text == body  # the full text is unchanged for those who need it


def test_reply_text_of_an_html_only_message_uses_the_markup() -> None:
    html = ('<div>Thanks, it works.</div><div class="gmail_quote"><div class="gmail_attr">On Mon, 2 Nov 2026, '
            'Support wrote:</div><blockquote class="gmail_quote">We will fix it by Friday.</blockquote></div>')
    msg = parse_message(message(HTML_HEAD, html))
    assert msg.html_only
    assert msg.reply_text == "Thanks, it works."
    assert "We will fix it by Friday." in msg.text


def test_reply_text_prefers_the_plain_alternative() -> None:
    assert parse_message(ALTERNATIVE).reply_text == "Plain version"


def test_an_oversized_message_has_no_reply_text() -> None:
    raw = message("From: ann@example.org\nSubject: big", "x" * 5000)
    assert parse_message(raw, max_bytes=1000).reply_text == ""
    assert parse_message(raw, max_bytes=10_000).reply_text == "x" * 5000


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html=st.text(max_size=400) | st.lists(st.sampled_from(
    ["<div>", "</div>", "<blockquote type='cite'>", "</blockquote>", "<p>", "text", "On 2 Nov 2026, A <a@b.c> wrote:",
     '<div id="divRplyFwdMsg">', "<br>", "&nbsp;", "<!--", "-->", "<table><tr><td>", "> q", "\n", "-- "]),
    max_size=40).map("".join))
def test_any_html_gives_storable_text(html: str) -> None:
    msg = parse_message(message(HTML_HEAD, html.encode("utf-8", "surrogatepass")))
    for value in (msg.text, msg.reply_text):
        value.encode("utf-8")
        assert "<div>" not in value and "<blockquote type='cite'>" not in value


def test_a_date_beyond_the_calendar_is_unparseable_not_an_error() -> None:
    msg = parse_message(message("From: ann@example.org\nDate: 1 Jan 99999999999 10:00:00 +0000"))
    assert msg.date is None
    assert "unparseable Date header" in msg.defects


def test_an_unexpected_error_still_gives_a_message_to_record(monkeypatch: pytest.MonkeyPatch) -> None:
    import inboxd.mail.parse as parse

    def broken(*args: object) -> None:
        raise RuntimeError("a bug inboxd has not met yet")

    monkeypatch.setattr(parse, "_decoded_headers", broken)
    raw = message("From: ann@example.org\nSubject: x")
    msg = parse_message(raw)
    assert msg.size == len(raw) and msg.message_id.endswith("@generated.inboxd.invalid")
    assert msg.defects == ("unparseable: RuntimeError('a bug inboxd has not met yet')",)

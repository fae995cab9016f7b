"""Hostile header bytes through parse_message, classify and compose: no exception, no injected header.

Bounded (a few hundred examples, a few seconds). What a user would notice: one crafted message stopping the
mailbox, or an acknowledgement that carries a header (Bcc, a second To) someone smuggled in through a name.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from email.header import decode_header

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from inboxd.mail.autoresponse import AckTiming
from inboxd.mail.classify import TeamIdentity, classify
from inboxd.mail.compose import OutgoingMail, compose
from inboxd.mail.parse import address_problem, parse_message

TEAM = TeamIdentity(our_addresses=frozenset({"support@example.com"}), staff=frozenset({"alice@example.com"}),
                    staff_domains=frozenset({"example.com"}))
OURS = {b"from", b"to", b"subject", b"date", b"message-id", b"reply-to", b"in-reply-to", b"references",
        b"auto-submitted", b"x-auto-response-suppress", b"precedence", b"mime-version", b"content-type",
        b"content-transfer-encoding", b"x-inboxd-case"}
_EVIL = [b"\r\nBcc: victim@victim.example", b"\nTo: victim@victim.example", b"\r", b"\x00", b"\xff\xfe", b"=?",
         b"?=", b"<", b">", b",", b"\"", b"@", b" ", b"\t", b"\r\n ", b"alice@example.com", b"eve@evil.example"]


def _encoded(text: bytes) -> bytes:
    choice = len(text) % 2
    if choice:
        return b"=?utf-8?B?" + base64.b64encode(text) + b"?="
    return b"=?utf-8?Q?" + b"".join(b"=%02X" % c for c in text) + b"?="


pieces = st.one_of(st.sampled_from(_EVIL), st.binary(max_size=12),
                   st.text(max_size=12).map(lambda t: t.encode("utf-8", "surrogatepass")))
field_value = st.lists(st.one_of(pieces, pieces.map(_encoded)), max_size=8).map(b"".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(from_=b"alice@example.com\xc0", reply_to=b"", cc=b"", subject=b"", body=b"")
@example(from_="alice@example.com\u00ba".encode(), reply_to=b"", cc=b"", subject=b"", body=b"")
@given(from_=field_value, reply_to=field_value, cc=field_value, subject=field_value, body=st.binary(max_size=200))
def test_hostile_headers_never_raise_and_never_inject_a_header(from_: bytes, reply_to: bytes, cc: bytes,
                                                                 subject: bytes, body: bytes) -> None:
    raw = (b"From: " + from_ + b"\r\nReply-To: " + reply_to + b"\r\nTo: support@example.com\r\nCc: " + cc
           + b"\r\nSubject: " + subject + b"\r\nMessage-ID: <f@fuzz.example>\r\n\r\n" + body)
    msg = parse_message(raw)
    verdict = classify(msg, TEAM, raw=raw, acks=AckTiming(last_ack_seconds=1.0))
    assert verdict.kind in ("customer", "staff", "staff_note", "auto_reply", "bounce", "list", "ignored")
    for address in (msg.from_addr, *msg.reply_to):
        # Whatever reaches an address field we might send to is a plain address or is refused.
        assert address_problem(address) is None or address not in msg.reply_to
    recipient = msg.reply_to[0] if msg.reply_to else msg.from_addr
    if verdict.kind != "customer" or address_problem(recipient) is not None:
        return
    assert not re.search(r"[\x00-\x1f\x7f\s]", recipient)
    out = compose(OutgoingMail(
        from_addr="support@example.com", from_name=msg.from_name or "Example Support", to=(recipient,),
        subject=msg.subject, body=f"Dear {msg.from_name},\n\nwe got your message.", message_id="a@example.com",
        date=datetime(2026, 11, 24, tzinfo=UTC), in_reply_to=msg.message_id, references=msg.references,
        extra_headers=(("X-Inboxd-Case", msg.from_name),)))
    head = out.split(b"\r\n\r\n", 1)[0]
    assert b"\r" not in head.replace(b"\r\n", b"") and b"\n" not in head.replace(b"\r\n", b"")
    names = [line.split(b":", 1)[0].lower() for line in head.split(b"\r\n") if line[:1] not in (b" ", b"\t")]
    assert set(names) <= OURS, names
    assert names.count(b"to") == 1
    to_line = re.search(rb"(?m)^To: ([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", head)
    assert to_line is not None
    to_value = re.sub(rb"\r\n[ \t]", b"", to_line.group(1)).strip().decode("ascii")
    # An internationalised address travels as an encoded word: decoded, it is the recipient and nothing more.
    decoded = "".join(part.decode(charset or "ascii") if isinstance(part, bytes) else part
                      for part, charset in decode_header(to_value))
    # The domain goes out in IDNA form (nameprep may fold it: "example.comº" is the domain "example.como").
    local, _, domain = recipient.rpartition("@")
    assert decoded in (recipient, f"{local}@{domain.encode('idna').decode('ascii')}")

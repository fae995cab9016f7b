"""Forged senders: addresses come from the header's structure, never from what an encoded word decodes to.

What a user would notice: an outsider's mail taken for a staff note because its display name decodes to a staff
address, an acknowledgement sent to a third party named inside a display name, mail sent to an address that
cannot receive it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inboxd.mail.classify import TeamIdentity, classify
from inboxd.mail.compose import OutgoingMail, compose
from inboxd.mail.parse import address_problem, display_name, parse_message

TEAM = TeamIdentity(our_addresses=frozenset({"support@example.com"}), staff=frozenset({"alice@example.com"}),
                    staff_domains=frozenset({"example.com"}))


def _mail(from_: str, **headers: str) -> bytes:
    extra = "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in headers.items())
    return (f"From: {from_}\r\nTo: support@example.com\r\nSubject: Hello\r\nMessage-ID: <m1@evil.example>\r\n"
            f"Date: Tue, 24 Nov 2026 09:30:00 +0000\r\n{extra}\r\nPlease help.\r\n").encode()


def test_an_encoded_display_name_that_decodes_to_a_staff_address_is_only_a_name() -> None:
    raw = _mail("=?utf-8?Q?Alice_=3Calice=40example.com=3E?= <eve@evil.example>")
    msg = parse_message(raw)
    assert msg.from_addr == "eve@evil.example"
    assert msg.from_name == "Alice <alice@example.com>"  # shown as it reads, never used as an address
    verdict = classify(msg, TEAM, raw=raw)
    assert verdict.kind == "customer"


def test_an_encoded_word_standing_in_for_the_whole_from_gives_no_address() -> None:
    raw = _mail("=?utf-8?Q?alice=40example.com?=")
    msg = parse_message(raw)
    assert msg.from_addr != "alice@example.com"
    assert classify(msg, TEAM, raw=raw).kind == "ignored"


@pytest.mark.parametrize("encoded", [
    "=?utf-8?Q?Ann=0D=0ABcc=3A_victim=40victim.example?=",
    "=?utf-8?B?QW5uDQpCY2M6IHZpY3RpbUB2aWN0aW0uZXhhbXBsZQ==?=",
    "=?utf-8?Q?Ann=0ABcc=3A_victim=40victim.example=0A=0A?=",
    "=?utf-8?Q?Ann=00=1B=7F_victim=40victim.example?=",
])
def test_a_display_name_that_decodes_to_a_line_break_is_a_name_without_control_characters(encoded: str) -> None:
    raw = _mail(f"{encoded} <ann@customer.example>", Reply_To=f"{encoded} <ann@customer.example>")
    msg = parse_message(raw)
    assert msg.from_addr == "ann@customer.example"
    assert msg.reply_to == ("ann@customer.example",)
    assert not any(ch in msg.from_name for ch in "\r\n\x00\x1b\x7f")
    assert "victim@victim.example" not in (*msg.to, *msg.cc, *msg.reply_to, msg.from_addr)
    # And composed into the acknowledgement, it starts no header of its own.
    out = compose(OutgoingMail(from_addr="support@example.com", from_name=msg.from_name, to=(msg.from_addr,),
                               subject=msg.subject, body=f"Dear {msg.from_name}", message_id="x@example.com",
                               date=msg.date or datetime.now(UTC)))
    head = out.split(b"\r\n\r\n", 1)[0]
    assert not any(line.lower().startswith(b"bcc") for line in head.split(b"\r\n"))


def test_encoded_words_in_to_and_cc_never_become_addresses() -> None:
    raw = _mail("ann@customer.example", Cc="=?utf-8?Q?bob=40victim.example?= <carl@customer.example>")
    msg = parse_message(raw)
    assert msg.cc == ("carl@customer.example",)


@pytest.mark.parametrize(("address", "problem"), [
    ("ann", "no domain in the address"),
    ("ann@", "no domain in the address"),
    ("ann@localhost", "not a plain mailbox address"),
    ("ann\r\n@customer.example", "control characters in the address"),
    ("ann\x00@customer.example", "control characters in the address"),
    ("ann smith@customer.example", "spaces in the address"),
    ('"ann smith"@customer.example', "spaces in the address"),
    ("ann@customer.example,bob@victim.example", "not a plain mailbox address"),
    ("=?utf-8?q?=0d=0abcc=3a?=ann@customer.example", "an encoded word in the address"),
    ("ann@customer.example\u00b9", "not a plain mailbox address"),
])
def test_an_address_nobody_can_receive_at_is_named_as_such(address: str, problem: str) -> None:
    assert address_problem(address) == problem


@pytest.mark.parametrize("address", ["ann@customer.example", "ann.o'brien+support@mail.customer.example",
                                     "jörg@müller.example"])
def test_plain_addresses_can_receive_mail(address: str) -> None:
    assert address_problem(address) is None


@pytest.mark.parametrize("from_", ["ann", "<ann>", '"ann smith"@customer.example', "ann@"])
def test_a_sender_without_a_usable_address_is_recorded_but_gets_no_mail(from_: str) -> None:
    raw = _mail(from_)
    verdict = classify(parse_message(raw), TEAM, raw=raw)
    assert verdict.kind == "ignored"


def test_a_reply_to_nobody_can_receive_at_is_dropped_and_said_so() -> None:
    raw = _mail("ann@customer.example", Reply_To="victim")
    msg = parse_message(raw)
    assert msg.reply_to == ()
    assert any("Reply-To address dropped" in d for d in msg.defects)


def test_display_name_drops_control_characters_and_decodes_once() -> None:
    assert display_name("=?utf-8?Q?J=C3=B6rg=0D=0AX-Evil=3A_1?=") == "Jörg X-Evil: 1"
    assert display_name("Plain\tName") == "Plain Name"

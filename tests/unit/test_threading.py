"""Which case a message belongs to: replies land in their case, new requests never land in a stranger's.

A reply threaded into the wrong case is worse than none: the customer gets no acknowledgement and their
message sits in someone else's case. So the tables check both what must match and what must not.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import pytest

from inboxd.mail.threading import (
    ThreadingPolicy,
    ThreadMatch,
    case_number_from_subject,
    format_token,
    normalize_subject,
    thread_message,
)

DEFAULT = "[#{number}]"


@pytest.mark.parametrize(
    ("subject", "number"),
    [
        ("[#1042] Invoice missing", 1042),
        ("Re: [#1042] Invoice missing", 1042),
        ("RE: Invoice missing [#1042]", 1042),
        ("AW: [#1042] Rechnung fehlt", 1042),
        ("SV: [#1042] Faktura mangler", 1042),
        ("Fwd: [#1042] Invoice missing", 1042),
        ("WG: AW: [#1042] Rechnung fehlt", 1042),
        ("RE[2]: [#1042] Invoice missing", 1042),
        ("Re:[#7]", 7),
        ("Re: Re: Re: Invoice missing [#1042]", 1042),
        # Mangled by mail clients and people retyping the token.
        ("Re: [# 1042] Invoice missing", 1042),
        ("Re: [ #1042 ] Invoice missing", 1042),
        ("Re: (#1042) Invoice missing", 1042),
        ("Re: Invoice missing #1042]", 1042),
        ("Re: [#1042 Invoice missing", 1042),
        ("Re:Invoice missing[#1042]", 1042),
    ],
)
def test_default_token_is_found(subject: str, number: int) -> None:
    assert case_number_from_subject(subject, DEFAULT) == number


@pytest.mark.parametrize(
    "subject",
    [
        "Order 1042 missing",
        "Order #1042 missing",
        "Invoice #1042",
        "Re: question about ticket #1042 from your shop",
        "Call me at +49 30 1042 1042",
        "[1042] Invoice missing",
        "Re: [Announce] Release 10.42",
        "Invoice missing",
        "",
    ],
)
def test_numbers_that_are_not_our_token_do_not_match(subject: str) -> None:
    assert case_number_from_subject(subject, DEFAULT) is None


def test_a_longer_number_is_not_cut_into_a_case_number() -> None:
    # "[#12345678901]" is not case 123456789.
    assert case_number_from_subject("[#12345678901] Invoice missing", DEFAULT) != 123456789


@pytest.mark.parametrize(
    ("token_format", "subject", "number"),
    [
        ("Ticket {number}", "Ticket 1042", 1042),
        ("Ticket {number}", "Re: Ticket 1042: Invoice missing", 1042),
        ("Ticket {number}", "AW: Invoice missing (Ticket 1042)", 1042),
        ("Ticket {number}", "Order 1042 missing", None),
        ("Ticket {number}", "Ticket: 1042", None),
        ("[Case #{number}]", "[Case #1042] Invoice missing", 1042),
        ("[Case #{number}]", "Re: [Case #1042] Invoice missing", 1042),
        ("[Case #{number}]", "Re: [Case # 1042] Invoice missing", 1042),
        ("[Case #{number}]", "Re: [#1042] Invoice missing", None),
        ("[Case #{number}]", "Re: [Case 1042] Invoice missing", None),
        ("[Case #{number}]", "Order #1042 missing", None),
        ("{number}@support", "Re: 1042@support", 1042),
    ],
)
def test_custom_token_formats(token_format: str, subject: str, number: int | None) -> None:
    assert case_number_from_subject(subject, token_format) == number


@pytest.mark.parametrize("token_format", [DEFAULT, "Ticket {number}", "[Case #{number}]", "<{number}>"])
@pytest.mark.parametrize("number", [1, 42, 1042, 999_999_999])
def test_a_token_we_write_is_a_token_we_read(token_format: str, number: int) -> None:
    subject = f"Re: AW: {format_token(token_format, number)} Invoice 77 missing"
    assert case_number_from_subject(subject, token_format) == number


@pytest.mark.parametrize(
    "subject",
    [
        "Invoice missing",
        "Re: Invoice missing",
        "RE: AW: SV: Fwd: WG: Invoice   missing",
        "RE[2]: Invoice missing",
        "Re: [#1042] Invoice missing",
        "AW: Invoice missing [#1042]",
        "Re(3): invoice MISSING",
        "  fw : Invoice missing",
    ],
)
def test_normalized_subjects_compare_equal(subject: str) -> None:
    assert normalize_subject(subject) == "invoice missing"


# --------------------------------------------------------------------------------------------
# thread_message: which case, for someone on it
# --------------------------------------------------------------------------------------------


class FakeIndex:
    """The store's answers: which case each stored or sent Message-ID belongs to, and which cases exist."""

    def __init__(self, messages: dict[str, int], cases: Iterable[int]) -> None:
        self.messages = messages
        self.cases = set(cases)

    def case_for_message_ids(self, message_ids: Iterable[str]) -> int | None:
        for message_id in message_ids:
            if message_id in self.messages:
                return self.messages[message_id]
        return None

    def case_exists(self, number: int) -> bool:
        return number in self.cases


INDEX = FakeIndex({"ack-1042@example.com": 1042, "cust-1043@customer.example": 1043}, cases=[1042, 1043, 1044])


@pytest.mark.parametrize(
    ("in_reply_to", "references", "subject", "expected"),
    [
        pytest.param(("ack-1042@example.com",), (), "Re: We have your request [#1042]",
                     ThreadMatch(1042, "references"), id="In-Reply-To"),
        pytest.param((), ("cust-1043@customer.example", "unknown@x.example"), "Re: something",
                     ThreadMatch(1043, "references"), id="References, no token"),
        pytest.param(("ack-1042@example.com",), (), "Re: [#1044] pasted from another case",
                     ThreadMatch(1042, "references"), id="references win over a subject token"),
        pytest.param(("unknown@x.example",), ("other@x.example",), "Re: [#1044] Invoice",
                     ThreadMatch(1044, "subject token"), id="unknown references, token"),
        pytest.param((), (), "AW: [#1043] Rechnung", ThreadMatch(1043, "subject token"), id="token only"),
        pytest.param((), (), "Re: [#9999] Invoice", None, id="token of a case that does not exist"),
        pytest.param((), (), "Order #1042 missing", None, id="customer's own order number"),
        pytest.param(("unknown@x.example",), (), "Invoice missing", None, id="nothing known"),
    ],
)
def test_thread_message_finds_the_case(in_reply_to: tuple[str, ...], references: tuple[str, ...], subject: str,
                                       expected: ThreadMatch | None) -> None:
    # Staff are on every case: only the Message-IDs and the token decide here.
    index = FullFakeIndex(INDEX.messages, {number: set() for number in INDEX.cases})
    policy = ThreadingPolicy(DEFAULT, frozenset({"support@example.com"}), datetime(2026, 11, 1, tzinfo=UTC))
    match = thread_message(sender="bob@example.com", sender_is_staff=True, in_reply_to=in_reply_to,
                           references=references, subject=subject, recipients=(), index=index, policy=policy)
    assert match == expected


# --------------------------------------------------------------------------------------------
# thread_message: who may join a case
# --------------------------------------------------------------------------------------------


class FullFakeIndex(FakeIndex):
    """Adds who is on each case (its customer, who wrote on it, whom its mail went to or was copied to)."""

    def __init__(self, messages: dict[str, int], people: dict[int, set[str]]) -> None:
        super().__init__(messages, people)
        self.people = people

    def on_case(self, number: int, address: str) -> bool:
        return address.lower() in self.people.get(number, set())

    def recent_case_for(self, sender: str, subject_key: str, since: datetime) -> int | None:
        return None


FULL = FullFakeIndex({"inboxd.ack.5f0c@example.com": 1042},
                     {1042: {"ann@customer.example", "colleague@customer.example"}})
POLICY = ThreadingPolicy(DEFAULT, frozenset({"support@example.com"}), datetime(2026, 11, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("sender", "staff", "in_reply_to", "references", "subject", "expected"),
    [
        pytest.param("ann@customer.example", False, ("inboxd.ack.5f0c@example.com",), (), "Re: Help",
                     ThreadMatch(1042, "references"), id="the customer's reply joins"),
        pytest.param("Colleague@Customer.example", False, (), ("inboxd.ack.5f0c@example.com",), "Re: Help",
                     ThreadMatch(1042, "references"), id="someone copied on the case joins"),
        pytest.param("bob@example.com", True, ("inboxd.ack.5f0c@example.com",), (), "Re: Help",
                     ThreadMatch(1042, "references"), id="staff join"),
        pytest.param("eve@evil.example", False, ("inboxd.ack.5f0c@example.com",), (), "stop",
                     ThreadMatch(1042, "references from someone not on the case", attach=False),
                     id="a stranger citing the ack in In-Reply-To gets a linked case"),
        pytest.param("eve@evil.example", False, (), ("x@y.example", "inboxd.ack.5f0c@example.com"), "Re: Help",
                     ThreadMatch(1042, "references from someone not on the case", attach=False),
                     id="a stranger citing it in References gets a linked case"),
        pytest.param("eve@evil.example", False, (), (), "Re: [#1042] Help",
                     ThreadMatch(1042, "subject token from someone not on the case", attach=False),
                     id="a stranger's token (unchanged)"),
        pytest.param("", False, ("inboxd.ack.5f0c@example.com",), (), "Re: Help",
                     ThreadMatch(1042, "references from someone not on the case", attach=False),
                     id="no sender is nobody on the case"),
    ],
)
def test_thread_message_lets_only_people_on_the_case_join_it(
        sender: str, staff: bool, in_reply_to: tuple[str, ...], references: tuple[str, ...], subject: str,
        expected: ThreadMatch) -> None:
    match = thread_message(sender=sender, sender_is_staff=staff, in_reply_to=in_reply_to, references=references,
                           subject=subject, recipients=("support@example.com",), index=FULL, policy=POLICY)
    assert match == expected

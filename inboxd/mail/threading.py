"""Which case does a message belong to? Pure, over an index the store provides.

In order: the Message-IDs in ``In-Reply-To``/``References`` against every message we stored
or sent; the case token in the subject (``[#1042]``, format configurable); plus-addressing
(``support+1042@…``); then the same sender with the same normalised subject within a window.
A Message-ID, token or plus-address from someone who is not on the case does not attach their mail
to it: they get a case of their own, linked to the one they named. Staff, the customer, and the
people the case's mail went to or was copied to are on the case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Protocol

_REPLY_PREFIX = re.compile(
    r"^\s*((re|aw|sv|vs|antw|fw|fwd|wg|tr|rv|r|enc)\s*(\[\d+\]|\(\d+\))?\s*[:：]\s*)+", re.IGNORECASE
)


class ThreadIndex(Protocol):
    """Lookups threading needs from the store."""

    def case_for_message_ids(self, message_ids: Iterable[str]) -> int | None:
        """The case number of the newest stored or sent message among these Message-IDs."""
        ...

    def case_exists(self, number: int) -> bool: ...


@dataclass(frozen=True)
class ThreadMatch:
    case_number: int
    how: str  # "references" | "subject token" | "plus address" | "sender and subject" | "embedded message"
    attach: bool = True  # False: the message names this case but gets a new case linked to it


class FullThreadIndex(ThreadIndex, Protocol):
    """The further lookups the full threading policy needs."""

    def on_case(self, number: int, address: str) -> bool:
        """Whether this address is the case's customer, has written on the case, or was sent or copied its mail."""
        ...

    def recent_case_for(self, sender: str, subject_key: str, since: datetime) -> int | None:
        """The newest open case of this sender with this normalised subject, active since ``since``."""
        ...


@dataclass(frozen=True)
class ThreadingPolicy:
    token_format: str
    our_addresses: frozenset[str]
    window_start: datetime  # "same sender and subject" only within this window


@lru_cache(maxsize=16)
def _token_pattern(token_format: str) -> re.Pattern[str]:
    # "[#{number}]" -> tolerant of spaces and of brackets mangled by mail clients.
    before, _, after = token_format.partition("{number}")
    prefix, suffix = before.strip("[( "), after.strip("]) ")
    # A whole number only ("[#12345678901]" is not case 123456789), and a word prefix only as a word.
    core = (r"\b" if prefix[:1].isalnum() else "") + re.escape(prefix) + r"\s*(?P<number>\d{1,9})(?!\d)"
    return re.compile(r"(?P<open>[\[(])?\s*" + core + re.escape(suffix) + r"\s*(?P<close>[\])])?")


def _tokens(subject: str, token_format: str) -> list[re.Match[str]]:
    """The case tokens in ``subject``. A token written with brackets keeps at least one of them when
    mangled; without any, "#1042" in "Order #1042 missing" is the customer's number, not our token."""
    bracketed = token_format.lstrip().startswith(("[", "(")) or token_format.rstrip().endswith(("]", ")"))
    return [m for m in _token_pattern(token_format).finditer(subject)
            if not bracketed or m.group("open") or m.group("close")]


def format_token(token_format: str, number: int) -> str:
    return token_format.replace("{number}", str(number))


def case_number_from_subject(subject: str, token_format: str) -> int | None:
    tokens = _tokens(subject, token_format)
    return int(tokens[0].group("number")) if tokens else None


def normalize_subject(subject: str, token_format: str = "[#{number}]") -> str:
    """The subject without reply prefixes and case tokens, lower-cased, for comparison."""
    for token in reversed(_tokens(subject, token_format)):
        subject = subject[:token.start()] + " " + subject[token.end():]
    subject = _REPLY_PREFIX.sub("", subject)
    return " ".join(subject.split()).lower()


def case_number_from_plus_address(recipients: Iterable[str], our_addresses: frozenset[str]) -> int | None:
    """``support+1042@example.com`` → 1042, when ``support@example.com`` is ours."""
    for address in recipients:
        local, _, domain = address.lower().partition("@")
        base, plus, tag = local.partition("+")
        if plus and tag.isdigit() and f"{base}@{domain}" in our_addresses:
            return int(tag)
    return None


def case_number_from_stop_address(recipients: Iterable[str], our_addresses: frozenset[str]) -> int | None:
    """``support+stop-1042@example.com`` (our List-Unsubscribe address for case 1042) → 1042."""
    for address in recipients:
        local, _, domain = address.lower().partition("@")
        base, plus, tag = local.partition("+")
        if plus and tag.startswith("stop-") and tag[5:].isdigit() and f"{base}@{domain}" in our_addresses:
            return int(tag[5:])
    return None


def stop_address(mailbox_address: str, case_number: int) -> str:
    local, _, domain = mailbox_address.partition("@")
    return f"{local}+stop-{case_number}@{domain}"


def thread_message(*, sender: str, sender_is_staff: bool, in_reply_to: tuple[str, ...],
                   references: tuple[str, ...], subject: str, recipients: Iterable[str],
                   index: FullThreadIndex, policy: ThreadingPolicy) -> ThreadMatch | None:
    """The full threading policy for one message (see the module docstring)."""
    ids = list(dict.fromkeys((*in_reply_to, *reversed(references))))
    if ids:
        number = index.case_for_message_ids(ids)
        if number is not None:
            if sender_is_staff or index.on_case(number, sender):
                return ThreadMatch(number, "references")
            # A Message-ID is no password: it travels in every reply, forward and quote.
            return ThreadMatch(number, "references from someone not on the case", attach=False)
    named = [(case_number_from_subject(subject, policy.token_format), "subject token"),
             (case_number_from_plus_address(recipients, policy.our_addresses), "plus address")]
    for number, how in named:
        if number is None or not index.case_exists(number):
            continue
        if sender_is_staff or index.on_case(number, sender):
            return ThreadMatch(number, how)
        # Someone else quoting a case number (a forward, a colleague, a guess): never their mail on it.
        return ThreadMatch(number, f"{how} from someone not on the case", attach=False)
    key = normalize_subject(subject, policy.token_format)
    if key and sender:
        number = index.recent_case_for(sender, key, policy.window_start)
        if number is not None:
            return ThreadMatch(number, "sender and subject")
    return None

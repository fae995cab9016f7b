"""How one message is read before anything is decided: its kind and what the admin's rules say. Pure.

The daemon (:mod:`inboxd.service.ingest`), ``inboxd explain`` and ``inboxd replay`` all go through
:func:`evaluate_message`, so what replay reports for last week's mail is what the daemon would do now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from inboxd.core.rules import RuleFacts, RuleOutcome, apply_rules, message_language
from inboxd.mail.autoresponse import AckTiming
from inboxd.mail.classify import Classification, FolderRole, classify
from inboxd.mail.parse import ParsedMessage
from inboxd.service.runtime import Runtime


@dataclass(frozen=True)
class Evaluation:
    classification: Classification
    rules: RuleOutcome


def evaluate_message(rt: Runtime, msg: ParsedMessage, raw: bytes | None, *, mailbox: str, role: FolderRole,
                     at: datetime, acks: AckTiming | None = None, language: str | None = None) -> Evaluation:
    """Classify the message, run the rules over it (they may match its kind), and apply ``action: ignore``.

    ``at`` is when it arrived (the rules' time of week is read in the team's zone); ``language`` the
    detected language, else the one the message declares.
    """
    first = classify(msg, rt.team, role, None, raw=raw, acks=acks)
    facts = RuleFacts(msg, mailbox=mailbox, kind=first.kind, language=language or message_language(msg),
                      at=at.astimezone(rt.calendar.tz))
    outcome = apply_rules(rt.rules, facts)
    classification = first
    if outcome.ignored_by is not None:
        classification = classify(msg, rt.team, role, outcome.ignored_by, raw=raw, acks=acks)
    return Evaluation(classification, outcome)

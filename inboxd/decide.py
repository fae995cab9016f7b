"""What to do with one incoming message. Pure: (message, case, config, now) → actions.

The store applies the actions in the transaction that records the message, so a message and
everything it caused are committed together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from inboxd.cases import CaseState, after_customer_message, after_staff_reply
from inboxd.language import choose_language
from inboxd.mail.classify import Classification
from inboxd.mail.parse import ParsedMessage
from inboxd.notes import NoteCommand, NoteError
from inboxd.rules import RuleOutcome


@dataclass(frozen=True)
class OpenCase:
    customer: str
    customer_name: str
    subject: str
    priority: str
    language: str
    linked_to: int | None = None  # the case this one was split from (a closed case, a foreign token)
    update_overrides: dict[str, str | bool] = field(default_factory=dict)  # cadences rules set
    language_source: str = "default"  # rule, case, detected or default (inboxd.language.Choice)
    detected_language: str | None = None  # what the detector found, served or not


@dataclass(frozen=True)
class JoinCase:
    number: int
    how: str


@dataclass(frozen=True)
class Acknowledge:
    """Send the acknowledgement for the (new) case, with the team's promise."""

    priority: str
    language: str = "en"
    to: str = ""  # where it goes (the Reply-To, else the From); "": the From
    # Going to an address outside the sender's domain: nothing the sender wrote (subject, name) is in it.
    neutral: bool = False


@dataclass(frozen=True)
class SetStatus:
    status: str


@dataclass(frozen=True)
class MarkFirstResponse:
    at: datetime
    by: str


@dataclass(frozen=True)
class KeepTeamPromises:
    """A reply reached the customer: it keeps the team's promises and the staff commitments made before it."""

    at: datetime


@dataclass(frozen=True)
class RecordCommitment:
    """A staff member promised the customer something by a time: track it, remind, escalate."""

    owner: str
    text: str
    due: datetime


@dataclass(frozen=True)
class ApplyNote:
    """A staff note's commands, all understood: apply them all (and confirm to the author)."""

    author: str
    commands: tuple[NoteCommand, ...]


@dataclass(frozen=True)
class RejectNote:
    """A staff note with a line that was not understood: apply nothing, tell the author why."""

    author: str
    errors: tuple[NoteError, ...]


@dataclass(frozen=True)
class RecordFeedback:
    """The customer answered our feedback question with a score; the rest of their words go to staff."""

    score: int
    rest: str


@dataclass(frozen=True)
class OptOut:
    """The customer asked for no more proactive mail on this case."""


@dataclass(frozen=True)
class HoldAck:
    """A loop guard held an acknowledgement back; staff are told once (per guard, address and period)."""

    guard: str
    detail: str
    address: str = ""  # whom the guard protects: the sender, or the recipient; "" for the global limit


@dataclass(frozen=True)
class MarkUnreachable:
    """A permanent bounce: the customer cannot be reached at these addresses; staff are told."""

    addresses: tuple[str, ...]
    detail: str


@dataclass(frozen=True)
class ClearBounced:
    """The customer wrote again: their address works."""

    address: str


@dataclass(frozen=True)
class Note:
    """An audit event with no other effect."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


Action = (OpenCase | JoinCase | Acknowledge | SetStatus | MarkFirstResponse | KeepTeamPromises | HoldAck
          | MarkUnreachable | ClearBounced | RecordCommitment | ApplyNote | RejectNote | RecordFeedback | OptOut
          | Note)


@dataclass(frozen=True)
class SenderHistory:
    """How much this sender has had from us, and sent to us, recently (from the store)."""

    acks_in_window: int = 0
    messages_in_burst_window: int = 0
    acks_to_recipient: int = 0  # acknowledgements to the address this one would go to, in the acks window
    acks_total: int = 0  # acknowledgements to anyone, in the acks_total window


@dataclass(frozen=True)
class Limits:
    acks_per_sender: int  # also per recipient
    sender_burst: int
    acks_total: int = 200


@dataclass(frozen=True)
class MessageContext:
    msg: ParsedMessage
    classification: Classification
    rules: RuleOutcome
    case: CaseState | None
    thread_how: str | None
    history: SenderHistory
    limits: Limits
    default_priority: str
    default_language: str
    own_message: bool  # carries a Message-ID we generated
    now: datetime
    link_to: int | None = None  # the message named a case it may not join: open a new one linked to it
    reopen_within: timedelta = timedelta(days=14)
    bounced_recipients: tuple[str, ...] = ()  # permanent failures a bounce reports
    sender_bounced: bool = False  # the sender's address bounced before
    commitments: tuple[tuple[str, datetime], ...] = ()  # (sentence, due) a staff reply promises
    note_commands: tuple[NoteCommand, ...] = ()  # command lines of a staff note, all understood …
    note_errors: tuple[NoteError, ...] = ()  # … or the lines that were not
    feedback: tuple[int, str] | None = None  # (score, rest) of a reply to our feedback question
    opt_out: bool = False  # the customer asks for no more proactive mail
    arrived_at: datetime | None = None  # when the server received it (IMAP INTERNALDATE)
    watch_started_at: datetime | None = None  # when inboxd first started watching the folder
    acknowledge_max_age: timedelta | None = None  # mail this much older than that start is history: no ack
    ack_to: str = ""  # where an acknowledgement would go: the Reply-To, else the From ("": the From)
    forged: str | None = None  # why a trusted server found the sender forged (DMARC fail …), or None
    detected_language: str | None = None  # the language the customer's reply text is written in, if clear
    served_languages: tuple[str, ...] = ()  # cases.languages: detected languages outside it get the default


def _history(ctx: MessageContext) -> bool:
    """Mail that was already older than ``acknowledge_max_age`` when inboxd first started watching its folder."""
    return (ctx.arrived_at is not None and ctx.watch_started_at is not None and ctx.acknowledge_max_age is not None
            and ctx.arrived_at < ctx.watch_started_at - ctx.acknowledge_max_age)


def decide_message(ctx: MessageContext) -> list[Action]:
    """The actions one message causes."""
    kind = ctx.classification.kind
    msg = ctx.msg
    actions: list[Action] = []
    if ctx.own_message:
        return [Note("own_message_seen", {"message_id": msg.message_id})]
    if ctx.case is not None:
        actions.append(JoinCase(ctx.case.number, ctx.thread_how or "references"))
    if kind == "bounce":
        # Never acknowledged, never reopens a case, never answered: the address is marked unreachable.
        actions.append(Note("not_acknowledged.bounce", {"reason": ctx.classification.reason}))
        if ctx.bounced_recipients:
            actions.append(MarkUnreachable(ctx.bounced_recipients, ctx.classification.reason))
        return actions
    if kind in ("auto_reply", "list", "ignored"):
        actions.append(Note(f"not_acknowledged.{kind}", {"reason": ctx.classification.reason}))
        return actions
    if kind == "staff_note":
        actions.append(Note("staff_note", {"from": msg.from_addr}))
        if ctx.note_errors:
            actions.append(RejectNote(msg.from_addr, ctx.note_errors))
        elif ctx.note_commands and ctx.case is None:
            actions.append(RejectNote(msg.from_addr, (NoteError(0, msg.subject, "no case number in the subject, "
                                                                "so the commands have no case to act on"),)))
        elif ctx.note_commands:
            actions.append(ApplyNote(msg.from_addr, ctx.note_commands))
        return actions
    if kind == "staff":
        if ctx.case is None:
            actions.append(Note("staff_message_without_case", {"from": msg.from_addr}))
            return actions
        if ctx.case.first_response_at is None:
            actions.append(MarkFirstResponse(ctx.now, msg.from_addr))
        actions.append(KeepTeamPromises(ctx.now))
        actions.append(SetStatus(after_staff_reply(ctx.case.status)))
        actions.extend(RecordCommitment(msg.from_addr, text, due) for text, due in ctx.commitments)
        return actions
    # A customer.
    if ctx.sender_bounced:
        actions.append(ClearBounced(msg.from_addr))
    link_to = ctx.link_to
    if ctx.case is not None and ctx.feedback is not None:
        # An answer to our feedback question: recorded, and it does not reopen the case.
        actions.append(RecordFeedback(*ctx.feedback))
        return actions
    if ctx.case is not None and ctx.opt_out:
        actions.append(OptOut())
        return actions
    if ctx.case is not None:
        if ctx.case.reopenable(ctx.now, ctx.reopen_within):
            new_status = after_customer_message(ctx.case.status)
            if new_status != ctx.case.status:
                actions.append(SetStatus(new_status))
                if not ctx.case.is_open:
                    actions.append(Note("case.reopened", {"was": ctx.case.status}))
            return actions
        # Too long after the case was closed: a new case, linked to the old one.
        actions = [Note("case.too_old_to_reopen", {"case": ctx.case.number})]
        link_to = ctx.case.number
    priority = ctx.rules.priority or ctx.default_priority
    # A case continued from an old one keeps the old one's language, as a reopened case would.
    choice = choose_language(rule=ctx.rules.language, case_language=ctx.case.language if ctx.case else None,
                             detected=ctx.detected_language, served=ctx.served_languages or (ctx.default_language,),
                             default=ctx.default_language)
    language = choice.language
    actions.append(OpenCase(msg.from_addr, msg.from_name, msg.subject, priority, language, link_to,
                            dict(ctx.rules.updates), choice.source, choice.detected))
    to = (ctx.ack_to or msg.from_addr).lower()
    history, limits = ctx.history, ctx.limits
    if _history(ctx):
        # Imported history (initial_sync: all): a case, but no acknowledgement of mail written long ago.
        assert ctx.arrived_at is not None and ctx.acknowledge_max_age is not None
        actions.append(Note("not_acknowledged.history", {
            "arrived": ctx.arrived_at.isoformat(), "max_age_hours": ctx.acknowledge_max_age / timedelta(hours=1)}))
    elif ctx.forged:
        # Backscatter: an acknowledgement would go to whoever the forger named.
        actions.append(Note("not_acknowledged.forged_sender", {"reason": ctx.forged}))
    elif history.acks_in_window >= limits.acks_per_sender:
        actions.append(HoldAck("acks_per_sender",
                               f"{msg.from_addr} already had {history.acks_in_window} acknowledgements",
                               msg.from_addr))
    elif history.acks_to_recipient >= limits.acks_per_sender:
        # Counted by the address we send to: many Froms naming one Reply-To must not flood it.
        actions.append(HoldAck("acks_per_recipient",
                               f"{to} (the address the acknowledgement would go to) already had "
                               f"{history.acks_to_recipient} acknowledgements", to))
    elif history.messages_in_burst_window >= limits.sender_burst:
        actions.append(HoldAck("sender_burst",
                               f"{msg.from_addr} sent {history.messages_in_burst_window + 1} messages "
                               "faster than a person writes", msg.from_addr))
    elif history.acks_total >= limits.acks_total:
        actions.append(HoldAck("acks_total",
                               f"{history.acks_total} acknowledgements went out within the loop_guard.acks_total "
                               "period; none more until it has passed"))
    else:
        actions.append(Acknowledge(priority, language, to, neutral=reflected(msg.from_addr, to)))
    return actions


def reflected(sender: str, recipient: str) -> bool:
    """Whether mail to ``recipient`` would go to someone other than the sender: another domain.

    A Reply-To in the sender's own domain (a team address, a colleague) is the sender's to name; one
    elsewhere may be anybody's, and the sender's words must not reach them through us.
    """
    sender, recipient = sender.lower(), recipient.lower()
    if sender == recipient:
        return False
    return sender.rpartition("@")[2] != recipient.rpartition("@")[2]

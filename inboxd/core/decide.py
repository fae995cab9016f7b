"""What to do with one incoming message. Pure: (message, case, config, now) → actions.

Read → decide → write: :mod:`inboxd.service.gather` reads every fact a decision needs into a frozen
:class:`MessageContext`, :func:`decide_message` turns it into actions, and :mod:`inboxd.service.ingest`
applies each action with one store call, in the transaction that records the message, so a message
and everything it caused are committed together or not at all. ``inboxd explain`` runs the same
gather and decide over a read-only transaction and prints the actions instead.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from inboxd.core.calendar import BusinessCalendar
from inboxd.core.cases import (
    CaseState,
    Status,
    after_customer_message,
    after_staff_reply,
    reopened_by_staff,
    resolved_by_staff,
)
from inboxd.core.durations import Duration
from inboxd.core.followups import PromiseView, UpdatePolicy, staff_message_keeps
from inboxd.core.humanize import phrase_moment
from inboxd.core.language import choose_language
from inboxd.core.notes import NoteCommand, NoteError
from inboxd.core.rules import RuleOutcome
from inboxd.mail.classify import Classification
from inboxd.mail.parse import ParsedMessage, address_problem


@dataclass(frozen=True)
class OpenCase:
    customer: str
    customer_name: str
    subject: str
    priority: str
    language: str
    linked_to: int | None = None  # the case this one was split from (a closed case, a foreign token)
    update_overrides: dict[str, str | bool] = field(default_factory=dict)  # cadences rules set
    tags: tuple[str, ...] = ()  # set by rules
    assignee: str | None = None  # set by a rule
    template_set: str | None = None  # the rule-chosen templates for this case's acknowledgement and updates
    language_source: str = "default"  # rule, case, detected or default (inboxd.core.language.Choice)
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
    template_set: str | None = None  # templates/sets/<name>/ instead of the default templates


@dataclass(frozen=True)
class SetStatus:
    """The case moves to ``status`` (a transition of :mod:`inboxd.core.cases`)."""

    status: Status
    resolved_at: datetime | None = None  # resolved now (a staff note's #resolve): when
    forget_resolved: bool = False  # reopened by staff: the old resolution no longer counts


@dataclass(frozen=True)
class MarkFirstResponse:
    at: datetime
    by: str


@dataclass(frozen=True)
class KeepTeamPromises:
    """A reply reached the customer: it keeps the team's promises and the staff commitments made before it."""

    at: datetime
    promise_ids: tuple[int, ...] = ()  # the open promises it keeps (none: nothing to settle)


@dataclass(frozen=True)
class KeepPromises:
    """A staff note's #done: the named open staff commitments are kept."""

    promise_ids: tuple[int, ...]
    at: datetime


@dataclass(frozen=True)
class RecordCommitment:
    """A staff member promised the customer something by a time: track it, remind, escalate."""

    owner: str
    text: str
    due: datetime
    source: str = "reply"  # reply | note (a #followup)


@dataclass(frozen=True)
class Schedule:
    """Due work for later (a note's reminder, the notice and update of a #waiting, a resolved notice)."""

    key: str
    kind: str
    due_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Snooze:
    """A staff note's #snooze: no due work for the case until then."""

    until: datetime


@dataclass(frozen=True)
class SetPriority:
    priority: str


@dataclass(frozen=True)
class Assign:
    assignee: str


@dataclass(frozen=True)
class ConfirmNote:
    """Tell a staff note's author what was done, one line per command."""

    author: str
    done: tuple[str, ...]


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


@dataclass(frozen=True)
class KeepTimeline:
    """Who spoke when on the case, and the due work now that it waits on someone.

    The applier schedules :func:`inboxd.core.followups.waiting_schedule` for ``status`` under ``policy``
    once the case has its number (a new case gets it when it is stored).
    """

    customer_at: datetime | None = None  # the customer wrote
    customer_utc_offset: int | None = None  # minutes east of UTC in the customer's Date
    staff_at: datetime | None = None  # staff replied
    heard_at: datetime | None = None  # the customer heard from us: a staff reply or an acknowledgement
    status: Status | None = None  # the case's status once this message's actions are applied
    policy: UpdatePolicy | None = None  # the case's update cadences


@dataclass(frozen=True)
class AlreadyRecorded:
    """The message is on record already (fetched again): nothing happens."""


Action = (OpenCase | JoinCase | Acknowledge | SetStatus | MarkFirstResponse | KeepTeamPromises | KeepPromises
          | HoldAck | MarkUnreachable | ClearBounced | RecordCommitment | Schedule | Snooze | SetPriority
          | Assign | ConfirmNote | RejectNote | RecordFeedback | OptOut | KeepTimeline | AlreadyRecorded | Note)


def describe(action: Action) -> dict[str, Any]:
    """An action as plain data (``inboxd explain --json``; the test comparing explain with run)."""
    name = type(action).__name__
    kind = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
    return {"action": kind, **dataclasses.asdict(action)}


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
    """Every fact one message's decision needs, read by :func:`inboxd.service.gather.gather_message`.

    A rule that needs one more fact adds a field here, never a query in the decision or the applier.
    """

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
    duplicate: bool = False  # the message is on record already
    ack_to_ours: bool = False  # the acknowledgement would go to one of our own addresses
    ack_to_bounced: bool = False  # … to an address that bounced permanently (before this message)
    open_promises: tuple[PromiseView, ...] = ()  # the case's open promises: the team's and staff commitments
    calendar: BusinessCalendar | None = None  # the team's hours: when a #waiting's update falls due
    case_policy: UpdatePolicy | None = None  # the update cadences of ``case``
    new_case_policy: UpdatePolicy | None = None  # … and of a case this message would open
    update_after_waiting: Duration = Duration(2, "bh")  # updates.after_waiting
    detected_language: str | None = None  # the language the customer's reply text is written in, if clear
    served_languages: tuple[str, ...] = ()  # cases.languages: detected languages outside it get the default
    staff_language: str = "en"  # the language of the staff member who wrote (their note's confirmation)


def _history(ctx: MessageContext) -> bool:
    """Mail that was already older than ``acknowledge_max_age`` when inboxd first started watching its folder."""
    return (ctx.arrived_at is not None and ctx.watch_started_at is not None and ctx.acknowledge_max_age is not None
            and ctx.arrived_at < ctx.watch_started_at - ctx.acknowledge_max_age)


def decide_message(ctx: MessageContext) -> list[Action]:
    """The actions one message causes."""
    actions = _decide(ctx)
    if ctx.classification.kind in ("customer", "staff") and not ctx.own_message and not ctx.duplicate:
        timeline = _timeline(ctx, actions)
        if timeline is not None:
            actions.append(timeline)
    return actions


def _timeline(ctx: MessageContext, actions: list[Action]) -> KeepTimeline | None:
    """The case's timeline after a customer's or a staff member's message (None: it is on no case)."""
    opened = next((a for a in actions if isinstance(a, OpenCase)), None)
    status: Status
    if opened is not None:
        status = "waiting_on_us"  # a new case (also one split from a case too old to reopen)
    elif ctx.case is not None:
        status = ctx.case.status
    else:
        return None
    for action in actions:
        if isinstance(action, SetStatus):
            status = action.status
    heard = ctx.now if any(isinstance(a, Acknowledge) for a in actions) else None
    if ctx.classification.kind == "staff":
        return KeepTimeline(staff_at=ctx.now, heard_at=ctx.now, status=status, policy=ctx.case_policy)
    offset = ctx.msg.date.utcoffset() if ctx.msg.date is not None else None
    return KeepTimeline(customer_at=ctx.now,
                        customer_utc_offset=int(offset.total_seconds() // 60) if offset is not None else None,
                        heard_at=heard, status=status,
                        policy=ctx.new_case_policy if opened is not None else ctx.case_policy)


def _decide(ctx: MessageContext) -> list[Action]:
    kind = ctx.classification.kind
    msg = ctx.msg
    actions: list[Action] = []
    if ctx.duplicate:
        return [AlreadyRecorded()]
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
            actions.extend(note_actions(ctx, msg.from_addr, ctx.note_commands))
        return actions
    if kind == "staff":
        if ctx.case is None:
            actions.append(Note("staff_message_without_case", {"from": msg.from_addr}))
            return actions
        if ctx.case.first_response_at is None:
            actions.append(MarkFirstResponse(ctx.now, msg.from_addr))
        actions.append(KeepTeamPromises(ctx.now, tuple(
            p.id for p in ctx.open_promises if p.owner == "team" or staff_message_keeps(p, ctx.now))))
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
    rules = ctx.rules
    actions.append(OpenCase(msg.from_addr, msg.from_name, msg.subject, priority, language, link_to,
                            dict(rules.updates), rules.tags, rules.assignee, rules.template_set, choice.source,
                            choice.detected))
    to = (ctx.ack_to or msg.from_addr).lower()
    history, limits = ctx.history, ctx.limits
    if rules.no_ack_by is not None:
        # The admin switched the acknowledgement off for this kind of mail (action: no_ack).
        actions.append(Note("not_acknowledged.rule", {"rule": rules.no_ack_by}))
    elif _history(ctx):
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
    elif ctx.ack_to_ours:
        actions.append(Note("ack.held", {"guard": "own_address", "detail": to}))
    elif (problem := address_problem(to)) is not None:
        actions.append(Note("ack.suppressed", {"reason": problem, "address": to[:200]}))
    elif ctx.ack_to_bounced and not (ctx.sender_bounced and to == msg.from_addr.lower()):
        # The sender's own address works again now that they wrote (ClearBounced); another one does not.
        actions.append(Note("ack.suppressed", {"reason": "address bounced", "address": to}))
    else:
        actions.append(Acknowledge(priority, language, to, neutral=reflected(msg.from_addr, to),
                                   template_set=rules.template_set))
    return actions


def note_actions(ctx: MessageContext, author: str, commands: tuple[NoteCommand, ...]) -> list[Action]:
    """What each command of a staff note means, then the confirmation to its author."""
    assert ctx.case is not None
    message_id, now = ctx.msg.message_id, ctx.now
    status = ctx.case.status
    actions: list[Action] = []
    done: list[str] = []
    for index, command in enumerate(commands):
        when = command.when
        key = f"note:{message_id}:{index}"
        if command.name == "remind" and when is not None:
            actions.append(Schedule(key, "note_reminder", when, {"to": author, "text": command.text}))
        elif command.name == "followup" and when is not None:
            actions.append(RecordCommitment(author, "Follow up with the customer", when, source="note"))
        elif command.name == "waiting" and when is not None:
            actions.append(Schedule(key, "note_reminder", when, {
                "to": author, "text": f"We were waiting on {command.text} until now: check with them "
                                      "and tell the customer where things stand."}))
            actions.append(Note("case.waiting", {"on": command.text, "until": when.isoformat()}))
            # The customer hears now what we wait for and when; if staff stay silent past that time,
            # the customer gets an update then.
            actions.append(Schedule(f"waiting_notice:{message_id}", "waiting_notice", now,
                                    {"who": command.text, "until": when.isoformat()}))
            update_at = (ctx.calendar.add(when, ctx.update_after_waiting) if ctx.calendar is not None
                         else when + ctx.update_after_waiting.as_timedelta())
            actions.append(Schedule(f"waiting_update:{message_id}", "update", update_at, {"since": when.isoformat()}))
        elif command.name == "snooze" and when is not None:
            actions.append(Snooze(when))
        elif command.name == "priority":
            actions.append(SetPriority(command.text))
        elif command.name == "assign":
            actions.append(Assign(command.text))
        elif command.name == "resolve":
            status = resolved_by_staff(status)
            actions.append(SetStatus(status, resolved_at=now))
            actions.append(Schedule(f"resolved_notice:{message_id}", "resolved_notice", now))
        elif command.name == "reopen":
            status = reopened_by_staff(status)
            actions.append(SetStatus(status, forget_resolved=True))
        elif command.name == "done":
            actions.append(KeepPromises(tuple(p.id for p in ctx.open_promises if p.owner != "team"), now))
        actions.append(Note(f"note.{command.name}", {"by": author, "line": command.line,
                                                     "when": when.isoformat() if when else None}))
        tz = ctx.calendar.tz if ctx.calendar is not None else None
        done.append(command.line if when is None else
                    f"{command.line}  ({phrase_moment(when.astimezone(tz), ctx.staff_language)})")
    actions.append(ConfirmNote(author, tuple(done)))
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

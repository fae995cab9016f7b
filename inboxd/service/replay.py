"""``inboxd replay``: the current rules and decisions over mail already in the mailbox, read-only.

For each message of the window: what processing it did then (from the store) and what the
configuration as it is now would do (:func:`replay_message`, pure), and the difference. The message
is read and decided by the same functions the daemon uses (:func:`inboxd.service.evaluate.evaluate_message`
and :func:`inboxd.core.decide.decide_message`), so replay cannot drift from what the daemon does.

Nothing is written anywhere: the folder is opened with EXAMINE and read with ``BODY.PEEK`` (no flag
changes), the store is read in one read-only transaction (:meth:`Store.read_only`), nothing is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from inboxd.core import decide as d
from inboxd.mail.auth import forged_sender
from inboxd.mail.autoresponse import AckTiming
from inboxd.mail.parse import ParsedMessage, parse_message
from inboxd.service.evaluate import evaluate_message
from inboxd.service.runtime import Runtime

COMPARED = ("kind", "priority", "tags", "assignee", "acknowledged")


@dataclass(frozen=True)
class Outcome:
    """What processing a message does, in the terms replay compares."""

    kind: str
    case: str = ""  # "opens", "joins", "" (none)
    priority: str | None = None
    tags: tuple[str, ...] = ()
    assignee: str | None = None
    acknowledged: bool = False
    rules: tuple[str, ...] = ()
    why: str = ""  # why no acknowledgement, when there is none for a new case

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "case": self.case, "priority": self.priority, "tags": list(self.tags),
                "assignee": self.assignee, "acknowledged": self.acknowledged, "rules": list(self.rules),
                "why": self.why}


@dataclass(frozen=True)
class Recorded:
    """What the store says processing the message did (``repo.recorded_message``) and what it needs to decide."""

    kind: str
    case: int | None = None
    opened: bool = False
    priority: str | None = None
    tags: tuple[str, ...] = ()
    assignee: str | None = None
    acknowledged: bool = False
    held: bool = False  # a loop guard, the history limit or a forged sender held the acknowledgement back
    acks: AckTiming | None = None  # our acknowledgements to the sender before it came (auto-reply timing)

    @property
    def outcome(self) -> Outcome:
        return Outcome(self.kind, "opens" if self.opened else ("joins" if self.case is not None else ""),
                       self.priority, self.tags, self.assignee, self.acknowledged)


@dataclass(frozen=True)
class ReplayRow:
    mailbox: str
    uid: int
    arrived: datetime | None
    message_id: str
    sender: str
    subject: str
    case: int | None
    was: Outcome | None  # None: the message is not on record (not processed yet)
    now: Outcome
    changed: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {"mailbox": self.mailbox, "uid": self.uid, "arrived": self.arrived, "message_id": self.message_id,
                "from": self.sender, "subject": self.subject, "case": self.case,
                "was": self.was.as_dict() if self.was else None, "now": self.now.as_dict(),
                "changed": list(self.changed)}


def _now_outcome(rt: Runtime, msg: ParsedMessage, raw: bytes, mailbox: str, arrived: datetime,
                 recorded: Recorded | None) -> Outcome:
    evaluation = evaluate_message(rt, msg, raw, mailbox=mailbox, role="inbox", at=arrived,
                                  acks=recorded.acks if recorded else None)
    kind, rules = evaluation.classification.kind, evaluation.rules
    joined = recorded is not None and recorded.case is not None and not recorded.opened
    if joined or (recorded is not None and recorded.kind == "own"):
        # A reply on its case (or our own mail): threading, not rules, decides where it goes.
        return Outcome("own" if recorded and recorded.kind == "own" else kind, "joins" if joined else "",
                       rules=rules.matched)
    cfg = rt.config
    guards = cfg.loop_guard
    ctx = d.MessageContext(
        msg=msg, classification=evaluation.classification, rules=rules, case=None, thread_how=None,
        history=d.SenderHistory(),
        limits=d.Limits(guards.acks_per_sender.count, guards.sender_burst.count, guards.acks_total.count),
        default_priority=cfg.cases.default_priority, default_language=cfg.cases.default_language,
        own_message=False, now=arrived, reopen_within=cfg.cases.reopen_within.as_timedelta(),
        ack_to=(msg.reply_to[0] if msg.reply_to else msg.from_addr).lower(),
        forged=forged_sender(msg, rt.team.trusted_authserv_ids) if kind == "customer" else None)
    actions = d.decide_message(ctx)
    opened = next((a for a in actions if isinstance(a, d.OpenCase)), None)
    if opened is None:
        return Outcome(kind, rules=rules.matched)
    acknowledged = any(isinstance(a, d.Acknowledge) for a in actions)
    why = next((a.kind.removeprefix("not_acknowledged.") for a in actions
                if isinstance(a, d.Note) and a.kind.startswith("not_acknowledged.")), "")
    if acknowledged and recorded is not None and recorded.held:
        # Held back then by a loop guard (or as history, or a forged sender): that would hold it again.
        acknowledged, why = False, "held then by a loop guard"
    if why == "rule" and rules.no_ack_by:
        why = f"rule {rules.no_ack_by}"
    return Outcome(kind, "opens", opened.priority, opened.tags, opened.assignee, acknowledged, rules.matched, why)


def replay_message(rt: Runtime, raw: bytes, *, mailbox: str, uid: int, arrived: datetime,
                   recorded: Recorded | None) -> ReplayRow:
    """One message: what the current configuration would do with it, against what was done. Pure."""
    msg = parse_message(raw)
    now = _now_outcome(rt, msg, raw, mailbox, arrived, recorded)
    was = recorded.outcome if recorded is not None else None
    changed: tuple[str, ...] = ()
    if was is not None:
        compared = COMPARED if "opens" in (was.case, now.case) else ("kind",)
        changed = tuple(name for name in compared if getattr(was, name) != getattr(now, name))
    return ReplayRow(mailbox, uid, arrived, msg.message_id, msg.from_addr, msg.subject,
                     recorded.case if recorded else None, was, now, changed)


# -- the shell: read the mailbox and the store, never write ------------------------------------------------


class Folder(Protocol):
    """What replay needs of an IMAP connection (``ImapConnection``): EXAMINE, SEARCH SINCE, BODY.PEEK."""

    def select(self, folder: str) -> Any: ...
    def arrival_times_since(self, day: Any) -> dict[int, datetime]: ...
    def fetch_arrived(self, uids: list[int]) -> dict[int, tuple[bytes, datetime | None]]: ...


def read_mailbox(folder: Folder, name: str, since: datetime, batch: int = 50) -> Iterator[tuple[int, bytes, datetime]]:
    """(UID, message, arrival) of every message that arrived at or after ``since``, oldest first."""
    folder.select(name)
    # SEARCH SINCE counts whole days in the server's zone: ask from the day before, then keep the exact window.
    day = (since - timedelta(days=1)).date()
    arrivals = {uid: at for uid, at in folder.arrival_times_since(day).items() if at >= since}
    uids = sorted(arrivals, key=lambda uid: (arrivals[uid], uid))
    for start in range(0, len(uids), batch):
        chunk = uids[start:start + batch]
        fetched = folder.fetch_arrived(chunk)
        for uid in chunk:
            if uid in fetched:
                yield uid, fetched[uid][0], arrivals[uid]


def gather_recorded(conn: Any, mailbox: str, msg: ParsedMessage, arrived: datetime) -> Recorded | None:
    """From the store (read-only): what processing the message did, and the acknowledgement timing before it."""
    from inboxd.store import repo

    found = repo.recorded_message(conn, msg.message_id, mailbox)
    if found is None:
        return None
    cited_at, last_at = repo.ack_times(conn, msg.from_addr, (*msg.in_reply_to, *msg.references))
    # Only acknowledgements that had gone out when the message came count, as they did then.
    cited_at = cited_at if cited_at is not None and cited_at <= arrived else None
    last_at = last_at if last_at is not None and last_at <= arrived else None
    sent = min(msg.date, arrived) if msg.date else arrived
    acks = AckTiming(cited_ack_seconds=(sent - cited_at).total_seconds() if cited_at else None,
                     last_ack_seconds=(sent - last_at).total_seconds() if last_at else None)
    return Recorded(kind=found["kind"], case=found["case"], opened=found["opened"], priority=found["priority"],
                    tags=tuple(found["tags"]), assignee=found["assignee"], acknowledged=found["acknowledged"],
                    held=found["held"], acks=acks)


def replay(rt: Runtime, store: Any, connect: Callable[[Any], Any], now: datetime, since: timedelta,
           mailboxes: Sequence[str] = ()) -> list[ReplayRow]:
    """Every message of the last ``since`` in each mailbox's inbox (all mailboxes, or those named)."""
    rows: list[ReplayRow] = []
    chosen = [m for m in rt.config.mailboxes if not mailboxes or m.name in mailboxes]
    for mailbox in chosen:
        with connect(mailbox) as folder:
            messages = list(read_mailbox(folder, mailbox.imap.folders.inbox, now - since))
        with store.read_only() as conn:
            for uid, raw, arrived in messages:
                recorded = gather_recorded(conn, mailbox.name, parse_message(raw), arrived)
                rows.append(replay_message(rt, raw, mailbox=mailbox.name, uid=uid, arrived=arrived,
                                           recorded=recorded))
    return rows


def describe_change(row: ReplayRow) -> str:
    """``tags: - → billing; acknowledged: yes → no (rule invoices)`` for the listing."""
    if row.was is None:
        return "not processed yet"
    parts: list[str] = []
    for name in row.changed:
        before, after = getattr(row.was, name), getattr(row.now, name)
        parts.append(f"{name}: {_shown(before)} → {_shown(after)}")
    text = "; ".join(parts) or "no change"
    if "acknowledged" in row.changed and row.now.why:
        text += f" ({row.now.why})"
    return text


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        return ",".join(value) or "-"
    return str(value) if value else "-"

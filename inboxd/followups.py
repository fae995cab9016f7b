"""Due work: what to do when a scheduled item comes due. Pure: (item, case, promise, team, now) → actions.

Every reminder, escalation, update and nudge is a row in ``scheduled`` with a ``due_at`` and a unique
key; the tick claims the rows that are due and applies what :func:`decide_due` returns in the same
transaction that marks the row done, so an item is handled exactly once, across restarts too.

This module decides; ``inboxd.duework`` applies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from inboxd.cases import CaseState


@dataclass(frozen=True)
class PromiseView:
    id: int
    owner: str  # "team" or a staff address
    source: str  # ack | reply | delay_notice
    text: str
    made_at: datetime
    due_at: datetime
    state: str  # open | kept | broken | superseded
    source_message_id: str | None = None


@dataclass(frozen=True)
class DueItem:
    id: int
    key: str
    kind: str
    case_number: int | None
    due_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Schedule:
    kind: str
    due_at: datetime
    key: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StaffMail:
    """Mail to staff, rendered from ``templates/<lang>/<template>.txt.j2``."""

    template: str
    to: tuple[str, ...]
    key: str  # idempotency key of the outgoing message
    context: dict[str, Any]
    in_reply_to: str | None = None


@dataclass(frozen=True)
class SettlePromise:
    promise_id: int
    state: str  # kept | broken


@dataclass(frozen=True)
class Skip:
    """Nothing to do any more (recorded in the audit log)."""

    reason: str


FollowupAction = Schedule | StaffMail | SettlePromise | Skip


def commitment_schedule(promise_id: int, made_at: datetime, due_at: datetime, lead_time: timedelta) -> list[Schedule]:
    """A reminder ``lead_time`` before a staff commitment falls due, and an escalation at its due time.

    A commitment due sooner than the lead time gets its reminder at once rather than in the past,
    and one due already (a promise for "now") only its escalation.
    """
    items = [Schedule("escalation", due_at, f"escalation:{promise_id}", {"promise": promise_id})]
    remind_at = max(made_at, due_at - lead_time)
    if remind_at < due_at:
        items.insert(0, Schedule("reminder", remind_at, f"reminder:{promise_id}", {"promise": promise_id}))
    return items


def decide_due(item: DueItem, case: CaseState | None, promise: PromiseView | None, *,
               escalate_to: Sequence[str], token: str, now: datetime) -> list[FollowupAction]:
    """What one due item causes."""
    if item.kind in ("reminder", "escalation"):
        if promise is None or case is None:
            return [Skip("the promise or its case no longer exists")]
        if promise.state != "open":
            return [Skip(f"the commitment is already {promise.state}")]
        context = {
            "commitment": promise.text, "owner": promise.owner, "due": promise.due_at, "made_at": promise.made_at,
            "case": case.number, "token": token, "subject": case.subject, "customer": case.customer,
        }
        if item.kind == "reminder":
            return [StaffMail("reminder", (promise.owner,), f"reminder:{promise.id}", context,
                              in_reply_to=promise.source_message_id)]
        actions: list[FollowupAction] = [SettlePromise(promise.id, "broken")]
        recipients = tuple(dict.fromkeys([*escalate_to, promise.owner])) if escalate_to else (promise.owner,)
        actions.append(StaffMail("escalation", recipients, f"escalation:{promise.id}", context,
                                 in_reply_to=promise.source_message_id))
        return actions
    if item.kind == "note_reminder":
        to = str(item.payload.get("to") or "")
        if not to:
            return [Skip("no one to remind")]
        context = {"text": item.payload.get("text", ""), "token": token,
                   "subject": case.subject if case else "", "due": item.due_at}
        return [StaffMail("note_reminder", (to,), f"note_reminder:{item.id}", context)]
    return [Skip(f"unknown kind {item.kind!r}")]


def staff_message_keeps(promise: PromiseView, message_at: datetime) -> bool:
    """A staff message the customer sees keeps every commitment on the case made before it."""
    return promise.state == "open" and promise.owner != "team" and promise.made_at < message_at


# -- the daily digest -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestLine:
    token: str
    subject: str
    customer: str
    detail: str  # "due today 14:00", "overdue since Mon 17:00", "waiting 2 business days"
    text: str = ""  # the promise in the staff member's own words


@dataclass(frozen=True)
class Digest:
    to: str
    commitments: tuple[DigestLine, ...]
    waiting: tuple[DigestLine, ...]
    at_risk: tuple[DigestLine, ...]

    @property
    def empty(self) -> bool:
        return not (self.commitments or self.waiting or self.at_risk)


def next_digest_at(now: datetime, digest_time: time, is_business_day: Callable[[date], bool],
                   tz: tzinfo) -> datetime:
    """The next digest instant: ``digest_time`` on a business day, today if it has not passed yet."""
    local = now.astimezone(tz)
    day = local.date()
    for _ in range(370):
        at = datetime.combine(day, digest_time, tzinfo=tz)
        if is_business_day(day) and at > now:
            return at
        day += timedelta(days=1)
    raise ValueError("no business day within a year")


def build_digest(to: str, *, commitments: Sequence[DigestLine], waiting: Sequence[DigestLine],
                 at_risk: Sequence[DigestLine], limit: int = 10) -> Digest | None:
    """One staff member's digest, or None when there is nothing to say."""
    digest = Digest(to, tuple(commitments[:limit]), tuple(waiting[:limit]), tuple(at_risk[:limit]))
    return None if digest.empty else digest

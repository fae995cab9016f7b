"""Due work: what to do when a scheduled item comes due. Pure: (item, case, promise, team, now) → actions.

Every reminder, escalation, update and nudge is a row in ``scheduled`` with a ``due_at``, a unique key
and a :class:`DueKind`; the tick claims the rows that are due and applies what :func:`decide_due` and
:func:`decide_update` return (through :func:`inboxd.core.tick.decide_due_work`) in the same transaction that
marks the row done, so an item is handled exactly once, across restarts too.

This module and :mod:`inboxd.core.tick` decide; ``inboxd.service.duework`` gathers and applies.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from enum import StrEnum
from typing import Any, Union

from inboxd.core.cases import CaseState
from inboxd.core.durations import Duration, parse_duration


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


class DueKind(StrEnum):
    """What a scheduled item is; the value is what the ``scheduled.kind`` column holds."""

    REMINDER = "reminder"  # a staff commitment falls due soon
    ESCALATION = "escalation"  # a staff commitment fell due unkept
    NOTE_REMINDER = "note_reminder"  # "remind me" in an internal note
    UPDATE = "update"  # the case waits on us: tell the customer where it stands
    NUDGE = "nudge"  # the case waits on the customer: ask again
    AUTO_RESOLVE = "auto_resolve"  # the customer never came back: resolve the case
    RESOLVED_NOTICE = "resolved_notice"  # staff resolved the case: tell the customer (and ask for feedback)
    WAITING_NOTICE = "waiting_notice"  # staff wait on a third party: tell the customer until when
    DIGEST = "digest"  # the daily digest to staff

    @classmethod
    def customer_kinds(cls) -> frozenset[DueKind]:
        """The kinds that mail the case's customer, decided by :func:`decide_update`."""
        return _CUSTOMER_KINDS


_CUSTOMER_KINDS = frozenset({DueKind.UPDATE, DueKind.NUDGE, DueKind.AUTO_RESOLVE, DueKind.RESOLVED_NOTICE,
                             DueKind.WAITING_NOTICE})


@dataclass(frozen=True)
class DueItem:
    id: int
    key: str
    kind: DueKind
    case_number: int | None
    due_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A kind given as its column value becomes the enum (ValueError for a kind no one schedules).
        object.__setattr__(self, "kind", DueKind(self.kind))


@dataclass(frozen=True)
class Schedule:
    kind: DueKind
    due_at: datetime
    key: str
    payload: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", DueKind(self.kind))


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




FollowupAction = Union["Schedule", "StaffMail", "SettlePromise", "Skip", "CustomerMail", "SetCaseStatus"]


def commitment_schedule(promise_id: int, made_at: datetime, due_at: datetime, lead_time: timedelta) -> list[Schedule]:
    """A reminder ``lead_time`` before a staff commitment falls due, and an escalation at its due time.

    When the lead time does not fit (a promise for "in an hour" with a two-hour lead), the reminder
    comes halfway instead, unless that is under 15 minutes away: a reminder the moment a promise is
    written is noise. Nothing is scheduled before ``made_at`` (the moment the promise is recorded): a
    promise read after its time escalates at once, without a reminder.
    """
    items = [Schedule(DueKind.ESCALATION, max(due_at, made_at), f"escalation:{promise_id}", {"promise": promise_id})]
    remind_at = due_at - lead_time
    if remind_at <= made_at:
        remind_at = made_at + (due_at - made_at) / 2
        if remind_at - made_at < timedelta(minutes=15):
            return items
    items.insert(0, Schedule(DueKind.REMINDER, remind_at, f"reminder:{promise_id}", {"promise": promise_id}))
    return items


def decide_due(item: DueItem, case: CaseState | None, promise: PromiseView | None, *,
               escalate_to: Sequence[str], token: str, now: datetime) -> list[FollowupAction]:
    """What one due item causes."""
    if item.kind in (DueKind.REMINDER, DueKind.ESCALATION):
        if promise is None or case is None:
            return [Skip("the promise or its case no longer exists")]
        if promise.state != "open":
            return [Skip(f"the commitment is already {promise.state}")]
        context = {
            "commitment": promise.text, "owner": promise.owner, "due": promise.due_at, "made_at": promise.made_at,
            "case": case.number, "token": token, "subject": case.subject, "customer": case.customer,
        }
        if item.kind is DueKind.REMINDER:
            return [StaffMail("reminder", (promise.owner,), f"reminder:{promise.id}", context,
                              in_reply_to=promise.source_message_id)]
        actions: list[FollowupAction] = [SettlePromise(promise.id, "broken")]
        recipients = tuple(dict.fromkeys([*escalate_to, promise.owner])) if escalate_to else (promise.owner,)
        actions.append(StaffMail("escalation", recipients, f"escalation:{promise.id}", context,
                                 in_reply_to=promise.source_message_id))
        return actions
    if item.kind is DueKind.NOTE_REMINDER:
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


# -- keeping customers updated ---------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerMail:
    """Mail to the case's customer, rendered from ``templates/<lang>/<template>.txt.j2``."""

    template: str
    key: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SetCaseStatus:
    status: str


@dataclass(frozen=True)
class CaseTimeline:
    """When things last happened on a case (from the store), for update decisions."""

    last_customer_at: datetime | None = None
    last_staff_reply_at: datetime | None = None
    last_heard_at: datetime | None = None  # the customer last got mail from us
    customer_utc_offset: int | None = None  # minutes
    opted_out: bool = False
    snoozed_until: datetime | None = None
    unreachable: bool = False


@dataclass(frozen=True)
class UpdatePolicy:
    """``updates`` from the configuration; durations are added on the team's calendar by the caller."""

    while_waiting_on_us: Duration | None
    nudge_after: Duration | None
    resolve_after: Duration | None
    feedback: bool
    quiet_start: time = time(20, 0)  # no proactive mail between these hours in the customer's offset
    quiet_end: time = time(8, 0)


def reasonable_hour(at: datetime, offset_minutes: int | None, policy: UpdatePolicy) -> datetime:
    """``at``, or the next morning when ``at`` falls at night in the customer's own UTC offset."""
    if offset_minutes is None:
        return at
    zone = timezone(timedelta(minutes=offset_minutes))
    local = at.astimezone(zone)
    if policy.quiet_end <= local.time() < policy.quiet_start:
        return at
    morning = datetime.combine(local.date(), policy.quiet_end, tzinfo=zone)
    if local.time() >= policy.quiet_start:
        morning += timedelta(days=1)
    return morning.astimezone(at.tzinfo)


def decide_update(item: DueItem, case: CaseState, timeline: CaseTimeline, policy: UpdatePolicy, *,
                  next_due: Callable[[datetime], datetime], now: datetime) -> list[FollowupAction]:
    """Proactive mail while a case waits: an update (waiting on us), a nudge or a resolve (waiting on them).

    ``item.payload["since"]`` is the moment the waiting began (ISO); anything newer on the case since then
    (the customer wrote, staff replied, we already wrote) makes the item moot. ``next_due`` adds the
    cadence in business time to an instant.
    """
    since = datetime.fromisoformat(str(item.payload.get("since") or now.isoformat()))
    proactive_ok = not timeline.opted_out and not timeline.unreachable
    if item.kind is DueKind.UPDATE:
        if case.status != "waiting_on_us":
            return [Skip("the case no longer waits on us")]
        if timeline.last_staff_reply_at and timeline.last_staff_reply_at > since:
            return [Skip("staff replied in between")]
        if timeline.last_heard_at and timeline.last_heard_at > since:
            # A delay notice (or other mail from us) restarts the cadence; it does not end the updates.
            heard = timeline.last_heard_at
            skip: list[FollowupAction] = [Skip("the customer heard from us in between")]
            if policy.while_waiting_on_us is None:
                return skip
            return [*skip, Schedule(DueKind.UPDATE, next_due(heard), f"update:{case.number}:{int(heard.timestamp())}",
                                    {"since": heard.isoformat()})]
        if not proactive_ok:
            return [Skip("the customer opted out of updates" if timeline.opted_out else "the customer is unreachable")]
        if timeline.snoozed_until and timeline.snoozed_until > now:
            return [Schedule(DueKind.UPDATE, timeline.snoozed_until, f"{item.key}:snoozed", dict(item.payload))]
        when = reasonable_hour(now, timeline.customer_utc_offset, policy)
        if when > now:
            return [Schedule(DueKind.UPDATE, when, f"{item.key}:morning", dict(item.payload))]
        actions: list[FollowupAction] = [CustomerMail("update", f"update:{case.number}:{item.id}")]
        if policy.while_waiting_on_us is not None:
            actions.append(Schedule(DueKind.UPDATE, next_due(now), f"update:{case.number}:{int(now.timestamp())}",
                                    {"since": now.isoformat()}))
        return actions
    if item.kind is DueKind.WAITING_NOTICE:
        if not proactive_ok:
            return [Skip("no proactive mail to this customer")]
        return [CustomerMail("waiting", f"waiting:{case.number}:{item.id}",
                             {"who": str(item.payload.get("who", "")), "until": str(item.payload.get("until", ""))})]
    if item.kind is DueKind.RESOLVED_NOTICE:
        if case.status != "resolved":
            return [Skip("the case was reopened")]
        if not proactive_ok:
            return [Skip("no proactive mail to this customer")]
        return [CustomerMail("resolved", f"resolved:{case.number}:{item.id}",
                             {"feedback": policy.feedback, "automatic": False})]
    if item.kind in (DueKind.NUDGE, DueKind.AUTO_RESOLVE):
        if case.status != "waiting_on_customer":
            return [Skip("the case no longer waits on the customer")]
        if (timeline.last_customer_at and timeline.last_customer_at > since) or (
                timeline.last_staff_reply_at and timeline.last_staff_reply_at > since):
            return [Skip("the conversation moved on")]
        if item.kind is DueKind.NUDGE:
            if not proactive_ok:
                return [Skip("no proactive mail to this customer")]
            when = reasonable_hour(now, timeline.customer_utc_offset, policy)
            if when > now:
                return [Schedule(DueKind.NUDGE, when, f"{item.key}:morning", dict(item.payload))]
            return [CustomerMail("nudge", f"nudge:{case.number}:{item.id}")]
        actions = [SetCaseStatus("resolved")]
        if proactive_ok:
            actions.append(CustomerMail("resolved", f"resolved:{case.number}:{item.id}",
                                        {"feedback": policy.feedback, "automatic": True}))
        return actions
    return [Skip(f"unknown kind {item.kind!r}")]


def waiting_schedule(case_number: int, status: str, since: datetime, policy: UpdatePolicy,
                     add: Callable[[datetime, Duration], datetime]) -> list[Schedule]:
    """What to schedule when a case starts waiting: on us → an update; on the customer → a nudge and a resolve."""
    stamp = int(since.timestamp())
    payload = {"since": since.isoformat()}
    if status == "waiting_on_us" and policy.while_waiting_on_us is not None:
        return [Schedule(DueKind.UPDATE, add(since, policy.while_waiting_on_us), f"update:{case_number}:{stamp}",
                         payload)]
    if status == "waiting_on_customer":
        items = []
        if policy.nudge_after is not None:
            items.append(Schedule(DueKind.NUDGE, add(since, policy.nudge_after), f"nudge:{case_number}:{stamp}",
                                  payload))
        if policy.resolve_after is not None:
            items.append(Schedule(DueKind.AUTO_RESOLVE, add(since, policy.resolve_after),
                                  f"auto_resolve:{case_number}:{stamp}", payload))
        return items
    return []


_SCORE_WORDS = {
    5: ("excellent", "great", "perfect", "awesome", "super", "ausgezeichnet", "hervorragend", "sehr gut", "perfekt",
        "toll", "klasse"),
    4: ("good", "gut", "fine", "prima"),
    3: ("ok", "okay", "so-so", "average", "geht so", "mittel"),
    2: ("poor", "not good", "nicht gut", "mäßig", "schwach"),
    1: ("bad", "terrible", "awful", "schlecht", "furchtbar", "schrecklich", "miserabel"),
}


def feedback_score(text: str) -> tuple[int | None, str]:
    """A satisfaction score (1–5) at the start of a feedback reply, and the rest of the reply.

    Only the first line counts ("5", "4/5", "Great!", "sehr gut, danke"), so a reply that merely
    mentions a number later is not mistaken for a score.
    """
    lines = [line for line in text.strip().splitlines()]
    if not lines:
        return None, ""
    first, rest = lines[0].strip(), "\n".join(lines[1:]).strip()
    digit = re.match(r"^\s*([1-5])\s*(?:/\s*5|von\s+5|out\s+of\s+5|stars?|sterne?)?\b[\s.!,:;-]*(.*)$", first,
                     re.IGNORECASE)
    if digit:
        remainder = "\n".join(part for part in (digit.group(2).strip(), rest) if part)
        return int(digit.group(1)), remainder
    lowered = first.lower()
    for score in (2, 1, 5, 4, 3):  # "not good" before "good"
        for word in _SCORE_WORDS[score]:
            if re.match(rf"^\W*{re.escape(word)}\b", lowered):
                remainder = "\n".join(part for part in (first[len(word):].strip(" !.,:;-"), rest) if part)
                return score, remainder
    return None, text.strip()


_OPT_OUT = re.compile(
    # A whole line that only asks to stop: "Stop", "No more updates, please", "Keine Updates mehr, danke".
    # "Stop charging my card twice" is a customer's problem, not an opt-out, so the line must end there.
    r"^\W*(?:please\s+|bitte\s+)?(?:stop(?:\s+(?:sending|the)\s+(?:updates|emails|mails|reminders))?|unsubscribe|"
    r"no\s+more\s+(?:updates|emails|mails|reminders)|(?:keine\s+)?(?:updates|e-?mails|mails|erinnerungen)\s+"
    r"(?:mehr|abbestellen)|abmelden|keine\s+(?:updates|e-?mails|mails)\s+mehr)"
    # The templates in every language ask for the word "stop"; a polite word in the customer's own may follow.
    r"(?:\s*,?\s*(?:please|thanks|thank\s+you|bitte|danke|merci|s['’]il\s+vous\s+pla[iî]t|por\s+favor|gracias|"
    r"per\s+favore|grazie|alstublieft|bedankt|dank\s+u(?:\s+wel)?|obrigad[oa]))?\W*$",
    re.IGNORECASE | re.MULTILINE,
)


def asks_to_stop_updates(text: str, subject: str) -> bool:
    """The customer asks for no more proactive mail ("stop", "no more updates", "keine Updates mehr")."""
    return bool(_OPT_OUT.search(subject) or _OPT_OUT.search(text[:500]))


def escalation_recipients(config: Any) -> tuple[str, ...]:
    """Who hears about escalations: ``reminders.escalate_to`` (the leads, or else all staff, or one address)."""
    target = config.reminders.escalate_to
    if target != "lead":
        return (target,)
    leads = tuple(member.email for member in config.team.leads)
    return leads or tuple(member.email for member in config.team.staff)


def update_policy(config: Any, priority: str = "normal",
                  overrides: Mapping[str, str | bool] | None = None) -> UpdatePolicy:
    """The cadence for a case: ``updates``, then ``updates.by_priority[priority]``, then a rule's ``set.updates``.

    ``off`` (at any level) switches that kind of proactive mail off for the case.
    """
    updates = config.updates
    values: dict[str, Any] = {"while_waiting_on_us": updates.while_waiting_on_us,
                              "nudge_customer_after": updates.nudge_customer_after,
                              "resolve_after": updates.resolve_after, "feedback": updates.feedback}
    by_priority = updates.by_priority.get(priority)
    if by_priority is not None:
        values.update({k: v for k, v in by_priority.model_dump(exclude_none=True).items()})
        # model_dump turns durations into strings: take the objects instead.
        values.update({k: getattr(by_priority, k) for k in ("while_waiting_on_us", "nudge_customer_after",
                                                             "resolve_after") if getattr(by_priority, k) is not None})
    for key, value in (overrides or {}).items():
        if key == "feedback":
            values[key] = bool(value)
        elif key in values:
            values[key] = "off" if str(value) == "off" else parse_duration(str(value))

    def cadence(value: Any) -> Duration | None:
        return None if value == "off" or value is None else value

    return UpdatePolicy(while_waiting_on_us=cadence(values["while_waiting_on_us"]),
                        nudge_after=cadence(values["nudge_customer_after"]),
                        resolve_after=cadence(values["resolve_after"]), feedback=bool(values["feedback"]))

"""The tick's decisions: what due items, promises at risk and promises past due cause. Pure.

A tick runs in three steps, each read → decide → write, in this order:

1. **Due work.** For every scheduled item that came due, :func:`decide_due_work` over a :class:`DueCase`
   (the item and every fact of its case the decision reads): reminders and escalations of staff
   commitments, note reminders, updates while a case waits on us, nudges and automatic resolving while it
   waits on the customer, the resolved notice (with its feedback question), the waiting notice, the digest.
2. **Delay notices.** :func:`decide_delay_notices` over a :class:`RiskContext` (the open team promises of
   cases still waiting for their first response, and the fitted forecast): a promise the model now expects
   to break gets a delay notice with a revised estimate, at once, or in the customer's morning when it is
   night where they are (still before the due time).
3. **Promises past due.** :func:`decide_overdue`: the team's open promises whose due time passed are broken.

``inboxd.service.duework`` gathers these contexts from the store and applies the actions, one store call each;
``inboxd.service.simulate`` gathers them from its in-memory state and applies them there. Both call these
functions, so a simulated month makes the daemon's own decisions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from inboxd.core import eta
from inboxd.core.calendar import BusinessCalendar
from inboxd.core.cases import CaseState
from inboxd.core.durations import Duration
from inboxd.core.followups import (
    CaseTimeline,
    DueItem,
    DueKind,
    FollowupAction,
    PromiseView,
    SettlePromise,
    Skip,
    UpdatePolicy,
    decide_due,
    decide_update,
    reasonable_hour,
)

__all__ = ["DelayNotice", "DeferDelay", "DueAction", "DueCase", "Forecast", "OpenTeamPromise", "OverduePromise",
           "RiskContext", "SendDigests", "TickAction", "TickSettings", "decide_delay_notices", "decide_due_work",
           "decide_overdue"]


@dataclass(frozen=True)
class TickSettings:
    """What the configuration says about the tick, read once per tick."""

    calendar: BusinessCalendar
    escalate_to: tuple[str, ...]  # staff told of an escalation besides the commitment's owner
    delay_notice_before: Duration
    quiet: UpdatePolicy  # the team's ``updates``: its quiet hours defer delay notices


# -- 1. due work ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueCase:
    """A due item and what its decision reads from the store.

    ``case`` is None when the item has no case or the case is gone; ``timeline`` and ``policy`` are
    filled for the customer kinds (:data:`inboxd.core.followups.CUSTOMER_KINDS`), ``promise`` for reminders
    and escalations.
    """

    item: DueItem
    case: CaseState | None = None
    token: str = ""
    timeline: CaseTimeline | None = None
    policy: UpdatePolicy | None = None
    promise: PromiseView | None = None


@dataclass(frozen=True)
class SendDigests:
    """The daily digest came due: build and send each staff member's."""

    key: str


DueAction = FollowupAction | SendDigests
"""What a due item can cause."""


def decide_due_work(due: DueCase, settings: TickSettings, now: datetime) -> list[DueAction]:
    """What one due item causes."""
    item = due.item
    if item.kind is DueKind.DIGEST:
        return [SendDigests(item.key)]
    if item.kind in DueKind.customer_kinds():
        if due.case is None or due.timeline is None or due.policy is None:
            return [Skip("no such case")]
        cadence = due.policy.while_waiting_on_us

        def next_due(at: datetime) -> datetime:
            return settings.calendar.add(at, cadence) if cadence is not None else at

        return [*decide_update(item, due.case, due.timeline, due.policy, next_due=next_due, now=now)]
    return [*decide_due(item, due.case, due.promise, escalate_to=settings.escalate_to, token=due.token, now=now)]


# -- 2. delay notices ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenTeamPromise:
    """An open team promise on a case that still waits for its first response."""

    id: int
    case_number: int
    case_ref: int  # the case's row id
    made_at: datetime
    due_at: datetime
    customer_utc_offset: int | None = None  # minutes east of UTC, from the customer's Date header


@dataclass(frozen=True)
class Forecast:
    """The model fitted on the store's history and the queue it was fitted on."""

    model: eta.PaceModel
    queue: eta.QueueSnapshot


@dataclass(frozen=True)
class RiskContext:
    promises: tuple[OpenTeamPromise, ...]
    forecast: Forecast | None  # None when there is no open promise to judge


@dataclass(frozen=True)
class DelayNotice:
    """Tell the customer before the promise breaks: the old promise superseded, a revised one made."""

    promise: OpenTeamPromise
    revised: eta.Estimate
    prediction: eta.Prediction
    miss_probability: float


@dataclass(frozen=True)
class DeferDelay:
    """At risk, but it is night where the customer is: the notice goes out at ``notice_at`` (before the due)."""

    promise: OpenTeamPromise
    notice_at: datetime
    prediction: eta.Prediction
    miss_probability: float


def decide_delay_notices(ctx: RiskContext, settings: TickSettings, now: datetime) -> list[DelayNotice | DeferDelay]:
    """The promises at risk now, in the queue's order.

    The same model that made a promise predicts every waiting case's first response with its spread
    (:meth:`inboxd.core.eta.PaceModel.predict_queue`); a promise whose break is now likely enough
    (:meth:`inboxd.core.eta.PaceModel.break_probability`, the work before the case against the capacity
    staffed until its due time, at least :func:`inboxd.core.eta.risk_level`: from
    ``updates.delay_notice_before`` ahead of its due time, 95 % falling to 60 % at the due time, and 20 % at
    the tick's last look) gets, once, a delay notice with a revised estimate
    (:meth:`inboxd.core.eta.PaceModel.revise`) whose basis states that likelihood. At night in the customer's own
    UTC offset the notice waits for their morning, when that morning still comes before the due time.
    """
    if not ctx.promises or ctx.forecast is None:
        return []
    model, queue = ctx.forecast.model, ctx.forecast.queue
    by_case: dict[int, list[OpenTeamPromise]] = {}
    for promise in ctx.promises:
        by_case.setdefault(promise.case_number, []).append(promise)
    actions: list[DelayNotice | DeferDelay] = []
    for case, prediction in model.predict_queue(now, queue):
        for promise in by_case.get(case.number if case.number is not None else -1, ()):
            level = eta.risk_level(promise.due_at, now, settings.delay_notice_before, settings.calendar)
            if level is None:
                continue
            probability = model.break_probability(now, case.priority, prediction, promise.due_at)
            if probability < level:
                continue
            morning = reasonable_hour(now, promise.customer_utc_offset, settings.quiet)
            if now < morning < promise.due_at:
                actions.append(DeferDelay(promise, morning, prediction, probability))
                continue
            revised = model.revise(now, case, promise.due_at, queue)
            why = (f"the promise due {promise.due_at.astimezone(settings.calendar.tz):%a %d %b %H:%M} was "
                   f"{probability:.0%} likely to break (a notice needs {level:.0%} at this lead); ")
            actions.append(DelayNotice(promise, replace(revised, basis=why + revised.basis), prediction,
                                       probability))
    return actions


# -- 3. promises past due ------------------------------------------------------------------------


@dataclass(frozen=True)
class OverduePromise:
    """An open team promise whose due time has passed (staff commitments break through their escalation)."""

    id: int
    case_ref: int  # the case's row id
    owner: str
    due_at: datetime


def decide_overdue(promises: Sequence[OverduePromise], now: datetime) -> list[SettlePromise]:
    """Every open team promise past its due time is broken."""
    return [SettlePromise(promise.id, "broken") for promise in promises if promise.due_at < now]


TickAction = DueAction | DelayNotice | DeferDelay
"""Any action a tick decides."""

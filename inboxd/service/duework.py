"""The tick's shell: gathers what :mod:`inboxd.core.tick` decides on, and applies its actions.

Read → decide → write, for each step of a tick (see :mod:`inboxd.core.tick`):

- **Due work.** :func:`run_due_work` claims the scheduled items that are due, then handles them all in one
  transaction: :class:`DueReads` reads their cases, timelines and promises in a few statements,
  :func:`gather_due` makes each a :class:`inboxd.core.tick.DueCase`, :func:`inboxd.core.tick.decide_due_work`
  decides, :func:`apply_due` maps each action to one store call, and the items are marked done together — so an
  item is handled exactly once, even when the daemon dies in between (the claim is a lease). When one item fails,
  that transaction is rolled back and the items are handled again one by one, each in its own transaction, so
  that one bad item does not hold back the others.
- **Delay notices.** :func:`run_delay_notices`: :func:`gather_risk` fits the forecast and reads the open
  team promises, :func:`inboxd.core.tick.decide_delay_notices` picks those at risk, :func:`apply_delay_notice`
  supersedes each and tells the customer and the lead.
- **Promises past due.** :func:`break_overdue_promises`.

:func:`run_tick` runs the three, as the daemon does every 30 seconds.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import Connection

from inboxd.config import MailboxConfig
from inboxd.core import eta, tick
from inboxd.core import followups as f
from inboxd.core.clock import Clock
from inboxd.core.eta import fallback_estimate
from inboxd.core.followups import DueKind, PromiseView
from inboxd.core.humanize import phrase_due
from inboxd.core.staff_text import digest_counts, due_detail, waiting_detail
from inboxd.errors import StoreUnavailable, TransientError
from inboxd.mail.threading import format_token, stop_address
from inboxd.service.forecast import TickForecast, fit_model
from inboxd.service.mailer import queue_template_mail, staff_recipients
from inboxd.service.runtime import Runtime
from inboxd.store import repo

log = structlog.get_logger("inboxd.service.duework")
WORKER = f"{socket.gethostname()}:{os.getpid()}"


def tick_settings(rt: Runtime) -> tick.TickSettings:
    """What the configuration says about the tick."""
    return tick.TickSettings(calendar=rt.calendar, escalate_to=f.escalation_recipients(rt.config),
                             delay_notice_before=rt.config.updates.delay_notice_before,
                             quiet=f.update_policy(rt.config))


def run_tick(store: repo.Store, runtime: Callable[[], Runtime], clock: Clock, worker: str = WORKER,
             lease: timedelta = repo.SCHEDULE_LEASE, forecast: TickForecast | None = None) -> bool:
    """One tick, its three steps in order (:mod:`inboxd.core.tick`); True when mail was queued.

    A step that fails leaves its work for the next tick and does not keep the others from running. ``worker``
    and ``lease``: the claims on due items (with several daemons, the node's name and a short lease).
    ``forecast``: the daemon's fitted model for delay notices, kept from tick to tick while its inputs stay the same.
    """
    queued = _guarded("due_work.deferred", "due_work.failed",
                      lambda: run_due_work(store, runtime, clock, worker=worker, lease=lease))
    queued += _guarded("delay_notices.deferred", "delay_notices.failed",
                       lambda: run_delay_notices(store, runtime(), clock.now(), forecast))
    _guarded("tick.deferred", "tick.failed", lambda: break_overdue_promises(store, clock.now()))
    return queued > 0


def _guarded(deferred: str, failed: str, step: Callable[[], int]) -> int:
    try:
        return step()
    except TransientError as exc:  # the database is down or full: nothing was lost, it is tried again
        log.warning(deferred, error=str(exc))
    except Exception:  # noqa: BLE001 - one step failing must not keep the others from running
        log.exception(failed)
    return 0


def run_due_work(store: repo.Store, runtime: Callable[[], Runtime], clock: Clock, limit: int = 100,
                 worker: str = WORKER, lease: timedelta = repo.SCHEDULE_LEASE) -> int:
    """Handle every item that is due now; return how many were handled. Wakes the outbox via the result.

    Each item is handled only while ``worker``'s claim on it stands (``repo.claims_held``, which locks the rows
    for the items' transaction): a daemon whose claim lapsed and was taken over leaves the item to the other.
    """
    now = clock.now()
    with store.begin() as conn:
        ensure_digest(conn, runtime(), now)
        items = repo.claim_due(conn, now, worker, limit, lease)
    if not items:
        return 0
    try:
        with store.begin() as conn:
            return handle_batch(conn, runtime(), items, worker, clock.now())
    except StoreUnavailable as exc:
        # Nothing was written; the items keep their lease and are tried again after it.
        log.warning("due_work.deferred", items=len(items), error=str(exc))
        return 0
    except Exception:  # noqa: BLE001 - which item failed is found by handling them one by one
        log.info("due_work.one_by_one", items=len(items))
    handled = 0
    for claimed in items:
        rt = runtime()
        try:
            with store.begin() as conn:
                handled += handle_batch(conn, rt, [claimed], worker, clock.now())
        except StoreUnavailable as exc:
            log.warning("due_work.deferred", key=claimed.key, error=str(exc))
            break
        except Exception:  # noqa: BLE001 - one bad item must not stop the others; its lease expires and it retries
            log.exception("due_item.failed", key=claimed.key)
    return handled


def handle_batch(conn: Connection, rt: Runtime, items: list[repo.ClaimedItem], worker: str, now: datetime) -> int:
    """Handle claimed items in the caller's transaction (those ``worker`` still holds), mark them done in one
    statement, and write their events in one; how many were handled."""
    held = repo.claims_held(conn, [claimed.id for claimed in items], worker)
    for claimed in items:
        if claimed.id not in held:
            log.warning("due_item.claim_lost", key=claimed.key, worker=worker)
    mine = [claimed for claimed in items if claimed.id in held]
    if not mine:
        return 0
    reads = DueReads(conn, mine)
    settings = tick_settings(rt)
    pending = mine
    while pending:
        # A round: the next item of each case. Its items are decided first, then applied in order with their
        # mail, schedule and events written together; an item on a case a round already had waits for the
        # next round, and reads what that one wrote.
        round_: list[repo.ClaimedItem] = []
        later: list[repo.ClaimedItem] = []
        seen: set[int] = set()
        for index, claimed in enumerate(pending):
            if claimed.case_ref is None:
                # An item of no case (the digest) reads across cases: it comes after everything due before it
                # and before everything due after it, so it closes the round.
                if later:
                    later.extend(pending[index:])
                else:
                    round_.append(claimed)
                    later.extend(pending[index + 1:])
                break
            if claimed.case_ref in seen:
                later.append(claimed)
            else:
                round_.append(claimed)
                seen.add(claimed.case_ref)
        decided = []
        for claimed in round_:
            work = gather_due(conn, rt, claimed, reads)
            decided.append((claimed, work, tick.decide_due_work(work.due, settings, now) if work else []))
        actions = [action for _, _, item_actions in decided for action in item_actions]
        outbox_keys = [a.key for a in actions if isinstance(a, (f.CustomerMail, f.StaffMail))]
        schedule_keys = [a.key for a in actions if isinstance(a, f.Schedule)]
        with repo.buffered_writes(conn, outbox_keys=outbox_keys, schedule_keys=schedule_keys):
            for claimed, work, item_actions in decided:
                apply_decided(conn, rt, claimed, work, item_actions, now, reads)
        pending = later
    return repo.finish_scheduled(conn, [claimed.id for claimed in mine], now)


class DueReads:
    """What the decisions on a batch of due items read, read for all of them at once: their cases (with their
    timelines and bounces), the promises the reminders name, the cases' open team promises and thread ids.

    A case an item changes (any action but a skip) is read afresh, one statement at a time, for any later item
    on it: each item sees what the items before it wrote, as when each had its own transaction.
    """

    def __init__(self, conn: Connection, items: list[repo.ClaimedItem]) -> None:
        self.conn = conn
        refs = [c.case_ref for c in items if c.case_ref is not None]
        self.cases = repo.tick_cases(conn, refs)
        self.promises = repo.promise_views(conn, [int(c.payload["promise"]) for c in items
                                                  if "promise" in c.payload and c.kind not in _CUSTOMER_KINDS])
        customer_cases = [c.case_ref for c in items if c.case_ref is not None and c.kind in _CUSTOMER_KINDS]
        self.team_promises = repo.open_team_promises_of(conn, customer_cases)
        self.threads = repo.threads_of(conn, customer_cases)
        self.prefetched = set(refs)
        self.customer_prefetched = set(customer_cases)  # their team promises and thread ids too
        self.changed: set[int] = set()  # cases an action wrote to: read afresh
        self.settled: set[int] = set()  # promises an action settled: read afresh
        self._written: set[int] = set()

    def changed_before(self, ref: int, action: object) -> bool:
        """Called before each action of an item on case ``ref``: whether an earlier action wrote to the case (a
        skip writes only an event). The first writing action still reads what was read for the batch, as it
        would have read it in a transaction of its own."""
        earlier = ref in self._written
        if not isinstance(action, f.Skip):
            self._written.add(ref)
        return earlier

    def item_done(self, ref: int) -> None:
        """After an item on case ``ref``: what it wrote is read afresh by any later item."""
        self.changed |= self._written & {ref}

    def case(self, ref: int) -> repo.TickCase | None:
        if ref in self.prefetched and ref not in self.changed:
            return self.cases.get(ref)
        return repo.tick_case(self.conn, ref)

    def promise(self, promise_id: int) -> PromiseView | None:
        if promise_id in self.promises and promise_id not in self.settled:
            return self.promises[promise_id]
        return repo.promise_view(self.conn, promise_id)

    def open_team_promise(self, ref: int) -> PromiseView | None:
        if ref in self.customer_prefetched and ref not in self.changed:
            return self.team_promises.get(ref)
        return repo.open_team_promise(self.conn, ref)

    def thread_ids(self, ref: int) -> tuple[str | None, str | None, str | None]:
        if ref in self.customer_prefetched and ref not in self.changed:
            return self.threads.get(ref, (None, None, None))
        return repo.thread_ids(self.conn, ref)


_CUSTOMER_KINDS = frozenset(str(kind) for kind in DueKind.customer_kinds())


@dataclass(frozen=True)
class DueWork:
    """A claimed item as gathered: what the decision reads (``due``) and what applying it needs besides."""

    due: tick.DueCase
    case: repo.TickCase | None  # its case as the store has it (mailbox, customer name …)
    claimed: repo.ClaimedItem


def apply_decided(conn: Connection, rt: Runtime, claimed: repo.ClaimedItem, work: DueWork | None,
                  actions: list[tick.DueAction], now: datetime, reads: DueReads) -> None:
    """Apply what was decided on one item; an item of a kind this version does not know is set aside."""
    if work is None:
        repo.add_event(conn, f"{claimed.kind}.skipped", now, case_id=claimed.case_ref,
                       data={"reason": f"unknown kind {claimed.kind!r}"})
        return
    apply_due(conn, rt, work, actions, now, reads)
    log.info("due_item.done", kind=str(work.due.item.kind), key=claimed.key,
             case=work.case.state.number if work.case else None, actions=len(actions))


def gather_due(conn: Connection, rt: Runtime, claimed: repo.ClaimedItem,
               reads: DueReads | None = None) -> DueWork | None:
    """Everything the decision on one due item reads; None for a kind this version does not know."""
    try:
        kind = DueKind(claimed.kind)
    except ValueError:
        return None
    reads = reads or DueReads(conn, [claimed])
    found = reads.case(claimed.case_ref) if claimed.case_ref is not None else None
    item = f.DueItem(id=claimed.id, key=claimed.key, kind=kind, case_number=found.state.number if found else None,
                     due_at=claimed.due_at, payload=claimed.payload)
    if found is None:
        return DueWork(tick.DueCase(item), None, claimed)
    case = found.state
    token = format_token(rt.config.cases.subject_token, case.number)
    if kind in DueKind.customer_kinds():
        timeline = f.CaseTimeline(
            last_customer_at=found.last_customer_at, last_staff_reply_at=found.last_staff_reply_at,
            last_heard_at=found.last_heard_at, customer_utc_offset=found.customer_utc_offset,
            opted_out=found.opted_out, snoozed_until=found.snoozed_until, unreachable=found.bounced)
        policy = f.update_policy(rt.config, case.priority, found.update_overrides)
        return DueWork(tick.DueCase(item, case, token, timeline=timeline, policy=policy), found, claimed)
    promise = reads.promise(int(item.payload["promise"])) if "promise" in item.payload else None
    return DueWork(tick.DueCase(item, case, token, promise=promise), found, claimed)


def apply_due(conn: Connection, rt: Runtime, work: DueWork, actions: list[tick.DueAction], now: datetime,
              reads: DueReads | None = None) -> None:
    """Each action of a due item, one store call (or one queued mail) each."""
    found = work.case
    kind, case_ref = work.due.item.kind, found.ref if found is not None else None
    mailbox = _mailbox(rt, found.mailbox if found else None)
    for action in actions:
        if reads is not None and case_ref is not None and reads.changed_before(case_ref, action):
            reads.changed.add(case_ref)
        if isinstance(action, f.Skip):
            repo.add_event(conn, f"{kind}.skipped", now, case_id=case_ref, data={"reason": action.reason})
        elif isinstance(action, f.Schedule):
            repo.schedule(conn, key=action.key, kind=action.kind, case_id=case_ref, due_at=action.due_at,
                          payload=action.payload, now=now)
        elif isinstance(action, f.SettlePromise):
            if reads is not None:
                reads.settled.add(action.promise_id)
            if repo.settle_promise(conn, action.promise_id, action.state, now):
                repo.add_event(conn, f"promise.{action.state}", now, case_id=case_ref,
                               data={"promise": action.promise_id, "by": str(kind)})
        elif isinstance(action, f.SetCaseStatus):
            assert found is not None
            repo.update_case(conn, found.state.number, status=action.status,
                             resolved_at=now if action.status == "resolved" else None)
            repo.add_event(conn, "case.status", now, case_id=case_ref, data={"status": action.status, "by": str(kind)})
        elif isinstance(action, f.CustomerMail):
            assert found is not None
            _queue_customer_mail(conn, rt, mailbox, found, action, now, reads)
        elif isinstance(action, f.StaffMail):
            language = rt.config.team.language_for(action.to)
            context = staff_due_context(action.context, now, rt.calendar.tz, language)
            queued = queue_template_mail(conn, rt, mailbox, key=action.key, kind=action.template, to=action.to,
                                         template=action.template, language=language, context=context, now=now,
                                         case_id=case_ref, in_reply_to=action.in_reply_to,
                                         from_name=f"inboxd ({rt.config.team.name})")
            if queued:
                repo.add_event(conn, f"{action.template}.queued", now, case_id=case_ref, data={"to": list(action.to)})
        elif isinstance(action, tick.SendDigests):
            count = _send_digests(conn, rt, action.key, now)
            repo.add_event(conn, "digest.sent", now, data={"digests": count})
    if reads is not None and case_ref is not None:
        reads.item_done(case_ref)


def _mailbox(rt: Runtime, name: str | None) -> MailboxConfig:
    """The case's mailbox, or the first one when the case has none or its mailbox left the configuration."""
    try:
        return rt.mailbox(name) if name else rt.config.mailboxes[0]
    except LookupError:
        return rt.config.mailboxes[0]


def ensure_digest(conn: Connection, rt: Runtime, now: datetime) -> None:
    """Keep the next daily digest scheduled (one row per day, whatever the number of daemons)."""
    at = f.next_digest_at(now, rt.config.reminders.digest_time, rt.calendar.is_business_day, rt.calendar.tz)
    repo.schedule(conn, key=f"digest:{at.date().isoformat()}", kind="digest", case_id=None, due_at=at,
                  payload={}, now=now)


def _send_digests(conn: Connection, rt: Runtime, item_key: str, now: datetime) -> int:
    cal = rt.calendar
    today = now.astimezone(cal.tz).date()
    end_of_today = datetime.combine(today, time.max, tzinfo=cal.tz)
    next_business_close = cal.close_of_business(cal.nth_business_day(today, 1))
    token_format = rt.config.cases.subject_token
    sent = 0
    for member in rt.config.team.staff:
        if today in member.absent_dates:
            continue
        lead = member.role == "lead"
        language = rt.config.team.language_for([member.email])
        commitments = [f.DigestLine(format_token(token_format, r.number), r.subject, r.customer,
                                    due_detail(r.at, now, cal.tz, language), r.text)
                       for r in repo.digest_commitments(conn, member.email, end_of_today)]
        waiting = [f.DigestLine(format_token(token_format, r.number), r.subject, r.customer,
                                waiting_detail(cal.business_time_between(r.at, now), language))
                   for r in repo.digest_waiting(conn, member.email, include_unassigned=lead)]
        at_risk = [f.DigestLine(format_token(token_format, r.number), r.subject, r.customer,
                                due_detail(r.at, now, cal.tz, language))
                   for r in repo.digest_team_promises(conn, next_business_close)] if lead else []
        digest = f.build_digest(member.email, commitments=commitments, waiting=waiting, at_risk=at_risk)
        if digest is None:
            continue
        counts = digest_counts(len(digest.commitments), len(digest.waiting), len(digest.at_risk), language)
        queued = queue_template_mail(
            conn, rt, rt.config.mailboxes[0], key=f"{item_key}:{member.email}", kind="digest", to=[member.email],
            template="digest", language=language, now=now, case_id=None,
            from_name=f"inboxd ({rt.config.team.name})",
            context={"commitments": digest.commitments, "waiting": digest.waiting, "at_risk": digest.at_risk,
                     "counts": counts})
        sent += queued is not None
    return sent


def staff_due_context(context: Mapping[str, Any], now: datetime, tz: ZoneInfo, language: str) -> dict[str, Any]:
    """A reminder's or escalation's context with its due time in words: ``due_phrase`` in the staff member's
    language ("bis Montag, 30. November, 13:00 Uhr (CET)"), and ``due_local``, the English phrase without
    its "by" that templates written before staff languages use."""
    return {**context, "due_local": phrase_due(context["due"], now, tz).removeprefix("by "),
            "due_phrase": phrase_due(context["due"], now, tz, language)}


def customer_context(rt: Runtime, number: int, subject: str, customer_name: str | None, customer: str,
                     extra: dict[str, Any]) -> dict[str, Any]:
    """What every mail to a case's customer passes its template, before what its kind adds."""
    return {"case": number, "token": format_token(rt.config.cases.subject_token, number), "subject": subject,
            "customer_name": customer_name or "", "customer": customer, **extra}


def _queue_customer_mail(conn: Connection, rt: Runtime, mailbox: MailboxConfig, found: repo.TickCase,
                         action: f.CustomerMail, now: datetime, reads: DueReads | None = None) -> None:
    case = found.state
    number, language, case_ref = case.number, case.language, found.ref
    tz = rt.calendar.tz
    context = customer_context(rt, number, case.subject, found.customer_name, case.customer, action.context)
    if action.template == "update" and "promise" not in context:
        promise = reads.open_team_promise(case_ref) if reads else repo.open_team_promise(conn, case_ref)
        reason = ""
        if promise is not None and promise.due_at > now:
            due = promise.due_at
        else:
            fallback = {str(k): v for k, v in rt.config.promises.fallback.items()}
            estimate = fallback_estimate(now, case.priority, fallback, rt.calendar)
            due, reason = estimate.due, estimate.reason_text(language)
        context["promise"] = {"due": due, "phrase": phrase_due(due, now, tz, language), "reason": reason}
    if action.template == "waiting":
        until = datetime.fromisoformat(str(context["until"]))
        context["when_phrase"] = phrase_due(until, now, tz, language)
    if action.template == "nudge":
        policy = f.update_policy(rt.config, case.priority, found.update_overrides)
        since = found.last_staff_reply_at or now
        resolve_at = rt.calendar.add(since, policy.resolve_after) if policy.resolve_after else None
        context["resolve_phrase"] = phrase_due(resolve_at, now, tz, language) if resolve_at else ""
    first, last, ack = reads.thread_ids(case_ref) if reads else repo.thread_ids(conn, case_ref)
    stop = stop_address(mailbox.address, number)
    queued = queue_template_mail(
        conn, rt, mailbox, key=action.key, kind=action.template, to=[case.customer], template=action.template,
        language=language, context=context, now=now, case_id=case_ref, in_reply_to=last or ack,
        references=[r for r in (first, ack) if r], auto_submitted="auto-generated",
        extra_headers=(("List-Unsubscribe", f"<mailto:{stop}?subject=stop>"),),
        template_set=found.template_set)
    if queued:
        repo.mark_heard(conn, number, now)
        repo.add_event(conn, f"{action.template}.queued", now, case_id=case_ref, data={"to": case.customer})


@dataclass(frozen=True)
class PromiseAtRisk:
    """An open team promise the model now expects to break, and when its delay notice goes out."""

    promise: tick.OpenTeamPromise
    prediction: eta.Prediction
    miss_probability: float
    notice_at: datetime  # now, or the customer's morning when it is night where they are (still before the due)


def gather_risk(conn: Connection, rt: Runtime, now: datetime, forecast: TickForecast | None = None
                ) -> tick.RiskContext:
    """The open team promises of cases waiting for their first response, and the forecast to judge them by (from
    ``forecast`` when given: fitted again only when its inputs changed)."""
    promises = tuple(repo.open_team_promises_waiting(conn))
    if not promises:
        return tick.RiskContext((), None)
    model, queue = forecast.fit(conn, rt, now) if forecast is not None else fit_model(conn, rt, now)
    return tick.RiskContext(promises, tick.Forecast(model, queue))


def promises_at_risk(conn: Connection, rt: Runtime, now: datetime) -> tuple[list[PromiseAtRisk], eta.PaceModel | None,
                                                                             eta.QueueSnapshot | None]:
    """The open team promises at risk now, the model and its queue: what the status page shows."""
    ctx = gather_risk(conn, rt, now)
    found = [PromiseAtRisk(action.promise, action.prediction, action.miss_probability,
                           action.notice_at if isinstance(action, tick.DeferDelay) else now)
             for action in tick.decide_delay_notices(ctx, tick_settings(rt), now)]
    forecast = ctx.forecast
    return found, forecast.model if forecast else None, forecast.queue if forecast else None


def run_delay_notices(store: repo.Store, rt: Runtime, now: datetime, forecast: TickForecast | None = None) -> int:
    """Tell customers *before* a promise breaks: a new honest time, the old promise superseded, the lead told
    (:func:`inboxd.core.tick.decide_delay_notices`)."""
    with store.begin() as conn:
        ctx = gather_risk(conn, rt, now, forecast)
    sent = 0
    for action in tick.decide_delay_notices(ctx, tick_settings(rt), now):
        if isinstance(action, tick.DelayNotice):
            with store.begin() as conn:
                sent += apply_delay_notice(conn, rt, action, now)
    return sent


def apply_delay_notice(conn: Connection, rt: Runtime, notice: tick.DelayNotice, now: datetime) -> int:
    """Supersede the promise, record the revised one, tell the customer and the lead; 0 when another daemon
    got there first."""
    promise, revised = notice.promise, notice.revised
    if not repo.settle_promise(conn, promise.id, "superseded", now):
        return 0
    found = repo.tick_case(conn, promise.case_ref)
    if found is None:
        return 0
    case = found.state
    language = case.language
    tz = rt.calendar.tz
    phrase = phrase_due(revised.due, now, tz, language)
    repo.add_promise(conn, case_id=promise.case_ref, owner="team", source="delay_notice", text=phrase,
                     made_at=now, due_at=revised.due, predicted_bh=revised.predicted_bh, spread_bh=revised.spread_bh)
    repo.add_event(conn, "promise.at_risk", now, case_id=promise.case_ref,
                   data={"old_due": promise.due_at.isoformat(), "new_due": revised.due.isoformat(),
                         "basis": revised.basis})
    mailbox = _mailbox(rt, found.mailbox)
    token = format_token(rt.config.cases.subject_token, case.number)
    if not found.bounced:
        _queue_customer_mail(conn, rt, mailbox, found, f.CustomerMail(
            "delay", f"delay:{promise.id}", {
                "old_phrase": phrase_due(promise.due_at, promise.made_at, tz, language),
                "promise": {"due": revised.due, "phrase": phrase, "reason": revised.reason_text(language)}}), now)
    recipients = staff_recipients(rt)
    if recipients:
        queue_template_mail(
            conn, rt, mailbox, key=f"alert:delay:{promise.id}", kind="alert", to=recipients, template="alert",
            language=rt.config.team.language_for(recipients), now=now, case_id=promise.case_ref,
            from_name=f"inboxd ({rt.config.team.name})",
            context={"subject": f"Promise at risk on {token}: customer told the new time",
                     "headline": f"Case {token} will not get its first response by the time we promised.",
                     "lines": [f"Promised: {promise.due_at.astimezone(tz):%a %d %b %H:%M %Z}",
                               f"New time told to the customer: {revised.due.astimezone(tz):%a %d %b %H:%M %Z}",
                               f"Why: {revised.basis}"],
                     "token": token})
    log.warning("promise.delay_notice", case=case.number, old_due=promise.due_at.isoformat(),
                new_due=revised.due.isoformat())
    return 1


def break_overdue_promises(store: repo.Store, now: datetime) -> int:
    """The team's open promises whose due time passed are broken (:func:`inboxd.core.tick.decide_overdue`)."""
    with store.begin() as conn:
        overdue = repo.overdue_team_promises(conn, now)
        by_id = {promise.id: promise for promise in overdue}
        broken = [by_id[action.promise_id] for action in tick.decide_overdue(overdue, now)
                  if repo.settle_promise(conn, action.promise_id, action.state, now)]
        for promise in broken:
            repo.add_event(conn, "promise.broken", now, case_id=promise.case_ref,
                           data={"owner": promise.owner, "due": promise.due_at.isoformat()})
    for promise in broken:
        log.warning("promise.broken", case_ref=promise.case_ref, owner=promise.owner)
    return len(broken)

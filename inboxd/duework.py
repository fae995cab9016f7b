"""Applies due work: claims scheduled items, asks ``followups.decide_due``, applies the answer.

One item, one transaction: the mail it causes is queued and the item marked done together, so
an item is handled exactly once even when the daemon dies in between (the claim is a lease).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import Connection

from inboxd import eta
from inboxd import followups as f
from inboxd.clock import Clock
from inboxd.errors import StoreUnavailable
from inboxd.eta import fallback_estimate
from inboxd.forecast import fit_model
from inboxd.humanize import phrase_due
from inboxd.mail.threading import format_token, stop_address
from inboxd.mailer import queue_template_mail, staff_recipients
from inboxd.runtime import Runtime
from inboxd.staff_text import digest_counts, due_detail, waiting_detail
from inboxd.store import repo

log = structlog.get_logger("inboxd.duework")
WORKER = f"{socket.gethostname()}:{os.getpid()}"


def _promise_view(row: dict[str, Any] | None) -> f.PromiseView | None:
    if row is None:
        return None
    return f.PromiseView(id=row["id"], owner=row["owner"], source=row["source"], text=row["text"],
                         made_at=row["made_at"], due_at=row["due_at"], state=row["state"],
                         source_message_id=row["source_message_id"])


def run_due_work(store: repo.Store, runtime: Callable[[], Runtime], clock: Clock, limit: int = 100) -> int:
    """Handle every item that is due now; return how many were handled. Wakes the outbox via the result."""
    now = clock.now()
    with store.begin() as conn:
        ensure_digest(conn, runtime(), now)
        items = repo.claim_due(conn, now, WORKER, limit)
    handled = 0
    for row in items:
        rt = runtime()
        try:
            with store.begin() as conn:
                if _handle(conn, rt, row, clock.now()):
                    handled += 1
        except StoreUnavailable as exc:
            # Nothing of this item was written; it and the rest keep their lease and are tried again after it.
            log.warning("due_work.deferred", key=row["key"], error=str(exc))
            break
        except Exception:  # noqa: BLE001 - one bad item must not stop the others; its lease expires and it retries
            log.exception("due_item.failed", key=row["key"])
    return handled


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
        commitments = [f.DigestLine(format_token(token_format, r["number"]), r["subject"], r["customer"],
                                    due_detail(r["due_at"], now, cal.tz, language), r["text"])
                       for r in repo.digest_commitments(conn, member.email, end_of_today)]
        waiting = [f.DigestLine(format_token(token_format, r["number"]), r["subject"], r["customer"],
                                waiting_detail(cal.business_time_between(r["last_activity_at"], now), language))
                   for r in repo.digest_waiting(conn, member.email, include_unassigned=lead)]
        at_risk = [f.DigestLine(format_token(token_format, r["number"]), r["subject"], r["customer"],
                                due_detail(r["due_at"], now, cal.tz, language))
                   for r in repo.digest_team_promises(conn, next_business_close)] if lead else []
        digest = f.build_digest(member.email, commitments=commitments, waiting=waiting, at_risk=at_risk)
        if digest is None:
            continue
        counts = digest_counts(len(digest.commitments), len(digest.waiting), len(digest.at_risk), language)
        queued = queue_template_mail(
            conn, rt, rt.config.mailboxes[0], key=f"{item_key}:{member.email}", kind="digest", to=[member.email],
            template="digest", language=language, now=now, case_id=None, from_name=f"inboxd ({rt.config.team.name})",
            context={"commitments": digest.commitments, "waiting": digest.waiting, "at_risk": digest.at_risk,
                     "counts": counts})
        sent += queued is not None
    return sent


def _handle_customer_item(conn: Connection, rt: Runtime, item: f.DueItem, case_id: int | None,
                          now: datetime) -> bool:
    """Updates while a case waits on us; nudges and auto-resolve while it waits on the customer."""
    row = repo.case_row(conn, case_id) if case_id is not None else None
    case = repo.case_state(conn, row["number"]) if row else None
    if row is None or case is None or case_id is None:
        repo.add_event(conn, f"{item.kind}.skipped", now, data={"reason": "no such case"})
        return repo.finish_scheduled(conn, item.id, now)
    timeline = f.CaseTimeline(
        last_customer_at=row["last_customer_at"], last_staff_reply_at=row["last_staff_reply_at"],
        last_heard_at=row["last_heard_at"], customer_utc_offset=row["customer_utc_offset"],
        opted_out=bool(row["updates_opted_out"]), snoozed_until=row["snoozed_until"],
        unreachable=repo.is_bounced(conn, row["customer"]))
    policy = f.update_policy(rt.config, str(row["priority"]), row["update_overrides"])
    cadence = policy.while_waiting_on_us
    actions = f.decide_update(item, case, timeline, policy, now=now,
                              next_due=lambda at: rt.calendar.add(at, cadence) if cadence else at)
    try:
        mailbox = rt.mailbox(row["mailbox"])
    except LookupError:
        mailbox = rt.config.mailboxes[0]
    for action in actions:
        if isinstance(action, f.Skip):
            repo.add_event(conn, f"{item.kind}.skipped", now, case_id=case_id, data={"reason": action.reason})
        elif isinstance(action, f.Schedule):
            repo.schedule(conn, key=action.key, kind=action.kind, case_id=case_id, due_at=action.due_at,
                          payload=action.payload, now=now)
        elif isinstance(action, f.SetCaseStatus):
            repo.update_case(conn, case.number, status=action.status,
                             resolved_at=now if action.status == "resolved" else None)
            repo.add_event(conn, "case.status", now, case_id=case_id, data={"status": action.status, "by": item.kind})
        elif isinstance(action, f.CustomerMail):
            _queue_customer_mail(conn, rt, mailbox, row, case_id, action, now)
    return repo.finish_scheduled(conn, item.id, now)


def customer_context(rt: Runtime, number: int, subject: str, customer_name: str | None, customer: str,
                     extra: dict[str, Any]) -> dict[str, Any]:
    """What every mail to a case's customer passes its template, before what its kind adds."""
    return {"case": number, "token": format_token(rt.config.cases.subject_token, number), "subject": subject,
            "customer_name": customer_name or "", "customer": customer, **extra}


def _queue_customer_mail(conn: Connection, rt: Runtime, mailbox: Any, row: dict[str, Any], case_id: int,
                         action: f.CustomerMail, now: datetime) -> None:
    number = int(row["number"])
    language = str(row["language"])
    tz = rt.calendar.tz
    context = customer_context(rt, number, row["subject"], row["customer_name"], row["customer"], action.context)
    if action.template == "update" and "promise" not in context:
        promise = repo.open_team_promise(conn, case_id)
        reason = ""
        if promise is not None and promise["due_at"] > now:
            due = promise["due_at"]
        else:
            fallback = {str(k): v for k, v in rt.config.promises.fallback.items()}
            estimate = fallback_estimate(now, str(row["priority"]), fallback, rt.calendar)
            due, reason = estimate.due, estimate.reason_text(language)
        context["promise"] = {"due": due, "phrase": phrase_due(due, now, tz, language), "reason": reason}
    if action.template == "waiting":
        until = datetime.fromisoformat(str(context["until"]))
        context["when_phrase"] = phrase_due(until, now, tz, language)
    if action.template == "nudge":
        policy = f.update_policy(rt.config, str(row["priority"]), row["update_overrides"])
        since = row["last_staff_reply_at"] or now
        resolve_at = rt.calendar.add(since, policy.resolve_after) if policy.resolve_after else None
        context["resolve_phrase"] = phrase_due(resolve_at, now, tz, language) if resolve_at else ""
    first, last, ack = repo.thread_ids(conn, case_id)
    customer = str(row["customer"])
    stop = stop_address(mailbox.address, number)
    queued = queue_template_mail(
        conn, rt, mailbox, key=action.key, kind=action.template, to=[customer], template=action.template,
        language=language, context=context, now=now, case_id=case_id, in_reply_to=last or ack,
        references=[r for r in (first, ack) if r], auto_submitted="auto-generated",
        extra_headers=(("List-Unsubscribe", f"<mailto:{stop}?subject=stop>"),))
    if queued:
        repo.update_case(conn, number, last_heard_at=now)
        repo.add_event(conn, f"{action.template}.queued", now, case_id=case_id, data={"to": customer})


@dataclass(frozen=True)
class PromiseAtRisk:
    """An open team promise the model now expects to break, and when its delay notice goes out."""

    promise: dict[str, Any]  # open_team_promises_waiting's row
    case: eta.WaitingCase
    prediction: eta.Prediction
    miss_probability: float
    notice_at: datetime  # now, or the customer's morning when it is night where they are (still before the due)


def promises_at_risk(conn: Connection, rt: Runtime, now: datetime) -> tuple[list[PromiseAtRisk], eta.PaceModel | None,
                                                                             eta.QueueSnapshot | None]:
    """The open team promises at risk now (:func:`inboxd.eta.at_risk` over the fitted model), the model and its
    queue; what the tick's delay notices and the status page both read."""
    open_promises = repo.open_team_promises_waiting(conn)
    if not open_promises:
        return [], None, None
    model, queue = fit_model(conn, rt, now)
    predictions = {case.number: (case, prediction) for case, prediction in model.predict_queue(now, queue)}
    lead = rt.config.updates.delay_notice_before
    found: list[PromiseAtRisk] = []
    for promise in open_promises:
        match = predictions.get(promise["number"])
        if match is None:
            continue
        case, prediction = match
        if not eta.at_risk(promise["due_at"], now, prediction.at, lead, rt.calendar, spread_bh=prediction.spread_bh):
            continue
        morning = f.reasonable_hour(now, promise["customer_utc_offset"], f.update_policy(rt.config))
        notice_at = morning if now < morning < promise["due_at"] else now
        probability = eta.miss_probability(promise["due_at"], prediction.at, prediction.spread_bh, rt.calendar)
        found.append(PromiseAtRisk(promise, case, prediction, probability, notice_at))
    return found, model, queue


def run_delay_notices(store: repo.Store, rt: Runtime, now: datetime) -> int:
    """Tell customers *before* a promise breaks: a new honest time, the old promise superseded, the lead told.

    The same model that made the promise predicts every waiting case's first response with its spread; a
    promise that is now more likely than not to break — or, within ``updates.delay_notice_before`` of its
    due time, at least :data:`inboxd.eta.LATE_RISK_LEVEL` likely — gets, once, a delay notice with a revised
    estimate (``eta.PaceModel.revise``), tracked as a new promise (:func:`inboxd.eta.at_risk`).
    """
    sent = 0
    with store.begin() as conn:
        at_risk, model, queue = promises_at_risk(conn, rt, now)
    for risk in at_risk:
        if risk.notice_at > now:
            continue  # night where the customer is: tell them in the morning, still before the due time
        assert model is not None and queue is not None
        promise = risk.promise
        with store.begin() as conn:
            if not repo.settle_promise(conn, promise["id"], "superseded", now):
                continue  # another daemon got there first
            sent += _announce_delay(conn, rt, promise, model.revise(now, risk.case, promise["due_at"], queue), now)
    return sent


def _announce_delay(conn: Connection, rt: Runtime, promise: dict[str, Any], revised: eta.Estimate,
                    now: datetime) -> int:
    row = repo.case_row(conn, promise["case_id"])
    if row is None:
        return 0
    language = str(row["language"])
    tz = rt.calendar.tz
    phrase = phrase_due(revised.due, now, tz, language)
    repo.add_promise(conn, case_id=promise["case_id"], owner="team", source="delay_notice", text=phrase,
                     made_at=now, due_at=revised.due, predicted_bh=revised.predicted_bh, spread_bh=revised.spread_bh)
    repo.add_event(conn, "promise.at_risk", now, case_id=promise["case_id"],
                   data={"old_due": promise["due_at"].isoformat(), "new_due": revised.due.isoformat(),
                         "basis": revised.basis})
    try:
        mailbox = rt.mailbox(row["mailbox"])
    except LookupError:
        mailbox = rt.config.mailboxes[0]
    number = int(row["number"])
    token = format_token(rt.config.cases.subject_token, number)
    if not repo.is_bounced(conn, row["customer"]):
        _queue_customer_mail(conn, rt, mailbox, row, promise["case_id"], f.CustomerMail(
            "delay", f"delay:{promise['id']}", {
                "old_phrase": phrase_due(promise["due_at"], promise["made_at"], tz, language),
                "promise": {"due": revised.due, "phrase": phrase, "reason": revised.reason_text(language)}}), now)
    recipients = staff_recipients(rt)
    if recipients:
        queue_template_mail(
            conn, rt, mailbox, key=f"alert:delay:{promise['id']}", kind="alert", to=recipients, template="alert",
            language=rt.config.team.language_for(recipients), now=now, case_id=promise["case_id"],
            from_name=f"inboxd ({rt.config.team.name})",
            context={"subject": f"Promise at risk on {token}: customer told the new time",
                     "headline": f"Case {token} will not get its first response by the time we promised.",
                     "lines": [f"Promised: {promise['due_at'].astimezone(tz):%a %d %b %H:%M %Z}",
                               f"New time told to the customer: {revised.due.astimezone(tz):%a %d %b %H:%M %Z}",
                               f"Why: {revised.basis}"],
                     "token": token})
    log.warning("promise.delay_notice", case=number, old_due=promise["due_at"].isoformat(),
                new_due=revised.due.isoformat())
    return 1


def staff_due_context(context: Mapping[str, Any], now: datetime, tz: ZoneInfo, language: str) -> dict[str, Any]:
    """A reminder's or escalation's context with its due time in words: ``due_phrase`` in the staff member's
    language ("bis Montag, 30. November, 13:00 Uhr (CET)"), and ``due_local``, the English phrase without
    its "by" that templates written before staff languages use."""
    return {**context, "due_local": phrase_due(context["due"], now, tz).removeprefix("by "),
            "due_phrase": phrase_due(context["due"], now, tz, language)}


def _handle(conn: Connection, rt: Runtime, row: dict[str, Any], now: datetime) -> bool:
    item = f.DueItem(id=row["id"], key=row["key"] or str(row["id"]), kind=row["kind"],
                     case_number=None, due_at=row["due_at"], payload=row["payload"] or {})
    if item.kind in ("update", "nudge", "auto_resolve", "resolved_notice", "waiting_notice"):
        return _handle_customer_item(conn, rt, item, row["case_id"], now)
    if item.kind == "digest":
        count = _send_digests(conn, rt, item.key, now)
        repo.add_event(conn, "digest.sent", now, data={"digests": count})
        return repo.finish_scheduled(conn, item.id, now)
    case_id = row["case_id"]
    number = repo.case_number_of(conn, case_id) if case_id is not None else None
    case = repo.case_state(conn, number) if number is not None else None
    promise = _promise_view(repo.promise_row(conn, int(item.payload["promise"]))) if "promise" in item.payload \
        else None
    token = format_token(rt.config.cases.subject_token, number) if number is not None else ""
    actions = f.decide_due(item, case, promise, escalate_to=staff_recipients(rt), token=token, now=now)
    mailbox_name = repo.case_mailbox(conn, case_id) if case_id is not None else None
    try:
        mailbox = rt.mailbox(mailbox_name) if mailbox_name else rt.config.mailboxes[0]
    except LookupError:
        mailbox = rt.config.mailboxes[0]
    for action in actions:
        if isinstance(action, f.SettlePromise):
            if repo.settle_promise(conn, action.promise_id, action.state, now):
                repo.add_event(conn, f"promise.{action.state}", now, case_id=case_id,
                               data={"promise": action.promise_id, "by": item.kind})
        elif isinstance(action, f.StaffMail):
            language = rt.config.team.language_for(action.to)
            context = staff_due_context(action.context, now, rt.calendar.tz, language)
            queued = queue_template_mail(conn, rt, mailbox, key=action.key, kind=action.template, to=action.to,
                                         template=action.template, language=language, context=context, now=now,
                                         case_id=case_id, in_reply_to=action.in_reply_to,
                                         from_name=f"inboxd ({rt.config.team.name})")
            if queued:
                repo.add_event(conn, f"{action.template}.queued", now, case_id=case_id, data={"to": list(action.to)})
        elif isinstance(action, f.Schedule):
            repo.schedule(conn, key=action.key, kind=action.kind, case_id=case_id, due_at=action.due_at,
                          payload=action.payload, now=now)
        elif isinstance(action, f.Skip):
            repo.add_event(conn, f"{item.kind}.skipped", now, case_id=case_id, data={"reason": action.reason})
    finished = repo.finish_scheduled(conn, item.id, now)
    log.info("due_item.done", kind=item.kind, key=item.key, case=number, actions=len(actions))
    return finished

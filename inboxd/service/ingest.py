"""One message in, one transaction: parse, classify, thread, decide, apply.

The folder watermark moves in the same transaction that records the message and everything
it caused (case, promise, queued acknowledgement). A crash before the commit leaves the message
to be fetched again; after it, the message is done. Nothing is lost, nothing happens twice.
"""

from __future__ import annotations

import hashlib
import random
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Connection

from inboxd.config import MailboxConfig
from inboxd.core import decide as d
from inboxd.core.clock import Clock
from inboxd.core.eta import Estimate, fallback_estimate
from inboxd.core.followups import (
    commitment_schedule,
    waiting_schedule,
)
from inboxd.core.humanize import phrase_due, phrase_in_offset
from inboxd.core.notes import NoteError
from inboxd.errors import TransientError, WriteConflict
from inboxd.mail.classify import FolderRole
from inboxd.mail.parse import ParsedMessage
from inboxd.mail.threading import (
    format_token,
    normalize_subject,
)
from inboxd.service.forecast import Forecaster
from inboxd.service.gather import gather_message
from inboxd.service.mailer import queue_template_mail, staff_recipients
from inboxd.service.runtime import Runtime
from inboxd.store import repo

log = structlog.get_logger("inboxd.service.ingest")
# How often a message's transaction is run again when a concurrent writer wins, before the caller
# is told to retry later.
CONFLICT_ATTEMPTS = 5


@dataclass(frozen=True)
class Outcome:
    status: str  # processed | duplicate | quarantined
    kind: str
    case: int | None = None
    acknowledged: bool = False
    queued: bool = False  # mail was queued (an acknowledgement, a staff alert)
    actions: tuple[d.Action, ...] = ()  # what was decided (the same as ``inboxd explain`` shows)


class Processor:
    """Applies the pure decisions to the store, one message per transaction."""

    def __init__(self, store: repo.Store, runtime: Callable[[], Runtime], clock: Clock,
                 on_enqueued: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self.runtime = runtime
        self.clock = clock
        self.on_enqueued = on_enqueued
        self.forecaster = Forecaster()
        # Several daemons: raises unless this daemon holds the mailbox's lease (inboxd.service.nodes.Coordinator.fence).
        self.fence: Callable[[Connection, str], None] = lambda conn, mailbox: None

    def process(self, mailbox: MailboxConfig, role: FolderRole, folder: str, uidvalidity: int | None,
                uid: int | None, raw: bytes, arrived_at: datetime | None = None,
                watch_started_at: datetime | None = None) -> Outcome:
        """Record one message and act on it.

        Raises only TransientError: the database failed (down, full, locked, read-only) or another writer
        kept winning. Nothing of the message is recorded then and the watermark stays, so the caller
        fetches it again later. Only a message whose own processing fails is quarantined.
        """
        rt = self.runtime()
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            now = self.clock.now()
            try:
                try:
                    with self.store.begin() as conn:
                        self.fence(conn, mailbox.name)
                        outcome = self._process(conn, rt, mailbox, role, folder, uidvalidity, uid, raw, now,
                                                arrived_at, watch_started_at)
                except BaseException:
                    self.forecaster.settle(committed=False)  # the case it estimated for was rolled back
                    raise
                self.forecaster.settle(committed=True)
            except WriteConflict as exc:
                # Another watcher or daemon committed the same row first: read again and decide again.
                log.info("message.conflict", mailbox=mailbox.name, folder=folder, uid=uid, attempt=attempt,
                         error=str(exc))
                if attempt == CONFLICT_ATTEMPTS:
                    raise TransientError(f"message {uid} in {folder}: {exc}") from exc
                time.sleep(random.uniform(0.01, 0.05) * attempt)
                continue
            except TransientError as exc:
                log.warning("message.deferred", mailbox=mailbox.name, folder=folder, uid=uid, error=str(exc))
                raise
            except Exception as exc:  # noqa: BLE001 - the message's own fault: quarantine it, never the mailbox
                fault = repo.store_fault(exc)
                if fault is not None:
                    # A database failure that did not come through the store's translation (a bug there).
                    raise TransientError(repo.describe_fault(exc)) from exc
                return self._quarantine(mailbox, folder, uidvalidity, uid, raw, exc, now)
            if outcome.queued:
                self.on_enqueued()
            return outcome
        raise AssertionError("unreachable")

    def _process(self, conn: Connection, rt: Runtime, mailbox: MailboxConfig, role: FolderRole, folder: str,
                 uidvalidity: int | None, uid: int | None, raw: bytes, now: datetime,
                 arrived_at: datetime | None = None, watch_started_at: datetime | None = None) -> Outcome:
        # Read, decide, write: every read first, then the pure decision, then one store call per action.
        ctx = gather_message(conn, rt, mailbox, role, raw, now, arrived_at, watch_started_at, folder)
        actions = d.decide_message(ctx)
        if ctx.duplicate:
            _advance(conn, mailbox, folder, uidvalidity, uid, now)
            log.debug("message.duplicate", mailbox=mailbox.name, folder=folder, uid=uid)
            return Outcome("duplicate", "duplicate", actions=tuple(actions))
        cfg, msg, own, classification = rt.config, ctx.msg, ctx.own_message, ctx.classification
        applier = _Applier(conn, rt, mailbox, msg, now, self.forecaster)
        case = ctx.case
        case_id = repo.case_id(conn, case.number) if case else None
        number = case.number if case else None
        # Open the case first: the message row points at it.
        for action in actions:
            if isinstance(action, d.OpenCase):
                case_id, number = repo.insert_case(
                    conn, mailbox=mailbox.name, customer=action.customer, customer_name=action.customer_name,
                    subject=action.subject, priority=action.priority, language=action.language, now=now,
                    subject_key=normalize_subject(action.subject, cfg.cases.subject_token),
                    linked_to=action.linked_to, update_overrides=action.update_overrides, tags=action.tags,
                    assignee=action.assignee, template_set=action.template_set)
        message_ref = repo.insert_message(
            conn, message_id=msg.message_id, content_hash=msg.content_hash, mailbox=mailbox.name, folder=folder,
            uidvalidity=uidvalidity, uid=uid, direction="out" if own or role == "sent" else "in",
            kind="own" if own else classification.kind, status="processed", case_id=case_id,
            from_addr=msg.from_addr, subject=msg.subject[:1000], sent_at=min(msg.date, now) if msg.date else now,
            received_at=now, size=msg.size, reason=classification.reason, summary=_summary(msg, ctx.rules.matched))
        applier.case_id, applier.number, applier.message_ref = case_id, number, message_ref
        # The message's events (nothing here reads them back) go in as one executemany at the end.
        with repo.buffered_writes(conn):
            for action in actions:
                applier.apply(action)
        _advance(conn, mailbox, folder, uidvalidity, uid, now)
        kind = "own" if own else classification.kind
        log.info("message.processed", mailbox=mailbox.name, folder=folder, uid=uid, kind=kind,
                 case=number, acknowledged=applier.acknowledged, rules=list(ctx.rules.matched) or None)
        return Outcome("processed", kind, number, applier.acknowledged, applier.queued or applier.acknowledged,
                       tuple(actions))

    def _quarantine(self, mailbox: MailboxConfig, folder: str, uidvalidity: int | None, uid: int | None,
                    raw: bytes, exc: Exception, now: datetime) -> Outcome:
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        digest = hashlib.sha256(raw).hexdigest()
        message_id = f"quarantined-{digest[:32]}-{uid}@inboxd.invalid"
        try:
            recorded = self._record_quarantine(mailbox, folder, uidvalidity, uid, raw, error, digest, message_id, now)
        except Exception as failure:
            # The quarantine is a write too: if it fails, the message is not on record anywhere, so the
            # watermark must stay where it is and the message be fetched again.
            log.error("message.quarantine_failed", mailbox=mailbox.name, folder=folder, uid=uid, error=error[:500],
                      why=str(failure))
            raise TransientError(f"cannot quarantine message {uid} in {folder}: {failure}") from failure
        if recorded:
            log.error("message.quarantined", mailbox=mailbox.name, folder=folder, uid=uid, error=error[:500])
        return Outcome("quarantined", "quarantined")

    def _record_quarantine(self, mailbox: MailboxConfig, folder: str, uidvalidity: int | None, uid: int | None,
                           raw: bytes, error: str, digest: str, message_id: str, now: datetime) -> bool:
        """Store the failed message with its error; False when it was on record already."""
        with self.store.begin() as conn:
            if repo.has_message(conn, message_id, digest):
                # Met again (a UIDVALIDITY rescan): it is on record already.
                _advance(conn, mailbox, folder, uidvalidity, uid, now)
                return False
            repo.insert_message(
                conn, message_id=message_id, content_hash=digest,
                mailbox=mailbox.name, folder=folder, uidvalidity=uidvalidity, uid=uid, direction="in",
                kind="quarantined", status="quarantined", received_at=now, size=len(raw), error=error[:4000],
                raw=raw)
            repo.add_event(conn, "message.quarantined", now, data={"mailbox": mailbox.name, "folder": folder,
                                                                   "uid": uid, "error": error[:500]})
            _advance(conn, mailbox, folder, uidvalidity, uid, now)
        return True


def _advance(conn: Connection, mailbox: MailboxConfig, folder: str, uidvalidity: int | None, uid: int | None,
             now: datetime) -> None:
    if uidvalidity is not None and uid is not None:
        repo.set_folder_state(conn, mailbox.name, folder, uidvalidity, uid, now)


def _summary(msg: ParsedMessage, rules: tuple[str, ...]) -> dict[str, Any]:
    return {"to": list(msg.to)[:20], "cc": list(msg.cc)[:20], "attachments": len(msg.attachments),
            "defects": list(msg.defects)[:10], "rules": list(rules), "html_only": msg.html_only}


class _Applier:
    """Applies actions for one message inside its transaction."""

    def __init__(self, conn: Connection, rt: Runtime, mailbox: MailboxConfig, msg: ParsedMessage,
                 now: datetime, forecaster: Forecaster | None = None) -> None:
        self.conn, self.rt, self.mailbox, self.msg, self.now = conn, rt, mailbox, msg, now
        self.forecaster = forecaster
        self.case_id: int | None = None
        self.number: int | None = None
        self.message_ref: int | None = None
        self.acknowledged = False
        self.queued = False  # any mail queued: the sender is woken after the commit

    def event(self, kind: str, data: dict[str, Any] | None = None) -> None:
        repo.add_event(self.conn, kind, self.now, case_id=self.case_id, message_ref=self.message_ref, data=data)

    def apply(self, action: d.Action) -> None:
        if isinstance(action, d.OpenCase):
            opened: dict[str, Any] = {"customer": action.customer, "priority": action.priority,
                                      "language": action.language, "language_source": action.language_source,
                                      "detected_language": action.detected_language}
            # What rules gave the case, for replay to compare against.
            opened.update({key: value for key, value in (("tags", list(action.tags)), ("assignee", action.assignee),
                                                          ("template_set", action.template_set)) if value})
            self.event("case.opened", opened)
        elif isinstance(action, d.JoinCase):
            self.event("case.joined", {"how": action.how})
            if self.number is not None:
                repo.update_case(self.conn, self.number, last_activity_at=self.now)
        elif isinstance(action, d.SetStatus):
            assert self.number is not None
            values: dict[str, Any] = {"status": action.status, "last_activity_at": self.now}
            if action.resolved_at is not None or action.forget_resolved:
                values["resolved_at"] = action.resolved_at
            repo.update_case(self.conn, self.number, **values)
            self.event("case.status", {"status": action.status})
        elif isinstance(action, d.MarkFirstResponse):
            assert self.number is not None
            repo.update_case(self.conn, self.number, first_response_at=action.at)
            self.event("case.first_response", {"by": action.by})
        elif isinstance(action, d.KeepTeamPromises):
            assert self.case_id is not None
            kept = repo.settle_promises(self.conn, action.promise_ids, "kept", action.at)
            if kept:
                self.event("promise.kept", {"count": kept})
        elif isinstance(action, d.HoldAck):
            self.event("ack.held", {"guard": action.guard, "detail": action.detail})
            log.warning("ack.held", case=self.number, guard=action.guard)
            if action.address:
                key = f"alert:ack_held:{action.guard}:{action.address}:{self._window(action.guard)}"
                subject = f"No acknowledgement sent to {action.address}"
                headline = "inboxd held an acknowledgement back to keep out of a mail loop."
            else:
                # The global limit: one alert per period, however many acknowledgements it holds.
                key = f"alert:ack_held:{action.guard}:{self._window(action.guard)}"
                subject = "Acknowledgements paused: too many in a short time"
                headline = ("inboxd holds acknowledgements back until the loop_guard.acks_total period has passed "
                            "(a flood, or someone using the support address against others).")
            self.alert_staff(key=key, subject=subject, headline=headline,
                             lines=[action.detail, f"Case: {self.token()}, from: {self.msg.from_addr}, "
                                                   f"subject: {self.msg.subject[:200]}",
                                    "The case is open and waiting on the team as usual."])
        elif isinstance(action, d.KeepPromises):
            repo.settle_promises(self.conn, action.promise_ids, "kept", action.at)
        elif isinstance(action, d.Schedule):
            repo.schedule(self.conn, key=action.key, kind=action.kind, case_id=self.case_id, due_at=action.due_at,
                          payload=action.payload, now=self.now)
        elif isinstance(action, d.Snooze):
            assert self.number is not None
            repo.update_case(self.conn, self.number, snoozed_until=action.until)
        elif isinstance(action, d.SetPriority):
            assert self.number is not None
            repo.update_case(self.conn, self.number, priority=action.priority)
        elif isinstance(action, d.Assign):
            assert self.number is not None
            repo.update_case(self.conn, self.number, assignee=action.assignee)
        elif isinstance(action, d.ConfirmNote):
            self.answer_note(action.author, done=list(action.done), errors=[])
        elif isinstance(action, d.RejectNote):
            self.answer_note(action.author, done=[], errors=list(action.errors))
            self.event("note.rejected", {"errors": [f"{e.line}: {e.why}" for e in action.errors]})
        elif isinstance(action, d.RecordFeedback):
            assert self.number is not None
            repo.update_case(self.conn, self.number, feedback_score=action.score)
            self.event("feedback.received", {"score": action.score})
            if action.rest.strip():
                self.alert_staff(key=f"alert:feedback:{self.msg.message_id}",
                                 subject=f"Feedback {action.score}/5 on {self.token()}",
                                 headline=f"{self.msg.from_addr} rated case {self.token()} {action.score}/5 and wrote:",
                                 lines=action.rest.strip().splitlines()[:40])
        elif isinstance(action, d.OptOut):
            assert self.number is not None
            repo.update_case(self.conn, self.number, updates_opted_out=True)
            self.event("updates.opted_out", {"by": self.msg.from_addr})
        elif isinstance(action, d.RecordCommitment):
            self.record_commitment(action)
        elif isinstance(action, d.MarkUnreachable):
            self.mark_unreachable(action)
        elif isinstance(action, d.ClearBounced):
            repo.clear_bounce(self.conn, action.address)
            self.event("customer.reachable_again", {"address": action.address})
        elif isinstance(action, d.Acknowledge):
            self.acknowledge(action)
        elif isinstance(action, d.KeepTimeline):
            self.keep_timeline(action)
        elif isinstance(action, d.Note):
            self.event(action.kind, action.data)

    def token(self) -> str:
        return format_token(self.rt.config.cases.subject_token, self.number) if self.number else "(none)"

    def _window(self, guard: str) -> int:
        """A number that changes once per guard period: the alert for a held ack is sent once per period."""
        guards = self.rt.config.loop_guard
        rate = {"sender_burst": guards.sender_burst, "acks_total": guards.acks_total}.get(guard, guards.acks_per_sender)
        period = rate.period
        return int(self.now.timestamp() // max(60.0, period.as_timedelta().total_seconds()))

    def alert_staff(self, *, key: str, subject: str, headline: str, lines: list[str]) -> None:
        """Tell the team once (per idempotency key) about something that needs a person."""
        recipients = staff_recipients(self.rt)
        if not recipients:
            self.event("staff.alert_skipped", {"reason": "no staff configured", "subject": subject})
            return
        queued = queue_template_mail(
            self.conn, self.rt, self.mailbox, key=key, kind="alert", to=recipients, template="alert",
            language=self.rt.config.team.language_for(recipients), now=self.now, case_id=self.case_id,
            from_name=f"inboxd ({self.rt.config.team.name})",
            context={"subject": subject, "headline": headline, "lines": lines,
                     "token": self.token() if self.number else None})
        if queued:
            self.event("staff.alerted", {"subject": subject, "to": recipients})
            self.queued = True

    def keep_timeline(self, action: d.KeepTimeline) -> None:
        """Who spoke when on the case, and what to schedule now that it waits on someone."""
        if self.number is None or self.case_id is None:
            return
        values: dict[str, Any] = {}
        if action.customer_at is not None:
            values["last_customer_at"] = action.customer_at
            if action.customer_utc_offset is not None:
                values["customer_utc_offset"] = action.customer_utc_offset
        if action.staff_at is not None:
            values["last_staff_reply_at"] = action.staff_at
        if action.heard_at is not None:
            values["last_heard_at"] = action.heard_at
        if values:
            repo.update_case(self.conn, self.number, **values)
        if action.status is None or action.policy is None:
            return
        for item in waiting_schedule(self.number, action.status, self.now, action.policy, self.rt.calendar.add):
            repo.schedule(self.conn, key=item.key, kind=item.kind, case_id=self.case_id, due_at=item.due_at,
                          payload=item.payload, now=self.now)

    def answer_note(self, author: str, *, done: list[str], errors: list[NoteError]) -> None:
        queued = queue_template_mail(
            self.conn, self.rt, self.mailbox, key=f"note_reply:{self.msg.message_id}", kind="note_reply",
            to=[author], template="note_reply", language=self.rt.config.team.language_for([author]), now=self.now,
            case_id=self.case_id,
            in_reply_to=self.msg.message_id, references=self.msg.references,
            from_name=f"inboxd ({self.rt.config.team.name})",
            context={"subject": self.msg.subject, "done": done, "errors": errors,
                     "token": self.token() if self.number else None})
        self.queued = self.queued or queued is not None

    def record_commitment(self, action: d.RecordCommitment) -> None:
        assert self.case_id is not None
        promise_id = repo.add_promise(self.conn, case_id=self.case_id, owner=action.owner, source=action.source,
                                      text=action.text[:2000], made_at=self.now, due_at=action.due,
                                      source_message_id=self.msg.message_id)
        lead = self.rt.config.reminders.lead_time.as_timedelta()
        for item in commitment_schedule(promise_id, self.now, action.due, lead):
            repo.schedule(self.conn, key=item.key, kind=item.kind, case_id=self.case_id, due_at=item.due_at,
                          payload=item.payload, now=self.now)
        self.event("commitment.recorded", {"owner": action.owner, "due": action.due.isoformat(),
                                           "text": action.text[:300]})

    def mark_unreachable(self, action: d.MarkUnreachable) -> None:
        affected: set[int] = set()
        for address in action.addresses:
            repo.record_bounce(self.conn, address, self.now, case_id=self.case_id, status="permanent",
                               message_ref=self.message_ref)
            affected.update(repo.cases_of_customer(self.conn, address))
        if self.case_id is not None:
            affected.add(self.case_id)
        for case_id in sorted(affected):
            repo.mark_case_unreachable(self.conn, case_id, self.now)
            repo.add_event(self.conn, "customer.unreachable", self.now, case_id=case_id,
                           message_ref=self.message_ref, data={"addresses": list(action.addresses)})
        self.alert_staff(
            key=f"alert:bounce:{self.msg.message_id}",
            subject=f"Customer unreachable: {', '.join(action.addresses)[:200]}",
            headline="Mail to a customer bounced permanently. inboxd sends nothing more to this address "
                     "until the customer writes again.",
            lines=[f"Address: {a}" for a in action.addresses]
            + [f"Reason: {action.detail}", f"Case: {self.token()}"])

    def promise_for(self, priority: str) -> Estimate:
        """The team's promise for this new case: the calibrated estimate, or the fallback if it fails."""
        assert self.number is not None
        if self.forecaster is not None:
            try:
                return self.forecaster.estimate(self.conn, self.rt, self.now, priority, self.number)
            except Exception:  # noqa: BLE001 - a bug in the estimate must not cost the customer their ack
                log.exception("eta.failed", case=self.number)
        return fallback_estimate(self.now, priority, {str(k): v for k, v in self.rt.config.promises.fallback.items()},
                                 self.rt.calendar)

    def acknowledge(self, action: d.Acknowledge) -> None:
        """Queue the acknowledgement with the team's promise (the loop guards let it through in decide)."""
        assert self.case_id is not None and self.number is not None
        rt, msg = self.rt, self.msg
        recipient = (action.to or msg.from_addr).lower()
        estimate = self.promise_for(action.priority)
        token = format_token(rt.config.cases.subject_token, self.number)
        context = _ack_context(rt, msg, token, self.number, estimate, self.now, action.language,
                               neutral_to=recipient if action.neutral else None)
        # To someone other than the sender: not threaded to a message they never wrote.
        message_id = queue_template_mail(
            self.conn, rt, self.mailbox, key=f"ack:{self.number}", kind="ack", to=[recipient], template="ack",
            language=action.language, context=context, now=self.now, case_id=self.case_id,
            in_reply_to=None if action.neutral else msg.message_id,
            references=() if action.neutral else msg.references, auto_submitted="auto-replied",
            copy_wanted=bool(self.mailbox.smtp.save_copy), template_set=action.template_set)
        if message_id is None:
            return
        repo.add_promise(self.conn, case_id=self.case_id, owner="team", source="ack",
                         text=context["promise"]["phrase"], made_at=self.now, due_at=estimate.due,
                         predicted_bh=estimate.predicted_bh, spread_bh=estimate.spread_bh)
        self.event("ack.queued", {"due": estimate.due.isoformat(), "basis": estimate.basis,
                                  "message_id": message_id, "to": recipient, "neutral": action.neutral})
        self.acknowledged = True


# The subject of an acknowledgement to an address other than the sender's: nothing the sender wrote.
NEUTRAL_SUBJECTS = {"en": "Your message to {team}", "de": "Ihre Nachricht an {team}",
                    "fr": "Votre message à {team}", "es": "Su mensaje a {team}", "it": "Il Suo messaggio a {team}",
                    "nl": "Uw bericht aan {team}", "pt": "A sua mensagem para {team}"}


def _ack_context(rt: Runtime, msg: ParsedMessage, token: str, number: int, estimate: Estimate,
                 now: datetime, language: str = "en", neutral_to: str | None = None) -> dict[str, Any]:
    """The acknowledgement's template variables.

    ``neutral_to``: the acknowledgement goes to this address, not the sender's own (a Reply-To in
    another domain). Then nothing the sender wrote reaches it: the subject is a neutral one, the name
    and the time in the sender's zone are left out, ``customer`` is that address, and ``reflected``
    tells the template.
    """
    tz = rt.calendar.tz
    customer_phrase = None
    if msg.date is not None and msg.date.utcoffset() is not None and neutral_to is None:
        offset = msg.date.utcoffset() or timedelta(0)
        # A +00:00 Date usually comes from a server, not from where the customer lives: say nothing then.
        if offset and offset != estimate.due.astimezone(tz).utcoffset():
            customer_phrase = phrase_in_offset(estimate.due, offset, language)
    subject = msg.subject or "(no subject)"
    name, customer = msg.from_name, msg.from_addr
    if neutral_to is not None:
        subject = NEUTRAL_SUBJECTS.get(language.split("-")[0], NEUTRAL_SUBJECTS["en"]).format(team=rt.config.team.name)
        name, customer = "", neutral_to
    return {
        "case": number,
        "token": token,
        "subject": subject,
        "normalized_subject": normalize_subject(subject, rt.config.cases.subject_token),
        "customer_name": name,
        "customer": customer,
        "reflected": neutral_to is not None,
        "team_name": rt.config.team.name,
        "promise": {
            "due": estimate.due,
            "phrase": phrase_due(estimate.due, now, tz, language),
            "customer_phrase": customer_phrase,
            "reason": estimate.reason_text(language),
        },
    }

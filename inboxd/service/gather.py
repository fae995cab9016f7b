"""Everything one message's decision needs, read from the store into a frozen context. Reads only.

The first step of read → decide → write: :func:`gather_message` parses and classifies the message,
threads it to a case (with the overrides: the stop address, machines naming a case they are not on,
the original a bounce carries), and reads the sender's history, the loop guards' counters, the
bounced addresses, the case's open promises and the timing of our acknowledgements. It writes
nothing, so ``inboxd explain`` runs it in a read-only transaction and the daemon in the one that
then applies the decision (:mod:`inboxd.service.ingest`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection

from inboxd.config import MailboxConfig
from inboxd.core import decide as d
from inboxd.core.cases import CaseState
from inboxd.core.clock import said_at
from inboxd.core.commitments import extract_commitments, resolve_when
from inboxd.core.followups import asks_to_stop_updates, feedback_score, update_policy
from inboxd.core.language import detect_message_language
from inboxd.core.notes import NoteCommand, NoteError, parse_note
from inboxd.mail.auth import forged_sender
from inboxd.mail.autoresponse import AckTiming
from inboxd.mail.classify import FolderRole
from inboxd.mail.parse import ParsedMessage, parse_message
from inboxd.mail.threading import (
    ThreadingPolicy,
    ThreadMatch,
    case_number_from_plus_address,
    case_number_from_stop_address,
    thread_message,
)
from inboxd.service.evaluate import evaluate_message
from inboxd.service.runtime import Runtime
from inboxd.store import repo
from inboxd.store import status as status_store


def gather_message(conn: Connection, rt: Runtime, mailbox: MailboxConfig, role: FolderRole, raw: bytes,
                   now: datetime, arrived_at: datetime | None = None,
                   watch_started_at: datetime | None = None, folder: str | None = None) -> d.MessageContext:
    """The context :func:`inboxd.core.decide.decide_message` decides on, for ``raw`` arriving in ``mailbox`` now.

    ``arrived_at``: when the server received it (IMAP INTERNALDATE). ``watch_started_at``: when inboxd
    first watched ``folder``; read from the store when not given.
    """
    cfg = rt.config
    msg = parse_message(raw)
    if watch_started_at is None and folder is not None:
        watch_started_at = status_store.first_start(conn, mailbox.name, folder)
    duplicate = repo.has_message(conn, msg.message_id, msg.content_hash)
    own = not duplicate and repo.is_own_message_id(conn, msg.message_id)
    # A message on record already is classified only for explain's sake: without reading the store.
    timed = role == "inbox" and not own and not duplicate
    evaluation = evaluate_message(rt, msg, raw, mailbox=mailbox.name, role=role, at=arrived_at or now,
                                  acks=_ack_timing(conn, msg, now) if timed else None)
    rules, classification = evaluation.rules, evaluation.classification
    guards = cfg.loop_guard
    limits = d.Limits(guards.acks_per_sender.count, guards.sender_burst.count, guards.acks_total.count)
    sent_at = min(msg.date, now) if msg.date else now
    ack_to = (msg.reply_to[0] if msg.reply_to else msg.from_addr).lower()
    reopen_within = cfg.cases.reopen_within.as_timedelta()
    base = d.MessageContext(
        msg=msg, classification=classification, rules=rules, case=None, thread_how=None,
        history=d.SenderHistory(), limits=limits, default_priority=cfg.cases.default_priority,
        default_language=cfg.cases.default_language, own_message=own, now=now, reopen_within=reopen_within,
        arrived_at=arrived_at, watch_started_at=watch_started_at,
        acknowledge_max_age=mailbox.imap.acknowledge_max_age.as_timedelta(), ack_to=ack_to,
        calendar=rt.calendar, update_after_waiting=cfg.updates.after_waiting,
        new_case_policy=update_policy(cfg, rules.priority or cfg.cases.default_priority, rules.updates))
    if duplicate:
        return replace(base, duplicate=True)

    index = repo.ConnIndex(conn)
    policy = ThreadingPolicy(cfg.cases.subject_token, rt.team.our_addresses,
                             now - cfg.cases.thread_window.as_timedelta())
    recipients = _recipients(msg)
    match = thread_message(
        sender=msg.from_addr,
        sender_is_staff=own or classification.kind in ("staff", "staff_note") or rt.team.is_ours(msg.from_addr),
        in_reply_to=msg.in_reply_to, references=msg.references, subject=msg.subject,
        recipients=recipients, index=index, policy=policy)
    stop_case = case_number_from_stop_address(recipients, rt.team.our_addresses)
    if stop_case is not None and index.case_exists(stop_case) and index.on_case(stop_case, msg.from_addr):
        # Written to the List-Unsubscribe address of a case's updates.
        match = ThreadMatch(stop_case, "unsubscribe address")
    if match is not None and not match.attach and classification.automated:
        match = None  # a machine naming a case it is not on: recorded, attached nowhere
    if match is None and classification.automated and msg.embedded_message_ids:
        # A bounce (or an auto-reply quoting our mail) carries the original inside: find its case.
        number = index.case_for_message_ids(msg.embedded_message_ids)
        match = ThreadMatch(number, "embedded message") if number is not None else None
    case = repo.case_state(conn, match.case_number) if match and match.attach else None

    history = d.SenderHistory()
    forged: str | None = None
    detected: str | None = None  # the customer's language, from what they wrote
    ack_to_bounced = False
    if classification.kind == "customer" and (case is None or not case.reopenable(now, reopen_within)):
        acks_since = now - guards.acks_per_sender.period.as_timedelta()
        burst_window = guards.sender_burst.period.as_timedelta()
        history = replace(
            repo.sender_history(conn, msg.from_addr, acks_since=acks_since,
                                burst_since=sent_at - burst_window, burst_until=sent_at),
            acks_to_recipient=repo.acks_to(conn, ack_to, acks_since),
            acks_total=repo.acks_total(conn, now - guards.acks_total.period.as_timedelta()))
        # With trusted servers named: a sender they found forged gets no acknowledgement (backscatter).
        forged = forged_sender(msg, rt.team.trusted_authserv_ids)
        ack_to_bounced = repo.is_bounced(conn, ack_to)
        detected = detect_message_language(msg.subject, msg.reply_text)
    bounce = getattr(classification, "bounce", None)
    feedback, opt_out = _customer_reading(conn, msg, classification.kind, case, stop_case)
    commitments, note_commands, note_errors = _staff_reading(msg, classification.kind, case, rt, now, arrived_at)
    case_id = repo.case_id(conn, case.number) if case is not None else None
    row = repo.case_row(conn, case_id) if case_id is not None else None
    # The promises a staff reply keeps, or a note's #done.
    promises = (tuple(repo.open_promises(conn, case_id))
                if case_id is not None and classification.kind in ("staff", "staff_note") else ())
    return replace(
        base, case=case, thread_how=match.how if match else None, history=history,
        link_to=match.case_number if match and not match.attach else None,
        bounced_recipients=tuple(bounce.permanent) if bounce is not None else (),
        sender_bounced=classification.kind == "customer" and repo.is_bounced(conn, msg.from_addr),
        commitments=commitments, note_commands=note_commands, note_errors=note_errors,
        feedback=feedback, opt_out=opt_out, forged=forged, detected_language=detected,
        served_languages=rt.served_languages, staff_language=rt.config.team.language_for([msg.from_addr]),
        ack_to_ours=rt.team.is_ours(ack_to), ack_to_bounced=ack_to_bounced, open_promises=promises,
        case_policy=update_policy(cfg, row["priority"], row["update_overrides"]) if row is not None else None)


def mailbox_for(rt: Runtime, raw: bytes) -> MailboxConfig:
    """The configured mailbox a message was written to (by its recipients); the first one otherwise."""
    try:
        recipients = {a.lower() for a in _recipients(parse_message(raw))}
    except Exception:  # noqa: BLE001 - an unparsable message is explained (and fails) in gather_message
        recipients = set()
    for mailbox in rt.config.mailboxes:
        address = mailbox.address.lower()
        tagged = case_number_from_plus_address(recipients, frozenset({address})) is not None
        stop = case_number_from_stop_address(recipients, frozenset({address})) is not None
        if address in recipients or tagged or stop:
            return mailbox
    return rt.config.mailboxes[0]


def _recipients(msg: ParsedMessage) -> tuple[str, ...]:
    """Every address the message went to, the envelope's included (Delivered-To, X-Original-To)."""
    return (*msg.recipients, *msg.header_all("Delivered-To"), *msg.header_all("X-Original-To"))


def _ack_timing(conn: Connection, msg: ParsedMessage, now: datetime) -> AckTiming:
    """How soon after our acknowledgements to this sender the message came: an auto-responder answers at once."""
    cited_at, last_at = repo.ack_times(conn, msg.from_addr, (*msg.in_reply_to, *msg.references))
    arrived = min(msg.date, now) if msg.date else now
    return AckTiming(
        cited_ack_seconds=(arrived - cited_at).total_seconds() if cited_at else None,
        last_ack_seconds=(arrived - last_at).total_seconds() if last_at else None)


def _customer_reading(conn: Connection, msg: ParsedMessage, kind: str, case: CaseState | None,
                      stop_case: int | None) -> tuple[tuple[int, str] | None, bool]:
    """From a customer's message on a case: a feedback score (answering our question), or a request to stop."""
    if kind != "customer" or case is None:
        return None, False
    opt_out = stop_case == case.number or asks_to_stop_updates(msg.reply_text, msg.subject)
    if "resolved" in repo.outbox_kinds(conn, (*msg.in_reply_to, *msg.references)):
        score, rest = feedback_score(msg.reply_text)
        if score is not None:
            return (score, rest), opt_out
    return None, opt_out


def _staff_reading(msg: ParsedMessage, kind: str, case: CaseState | None, rt: Runtime, now: datetime,
                   arrived_at: datetime | None = None) -> tuple[
        tuple[tuple[str, datetime], ...], tuple[NoteCommand, ...], tuple[NoteError, ...]]:
    """From staff mail: the promises a reply makes to the customer, or the commands of an internal note.

    Times resolve against when the mail was written (:func:`said_at`: its Date, within reason, never after
    the server received it); one that has passed by the time it is read (a note read late) is due now,
    never in the past.
    """
    reference = said_at(msg.date, now, received=arrived_at)
    if kind == "staff" and case is not None:
        found = extract_commitments(msg.reply_text, reference, rt.calendar)
        return tuple((c.text, max(c.due, now)) for c in found), (), ()
    if kind == "staff_note":
        staff = [(s.email, s.name or "") for s in rt.config.team.staff]

        def resolve(text: str) -> datetime | None:
            when = resolve_when(text, reference, rt.calendar)
            return None if when is None else max(when, now)

        commands, errors = parse_note(msg.reply_text, resolve, staff)
        return (), tuple(commands), tuple(errors)
    return (), (), ()

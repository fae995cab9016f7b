"""Delivers the durable outbox over SMTP, with retries and backoff, and files Sent copies.

A message is claimed (a lease), sent, and marked sent in its own small transaction. If the
daemon dies between the server's "250 OK" and that mark, the message is sent again after the
restart — with the same Message-ID, which receiving clients treat as the same message. That
window is a few milliseconds; everything else is exactly once.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Connection

from inboxd.core.backoff import Backoff, retry_delay
from inboxd.core.clock import Clock
from inboxd.errors import (
    AuthError,
    FolderMissing,
    ImapError,
    InboxdError,
    PermanentSendError,
    SecretError,
    StoreUnavailable,
    TransientError,
)
from inboxd.mail.threading import format_token
from inboxd.service.mailer import queue_template_mail, staff_recipients
from inboxd.service.runtime import Runtime
from inboxd.store import repo

log = structlog.get_logger("inboxd.service.outbox")
MAX_ATTEMPTS = 20
# An SMTP session is kept open between flushes, so that a backlog's acknowledgements go out over one
# connection instead of one each (a TLS handshake, EHLO and AUTH per message). Unused this long, it is closed.
SESSION_IDLE_SECONDS = 30.0
# Reused after a pause this long, a session is checked first (NOOP): the server may have closed it meanwhile, and
# a message must not be charged an attempt, or delayed, for that.
SESSION_CHECK_AFTER_SECONDS = 1.0
# Seconds between tries of an SMTP server that cannot be reached: short, so mail flows soon after it is back.
SERVER_RETRY_BASE = 2.0
SERVER_RETRY_CAP = 30.0


@dataclass
class FlushResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    copied: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class SmtpState:
    """What ``inboxd status`` shows of a mailbox's SMTP server: the current problem and the latest one."""

    error: str | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None


@dataclass
class _Session:
    """An open SMTP connection of one mailbox, and what it was opened with."""

    connection: Any
    factory: Any
    runtime: Any
    last_used: float


class Sender:
    """Sends what the outbox holds. ``smtp_factory``/``imap_factory`` open connections per mailbox.

    One SMTP session per mailbox stays open across flushes (see ``SESSION_IDLE_SECONDS``); it is dropped on any
    error, when the configuration or the factory changes, and by :meth:`close`.
    """

    def __init__(self, store: repo.Store, runtime: Callable[[], Runtime], clock: Clock,
                 smtp_factory: Callable[[str], Any], imap_factory: Callable[[str], Any] | None = None) -> None:
        self.store = store
        self.runtime = runtime
        self.clock = clock
        self.smtp_factory = smtp_factory
        self.imap_factory = imap_factory
        self.last_error: str | None = None
        # What the servers accepted but the database could not record (it was full or down): recorded
        # before anything is claimed again, so that nothing is sent or filed twice.
        self._unrecorded: list[Callable[[Connection], None]] = []
        self.smtp_state: dict[str, SmtpState] = {}
        self._backoffs: dict[str, Backoff] = {}
        self.on_state_change: Callable[[], None] = lambda: None
        self.on_error: Callable[[str], None] = lambda mailbox: None
        self._sessions: dict[str, _Session] = {}
        # Several daemons (PostgreSQL): the claims' owner, their lease (renewed by the node's heartbeat while in
        # flight), and whether this daemon serves a mailbox (it files that mailbox's Sent copies).
        self.worker: str | None = None
        self.claim_lease = repo.SEND_LEASE
        self.owns: Callable[[str], bool] = lambda mailbox: True
        self.sends_for: Callable[[], list[str] | None] = lambda: None  # the mailboxes served here; None: all
        self.in_flight: frozenset[int] = frozenset()


    def _session(self, mailbox: str) -> Any:
        """The mailbox's open SMTP session, or a new one (connect errors pass through to the caller)."""
        session = self._sessions.get(mailbox)
        runtime = self.runtime()
        if session is not None:
            idle = time.monotonic() - session.last_used
            if (session.factory is self.smtp_factory and session.runtime is runtime and idle < SESSION_IDLE_SECONDS
                    and _current(session.connection)
                    and (idle < SESSION_CHECK_AFTER_SECONDS or _alive(session.connection))):
                return session.connection
            self._drop_session(mailbox)
        connection = self.smtp_factory(mailbox)
        connection.connect()
        self._sessions[mailbox] = _Session(connection, self.smtp_factory, runtime, time.monotonic())
        return connection

    def _drop_session(self, mailbox: str) -> None:
        session = self._sessions.pop(mailbox, None)
        if session is not None:
            try:
                session.connection.close()
            except Exception:  # noqa: BLE001 - closing a broken session may fail too; it is gone either way
                log.debug("smtp.close_failed", mailbox=mailbox)

    def _close_idle(self) -> None:
        now = time.monotonic()
        for mailbox, session in list(self._sessions.items()):
            if now - session.last_used >= SESSION_IDLE_SECONDS:
                self._drop_session(mailbox)

    def close(self) -> None:
        """Close every open SMTP session (the daemon stops)."""
        for mailbox in list(self._sessions):
            self._drop_session(mailbox)

    def _smtp_result(self, mailbox: str, error: str | None) -> None:
        state = self.smtp_state.setdefault(mailbox, SmtpState())
        changed = state.error != error
        state.error = error
        if error is not None:
            state.last_error, state.last_error_at = error, self.clock.now()
            self.on_error(mailbox)
        if changed:
            self.on_state_change()

    def flush(self, limit: int = 200, should_stop: Callable[[], bool] = lambda: False) -> FlushResult:
        result = FlushResult()
        self._close_idle()
        self._record_unrecorded()
        with self.store.begin() as conn:
            claimed = repo.claim_outbox(conn, self.clock.now(), limit, worker=self.worker, lease=self.claim_lease,
                                        mailboxes=self.sends_for())
        self.in_flight = frozenset(row.id for row in claimed)
        try:
            self._send_claimed(claimed, result, should_stop)
        finally:
            self.in_flight = frozenset()
        if self.imap_factory is not None:
            self._file_copies(result)
        return result

    def _send_claimed(self, claimed: list[repo.QueuedMail], result: FlushResult,
                      should_stop: Callable[[], bool]) -> None:
        by_mailbox: dict[str, list[repo.QueuedMail]] = defaultdict(list)
        for row in claimed:
            by_mailbox[row.mailbox].append(row)
        for mailbox, rows in by_mailbox.items():
            try:
                self._send_mailbox(mailbox, rows, result, should_stop)
            except Exception as exc:  # noqa: BLE001
                # A fault of our own (the database, a bug): whatever this batch still holds goes back to the
                # queue for a retry shortly, instead of waiting for its claim to expire.
                log.exception("outbox.flush_failed", mailbox=mailbox, error=str(exc))
                result.errors.append(str(exc))
                self._give_back(rows)

    def _send_mailbox(self, mailbox: str, rows: list[repo.QueuedMail], result: FlushResult,
                      should_stop: Callable[[], bool]) -> None:
        connection = None
        try:
            for index, row in enumerate(rows):
                if should_stop():
                    self._release(rows[index:])
                    return
                if connection is None:
                    try:
                        connection = self._session(mailbox)
                    except (TransientError, AuthError, SecretError) as exc:
                        self._server_down(mailbox, rows[index:], exc, result)
                        return
                    self._server_backoff(mailbox).reset()
                try:
                    connection.send(row.mail_from, row.rcpt_to, row.raw)
                except PermanentSendError as exc:
                    self._fail(row, str(exc), result)
                    continue
                except (TransientError, AuthError, SecretError) as exc:
                    # The server deferred this message (4xx) or the session broke: this one waits its turn with
                    # backoff; the next one is tried over a new session.
                    self.last_error = str(exc)
                    self._smtp_result(mailbox, str(exc))
                    result.errors.append(str(exc))
                    self._retry(row, str(exc), result)
                    log.warning("outbox.deferred", mailbox=mailbox, message_id=row.message_id, error=str(exc))
                    self._drop_session(mailbox)
                    connection = None
                    continue
                except Exception as exc:  # noqa: BLE001
                    # Something unforeseen with this one message: it is retried with backoff (and fails for
                    # good after MAX_ATTEMPTS); the others in the batch go on. The session may be mid-command.
                    log.exception("outbox.send_error", mailbox=mailbox, message_id=row.message_id)
                    self._drop_session(mailbox)
                    connection = None
                    self._retry(row, f"unexpected error: {exc!r}", result)
                    continue
                if (session := self._sessions.get(mailbox)) is not None:
                    session.last_used = time.monotonic()
                result.sent += 1
                if not self._record(self._sent_recorder(row, self.clock.now(), self.worker)):
                    # The rest of the batch keeps its lease: it is claimed again once that lapses.
                    return
                self.last_error = None
                self._smtp_result(mailbox, None)
                log.info("mail.sent", kind=row.kind, case_ref=row.case_ref, message_id=row.message_id)
        except BaseException:
            self._drop_session(mailbox)  # the session may be mid-command
            raise

    @staticmethod
    def _sent_recorder(row: repo.QueuedMail, now: datetime, worker: str | None = None) -> Callable[[Connection], None]:
        def record(conn: Connection) -> None:
            if not repo.mark_sent(conn, row.id, now, worker):
                # Our claim lapsed (this daemon was cut off from the database) and another daemon took the
                # message: its record stands, and the mail went out twice, with the same Message-ID.
                log.warning("outbox.claim_lost", message_id=row.message_id, worker=worker)
                return
            repo.add_event(conn, f"{row.kind}.sent", now, case_id=row.case_ref,
                           data={"message_id": row.message_id, "to": row.rcpt_to})
        return record

    @staticmethod
    def _copied_recorder(outbox_id: int) -> Callable[[Connection], None]:
        def record(conn: Connection) -> None:
            repo.mark_copied(conn, outbox_id)
        return record

    def _record(self, write: Callable[[Connection], None]) -> bool:
        """Record what a server accepted; if the database cannot take it now, keep it to record later."""
        try:
            with self.store.begin() as conn:
                write(conn)
        except StoreUnavailable as exc:
            self._unrecorded.append(write)
            self.last_error = str(exc)
            log.warning("outbox.unrecorded", count=len(self._unrecorded), error=str(exc))
            return False
        return True

    def _record_unrecorded(self) -> None:
        """Record, oldest first, what was sent while the database failed; raises StoreUnavailable if it still does."""
        while self._unrecorded:
            with self.store.begin() as conn:
                self._unrecorded[0](conn)
            self._unrecorded.pop(0)
            log.info("outbox.recorded_late", remaining=len(self._unrecorded))

    def _server_backoff(self, mailbox: str) -> Backoff:
        return self._backoffs.setdefault(mailbox, Backoff(base=SERVER_RETRY_BASE, cap=SERVER_RETRY_CAP))

    def _server_down(self, mailbox: str, rows: list[repo.QueuedMail], exc: InboxdError,
                     result: FlushResult) -> None:
        """The server cannot be reached or refuses our login: that is the server's state, not the messages'.

        They wait without using up their attempts (an outage of any length loses nothing), and the server is
        tried again after a short backoff, so mail flows again within seconds of its return.
        """
        error = str(exc)
        self.last_error = error
        self._smtp_result(mailbox, error)
        result.errors.append(error)
        delay = self._server_backoff(mailbox).next_delay() * (5 if isinstance(exc, AuthError | SecretError) else 1)
        with self.store.begin() as conn:
            repo.mark_deferred(conn, [row.id for row in rows], error,
                               self.clock.now() + timedelta(seconds=delay), self.worker)
        result.retried += len(rows)
        log.warning("smtp.unavailable", mailbox=mailbox, waiting=len(rows), error=error, retry_in=round(delay, 1))

    def _release(self, rows: list[repo.QueuedMail]) -> None:
        now = self.clock.now()
        with self.store.begin() as conn:
            for row in rows:
                repo.mark_retry(conn, row.id, "released at shutdown", now, self.worker)

    def _give_back(self, rows: list[repo.QueuedMail]) -> None:
        try:
            with self.store.begin() as conn:
                repo.release_outbox_claims(conn, [row.id for row in rows],
                                           self.clock.now() + timedelta(seconds=retry_delay(1)))
        except Exception:  # noqa: BLE001
            log.exception("outbox.release_failed", count=len(rows))  # the claims expire on their own

    def _retry(self, row: repo.QueuedMail, error: str, result: FlushResult) -> None:
        now = self.clock.now()
        attempts = int(row.attempts) + 1
        if attempts >= MAX_ATTEMPTS:
            self._fail(row, f"gave up after {attempts} attempts: {error}", result)
            return
        with self.store.begin() as conn:
            repo.mark_retry(conn, row.id, error, now + timedelta(seconds=retry_delay(attempts)), self.worker)
        result.retried += 1

    def _fail(self, row: repo.QueuedMail, error: str, result: FlushResult) -> None:
        now = self.clock.now()
        with self.store.begin() as conn:
            if not repo.mark_failed(conn, row.id, error, now, self.worker):
                log.warning("outbox.claim_lost", message_id=row.message_id, worker=self.worker)
                return
            repo.add_event(conn, f"{row.kind}.failed", now, case_id=row.case_ref,
                           data={"message_id": row.message_id, "error": error[:500]})
        result.failed += 1
        log.error("mail.failed", kind=row.kind, message_id=row.message_id, error=error[:500])
        if row.kind != "alert":
            self._alert_failed(row, error)

    def _alert_failed(self, row: repo.QueuedMail, error: str) -> None:
        """Tell the team, once per message, that a mail to a customer will not go out."""
        try:
            rt = self.runtime()
            recipients = staff_recipients(rt)
            if not recipients:
                return
            now = self.clock.now()
            to = ", ".join(row.rcpt_to)
            with self.store.begin() as conn:
                number = repo.case_number_of(conn, row.case_ref) if row.case_ref else None
                token = format_token(rt.config.cases.subject_token, number) if number else None
                queued = queue_template_mail(
                    conn, rt, rt.mailbox(row.mailbox), key=f"alert:send_failed:{row.message_id}",
                    kind="alert", to=recipients, template="alert",
                    language=rt.config.team.language_for(recipients), now=now,
                    case_id=row.case_ref, from_name=f"inboxd ({rt.config.team.name})",
                    context={"subject": f"Could not send the {row.kind} to {to}",
                             "headline": f"inboxd could not send the {row.kind} to {to} and will not retry it.",
                             "lines": [f"Reason: {error[:500]}"], "token": token})
                if queued:
                    repo.add_event(conn, "staff.alerted", now, case_id=row.case_ref,
                                   data={"subject": f"send failed: {row.message_id}", "to": recipients})
        except Exception:  # noqa: BLE001
            log.exception("outbox.alert_failed", message_id=row.message_id)

    def _file_copies(self, result: FlushResult) -> None:
        assert self.imap_factory is not None
        with self.store.connect() as conn:
            copies = repo.pending_copies(conn)
        by_mailbox: dict[str, list[repo.SentCopy]] = defaultdict(list)
        for row in copies:
            by_mailbox[row.mailbox].append(row)
        for mailbox, rows in by_mailbox.items():
            if not self.owns(mailbox):
                continue  # the daemon serving this mailbox files its copies
            try:
                sent_folder = self.runtime().mailbox(mailbox).imap.folders.sent
            except LookupError:
                sent_folder = None
            if not sent_folder:
                with self.store.begin() as conn:
                    for row in rows:
                        repo.mark_copied(conn, row.id, "skipped")
                continue
            try:
                with self.imap_factory(mailbox) as imap:
                    filed = _FiledCopies(imap, sent_folder)
                    for row in rows:
                        # A stop between an APPEND and its record must not leave two copies behind.
                        if filed.has(row.message_id):
                            log.info("sent_copy.already_filed", mailbox=mailbox, message_id=row.message_id)
                        else:
                            imap.append(sent_folder, row.raw)
                        result.copied += 1
                        if not self._record(self._copied_recorder(int(row.id))):
                            break
            except (ImapError, AuthError, SecretError) as exc:
                log.warning("sent_copy.deferred", mailbox=mailbox, error=str(exc))


def _current(connection: Any) -> bool:
    """Whether a session's login is still the one to use (a connection without the check is taken as current)."""
    check = getattr(connection, "current", None)
    return bool(check()) if callable(check) else True


def _alive(connection: Any) -> bool:
    """Whether a session that waited still answers (a connection without the check is taken as alive)."""
    check = getattr(connection, "alive", None)
    return bool(check()) if callable(check) else True


class _FiledCopies:
    """Looks a Message-ID up in the Sent folder (selected once; a missing folder holds nothing)."""

    def __init__(self, imap: Any, folder: str) -> None:
        self.imap = imap
        self.folder = folder
        self.selected: bool | None = None

    def has(self, message_id: str) -> bool:
        if self.selected is None:
            try:
                self.imap.select(self.folder)
                self.selected = True
            except FolderMissing:
                self.selected = False
        return bool(self.selected and self.imap.search_message_id(message_id))

"""Delivers the durable outbox over SMTP, with retries and backoff, and files Sent copies.

A message is claimed (a lease), sent, and marked sent in its own small transaction. If the
daemon dies between the server's "250 OK" and that mark, the message is sent again after the
restart — with the same Message-ID, which receiving clients treat as the same message. That
window is a few milliseconds; everything else is exactly once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from inboxd.backoff import retry_delay
from inboxd.clock import Clock
from inboxd.errors import AuthError, ImapError, PermanentSendError, SecretError, TransientError
from inboxd.runtime import Runtime
from inboxd.store import repo

log = structlog.get_logger("inboxd.outbox")
MAX_ATTEMPTS = 20


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


class Sender:
    """Sends what the outbox holds. ``smtp_factory``/``imap_factory`` open connections per mailbox."""

    def __init__(self, store: repo.Store, runtime: Callable[[], Runtime], clock: Clock,
                 smtp_factory: Callable[[str], Any], imap_factory: Callable[[str], Any] | None = None) -> None:
        self.store = store
        self.runtime = runtime
        self.clock = clock
        self.smtp_factory = smtp_factory
        self.imap_factory = imap_factory
        self.last_error: str | None = None
        self.smtp_state: dict[str, SmtpState] = {}
        self.on_state_change: Callable[[], None] = lambda: None

    def _smtp_result(self, mailbox: str, error: str | None) -> None:
        state = self.smtp_state.setdefault(mailbox, SmtpState())
        changed = state.error != error
        state.error = error
        if error is not None:
            state.last_error, state.last_error_at = error, self.clock.now()
        if changed:
            self.on_state_change()

    def flush(self, limit: int = 200, should_stop: Callable[[], bool] = lambda: False) -> FlushResult:
        result = FlushResult()
        with self.store.begin() as conn:
            claimed = repo.claim_outbox(conn, self.clock.now(), limit)
        by_mailbox: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in claimed:
            by_mailbox[row["mailbox"]].append(row)
        for mailbox, rows in by_mailbox.items():
            self._send_mailbox(mailbox, rows, result, should_stop)
        if self.imap_factory is not None:
            self._file_copies(result)
        return result

    def _send_mailbox(self, mailbox: str, rows: list[dict[str, Any]], result: FlushResult,
                      should_stop: Callable[[], bool]) -> None:
        connection = None
        try:
            for index, row in enumerate(rows):
                if should_stop():
                    self._release(rows[index:])
                    return
                try:
                    if connection is None:
                        connection = self.smtp_factory(mailbox)
                        connection.connect()
                    connection.send(row["mail_from"], row["rcpt_to"], row["raw"])
                except PermanentSendError as exc:
                    self._fail(row, str(exc), result)
                    continue
                except (TransientError, AuthError, SecretError) as exc:
                    # The server is unreachable or refuses us: retry this and the rest of the batch later.
                    self.last_error = str(exc)
                    self._smtp_result(mailbox, str(exc))
                    result.errors.append(str(exc))
                    for pending in rows[index:]:
                        self._retry(pending, str(exc), result)
                    log.warning("outbox.deferred", mailbox=mailbox, count=len(rows) - index, error=str(exc))
                    return
                now = self.clock.now()
                with self.store.begin() as conn:
                    repo.mark_sent(conn, row["id"], now)
                    repo.add_event(conn, f"{row['kind']}.sent", now, case_id=row["case_id"],
                                   data={"message_id": row["message_id"], "to": row["rcpt_to"]})
                result.sent += 1
                self.last_error = None
                self._smtp_result(mailbox, None)
                log.info("mail.sent", kind=row["kind"], case_ref=row["case_id"], message_id=row["message_id"])
        finally:
            if connection is not None:
                connection.close()

    def _release(self, rows: list[dict[str, Any]]) -> None:
        now = self.clock.now()
        with self.store.begin() as conn:
            for row in rows:
                repo.mark_retry(conn, row["id"], "released at shutdown", now)

    def _retry(self, row: dict[str, Any], error: str, result: FlushResult) -> None:
        now = self.clock.now()
        attempts = int(row["attempts"]) + 1
        if attempts >= MAX_ATTEMPTS:
            self._fail(row, f"gave up after {attempts} attempts: {error}", result)
            return
        with self.store.begin() as conn:
            repo.mark_retry(conn, row["id"], error, now + timedelta(seconds=retry_delay(attempts)))
        result.retried += 1

    def _fail(self, row: dict[str, Any], error: str, result: FlushResult) -> None:
        now = self.clock.now()
        with self.store.begin() as conn:
            repo.mark_failed(conn, row["id"], error, now)
            repo.add_event(conn, f"{row['kind']}.failed", now, case_id=row["case_id"],
                           data={"message_id": row["message_id"], "error": error[:500]})
        result.failed += 1
        log.error("mail.failed", kind=row["kind"], message_id=row["message_id"], error=error[:500])

    def _file_copies(self, result: FlushResult) -> None:
        assert self.imap_factory is not None
        with self.store.connect() as conn:
            copies = repo.pending_copies(conn)
        by_mailbox: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in copies:
            by_mailbox[row["mailbox"]].append(row)
        for mailbox, rows in by_mailbox.items():
            try:
                sent_folder = self.runtime().mailbox(mailbox).imap.folders.sent
            except LookupError:
                sent_folder = None
            if not sent_folder:
                with self.store.begin() as conn:
                    for row in rows:
                        repo.mark_copied(conn, row["id"], "skipped")
                continue
            try:
                with self.imap_factory(mailbox) as imap:
                    for row in rows:
                        imap.append(sent_folder, row["raw"])
                        with self.store.begin() as conn:
                            repo.mark_copied(conn, row["id"])
                        result.copied += 1
            except (ImapError, AuthError, SecretError) as exc:
                log.warning("sent_copy.deferred", mailbox=mailbox, error=str(exc))

"""Queries over the durable state. The only module that writes SQL.

Functions take an open connection, so that the caller decides the transaction: ingest
records a message and everything it caused in one.
"""

from __future__ import annotations

import errno
import json
import secrets
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Text, bindparam, cast, exc, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from inboxd.core.cases import CaseState
from inboxd.core.decide import SenderHistory
from inboxd.core.eta import FirstResponse, PromiseRecord, WaitingCase
from inboxd.core.followups import PromiseView
from inboxd.core.tick import OpenTeamPromise, OverduePromise
from inboxd.errors import InboxdError, StoreUnavailable, WriteConflict
from inboxd.store.db import READ_ONLY, read_connection
from inboxd.store.schema import (
    bounced_addresses,
    case_number_seq,
    cases,
    counters,
    events,
    folder_state,
    messages,
    meta,
    outbox,
    promises,
    scheduled,
)

FIRST_CASE_NUMBER = 1001


@contextmanager
def _faults_translated() -> Iterator[None]:
    """Turn a failure of the database itself into StoreUnavailable/WriteConflict; let the rest pass."""
    try:
        yield
    except InboxdError:
        raise
    except Exception as error:
        fault = store_fault(error)
        if fault is None:
            raise
        raise fault(describe_fault(error)) from error


class Store:
    """The database behind one or several daemons."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite has one writer at a time, and its busy handler sleeps and retries: a thread that
        # commits in a tight loop (ingesting a backlog) would starve the others (the sender) for
        # as long as the loop lasts. A lock in the process hands the write turn over instead.
        self._write_lock = threading.Lock() if engine.dialect.name == "sqlite" else None

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction, committed on success and rolled back on error.

        A failure of the database itself (see ``store_fault``) comes out as ``StoreUnavailable`` or
        ``WriteConflict``; any other exception raised inside the block passes through unchanged.
        """
        with _faults_translated():
            if self._write_lock is None:
                with self.engine.begin() as conn:
                    yield conn
                return
            with self._write_lock, self.engine.begin() as conn:
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A transaction that only reads and is rolled back at the end (``inboxd explain`` gathers in one);
        see :meth:`read_only`."""
        with self.read_only() as conn:
            yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reading only; database failures are translated as in ``begin``.

        On SQLite its transaction begins deferred: it reads a snapshot and never holds the write lock, so
        a long read (the status page, a report) does not hold up the daemon's writers.
        """
        with _faults_translated(), read_connection(self.engine) as conn:
            yield conn

    @contextmanager
    def read_only(self) -> Iterator[Connection]:
        """One read-only transaction, always rolled back: a write inside it fails.

        PostgreSQL: a READ ONLY transaction. SQLite: ``PRAGMA query_only`` on the connection, and a
        deferred BEGIN (no write lock is taken, so the daemon keeps writing meanwhile).
        """
        with _faults_translated(), self.engine.connect() as conn:
            if self.engine.dialect.name != "sqlite":
                conn = conn.execution_options(postgresql_readonly=True)
                transaction = conn.begin()
                try:
                    yield conn
                finally:
                    transaction.rollback()
                return
            dbapi = conn.connection.dbapi_connection
            assert dbapi is not None
            conn.execution_options(**{READ_ONLY: True})  # a deferred BEGIN (inboxd.store.db)
            dbapi.execute("PRAGMA query_only = ON")
            try:
                transaction = conn.begin()
                try:
                    yield conn
                finally:
                    transaction.rollback()
            finally:
                dbapi.execute("PRAGMA query_only = OFF")

    def dispose(self) -> None:
        self.engine.dispose()



# -- faults of the database ---------------------------------------------------------------------

# SQLSTATE classes (PostgreSQL) of a server or connection in trouble: 08 connection, 53 insufficient
# resources (disk full, out of memory), 57 operator intervention (shutdown), 58 system (I/O) errors.
_UNAVAILABLE_CLASSES = ("08", "53", "57", "58")
# Read-only transaction, lock not available, object in use.
_UNAVAILABLE_STATES = ("25006", "55P03", "55006")
# An earlier statement of the transaction failed and its error was swallowed: a fault of the code on this data.
_ABORTED_STATE = "25P02"
# Unique and foreign-key violations: another writer committed first. Class 40: serialization, deadlock.
_CONFLICT_STATES = ("23505", "23503")
# SQLite says what went wrong only in words.
_UNAVAILABLE_WORDS = ("database or disk is full", "disk i/o error", "database is locked", "readonly database",
                      "read-only", "unable to open database", "no space left", "could not connect",
                      "server closed the connection", "database table is locked")
_CONFLICT_WORDS = ("unique constraint failed", "foreign key constraint failed")
# Limits a message's own content can hit (a huge References header): the message's fault, not the database's.
_MESSAGE_WORDS = ("too many sql variables", "too big", "too long")
_DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS)


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def store_fault(error: BaseException) -> type[StoreUnavailable] | None:
    """Whether ``error`` is the database failing (``StoreUnavailable``), a concurrent writer winning
    (``WriteConflict``), or neither (None: the data written or the code writing it is at fault).

    Only the first kind and the second are worth a retry; a message whose processing fails for the
    third reason is the one to quarantine.
    """
    for cause in _causes(error):
        if isinstance(cause, OSError) and cause.errno in _DISK_ERRNOS:
            return StoreUnavailable
        if isinstance(cause, exc.DisconnectionError | exc.TimeoutError):
            return StoreUnavailable
        if not isinstance(cause, exc.DBAPIError):
            continue
        if cause.connection_invalidated:
            return StoreUnavailable
        state = str(getattr(cause.orig, "sqlstate", None) or getattr(cause.orig, "pgcode", None) or "")
        words = str(cause.orig).lower()
        if state == _ABORTED_STATE:
            return None
        if state.startswith("40") or state in _CONFLICT_STATES:
            return WriteConflict
        if isinstance(cause, exc.IntegrityError):
            return WriteConflict if any(w in words for w in _CONFLICT_WORDS) else None
        if state[:2] in _UNAVAILABLE_CLASSES or state in _UNAVAILABLE_STATES:
            return StoreUnavailable
        if any(w in words for w in _MESSAGE_WORDS):
            return None
        if isinstance(cause, exc.OperationalError | exc.InterfaceError | exc.InternalError):
            return StoreUnavailable
        if any(w in words for w in _UNAVAILABLE_WORDS):
            return StoreUnavailable
    return None


def describe_fault(error: BaseException) -> str:
    """One line for the log and the status: what the database said, without SQL or parameters."""
    orig = error.orig if isinstance(error, exc.DBAPIError) else error
    first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    return f"database unavailable: {first[:300]}"


# -- folders -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FolderState:
    uidvalidity: int
    last_uid: int
    last_poll_at: datetime | None


def get_folder_state(conn: Connection, mailbox: str, folder: str) -> FolderState | None:
    row = conn.execute(
        select(folder_state.c.uidvalidity, folder_state.c.last_uid, folder_state.c.last_poll_at).where(
            folder_state.c.mailbox == mailbox, folder_state.c.folder == folder)
    ).first()
    return FolderState(row.uidvalidity, row.last_uid, row.last_poll_at) if row else None


# The statements of the per-message path are built once, here, with bound parameters: building a statement
# and its cache key costs SQLAlchemy several times what running it costs SQLite (a prebuilt select runs in about
# a quarter of the time of one built per call). Parameter names start with ``b_`` where a column's name would
# clash with the SET clause of an UPDATE.
_FOLDER_WHERE = (folder_state.c.mailbox == bindparam("b_mailbox"), folder_state.c.folder == bindparam("b_folder"))
_ADVANCE_FOLDER = (
    update(folder_state)
    .where(*_FOLDER_WHERE, or_(folder_state.c.uidvalidity != bindparam("b_uidvalidity"),
                               folder_state.c.last_uid < bindparam("b_last_uid")))
    .values(uidvalidity=bindparam("b_uidvalidity"), last_uid=bindparam("b_last_uid"),
            updated_at=bindparam("b_now"), last_poll_at=bindparam("b_now")))
_FOLDER_ROW = select(folder_state.c.id).where(*_FOLDER_WHERE)


def set_folder_state(conn: Connection, mailbox: str, folder: str, uidvalidity: int, last_uid: int,
                     now: datetime) -> None:
    """Record that every UID up to ``last_uid`` is done (never moves backwards within a UIDVALIDITY)."""
    moved = conn.execute(_ADVANCE_FOLDER, {"b_mailbox": mailbox, "b_folder": folder, "b_uidvalidity": uidvalidity,
                                           "b_last_uid": last_uid, "b_now": now})
    if moved.rowcount:
        return
    if conn.execute(_FOLDER_ROW, {"b_mailbox": mailbox, "b_folder": folder}).first() is None:
        conn.execute(insert(folder_state).values(mailbox=mailbox, folder=folder, uidvalidity=uidvalidity,
                                                 last_uid=last_uid, updated_at=now, last_poll_at=now))


def touch_folder(conn: Connection, mailbox: str, folder: str, now: datetime) -> None:
    conn.execute(update(folder_state).where(folder_state.c.mailbox == mailbox, folder_state.c.folder == folder)
                 .values(last_poll_at=now))


# -- messages ------------------------------------------------------------------------------------


_HAS_MESSAGE = select(messages.c.id).where(messages.c.message_id == bindparam("message_id"),
                                           messages.c.content_hash == bindparam("content_hash"))
_OUTBOX_KINDS = select(outbox.c.kind).where(outbox.c.message_id.in_(bindparam("ids", expanding=True)))
_OWN_MESSAGE_ID = select(outbox.c.id).where(outbox.c.message_id == bindparam("message_id"))


def has_message(conn: Connection, message_id: str, content_hash: str) -> bool:
    return conn.execute(_HAS_MESSAGE, {"message_id": message_id, "content_hash": content_hash}).first() is not None


def outbox_kinds(conn: Connection, message_ids: Iterable[str]) -> set[str]:
    """The kinds of our messages among these Message-IDs (what a reply answers: an ack, a resolved notice …)."""
    ids = [m for m in message_ids if m][:200]
    if not ids:
        return set()
    return {str(r.kind) for r in conn.execute(_OUTBOX_KINDS, {"ids": ids})}


def is_own_message_id(conn: Connection, message_id: str) -> bool:
    return conn.execute(_OWN_MESSAGE_ID, {"message_id": message_id}).first() is not None


MESSAGE_ID_SECRET = "message_id_secret"
_SECRET = select(meta.c.value).where(meta.c.key == MESSAGE_ID_SECRET)


def message_id_secret(conn: Connection) -> bytes:
    """The secret inboxd's Message-IDs are keyed with: made on first use, then the same for good.

    Several daemons sharing a database race to make it; the first insert wins and every daemon
    reads that one. Never log the value.
    """
    row = conn.execute(_SECRET).first()
    if row is None:
        try:
            with conn.begin_nested():
                conn.execute(insert(meta), {"key": MESSAGE_ID_SECRET, "value": secrets.token_hex(32)})
        except exc.IntegrityError:
            pass  # another daemon made it first
        row = conn.execute(_SECRET).one()
    return bytes.fromhex(str(row.value))


_INSERT_MESSAGE = insert(messages)


def insert_message(conn: Connection, **values: Any) -> int:
    result = conn.execute(_INSERT_MESSAGE, values)
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def quarantined_messages(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(select(messages.c.id, messages.c.mailbox, messages.c.folder, messages.c.uid,
                               messages.c.message_id, messages.c.error, messages.c.received_at)
                        .where(messages.c.status == "quarantined").order_by(messages.c.id.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]


# -- threading index -----------------------------------------------------------------------------


_CASE_OF_MESSAGES = (
    select(cases.c.number).select_from(messages.join(cases, messages.c.case_id == cases.c.id))
    .where(messages.c.message_id.in_(bindparam("ids", expanding=True))).order_by(messages.c.id.desc()).limit(1))
_CASE_OF_OUTBOX = (
    select(cases.c.number).select_from(outbox.join(cases, outbox.c.case_id == cases.c.id))
    .where(outbox.c.message_id.in_(bindparam("ids", expanding=True))).order_by(outbox.c.id.desc()).limit(1))
_CASE_ID = select(cases.c.id).where(cases.c.number == bindparam("number"))
_RECENT_CASE = (
    select(cases.c.number).where(cases.c.customer == bindparam("customer"),
                                 cases.c.subject_key == bindparam("subject_key"),
                                 cases.c.status.in_(("waiting_on_us", "waiting_on_customer")),
                                 cases.c.last_activity_at >= bindparam("since"))
    .order_by(cases.c.number.desc()).limit(1))


class ConnIndex:
    """The :class:`inboxd.mail.threading.ThreadIndex` over one connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def case_for_message_ids(self, message_ids: Iterable[str]) -> int | None:
        ids = [m for m in message_ids if m][:200]
        if not ids:
            return None
        row = self.conn.execute(_CASE_OF_MESSAGES, {"ids": ids}).first()
        if row is None:
            row = self.conn.execute(_CASE_OF_OUTBOX, {"ids": ids}).first()
        return int(row.number) if row else None

    def case_exists(self, number: int) -> bool:
        return self.conn.execute(_CASE_ID, {"number": number}).first() is not None

    def on_case(self, number: int, address: str) -> bool:
        row = self.conn.execute(select(cases.c.id, cases.c.customer).where(cases.c.number == number)).first()
        if row is None:
            return False
        address = address.lower()
        if not address:
            return False
        if row.customer == address:
            return True
        if self.conn.execute(select(messages.c.id).where(
                messages.c.case_id == row.id, messages.c.from_addr == address).limit(1)).first() is not None:
            return True
        # Whoever the case's mail was addressed to or copied to (a colleague in Cc), and whoever we
        # wrote to on it (the customer's Reply-To).
        for (summary,) in self.conn.execute(select(messages.c.summary).where(messages.c.case_id == row.id)
                                            .order_by(messages.c.id).limit(500)):
            if isinstance(summary, dict) and any(
                    isinstance(a, str) and a.lower() == address
                    for a in (*(summary.get("to") or ()), *(summary.get("cc") or ()))):
                return True
        for (rcpt,) in self.conn.execute(select(outbox.c.rcpt_to).where(outbox.c.case_id == row.id)
                                         .order_by(outbox.c.id).limit(500)):
            if isinstance(rcpt, list) and any(isinstance(a, str) and a.lower() == address for a in rcpt):
                return True
        return False

    def recent_case_for(self, sender: str, subject_key: str, since: datetime) -> int | None:
        row = self.conn.execute(_RECENT_CASE, {"customer": sender.lower(), "subject_key": subject_key[:500],
                                               "since": since}).first()
        return int(row.number) if row else None


# -- cases ---------------------------------------------------------------------------------------


_CASE_BY_NUMBER = select(cases).where(cases.c.number == bindparam("number"))
_CASE_ACKED = select(outbox.c.id).where(outbox.c.case_id == bindparam("case_id"), outbox.c.kind == "ack")


def case_state(conn: Connection, number: int) -> CaseState | None:
    row = conn.execute(_CASE_BY_NUMBER, {"number": number}).first()
    if row is None:
        return None
    acked = conn.execute(_CASE_ACKED, {"case_id": row.id}).first()
    return CaseState(number=row.number, status=row.status, customer=row.customer, priority=row.priority,
                     language=row.language, subject=row.subject, opened_at=row.opened_at,
                     first_response_at=row.first_response_at, acknowledged=acked is not None,
                     resolved_at=row.resolved_at, last_activity_at=row.last_activity_at)


def case_id(conn: Connection, number: int) -> int:
    row = conn.execute(_CASE_ID, {"number": number}).first()
    if row is None:
        raise LookupError(f"no case {number}")
    return int(row.id)


_HIGHEST_CASE_NUMBER = select(func.max(cases.c.number))
_INSERT_CASE = insert(cases)


def insert_case(conn: Connection, *, mailbox: str, customer: str, customer_name: str, subject: str,
                priority: str, language: str, now: datetime, subject_key: str | None = None,
                linked_to: int | None = None, update_overrides: dict[str, Any] | None = None,
                tags: Sequence[str] = (), assignee: str | None = None,
                template_set: str | None = None) -> tuple[int, int]:
    """Open a case; return (id, number). Numbers are sequential from 1001.

    PostgreSQL draws the number from a sequence: writers there run side by side, and two of them
    reading the same highest number would collide. SQLite has one writer at a time (``BEGIN
    IMMEDIATE`` takes the write lock before this read), so the highest number plus one is safe there.
    A number drawn in a transaction that rolls back is not reused (a gap, never a duplicate).
    """
    if conn.dialect.name == "postgresql":
        number = int(conn.scalar(case_number_seq.next_value()) or 0)
    else:
        highest = conn.execute(_HIGHEST_CASE_NUMBER).scalar()
        number = max(int(highest or 0) + 1, FIRST_CASE_NUMBER)
    result = conn.execute(_INSERT_CASE, dict(
        number=number, mailbox=mailbox, status="waiting_on_us", priority=priority, language=language,
        customer=customer, customer_name=customer_name or None, subject=subject, opened_at=now,
        last_activity_at=now, subject_key=(subject_key or "")[:500] or None, linked_to=linked_to,
        update_overrides=update_overrides or None, tags=list(tags) or None, assignee=assignee,
        template_set=template_set))
    return int(result.inserted_primary_key[0]), number  # type: ignore[index]


_UPDATE_CASE = update(cases).where(cases.c.number == bindparam("b_number"))


def update_case(conn: Connection, number: int, **values: Any) -> None:
    # The SET clause is the keys given (SQLAlchemy caches one compiled form for each set of keys).
    conn.execute(_UPDATE_CASE, {**values, "b_number": number})


_WRITE_BUFFER = "inboxd.write_buffer"


_INSERT_EVENT = insert(events)


def add_event(conn: Connection, kind: str, now: datetime, *, case_id: int | None = None,
              message_ref: int | None = None, data: dict[str, Any] | None = None) -> None:
    row = {"at": now, "case_id": case_id, "message_ref": message_ref, "kind": kind, "data": data}
    buffer = conn.info.get(_WRITE_BUFFER)
    if buffer is not None:
        buffer.events.append(row)
        return
    conn.execute(_INSERT_EVENT, row)


class _WriteBuffer:
    """What :func:`buffered_writes` holds back: events, the outbox's and the schedule's new rows (for the keys
    it was told of, whose existing rows it read first), and the times cases were last heard."""

    def __init__(self, conn: Connection, outbox_keys: Iterable[str], schedule_keys: Iterable[str]) -> None:
        self.outbox_keys, self.schedule_keys = set(outbox_keys), set(schedule_keys)
        self.outbox_taken = {str(k) for k in conn.execute(select(outbox.c.idempotency_key).where(
            outbox.c.idempotency_key.in_(sorted(self.outbox_keys))))} if self.outbox_keys else set()
        self.schedule_taken = {str(k) for k in conn.execute(select(scheduled.c.key).where(
            scheduled.c.key.in_(sorted(self.schedule_keys))))} if self.schedule_keys else set()
        self.events: list[dict[str, Any]] = []
        self.outbox_rows: list[dict[str, Any]] = []
        self.scheduled_rows: list[dict[str, Any]] = []
        self.heard: dict[int, datetime] = {}  # case number → last heard

    @staticmethod
    def hold_new(keys: set[str], taken: set[str], rows: list[dict[str, Any]], key: str,
                 row: dict[str, Any]) -> bool | None:
        """Hold back ``row`` when ``key`` is one of ``keys``: True when it is new, False when taken; None: not ours."""
        if key not in keys:
            return None
        if key in taken:
            return False
        taken.add(key)
        rows.append(row)
        return True

    def flush(self, conn: Connection) -> None:
        if self.outbox_rows:
            conn.execute(_insert_new(conn, outbox, "idempotency_key", returning=False), self.outbox_rows)
        if self.scheduled_rows:
            conn.execute(_insert_new(conn, scheduled, "key", returning=False), self.scheduled_rows)
        by_time: dict[datetime, list[int]] = {}
        for number, at in self.heard.items():
            by_time.setdefault(at, []).append(number)
        for at, numbers in by_time.items():
            conn.execute(update(cases).where(cases.c.number.in_(sorted(numbers))).values(last_heard_at=at))
        if self.events:
            conn.execute(insert(events), self.events)


@contextmanager
def buffered_writes(conn: Connection, *, outbox_keys: Iterable[str] = (),
                    schedule_keys: Iterable[str] = ()) -> Iterator[None]:
    """Within this block, some writes are collected and made on leaving it, a statement (an ``executemany``)
    for each kind, in the order they were asked for: :func:`add_event`; :func:`enqueue` and :func:`schedule` for
    the keys given here (which rows with these keys exist is read once, on entering); :func:`mark_heard`.
    Nothing in the block may read these back; when the block raises, they are dropped with the transaction."""
    if _WRITE_BUFFER in conn.info:
        raise RuntimeError("writes are buffered already")
    buffer = _WriteBuffer(conn, outbox_keys, schedule_keys)
    conn.info[_WRITE_BUFFER] = buffer
    try:
        yield
    finally:
        conn.info.pop(_WRITE_BUFFER, None)
    buffer.flush(conn)


def mark_heard(conn: Connection, number: int, now: datetime) -> None:
    """The case's customer heard from us at ``now`` (``last_heard_at``)."""
    buffer = conn.info.get(_WRITE_BUFFER)
    if buffer is not None:
        buffer.heard[number] = now
        return
    update_case(conn, number, last_heard_at=now)


def _insert_new(conn: Connection, table: Any, key: str, returning: bool = True) -> Any:
    """``INSERT … ON CONFLICT (key) DO NOTHING RETURNING id``: one statement where a check and an insert were
    two, and a concurrent writer of the same key makes it a no-op instead of failing the transaction. Whether a
    row was written is whether one comes back (on PostgreSQL, where ``rowcount`` does not tell)."""
    made = (conn.dialect.name, table.name, key, returning)
    statement = _INSERT_NEW.get(made)
    if statement is None:
        if conn.dialect.name == "postgresql":
            statement = pg_dialect.insert(table).on_conflict_do_nothing(index_elements=[key])
            statement = statement.returning(table.c.id) if returning else statement
        else:
            statement = sqlite_dialect.insert(table).on_conflict_do_nothing(index_elements=[key])
        _INSERT_NEW[made] = statement
    return statement


_INSERT_NEW: dict[tuple[str, str, str, bool], Any] = {}


def _inserted(result: Any) -> bool:
    """Whether :func:`_insert_new` wrote its row: one came back (PostgreSQL), or one changed (SQLite)."""
    return result.first() is not None if result.returns_rows else bool(result.rowcount)


def _cases_of(customer: Any) -> Any:
    """The ids of a customer's cases, as a subquery: a customer's mail is found through their few cases
    (``cases(customer)``, then ``outbox(case_id, kind)``), never by reading every acknowledgement."""
    return select(cases.c.id).where(cases.c.customer == customer)


_SENDER_ACKS = (select(func.count()).select_from(outbox)
                .where(outbox.c.case_id.in_(_cases_of(bindparam("sender"))), outbox.c.kind == "ack",
                       outbox.c.created_at >= bindparam("since")))
_SENDER_BURST = (select(func.count()).select_from(messages)
                 .where(messages.c.from_addr == bindparam("sender"), messages.c.direction == "in",
                        messages.c.sent_at >= bindparam("since"), messages.c.sent_at <= bindparam("until")))
_ACKS_TO = select(func.count()).select_from(outbox).where(
    outbox.c.recipient == bindparam("recipient"), outbox.c.created_at >= bindparam("since"), outbox.c.kind == "ack")
_ACKS_TOTAL = select(func.count()).select_from(outbox).where(
    outbox.c.kind == "ack", outbox.c.created_at >= bindparam("since"))


def sender_history(conn: Connection, sender: str, *, acks_since: datetime, burst_since: datetime,
                   burst_until: datetime) -> SenderHistory:
    acks = conn.execute(_SENDER_ACKS, {"sender": sender, "since": acks_since}).scalar()
    burst = conn.execute(_SENDER_BURST, {"sender": sender, "since": burst_since, "until": burst_until}).scalar()
    return SenderHistory(acks_in_window=int(acks or 0), messages_in_burst_window=int(burst or 0))


def acks_to(conn: Connection, recipient: str, since: datetime) -> int:
    """How many acknowledgements went (or are queued) to this address since ``since``."""
    count = conn.execute(_ACKS_TO, {"recipient": recipient.lower(), "since": since}).scalar()
    return int(count or 0)


def acks_total(conn: Connection, since: datetime) -> int:
    """How many acknowledgements were queued since ``since``, to anyone."""
    count = conn.execute(_ACKS_TOTAL, {"since": since}).scalar()
    return int(count or 0)


# -- bounces -------------------------------------------------------------------------------------


_BOUNCED = select(bounced_addresses.c.id).where(bounced_addresses.c.address == bindparam("address"))


def is_bounced(conn: Connection, address: str) -> bool:
    return conn.execute(_BOUNCED, {"address": address.lower()}).first() is not None


def record_bounce(conn: Connection, address: str, now: datetime, *, case_id: int | None, status: str | None,
                  message_ref: int | None) -> None:
    address = address.lower()
    if is_bounced(conn, address):
        conn.execute(update(bounced_addresses).where(bounced_addresses.c.address == address)
                     .values(bounced_at=now, case_id=case_id, status=status, message_ref=message_ref))
    else:
        conn.execute(insert(bounced_addresses), {"address": address, "bounced_at": now, "case_id": case_id,
                                                 "status": status, "message_ref": message_ref})


def clear_bounce(conn: Connection, address: str) -> None:
    conn.execute(bounced_addresses.delete().where(bounced_addresses.c.address == address.lower()))


def mark_case_unreachable(conn: Connection, case_id: int, now: datetime) -> None:
    conn.execute(update(cases).where(cases.c.id == case_id).values(unreachable_at=now))


def cases_of_customer(conn: Connection, address: str) -> list[int]:
    """Open cases whose customer is this address."""
    rows = conn.execute(select(cases.c.id).where(cases.c.customer == address.lower(),
                                                 cases.c.status.in_(("waiting_on_us", "waiting_on_customer"))))
    return [int(r.id) for r in rows]


# -- promises ------------------------------------------------------------------------------------


_INSERT_PROMISE = insert(promises)


def add_promise(conn: Connection, *, case_id: int, owner: str, source: str, text: str, made_at: datetime,
                due_at: datetime, source_message_id: str | None = None, predicted_bh: float | None = None,
                spread_bh: float | None = None) -> int:
    result = conn.execute(_INSERT_PROMISE, {"case_id": case_id, "owner": owner, "source": source, "text": text,
                                             "made_at": made_at, "due_at": due_at, "state": "open",
                                             "source_message_id": source_message_id,
                                             "predicted_bh": predicted_bh, "spread_bh": spread_bh})
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def overdue_team_promises(conn: Connection, now: datetime) -> list[OverduePromise]:
    """The team's open promises whose due time has passed, locked for this transaction (the tick breaks them).

    Staff commitments are settled by their escalation item instead, which also tells the lead.
    """
    rows = conn.execute(select(promises.c.id, promises.c.case_id, promises.c.owner, promises.c.due_at)
                        .where(promises.c.state == "open", promises.c.owner == "team", promises.c.due_at < now)
                        .order_by(promises.c.due_at, promises.c.id).with_for_update(skip_locked=True))
    return [OverduePromise(id=r.id, case_ref=r.case_id, owner=r.owner, due_at=r.due_at) for r in rows]


# -- what the estimate needs (a few indexed queries; see inboxd.core.eta) ----------------------------------


def waiting_for_first_response(conn: Connection) -> list[WaitingCase]:
    """Cases still waiting for their first response (index ``cases(first_response_at, opened_at)``)."""
    rows = conn.execute(select(cases.c.number, cases.c.priority, cases.c.opened_at)
                        .where(cases.c.first_response_at.is_(None), cases.c.status == "waiting_on_us"))
    return [WaitingCase(opened_at=r.opened_at, priority=r.priority, number=r.number) for r in rows]


def last_case_id(conn: Connection) -> int:
    return int(conn.execute(select(func.max(cases.c.id))).scalar() or 0)


def waiting_opened_after(conn: Connection, case_id: int, *, besides: int | None = None) -> dict[str, int]:
    """Cases waiting for their first response with an id above ``case_id`` (opened since), by priority, leaving
    out case number ``besides``: what every daemon opened since a queue snapshot was taken (primary key range)."""
    query = (select(cases.c.priority, func.count()).where(cases.c.id > case_id, cases.c.first_response_at.is_(None),
                                                          cases.c.status == "waiting_on_us"))
    if besides is not None:
        query = query.where(cases.c.number != besides)
    return {str(priority): int(count) for priority, count in conn.execute(query.group_by(cases.c.priority))}


def recent_first_responses(conn: Connection, since: datetime, limit: int = 1000) -> list[FirstResponse]:
    """First responses since ``since``, newest first."""
    rows = conn.execute(select(cases.c.opened_at, cases.c.first_response_at, cases.c.priority)
                        .where(cases.c.first_response_at >= since)
                        .order_by(cases.c.first_response_at.desc()).limit(limit))
    return [FirstResponse(r.opened_at, r.first_response_at, r.priority) for r in rows]


def recent_team_promises(conn: Connection, since: datetime, limit: int = 500) -> list[PromiseRecord]:
    """The team's promises made since ``since``, newest first, with how their cases went: the calibration."""
    rows = conn.execute(
        select(promises.c.made_at, promises.c.due_at, promises.c.predicted_bh, promises.c.spread_bh,
               promises.c.source, cases.c.first_response_at, cases.c.priority)
        .select_from(promises.join(cases, promises.c.case_id == cases.c.id))
        .where(promises.c.owner == "team", promises.c.made_at >= since)
        .order_by(promises.c.made_at.desc()).limit(limit))
    return [PromiseRecord(made_at=r.made_at, due_at=r.due_at, first_response_at=r.first_response_at,
                          priority=r.priority, predicted_bh=r.predicted_bh, spread_bh=r.spread_bh,
                          first=r.source != "delay_notice") for r in rows]


def open_team_promises_waiting(conn: Connection) -> list[OpenTeamPromise]:
    """Open team promises on cases still waiting for their first response: the tick's delay-notice check."""
    rows = conn.execute(
        select(promises.c.id, promises.c.case_id, promises.c.due_at, promises.c.made_at, cases.c.number,
               cases.c.customer_utc_offset)
        .select_from(promises.join(cases, promises.c.case_id == cases.c.id))
        .where(promises.c.owner == "team", promises.c.state == "open", cases.c.first_response_at.is_(None))
        .order_by(promises.c.id))
    return [OpenTeamPromise(id=r.id, case_number=r.number, case_ref=r.case_id, made_at=r.made_at, due_at=r.due_at,
                            customer_utc_offset=r.customer_utc_offset) for r in rows]


def _promise_view(row: Any) -> PromiseView:
    return PromiseView(id=row.id, owner=row.owner, source=row.source, text=row.text, made_at=row.made_at,
                       due_at=row.due_at, state=row.state, source_message_id=row.source_message_id)


def promise_view(conn: Connection, promise_id: int) -> PromiseView | None:
    row = conn.execute(select(promises).where(promises.c.id == promise_id)).first()
    return _promise_view(row) if row else None


def open_staff_promises(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(promises).where(promises.c.case_id == case_id, promises.c.owner != "team",
                                               promises.c.state == "open").order_by(promises.c.id))
    return [dict(r._mapping) for r in rows]


_OPEN_PROMISES = (select(promises).where(promises.c.case_id == bindparam("case_id"), promises.c.state == "open")
                  .order_by(promises.c.id))


def open_promises(conn: Connection, case_id: int) -> list[PromiseView]:
    """The case's open promises: the team's (acknowledgements, delay notices) and staff commitments."""
    rows = conn.execute(_OPEN_PROMISES, {"case_id": case_id})
    return [PromiseView(id=r.id, owner=r.owner, source=r.source, text=r.text, made_at=_aware(r.made_at) or r.made_at,
                        due_at=_aware(r.due_at) or r.due_at, state=r.state, source_message_id=r.source_message_id)
            for r in rows]


def settle_promises(conn: Connection, promise_ids: Sequence[int], state: str, now: datetime) -> int:
    """Settle the promises among these that are still open; how many were."""
    if not promise_ids:
        return 0
    result = conn.execute(update(promises).where(promises.c.id.in_(list(promise_ids)), promises.c.state == "open")
                          .values(state=state, settled_at=now))
    return int(result.rowcount or 0)


def settle_promise(conn: Connection, promise_id: int, state: str, now: datetime) -> bool:
    """Settle an open promise; False when it was settled already."""
    result = conn.execute(update(promises).where(promises.c.id == promise_id, promises.c.state == "open")
                          .values(state=state, settled_at=now))
    return bool(result.rowcount)


@dataclass(frozen=True)
class DigestCase:
    """A case on a digest: a commitment or team promise due (``at`` its due time), or a case waiting
    (``at`` its last activity)."""

    number: int
    subject: str
    customer: str
    at: datetime
    text: str = ""  # the commitment in the staff member's own words


def digest_commitments(conn: Connection, owner: str, until: datetime) -> list[DigestCase]:
    """A staff member's open commitments due before ``until`` (or overdue), soonest first."""
    rows = conn.execute(
        select(cases.c.number, cases.c.subject, cases.c.customer, promises.c.due_at, promises.c.text)
        .select_from(promises.join(cases, promises.c.case_id == cases.c.id))
        .where(promises.c.owner == owner, promises.c.state == "open", promises.c.due_at <= until)
        .order_by(promises.c.due_at).limit(50))
    return [DigestCase(r.number, r.subject, r.customer, r.due_at, r.text) for r in rows]


def digest_waiting(conn: Connection, assignee: str | None, include_unassigned: bool,
                   limit: int = 10) -> list[DigestCase]:
    """Cases waiting on us longest: those assigned to someone (and, for leads, the unassigned ones)."""
    who = [cases.c.assignee == assignee] if assignee else []
    if include_unassigned:
        who.append(cases.c.assignee.is_(None))
    if not who:
        return []
    rows = conn.execute(select(cases.c.number, cases.c.subject, cases.c.customer, cases.c.last_activity_at)
                        .where(cases.c.status == "waiting_on_us", or_(*who))
                        .order_by(cases.c.last_activity_at).limit(limit))
    return [DigestCase(r.number, r.subject, r.customer, r.last_activity_at) for r in rows]


def digest_team_promises(conn: Connection, until: datetime, limit: int = 20) -> list[DigestCase]:
    """The team's open promises due before ``until`` (or overdue), soonest first: a lead's "at risk"."""
    rows = conn.execute(
        select(cases.c.number, cases.c.subject, cases.c.customer, promises.c.due_at)
        .select_from(promises.join(cases, promises.c.case_id == cases.c.id))
        .where(promises.c.owner == "team", promises.c.state == "open", promises.c.due_at <= until)
        .order_by(promises.c.due_at).limit(limit))
    return [DigestCase(r.number, r.subject, r.customer, r.due_at) for r in rows]


# -- scheduled work ------------------------------------------------------------------------------

SCHEDULE_LEASE = timedelta(minutes=5)


def schedule(conn: Connection, *, key: str, kind: str, case_id: int | None, due_at: datetime,
             payload: dict[str, Any], now: datetime) -> bool:
    """Schedule an item once: a second call with the same key changes nothing (and returns False)."""
    row = {"key": key, "kind": kind, "case_id": case_id, "due_at": due_at, "payload": payload, "created_at": now}
    buffer: _WriteBuffer | None = conn.info.get(_WRITE_BUFFER)
    if buffer is not None:
        held = buffer.hold_new(buffer.schedule_keys, buffer.schedule_taken, buffer.scheduled_rows, key, row)
        if held is not None:
            return held
    result = conn.execute(_insert_new(conn, scheduled, "key"), row)
    return _inserted(result)


@dataclass(frozen=True)
class ClaimedItem:
    """A scheduled item this worker holds the lease of; ``kind`` is the column's text (see ``DueKind``)."""

    id: int
    key: str
    kind: str
    case_ref: int | None
    due_at: datetime
    payload: dict[str, Any]


def claim_due(conn: Connection, now: datetime, worker: str, limit: int = 100,
              lease: timedelta = SCHEDULE_LEASE) -> list[ClaimedItem]:
    """Claim items that are due (a lease, like the outbox's): each is handled by one daemon."""
    rows = conn.execute(
        select(scheduled.c.id, scheduled.c.key, scheduled.c.kind, scheduled.c.case_id, scheduled.c.due_at,
               scheduled.c.payload)
        .where(scheduled.c.done_at.is_(None), scheduled.c.due_at <= now,
               or_(scheduled.c.claimed_until.is_(None), scheduled.c.claimed_until < now))
        .order_by(scheduled.c.due_at, scheduled.c.id).limit(limit)
        .with_for_update(skip_locked=True)).all()
    if rows:
        conn.execute(update(scheduled).where(scheduled.c.id.in_([r.id for r in rows]))
                     .values(claimed_by=worker, claimed_until=now + lease))
    return [ClaimedItem(id=r.id, key=r.key or str(r.id), kind=r.kind, case_ref=r.case_id, due_at=r.due_at,
                        payload=dict(r.payload or {})) for r in rows]


def finish_scheduled(conn: Connection, item_ids: Sequence[int], now: datetime) -> int:
    """Mark items done, in one statement; how many were not done yet (the others another worker finished)."""
    if not item_ids:
        return 0
    result = conn.execute(update(scheduled).where(scheduled.c.id.in_(list(item_ids)), scheduled.c.done_at.is_(None))
                          .values(done_at=now))
    return int(result.rowcount or 0)


def holds_claim(conn: Connection, item_id: int, worker: str) -> bool:
    """Whether ``worker`` still holds its claim on an item that is not done; on PostgreSQL the row stays locked
    until the caller's transaction ends, so nobody can claim or finish it meanwhile (the fence on completion)."""
    row = conn.execute(select(scheduled.c.claimed_by).where(scheduled.c.id == item_id, scheduled.c.done_at.is_(None))
                       .with_for_update()).first()
    return row is not None and row.claimed_by == worker


def claims_held(conn: Connection, item_ids: Sequence[int], worker: str) -> set[int]:
    """Of these items, those ``worker`` still holds and that are not done: :func:`holds_claim` for many, in one
    statement (locking their rows, on PostgreSQL, until the caller's transaction ends)."""
    if not item_ids:
        return set()
    rows = conn.execute(select(scheduled.c.id, scheduled.c.claimed_by)
                        .where(scheduled.c.id.in_(list(item_ids)), scheduled.c.done_at.is_(None))
                        .order_by(scheduled.c.id).with_for_update())
    return {int(r.id) for r in rows if r.claimed_by == worker}


def release_claims(conn: Connection) -> int:
    result = conn.execute(update(scheduled).where(scheduled.c.done_at.is_(None), scheduled.c.claimed_by.isnot(None))
                          .values(claimed_by=None, claimed_until=None))
    return int(result.rowcount or 0)


def scheduled_for_case(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(scheduled.c.kind, scheduled.c.due_at, scheduled.c.done_at, scheduled.c.key)
                        .where(scheduled.c.case_id == case_id).order_by(scheduled.c.due_at))
    return [dict(r._mapping) for r in rows]


_CASE_ROW = select(cases).where(cases.c.id == bindparam("case_id"))


def case_row(conn: Connection, case_id: int) -> dict[str, Any] | None:
    row = conn.execute(_CASE_ROW, {"case_id": case_id}).first()
    return dict(row._mapping) if row else None


@dataclass(frozen=True)
class TickCase:
    """A case as the tick reads it: its state, its timeline, and what mail to its customer needs."""

    ref: int  # the row id
    state: CaseState
    mailbox: str
    customer_name: str | None
    last_customer_at: datetime | None
    last_staff_reply_at: datetime | None
    last_heard_at: datetime | None
    customer_utc_offset: int | None
    opted_out: bool
    snoozed_until: datetime | None
    update_overrides: dict[str, Any] | None
    bounced: bool
    template_set: str | None = None  # a rule routed the case to this template set


def tick_case(conn: Connection, case_ref: int) -> TickCase | None:
    return tick_cases(conn, [case_ref]).get(case_ref)


def tick_cases(conn: Connection, case_refs: Iterable[int]) -> dict[int, TickCase]:
    """:func:`tick_case` for many cases, in three statements whatever their number (by row id)."""
    refs = sorted(set(case_refs))
    if not refs:
        return {}
    rows = conn.execute(select(cases).where(cases.c.id.in_(refs))).all()
    if not rows:
        return {}
    found = [r.id for r in rows]
    acked = {int(r.case_id) for r in conn.execute(
        select(outbox.c.case_id).where(outbox.c.case_id.in_(found), outbox.c.kind == "ack").distinct())}
    addresses = sorted({r.customer.lower() for r in rows})
    bounced = {str(r.address) for r in conn.execute(
        select(bounced_addresses.c.address).where(bounced_addresses.c.address.in_(addresses)))}
    result = {}
    for row in rows:
        state = CaseState(number=row.number, status=row.status, customer=row.customer, priority=row.priority,
                          language=row.language, subject=row.subject, opened_at=row.opened_at,
                          first_response_at=row.first_response_at, acknowledged=row.id in acked,
                          resolved_at=row.resolved_at, last_activity_at=row.last_activity_at)
        result[int(row.id)] = TickCase(
            ref=row.id, state=state, mailbox=row.mailbox, customer_name=row.customer_name,
            last_customer_at=row.last_customer_at, last_staff_reply_at=row.last_staff_reply_at,
            last_heard_at=row.last_heard_at, customer_utc_offset=row.customer_utc_offset,
            opted_out=bool(row.updates_opted_out), snoozed_until=row.snoozed_until,
            update_overrides=row.update_overrides, bounced=row.customer.lower() in bounced,
            template_set=row.template_set)
    return result


def thread_ids(conn: Connection, case_id: int) -> tuple[str | None, str | None, str | None]:
    """(first customer message, last customer message, our acknowledgement): what new mail threads to."""
    first = conn.execute(select(messages.c.message_id).where(messages.c.case_id == case_id,
                                                             messages.c.kind == "customer")
                         .order_by(messages.c.id).limit(1)).scalar()
    last = conn.execute(select(messages.c.message_id).where(messages.c.case_id == case_id,
                                                            messages.c.kind == "customer")
                        .order_by(messages.c.id.desc()).limit(1)).scalar()
    ack = conn.execute(select(outbox.c.message_id).where(outbox.c.case_id == case_id, outbox.c.kind == "ack")
                       .limit(1)).scalar()
    return first, last, ack


def threads_of(conn: Connection, case_ids: Iterable[int]) -> dict[int, tuple[str | None, str | None, str | None]]:
    """:func:`thread_ids` for many cases, in two statements; a case without any of the three is left out.

    Both read by ``case_id`` alone and pick in Python: a case has a few messages, and a condition on ``kind``
    in the statement lets the planner prefer reading every customer message by kind."""
    refs = sorted(set(case_ids))
    if not refs:
        return {}
    ends: dict[int, list[tuple[int, str]]] = {}
    for case, ref, message_id, kind in conn.execute(
            select(messages.c.case_id, messages.c.id, messages.c.message_id, messages.c.kind)
            .where(messages.c.case_id.in_(refs))):
        if kind == "customer":
            ends.setdefault(int(case), []).append((int(ref), message_id))
    acks: dict[int, tuple[int, str]] = {}
    for case, ref, message_id, kind in conn.execute(
            select(outbox.c.case_id, outbox.c.id, outbox.c.message_id, outbox.c.kind)
            .where(outbox.c.case_id.in_(refs))):
        if kind == "ack" and (int(case) not in acks or ref < acks[int(case)][0]):
            acks[int(case)] = (int(ref), message_id)
    result: dict[int, tuple[str | None, str | None, str | None]] = {}
    for case in ends.keys() | acks.keys():
        found = sorted(ends.get(case, []))
        ack = acks.get(case)
        result[case] = (found[0][1] if found else None, found[-1][1] if found else None, ack[1] if ack else None)
    return result


def open_team_promises_of(conn: Connection, case_ids: Iterable[int]) -> dict[int, PromiseView]:
    """:func:`open_team_promise` for many cases, in one statement; a case without one is left out."""
    refs = sorted(set(case_ids))
    if not refs:
        return {}
    rows = conn.execute(select(promises).where(promises.c.case_id.in_(refs), promises.c.owner == "team",
                                               promises.c.state == "open").order_by(promises.c.id))
    return {int(r.case_id): _promise_view(r) for r in rows}  # the newest last: it stays


def promise_views(conn: Connection, promise_ids: Iterable[int]) -> dict[int, PromiseView]:
    """:func:`promise_view` for many promises, in one statement."""
    ids = sorted(set(promise_ids))
    if not ids:
        return {}
    return {int(r.id): _promise_view(r) for r in conn.execute(select(promises).where(promises.c.id.in_(ids)))}


def open_team_promise(conn: Connection, case_id: int) -> PromiseView | None:
    """The case's newest open team promise (what an update repeats)."""
    row = conn.execute(select(promises).where(promises.c.case_id == case_id, promises.c.owner == "team",
                                              promises.c.state == "open").order_by(promises.c.id.desc())).first()
    return _promise_view(row) if row else None


def case_number_of(conn: Connection, case_id: int) -> int | None:
    row = conn.execute(select(cases.c.number).where(cases.c.id == case_id)).first()
    return int(row.number) if row else None


def case_mailbox(conn: Connection, case_id: int) -> str | None:
    row = conn.execute(select(cases.c.mailbox).where(cases.c.id == case_id)).first()
    return str(row.mailbox) if row else None


# -- outbox --------------------------------------------------------------------------------------


def enqueue(conn: Connection, *, idempotency_key: str, message_id: str, kind: str, case_id: int | None,
            mailbox: str, mail_from: str, rcpt_to: Sequence[str], raw: bytes, now: datetime,
            copy_wanted: bool) -> bool:
    """Queue a message; return False when one with the same idempotency key already exists."""
    # One statement: a concurrent writer with the same key makes it a no-op (False), not a failed transaction.
    row = {
        "idempotency_key": idempotency_key, "message_id": message_id, "kind": kind, "case_id": case_id,
        "mailbox": mailbox, "mail_from": mail_from, "rcpt_to": list(rcpt_to), "raw": raw, "state": "pending",
        "recipient": rcpt_to[0].lower()[:320] if len(rcpt_to) == 1 else None,
        "attempts": 0, "next_attempt_at": now, "created_at": now,
        "copy_state": "pending" if copy_wanted else None}
    buffer: _WriteBuffer | None = conn.info.get(_WRITE_BUFFER)
    if buffer is not None:
        held = buffer.hold_new(buffer.outbox_keys, buffer.outbox_taken, buffer.outbox_rows, idempotency_key, row)
        if held is not None:
            return held
    return _inserted(conn.execute(_insert_new(conn, outbox, "idempotency_key"), row))


def outbox_has_key(conn: Connection, idempotency_key: str) -> bool:
    """Whether a message with this idempotency key was ever queued."""
    return conn.execute(select(outbox.c.id).where(outbox.c.idempotency_key == idempotency_key)).first() is not None


SEND_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class QueuedMail:
    """A message the outbox holds, as the sender claims it."""

    id: int
    mailbox: str
    mail_from: str
    rcpt_to: list[str]
    raw: bytes
    attempts: int
    message_id: str
    kind: str
    case_ref: int | None


def claim_outbox(conn: Connection, now: datetime, limit: int = 100, *, worker: str | None = None,
                 lease: timedelta = SEND_LEASE, mailboxes: Sequence[str] | None = None) -> list[QueuedMail]:
    """Claim due messages for sending. A claim is a lease: if the sender dies, it expires and
    another sender (or the restarted daemon) takes the message over. With several daemons, ``worker``
    names the claim's owner: only it may complete the message (the ``worker`` of ``mark_sent`` …), and
    ``mailboxes`` the mailboxes it sends for (those it serves)."""
    only = () if mailboxes is None else (outbox.c.mailbox.in_(list(mailboxes)),)
    rows = conn.execute(
        select(outbox.c.id, outbox.c.mailbox, outbox.c.mail_from, outbox.c.rcpt_to, outbox.c.raw,
               outbox.c.attempts, outbox.c.message_id, outbox.c.kind, outbox.c.case_id)
        .where(or_(outbox.c.state == "pending", outbox.c.state == "sending"), outbox.c.next_attempt_at <= now,
               *only)
        .order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit)
        .with_for_update(skip_locked=True)).all()
    if rows:
        conn.execute(update(outbox).where(outbox.c.id.in_([r.id for r in rows]))
                     .values(state="sending", next_attempt_at=now + lease, claimed_by=worker))
    return [QueuedMail(id=r.id, mailbox=r.mailbox, mail_from=r.mail_from, rcpt_to=list(r.rcpt_to), raw=r.raw,
                       attempts=int(r.attempts), message_id=r.message_id, kind=r.kind, case_ref=r.case_id)
            for r in rows]


def release_sending(conn: Connection, now: datetime) -> int:
    """Give back claims of a daemon that stopped (single-daemon SQLite start-up)."""
    result = conn.execute(update(outbox).where(outbox.c.state == "sending")
                          .values(state="pending", next_attempt_at=now))
    return int(result.rowcount or 0)


def release_outbox_claims(conn: Connection, outbox_ids: list[int], next_attempt_at: datetime) -> int:
    """Give back these claims, where they are still held (not yet marked sent, retried or failed)."""
    result = conn.execute(update(outbox).where(outbox.c.id.in_(outbox_ids), outbox.c.state == "sending")
                          .values(state="pending", next_attempt_at=next_attempt_at))
    return int(result.rowcount or 0)


def _claimed(outbox_id: int, worker: str | None) -> tuple[Any, ...]:
    """The row, and with ``worker`` only while that worker's claim on it stands (fencing)."""
    if worker is None:
        return (outbox.c.id == outbox_id,)
    return (outbox.c.id == outbox_id, outbox.c.state == "sending", outbox.c.claimed_by == worker)


def mark_sent(conn: Connection, outbox_id: int, now: datetime, worker: str | None = None) -> bool:
    """Record a message as sent; False when ``worker``'s claim on it had lapsed and another daemon took it."""
    result = conn.execute(update(outbox).where(*_claimed(outbox_id, worker))
                          .values(state="sent", sent_at=now, attempts=outbox.c.attempts + 1, last_error=None))
    return bool(result.rowcount)


def mark_retry(conn: Connection, outbox_id: int, error: str, next_attempt_at: datetime,
               worker: str | None = None) -> bool:
    result = conn.execute(update(outbox).where(*_claimed(outbox_id, worker))
                          .values(state="pending", attempts=outbox.c.attempts + 1, last_error=error[:2000],
                                  next_attempt_at=next_attempt_at))
    return bool(result.rowcount)


def mark_deferred(conn: Connection, outbox_ids: list[int], error: str, next_attempt_at: datetime,
                  worker: str | None = None) -> None:
    """Put claimed messages back to wait for their server, without counting an attempt: the server was down,
    the messages were not tried."""
    mine = () if worker is None else (outbox.c.claimed_by == worker,)
    conn.execute(update(outbox).where(outbox.c.id.in_(outbox_ids), outbox.c.state == "sending", *mine)
                 .values(state="pending", last_error=error[:2000], next_attempt_at=next_attempt_at))


def mark_failed(conn: Connection, outbox_id: int, error: str, now: datetime, worker: str | None = None) -> bool:
    result = conn.execute(update(outbox).where(*_claimed(outbox_id, worker))
                          .values(state="failed", attempts=outbox.c.attempts + 1, last_error=error[:2000],
                                  next_attempt_at=now))
    return bool(result.rowcount)


@dataclass(frozen=True)
class SentCopy:
    """A sent message whose copy is still to be filed in the mailbox's Sent folder."""

    id: int
    mailbox: str
    raw: bytes
    message_id: str


def pending_copies(conn: Connection, limit: int = 50) -> list[SentCopy]:
    rows = conn.execute(select(outbox.c.id, outbox.c.mailbox, outbox.c.raw, outbox.c.message_id)
                        .where(outbox.c.state == "sent", outbox.c.copy_state == "pending")
                        .order_by(outbox.c.id).limit(limit))
    return [SentCopy(id=r.id, mailbox=r.mailbox, raw=r.raw, message_id=r.message_id) for r in rows]


def mark_copied(conn: Connection, outbox_id: int, state: str = "done") -> None:
    conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(copy_state=state))


def outbox_counts(conn: Connection, states: Sequence[str] | None = None) -> dict[str, int]:
    """Outgoing mail by state; only in ``states`` when given (the queue, without counting every sent mail)."""
    query = select(outbox.c.state, func.count()).group_by(outbox.c.state)
    if states is not None:
        query = query.where(outbox.c.state.in_(list(states)))
    rows = conn.execute(query)
    return {str(state): int(count) for state, count in rows}


# -- reading, for the CLI ------------------------------------------------------------------------


def list_cases(conn: Connection, *, status: str | None = None, limit: int = 50, tag: str | None = None,
               assignee: str | None = None) -> list[dict[str, Any]]:
    open_promise = (select(func.min(promises.c.due_at)).where(promises.c.case_id == cases.c.id,
                                                             promises.c.state == "open")
                    .correlate(cases).scalar_subquery())
    query = select(cases.c.number, cases.c.status, cases.c.priority, cases.c.customer, cases.c.subject,
                   cases.c.language, cases.c.opened_at, cases.c.first_response_at, open_promise.label("promised_by"),
                   cases.c.tags,
                   cases.c.assignee)
    if status:
        query = query.where(cases.c.status == status)
    if tag:
        # Tags are a JSON list of names without quotes or backslashes (the config allows none): the quoted
        # name appears in the list's text exactly when the tag is in it.
        quoted = json.dumps(tag).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(cast(cases.c.tags, Text).like(f"%{quoted}%", escape="\\"))
    if assignee:
        query = query.where(func.lower(cases.c.assignee) == assignee.lower())
    rows = conn.execute(query.order_by(cases.c.number.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]


def case_detail(conn: Connection, number: int) -> dict[str, Any] | None:
    row = conn.execute(select(cases).where(cases.c.number == number)).first()
    if row is None:
        return None
    detail = dict(row._mapping)
    detail["messages"] = [dict(r._mapping) for r in conn.execute(
        select(messages.c.id, messages.c.received_at, messages.c.direction, messages.c.kind, messages.c.from_addr,
               messages.c.subject, messages.c.message_id, messages.c.status)
        .where(messages.c.case_id == row.id).order_by(messages.c.id))]
    detail["sent"] = [dict(r._mapping) for r in conn.execute(
        select(outbox.c.id, outbox.c.created_at, outbox.c.kind, outbox.c.rcpt_to, outbox.c.state,
               outbox.c.sent_at, outbox.c.message_id, outbox.c.attempts, outbox.c.last_error)
        .where(outbox.c.case_id == row.id).order_by(outbox.c.id))]
    detail["promises"] = [dict(r._mapping) for r in conn.execute(
        select(promises.c.owner, promises.c.source, promises.c.text, promises.c.made_at, promises.c.due_at,
               promises.c.state, promises.c.settled_at)
        .where(promises.c.case_id == row.id).order_by(promises.c.id))]
    detail["scheduled"] = scheduled_for_case(conn, row.id)
    detail["events"] = [dict(r._mapping) for r in conn.execute(
        select(events.c.at, events.c.kind, events.c.data).where(events.c.case_id == row.id)
        .order_by(events.c.id))]
    return detail


def promise_outcomes(conn: Connection, since: datetime) -> list[dict[str, Any]]:
    """Promises made since ``since``: who made them, and whether they were kept."""
    rows = conn.execute(select(promises.c.owner, promises.c.source, promises.c.state, promises.c.made_at,
                               promises.c.due_at).where(promises.c.made_at >= since))
    return [dict(r._mapping) for r in rows]


def first_responses(conn: Connection, since: datetime) -> list[dict[str, Any]]:
    """Cases opened since ``since``, with their first response time (None while waiting)."""
    rows = conn.execute(select(cases.c.opened_at, cases.c.first_response_at, cases.c.priority)
                        .where(cases.c.opened_at >= since))
    return [dict(r._mapping) for r in rows]


def feedback_scores(conn: Connection, since: datetime) -> list[int]:
    rows = conn.execute(select(cases.c.feedback_score).where(cases.c.feedback_score.isnot(None),
                                                             cases.c.resolved_at >= since))
    return [int(r.feedback_score) for r in rows]


def _counters(conn: Connection) -> dict[str, int]:
    """The running totals the triggers keep (migration 0015), slots summed; a total of 0 is left out, as a
    ``GROUP BY`` leaves out what it does not find."""
    rows = conn.execute(select(counters.c.name, func.sum(counters.c.value)).group_by(counters.c.name))
    return {str(name): int(total) for name, total in rows if total}


def counts(conn: Connection) -> dict[str, int]:
    """Cases by status, messages, and those in quarantine: read from the running totals, not counted."""
    totals = _counters(conn)
    result = {f"cases_{name.removeprefix('cases_status:')}": value for name, value in totals.items()
              if name.startswith("cases_status:")}
    result["messages"] = totals.get("messages", 0)
    result["quarantined"] = totals.get("messages_status:quarantined", 0)
    return result


def outbox_totals(conn: Connection) -> dict[str, int]:
    """Outgoing mail by state, every state: :func:`outbox_counts` from the running totals."""
    return {name.removeprefix("outbox_state:"): value for name, value in _counters(conn).items()
            if name.startswith("outbox_state:")}



# -- quarantine and outbox, for `inboxd quarantine` and `inboxd outbox` --------------------------------

QUARANTINE_STATUSES = ("quarantined", "retrying", "resolved")  # resolved: retried and processed, kept for audit


def quarantine_rows(conn: Connection, *, include_resolved: bool = False, limit: int = 100) -> list[dict[str, Any]]:
    """Quarantined messages, oldest first, with their raw bytes (a retry being run shows as ``retrying``)."""
    statuses = QUARANTINE_STATUSES if include_resolved else QUARANTINE_STATUSES[:2]
    rows = conn.execute(select(messages.c.id, messages.c.mailbox, messages.c.folder, messages.c.uidvalidity,
                               messages.c.uid, messages.c.status, messages.c.error, messages.c.received_at,
                               messages.c.size, messages.c.raw)
                        .where(messages.c.kind == "quarantined", messages.c.status.in_(statuses))
                        .order_by(messages.c.id).limit(limit))
    return [dict(r._mapping) for r in rows]


def quarantine_row(conn: Connection, message_ref: int) -> dict[str, Any] | None:
    row = conn.execute(select(messages.c.id, messages.c.mailbox, messages.c.folder, messages.c.uidvalidity,
                              messages.c.uid, messages.c.status, messages.c.error, messages.c.received_at,
                              messages.c.size, messages.c.raw)
                       .where(messages.c.id == message_ref, messages.c.kind == "quarantined")).first()
    return dict(row._mapping) if row else None


def set_quarantine_status(conn: Connection, message_ref: int, status: str, *, expected: str | None = None,
                          error: str | None = None) -> bool:
    """Move a quarantined message to ``status`` (only from ``expected`` when given); False if it was not there."""
    where = [messages.c.id == message_ref, messages.c.kind == "quarantined"]
    if expected is not None:
        where.append(messages.c.status == expected)
    values: dict[str, Any] = {"status": status}
    if error is not None:
        values["error"] = error[:4000]
    return bool(conn.execute(update(messages).where(*where).values(**values)).rowcount)


def outbox_rows(conn: Connection, states: Sequence[str], limit: int = 100) -> list[dict[str, Any]]:
    """Outgoing mail in these states, oldest first, with the number of its case."""
    rows = conn.execute(
        select(outbox.c.id, outbox.c.kind, outbox.c.state, outbox.c.mailbox, outbox.c.rcpt_to, outbox.c.message_id,
               outbox.c.attempts, outbox.c.next_attempt_at, outbox.c.last_error, outbox.c.created_at,
               outbox.c.sent_at, cases.c.number.label("case"))
        .select_from(outbox.outerjoin(cases, cases.c.id == outbox.c.case_id))
        .where(outbox.c.state.in_(list(states))).order_by(outbox.c.id).limit(limit))
    return [dict(r._mapping) for r in rows]


def requeue_failed(conn: Connection, outbox_id: int, now: datetime) -> bool:
    """Give a failed message a fresh set of attempts; False unless it had failed."""
    result = conn.execute(update(outbox).where(outbox.c.id == outbox_id, outbox.c.state == "failed")
                          .values(state="pending", attempts=0, next_attempt_at=now))
    return bool(result.rowcount)


_ACK_WENT_OUT = func.coalesce(outbox.c.sent_at, outbox.c.created_at)
_CITED_ACK_AT = select(func.max(_ACK_WENT_OUT)).where(outbox.c.kind == "ack",
                                                      outbox.c.message_id.in_(bindparam("ids", expanding=True)))
_LAST_ACK_AT = select(func.max(_ACK_WENT_OUT)).where(outbox.c.case_id.in_(_cases_of(bindparam("sender"))),
                                                     outbox.c.kind == "ack")


def ack_times(conn: Connection, sender: str, cited: Sequence[str]) -> tuple[datetime | None, datetime | None]:
    """When the acknowledgement these Message-IDs cite, and our latest acknowledgement to ``sender``, went out.

    "Went out" is when it was sent, or queued while it waits to be.
    """
    cited_at = None
    if cited:
        cited_at = conn.execute(_CITED_ACK_AT, {"ids": list(cited)[:50]}).scalar()
    last_at = conn.execute(_LAST_ACK_AT, {"sender": sender}).scalar()
    return _aware(cited_at), _aware(last_at)


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands back coalesce() of two timestamps as text
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def recorded_message(conn: Connection, message_id: str, mailbox: str) -> dict[str, Any] | None:
    """What processing a message did, for ``inboxd replay``; None when it is not on record.

    ``kind``, ``case`` (the number of the case it opened or joined), ``opened`` (it opened that case),
    ``priority``, ``tags`` and ``assignee`` the case got from it, ``acknowledged`` (an acknowledgement
    was queued for it) and ``held`` (a loop guard, the history limit or a forged sender kept one back).
    """
    row = conn.execute(select(messages.c.id, messages.c.kind, messages.c.case_id)
                       .where(messages.c.message_id == message_id, messages.c.mailbox == mailbox)
                       .order_by(messages.c.id).limit(1)).first()
    if row is None:
        return None
    found = {str(r.kind): r.data for r in conn.execute(
        select(events.c.kind, events.c.data).where(events.c.message_ref == row.id).order_by(events.c.id))}
    number = case_number_of(conn, row.case_id) if row.case_id is not None else None
    opened = found.get("case.opened")
    data = opened if isinstance(opened, dict) else {}
    held = any(kind == "ack.held" or kind in ("not_acknowledged.history", "not_acknowledged.forged_sender")
               for kind in found)
    return {"kind": str(row.kind), "case": number, "opened": opened is not None,
            "priority": data.get("priority"), "tags": list(data.get("tags") or []),
            "assignee": data.get("assignee"), "acknowledged": "ack.queued" in found, "held": held}


def forecast_inputs_mark(conn: Connection, responses_from: datetime) -> tuple[int, datetime | None, int]:
    """What tells whether the forecast's inputs changed since a fit, in one statement on two indexes: the first
    responses at or after ``responses_from`` (count, newest) and the newest promise id (any new promise)."""
    answered = select(func.count(), func.max(cases.c.first_response_at)).where(
        cases.c.first_response_at >= responses_from).subquery()
    newest = select(func.max(promises.c.id)).scalar_subquery()
    row = conn.execute(select(answered.c[0], answered.c[1], newest)).one()
    return int(row[0] or 0), row[1], int(row[2] or 0)

"""Every statement of the hot paths reads its rows through an index: a message, a tick and a flush cost the same
with a year of history as with none.

The daemon's own code runs (ingest of a new case, a customer's reply, a staff reply with a commitment, the
tick with due items, the outbox's flush and the status line) while every statement it sends is recorded; each
one is then explained. On SQLite no plan may read a big table in full (``SCAN outbox``, also through a covering
index); on PostgreSQL, with sequential scans priced out (``enable_seqscan = off``), no plan may still need one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, select

from inboxd.core.clock import FrozenClock
from inboxd.dev.demo import config_yaml, sample_mail
from inboxd.mail.threading import format_token
from inboxd.service.daemon import Daemon
from inboxd.store.schema import promises, scheduled
from tests.integration.harness import TUESDAY_MORNING
from tests.perf.bench_history import fill

HISTORY = 20_000  # cases
BIG_TABLES = ("outbox", "messages", "cases", "promises", "scheduled", "events")
SUPPORT = "support@example.com"
STAFF = "alice@example.com"


class _FakeSmtp:
    """Accepts every message: the flush's statements are what is looked at here, not the wire."""

    def connect(self) -> _FakeSmtp:
        return self

    def send(self, mail_from: str, rcpt_to: list[str], raw: bytes) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture
def recorded(tmp_path: Path, database_url: str) -> Iterator[tuple[Daemon, list[tuple[str, Any]]]]:
    secret = tmp_path / "pw"
    secret.write_text("secret")
    config = tmp_path / "inboxd.yaml"
    config.write_text(config_yaml(support=SUPPORT, imap_port=1, smtp_port=1, password_file=secret, staff=[STAFF],
                                  sent_folder=None, initial_sync="all", poll_interval="5s"))
    daemon = Daemon(config, database_url, clock=FrozenClock(TUESDAY_MORNING))
    # A history to choose plans by (PostgreSQL's statistics come from it): settled cases with their mail,
    # promises, scheduled items and events, as the history benchmark writes them.
    fill(database_url, HISTORY, TUESDAY_MORNING)
    daemon.sender.smtp_factory = lambda mailbox: _FakeSmtp()
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if not executemany and not conn.info.get("test_setup"):
            statements.append((statement, parameters))

    event.listen(daemon.store.engine, "before_cursor_execute", record)
    yield daemon, statements
    event.remove(daemon.store.engine, "before_cursor_execute", record)
    daemon.store.dispose()


def _run_hot_paths(daemon: Daemon) -> None:
    rt = daemon.runtime
    mailbox = rt.config.mailboxes[0]
    clock = daemon.clock
    assert isinstance(clock, FrozenClock)
    uid = 0

    def deliver(raw: bytes) -> Any:
        nonlocal uid
        uid += 1
        clock.advance(timedelta(minutes=7))
        return daemon.processor.process(mailbox, "inbox", "INBOX", 1, uid, raw)

    for i in range(5):
        deliver(sample_mail(f"old{i}@customer.example", "Old", SUPPORT, f"Earlier question {i}", "Hello"))
    first = "<first@customer.example>"
    opened = deliver(sample_mail("ann@customer.example", "Ann", SUPPORT, "Printer broken", "It is broken.",
                                 Message_ID=first))
    assert opened.status == "processed" and opened.case is not None
    token = format_token(rt.config.cases.subject_token, opened.case)
    reply = deliver(sample_mail("ann@customer.example", "Ann", SUPPORT, f"Re: {token} Printer broken",
                                "Any news?", In_Reply_To=first, References=first))
    assert reply.case == opened.case
    staff = deliver(sample_mail(STAFF, "Alice", SUPPORT, f"Re: {token} Printer broken",
                                "Hi Ann, I will send you the corrected invoice by tomorrow.", In_Reply_To=first,
                                References=first, To="ann@customer.example", Cc=SUPPORT))
    assert staff.case == opened.case
    # Due work: a reminder on the staff commitment (if one was read) and an update on a case waiting on us.
    now = clock.now()
    with daemon.store.begin() as conn:
        conn.info["test_setup"] = True  # this test's own statements are not the daemon's
        promise = conn.execute(select(promises.c.id, promises.c.case_id).where(promises.c.owner != "team")).first()
        rows = [{"kind": "update", "case_id": 1, "due_at": now, "payload": {"since": now.isoformat()},
                 "key": "plan:update", "created_at": now}]
        if promise is not None:
            rows.append({"kind": "reminder", "case_id": promise.case_id, "due_at": now,
                         "payload": {"promise": promise.id}, "key": "plan:reminder", "created_at": now})
        conn.execute(insert(scheduled), rows)
    with daemon.store.connect() as conn:
        conn.info.pop("test_setup")
    daemon.tick()
    daemon.tick()  # and one with nothing due
    daemon.sender.flush()
    daemon.status_line()


# Columns that tell history apart from history only by a few values: an index searched on them alone reads a
# share of all the rows ever written (every acknowledgement, every resolved case).
UNSELECTIVE = {"kind", "state", "status", "direction", "owner", "source", "priority", "language", "mailbox"}
# ... except where the value searched is the live queue, which stays short whatever the history: open
# promises, mail waiting to be sent, the quarantine, Sent copies still to file, cases waiting on us.
QUEUE_INDEXES = {"ix_promises_state_due_at", "ix_messages_status", "ix_outbox_copy_state_state", "ix_cases_status",
                 "ix_cases_status_number", "ix_outbox_state_next_attempt_at", "ix_scheduled_done_at_due_at"}
# Values that name history, not the queue: searched through a queue index, they read the history.
HISTORY_VALUES = {"sent", "done", "resolved", "closed", "kept", "broken", "superseded", "processed"}


def _unselective(index: str, columns: set[str], values: Any) -> bool:
    """Whether an index search on ``columns`` (with these values) reads history rather than a few rows."""
    if not columns or not columns <= UNSELECTIVE:
        return False
    if index in QUEUE_INDEXES:
        values = values.values() if isinstance(values, dict) else values or ()
        return any(isinstance(v, str) and v in HISTORY_VALUES for v in values)
    return True


def _reads_history_sqlite(line: str, parameters: Any) -> bool:
    tables = "|".join(BIG_TABLES)
    if re.match(rf"SCAN ({tables})\b", line):
        return True
    found = re.match(rf"SEARCH ({tables}) USING (?:COVERING )?INDEX (\w+) \((.*)\)", line)
    if found is None:
        return False
    columns = {re.split(r"[=<>]| IS", term.strip())[0] for term in found.group(3).split(" AND ")}
    return _unselective(found.group(2), columns, parameters)


def _reads_history_postgres(plan: list[str]) -> list[str]:
    bad = []
    tables = "|".join(BIG_TABLES)
    for number, line in enumerate(plan):
        if re.search(rf"Seq Scan on ({tables})\b", line):
            bad.append(line.strip())
            continue
        found = re.search(r"Index (?:Only )?Scan (?:Backward )?using (\w+) on (\w+)|Bitmap Index Scan on (\w+)", line)
        if found is None:
            continue
        index = found.group(1) or found.group(3)
        if not any(index.startswith(f"ix_{t}_") for t in BIG_TABLES):
            continue
        cond = next((p for p in plan[number + 1:number + 4] if "Index Cond:" in p), "")
        # ((kind)::text = 'ack'::text), (case_id = 5), (due_at <= '…'::timestamp with time zone)
        columns = set(re.findall(r"\((\w+)(?:\)::\w+)? (?:=|<>|<=|>=|<|>|IS|~~)", cond))
        if cond and _unselective(index, columns, re.findall(r"'(\w+)'::", cond)):
            bad.append(f"{line.strip()} {cond.strip()}")
    return bad


def _touches_big_table(statement: str) -> bool:
    return any(re.search(rf"\b{table}\b", statement) for table in BIG_TABLES)


def test_hot_statements_read_through_indexes(recorded: tuple[Daemon, list[tuple[str, Any]]]) -> None:
    daemon, statements = recorded
    _run_hot_paths(daemon)
    checked: set[str] = set()
    full_scans: list[str] = []
    engine = daemon.store.engine
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            cursor.execute("SET enable_seqscan = off")
        for statement, parameters in statements:
            if statement in checked or not _touches_big_table(statement) or statement.lstrip().upper().startswith(
                    ("INSERT", "BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK", "PRAGMA", "SET")):
                continue
            checked.add(statement)
            if engine.dialect.name == "sqlite":
                cursor.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
                plan = [str(row[-1]) for row in cursor.fetchall()]
                bad = [line for line in plan if _reads_history_sqlite(line, parameters)]
            else:
                cursor.execute(f"EXPLAIN {statement}", parameters)
                plan = [str(row[0]) for row in cursor.fetchall()]
                bad = _reads_history_postgres(plan)
            if bad:
                full_scans.append(f"{' '.join(statement.split())}\n    -> {'; '.join(bad)}")
    finally:
        raw.rollback()
        raw.close()
    assert len(checked) > 40, f"only {len(checked)} statements recorded: the hot paths did not run"
    assert not full_scans, "full scans:\n" + "\n".join(full_scans)

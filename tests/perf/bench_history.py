"""Benchmark: the cost of a message, a tick, `cases list` and `stats` with a large history in the store.

Fills a store with --cases cases (default 1,000,000) spread over three years, with what such a history holds
(two messages per case, the team's promise on each and a staff commitment on one in seven, an acknowledgement
per case and a closing notice on half, one done scheduled item per settled case, four events per case, a queue
of 1,500 open cases with their future reminders, updates and nudges), written with a few INSERT … SELECT
statements: about a minute on SQLite. Then it measures, with the daemon's own code in this process:

- ingest: messages/s through the daemon's message processing (parse, classify, thread, decide, record, queue
  the acknowledgement), on an empty store and on the full one, the same mix of mail on both: two in three
  from earlier customers opening a new case, one in three a reply on a case opened in the run;
- the tick (due work, delay notices, broken promises) with 100 due items and with none;
- `inboxd cases list` and `inboxd stats` (the commands' functions, in-process);
- the process's resident memory after each phase, and its peak.

The filled SQLite file is kept in /tmp (--cache) between runs and refilled when older than three days (its
open cases' reminders would be coming due). With INBOXD_TEST_POSTGRES_URL set (or --database-url postgresql://…)
the same runs on PostgreSQL, in a schema ``bench_history`` of that database that is kept likewise.

    python tests/perf/bench_history.py [--cases 1000000] [--messages 300] [--database-url URL] [--refill]

Targets (issue: "constant cost per message"): ingest at 1M ≥ 90 % of the empty store's rate; a tick with 100
due items ≤ 200 ms and with none ≤ 50 ms; `cases list` and `stats` ≤ 300 ms; memory ≤ 150 MB and flat.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.schema import CreateIndex, DropIndex

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from inboxd.cli.main import main as cli_main  # noqa: E402
from inboxd.dev.demo import config_yaml, sample_mail  # noqa: E402
from inboxd.service.daemon import Daemon  # noqa: E402
from inboxd.service.logs import configure_logging  # noqa: E402
from inboxd.store.db import make_engine, migrate  # noqa: E402
from inboxd.store.schema import cases, events, messages, meta, outbox, promises, scheduled  # noqa: E402

SPAN = 3 * 365 * 86400  # three years of history
OPEN = 1500  # the open queue: one in eight waiting on us, the rest on the customer
CUSTOMERS = 300_000  # distinct customers: about three cases each at 1M
SCHEMA = "bench_history"
MARK = "bench_history_filled"
MAX_AGE = timedelta(days=3)
ROUNDS = 3


# -- filling ------------------------------------------------------------------------------------


class _Sql:
    """The few expressions that differ between SQLite and PostgreSQL."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"

    def ts(self, seconds: str) -> str:
        if self.pg:
            return f"to_timestamp({seconds})"
        return f"strftime('%Y-%m-%d %H:%M:%S', {seconds}, 'unixepoch') || '.000000'"

    def numbers(self, count: int) -> tuple[str, str]:
        """(prefix, source) yielding i = 0 … count - 1."""
        if self.pg:
            return "", f"generate_series(0, {count - 1}) AS n(i)"
        return f"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {count - 1}) ", "n"

    def blob(self, size: int) -> str:
        return f"decode(repeat('78', {size}), 'hex')" if self.pg else f"zeroblob({size})"

    def json_list(self, value: str) -> str:
        return f"json_build_array({value})" if self.pg else f"'[\"' || {value} || '\"]'"

    def json_obj(self, key: str, value: str) -> str:
        return f"json_build_object('{key}', {value})" if self.pg else f"'{{\"{key}\": ' || {value} || '}}'"


def fill(url: str, count: int, now: datetime) -> None:
    """Fill the (migrated, empty) store at ``url`` with ``count`` cases and their history, by SQL."""
    engine = make_engine(url)
    migrate(engine)
    sql = _Sql(engine.dialect.name)
    t_end = int(now.timestamp()) - 86400  # the newest case opened a day ago
    step = SPAN // count
    t0 = t_end - step * count
    n_open = count - OPEN
    k = "(id - 1)"  # a case's index, from its id: every row of a case is a function of it
    opened = f"({t0} + {k} * {step})"
    delay = f"(CASE WHEN {k} >= {n_open} THEN 60 + {k} % 3000 ELSE 3600 + (({k} % 86400) * 7919) % 86400 END)"
    is_open = f"({k} >= {n_open})"
    waiting_us = f"({k} >= {n_open} AND {k} % 8 = 0)"
    answered = f"{opened} + {delay}"
    resolved = f"{opened} + {delay} + 3600"
    later = int(now.timestamp())
    customer = f"'c' || ({k} % {CUSTOMERS}) || '@customer.example'"
    staff_promise = f"({k} % 7 = 0 AND NOT {waiting_us})"
    tables = (cases, messages, promises, outbox, scheduled, events)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if not sql.pg:
            for pragma in ("foreign_keys=OFF", "synchronous=OFF", "cache_size=-200000"):
                cur.execute(f"PRAGMA {pragma}")
            cur.execute("BEGIN")
        for table in tables:  # secondary indexes are built once at the end, from sorted runs
            for index in table.indexes:
                cur.execute(str(DropIndex(index).compile(dialect=engine.dialect)))
        prefix, source = sql.numbers(count)
        steps: list[tuple[str, str]] = [
            ("cases", f"""{prefix}INSERT INTO cases (id, number, mailbox, status, priority, language, customer, subject,
                opened_at, first_response_at, resolved_at, last_activity_at, subject_key, last_customer_at,
                last_staff_reply_at, last_heard_at, updates_opted_out, feedback_score)
              SELECT i + 1, 1001 + i, 'support',
                CASE WHEN {is_open.replace(k, 'i')} THEN CASE WHEN i % 8 = 0 THEN 'waiting_on_us'
                     ELSE 'waiting_on_customer' END WHEN i % 4 = 0 THEN 'closed' ELSE 'resolved' END,
                CASE i % 10 WHEN 0 THEN 'high' WHEN 1 THEN 'low' ELSE 'normal' END, 'en',
                {customer.replace(k, 'i')}, 'Request ' || i, {sql.ts(opened.replace(k, 'i'))},
                CASE WHEN {waiting_us.replace(k, 'i')} THEN NULL ELSE {sql.ts(answered.replace(k, 'i'))} END,
                CASE WHEN {is_open.replace(k, 'i')} THEN NULL ELSE {sql.ts(resolved.replace(k, 'i'))} END,
                CASE WHEN {waiting_us.replace(k, 'i')} THEN {sql.ts(opened.replace(k, 'i'))}
                     WHEN {is_open.replace(k, 'i')} THEN {sql.ts(answered.replace(k, 'i'))}
                     ELSE {sql.ts(resolved.replace(k, 'i'))} END,
                'request ' || i, {sql.ts(opened.replace(k, 'i'))},
                CASE WHEN {waiting_us.replace(k, 'i')} THEN NULL ELSE {sql.ts(answered.replace(k, 'i'))} END,
                {sql.ts(opened.replace(k, 'i'))}, {'false' if sql.pg else '0'},
                CASE WHEN NOT {is_open.replace(k, 'i')} AND i % 20 = 0 THEN 1 + i % 5 END
              FROM {source}"""),
            ("messages (customers')", """INSERT INTO messages (message_id, content_hash, mailbox, folder, uidvalidity,
                uid, direction, kind, status, case_id, from_addr, subject, sent_at, received_at, size)
              SELECT '<m' || id || '@customer.example>', 'h' || id, 'support', 'INBOX', 1, id, 'in', 'customer',
                'processed', id, customer, subject, opened_at, opened_at, 3000 FROM cases"""),
            ("messages (staff replies)", f"""INSERT INTO messages (message_id, content_hash, mailbox, folder,
                uidvalidity, uid, direction, kind, status, case_id, from_addr, subject, sent_at, received_at, size)
              SELECT '<s' || id || '@example.com>', 's' || id, 'support', 'INBOX', 1, {count} + id, 'out', 'staff',
                'processed', id, 'alice@example.com', 'Re: ' || subject, first_response_at, first_response_at, 4000
              FROM cases WHERE first_response_at IS NOT NULL"""),
            ("messages (quarantined)", f"""INSERT INTO messages (message_id, content_hash, mailbox, folder,
                uidvalidity, uid, direction, kind, status, from_addr, received_at, size, error)
              SELECT '<q' || id || '@spam.example>', 'q' || id, 'support', 'INBOX', 1, 3 * {count} + id, 'in',
                'quarantined', CASE WHEN id % 3 = 0 THEN 'resolved' ELSE 'quarantined' END, 'x@spam.example',
                opened_at, 900, 'unparseable' FROM cases WHERE id % 2000 = 0"""),
            ("promises (team)", f"""INSERT INTO promises (case_id, owner, source, text, made_at, due_at, state,
                settled_at, predicted_bh, spread_bh)
              SELECT id, 'team', 'ack', 'within one business day', opened_at,
                CASE WHEN {waiting_us} THEN {sql.ts(f'{later} + 10 * 86400')} ELSE {sql.ts(f'{opened} + 86400')} END,
                CASE WHEN {waiting_us} THEN 'open' WHEN {delay} <= 86400 THEN 'kept' ELSE 'broken' END,
                first_response_at, 8.0, 3.0 FROM cases"""),
            ("promises (staff)", f"""INSERT INTO promises (case_id, owner, source, text, made_at, due_at, state,
                settled_at, source_message_id)
              SELECT id, 'alice@example.com', 'reply', 'send the corrected invoice', first_response_at,
                CASE WHEN {is_open} THEN {sql.ts(f'{later} + 6 * 86400')} ELSE {sql.ts(f'{answered} + 86400')} END,
                CASE WHEN {is_open} THEN 'open' WHEN id % 5 = 0 THEN 'broken' ELSE 'kept' END,
                CASE WHEN {is_open} THEN NULL ELSE resolved_at END, '<s' || id || '@example.com>'
              FROM cases WHERE {staff_promise}"""),
            ("outbox (acknowledgements)", f"""INSERT INTO outbox (idempotency_key, message_id, kind, case_id, mailbox,
                mail_from, rcpt_to, raw, state, attempts, next_attempt_at, created_at, sent_at, copy_state, recipient)
              SELECT 'ack:' || id, '<ack' || id || '@example.com>', 'ack', id, 'support', 'support@example.com',
                {sql.json_list('customer')}, {sql.blob(300)}, 'sent', 1, opened_at, opened_at, opened_at, 'done',
                customer FROM cases"""),
            ("outbox (closing notices)", f"""INSERT INTO outbox (idempotency_key, message_id, kind, case_id, mailbox,
                mail_from, rcpt_to, raw, state, attempts, next_attempt_at, created_at, sent_at, copy_state, recipient)
              SELECT 'resolved:' || id, '<res' || id || '@example.com>', 'resolved', id, 'support',
                'support@example.com', {sql.json_list('customer')}, {sql.blob(300)},
                CASE WHEN id % 5000 = 0 THEN 'failed' ELSE 'sent' END, 1, resolved_at, resolved_at,
                CASE WHEN id % 5000 = 0 THEN NULL ELSE resolved_at END, 'done', customer
              FROM cases WHERE resolved_at IS NOT NULL AND id % 2 = 0"""),
            ("scheduled (done)", f"""INSERT INTO scheduled (kind, case_id, due_at, payload, key, claimed_by,
                claimed_until, done_at, created_at)
              SELECT 'auto_resolve', id, resolved_at, {sql.json_obj('since', "'x'")}, 'auto_resolve:' || number,
                'bench:1', resolved_at, resolved_at, first_response_at FROM cases WHERE resolved_at IS NOT NULL"""),
            ("scheduled (open queue)", f"""INSERT INTO scheduled (kind, case_id, due_at, payload, key, created_at)
              SELECT CASE WHEN {waiting_us} THEN 'update' ELSE 'nudge' END, id,
                {sql.ts(f'{later} + 4 * 86400 + id % 86400')}, {sql.json_obj('since', "'x'")},
                CASE WHEN {waiting_us} THEN 'update:' ELSE 'nudge:' END || number, opened_at
              FROM cases WHERE {is_open}"""),
            ("scheduled (reminders)", f"""INSERT INTO scheduled (kind, case_id, due_at, payload, key, created_at)
              SELECT 'reminder', case_id, {sql.ts(f'{later} + 5 * 86400')}, {sql.json_obj('promise', 'id')},
                'reminder:' || id, made_at FROM promises WHERE owner <> 'team' AND state = 'open'"""),
        ]
        for kind, at in (("message.processed", "opened_at"), ("ack.queued", "opened_at"),
                         ("ack.sent", "opened_at"), ("case.status", "last_activity_at")):
            steps.append((f"events ({kind})", f"""INSERT INTO events (at, case_id, kind)
              SELECT {at}, id, '{kind}' FROM cases"""))
        for name, statement in steps:
            started = time.monotonic()
            cur.execute(statement)
            print(f"  {name}: {time.monotonic() - started:.1f} s", flush=True)
        started = time.monotonic()
        for table in tables:
            for index in table.indexes:
                cur.execute(str(CreateIndex(index).compile(dialect=engine.dialect)))
        print(f"  indexes: {time.monotonic() - started:.1f} s", flush=True)
        if sql.pg:
            for table in tables:
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"(SELECT max(id) FROM {table.name}))")
            cur.execute(f"SELECT setval('case_number_seq', {1000 + count})")
        cur.execute(f"INSERT INTO meta (key, value) VALUES ('{MARK}', '{count} {now.isoformat()}')")
        cur.execute("COMMIT" if not sql.pg else "SELECT 1")
        raw.commit()
        if sql.pg:
            driver = raw.driver_connection
            driver.autocommit = True  # type: ignore[union-attr]
            started = time.monotonic()
            driver.execute("VACUUM ANALYZE")  # type: ignore[union-attr]
            print(f"  vacuum analyze: {time.monotonic() - started:.1f} s", flush=True)
    finally:
        raw.close()
        engine.dispose()


def filled(url: str, count: int, now: datetime) -> bool:
    """Whether the store at ``url`` holds a fill of ``count`` cases recent enough to measure."""
    try:
        engine = make_engine(url)
        with engine.connect() as conn:
            value = conn.execute(select(meta.c.value).where(meta.c.key == MARK)).scalar()
        engine.dispose()
    except Exception:  # noqa: BLE001 - no store there yet
        return False
    if value is None:
        return False
    size, _, at = str(value).partition(" ")
    return int(size) == count and now - datetime.fromisoformat(at) < MAX_AGE


def pg_schema_url(base: str, schema: str) -> str:
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}"


def pg_reset_schema(base: str, schema: str, drop_only: bool = False) -> None:
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        if not drop_only:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()


# -- measuring ----------------------------------------------------------------------------------


def rss_mib() -> tuple[float, float]:
    """(current, peak) resident memory of this process."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values.get("VmRSS", float("nan")), values.get("VmHWM", float("nan"))


def write_config(directory: Path) -> Path:
    secret = directory / "pw"
    secret.write_text("secret")
    config = directory / "inboxd.yaml"
    # No server is contacted: the processor and the tick are called directly.
    text_ = config_yaml(support="support@example.com", imap_port=1, smtp_port=1, password_file=secret,
                        staff=["alice@example.com"], sent_folder=None, initial_sync="all", poll_interval="5s")
    config.write_text(text_ + "loop_guard:\n  acks_total: 1000000/1h\n")
    return config


def ingest_rate(daemon: Daemon, count: int, run: str, seed: int) -> tuple[float, float]:
    """Messages/s through the daemon's processing of one message (what a watcher calls per fetched message), in
    wall time and per CPU-second of this process (steadier on a shared machine; on SQLite that includes the
    database's work, on PostgreSQL not the server's)."""
    rng = random.Random(seed)
    mailbox = daemon.runtime.config.mailboxes[0]
    uidvalidity = rng.randrange(1, 2**31)
    opened: list[tuple[str, str, str]] = []  # (sender, Message-ID, subject) of the new cases' first mails
    mails: list[bytes] = []
    for j in range(count + 20):
        if opened and j % 3 == 2:  # a reply on a case of this run, threaded by In-Reply-To
            sender, message_id, subject = opened[rng.randrange(len(opened))]
            mails.append(sample_mail(sender, "Customer", "support@example.com", f"Re: {subject}",
                                     "Any news on this?\n", In_Reply_To=message_id, References=message_id))
            continue
        sender = f"c{rng.randrange(CUSTOMERS)}@customer.example"
        message_id = f"<{run}.{j}.{seed}@customer.example>"
        subject = f"Question {run} {j}"
        mails.append(sample_mail(sender, "Customer", "support@example.com", subject,
                                 f"Hello,\n\nquestion number {j} of run {run}.\n", Message_ID=message_id))
        opened.append((sender, message_id, subject))
    started = cpu_started = 0.0
    for j, raw in enumerate(mails):
        if j == 20:  # the first 20 warm the caches, both stores alike
            started, cpu_started = time.perf_counter(), time.process_time()
        outcome = daemon.processor.process(mailbox, "inbox", "INBOX", uidvalidity, j + 1, raw)
        if outcome.status != "processed":
            raise RuntimeError(f"message {j}: {outcome}")
    return count / (time.perf_counter() - started), count / (time.process_time() - cpu_started)


def settle_runs(daemon: Daemon, count: int) -> None:
    """Answer and resolve the cases the ingest runs opened (beyond the filled ``count``): the queue stays the
    fill's 1,500 open cases, run after run of the cached store, instead of growing by every run's new cases."""
    with daemon.store.begin() as conn:
        conn.execute(update(cases).where(cases.c.id > count, cases.c.status.in_(("waiting_on_us",
                                                                                "waiting_on_customer")))
                     .values(status="resolved", first_response_at=cases.c.opened_at, resolved_at=cases.c.opened_at))
        conn.execute(update(promises).where(promises.c.case_id > count, promises.c.state == "open")
                     .values(state="kept", settled_at=promises.c.made_at))
        conn.execute(update(scheduled).where(scheduled.c.case_id > count, scheduled.c.done_at.is_(None))
                     .values(done_at=scheduled.c.due_at))


def due_items(daemon: Daemon, count: int, run: str) -> None:
    """``count`` items due now on open cases: half staff reminders, half updates to customers waiting on us."""
    now = datetime.now(UTC) - timedelta(seconds=1)
    with daemon.store.begin() as conn:
        staff = conn.execute(select(promises.c.id, promises.c.case_id).where(
            promises.c.owner != "team", promises.c.state == "open").limit(count // 2)).all()
        waiting = conn.execute(select(cases.c.id).where(cases.c.status == "waiting_on_us")
                               .order_by(cases.c.number.desc()).limit(count - len(staff))).all()
        rows = [{"kind": "reminder", "case_id": p.case_id, "due_at": now, "payload": {"promise": p.id},
                 "key": f"bench-reminder:{run}:{p.id}", "created_at": now} for p in staff]
        rows += [{"kind": "update", "case_id": c.id, "due_at": now, "payload": {"since": (now - timedelta(days=2))
                                                                                .isoformat()},
                  "key": f"bench-update:{run}:{c.id}", "created_at": now} for c in waiting]
        conn.execute(insert(scheduled), rows)


def timed(action: Callable[[], object], runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def command(argv: list[str]) -> Callable[[], None]:
    def run() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            code = cli_main(argv)
        if code != 0:
            raise RuntimeError(f"inboxd {' '.join(argv)} exited {code}")
    return run


def ms(timings: list[float]) -> str:
    ordered = sorted(timings)
    return f"median {statistics.median(ordered):.0f} ms, max {ordered[-1]:.0f} ms"


@contextlib.contextmanager
def empty_store(base_pg: str | None, tmp: Path) -> Iterator[str]:
    if base_pg is None:
        yield f"sqlite:///{tmp}/empty.db"
        return
    schema = f"bench_empty_{uuid.uuid4().hex[:8]}"
    pg_reset_schema(base_pg, schema)
    try:
        yield pg_schema_url(base_pg, schema)
    finally:
        pg_reset_schema(base_pg, schema, drop_only=True)


def measure_ingest(daemon: Daemon, config: Path, base_pg: str | None, total: int, messages_n: int, tmp: Path,
                   run: str) -> None:
    empty_rates, full_rates = [], []
    with empty_store(base_pg, tmp) as empty_url:
        empty = Daemon(config, empty_url)
        empty.prepare()
        for round_ in range(ROUNDS):
            empty_rates.append(ingest_rate(empty, messages_n, f"{run}{round_}", seed=round_))
            full_rates.append(ingest_rate(daemon, messages_n, f"{run}{round_}", seed=round_))
        empty.store.dispose()
    empty_rate, full_rate = max(r[0] for r in empty_rates), max(r[0] for r in full_rates)
    empty_cpu, full_cpu = max(r[1] for r in empty_rates), max(r[1] for r in full_rates)
    print(f"ingest, {messages_n} messages a round, best of {ROUNDS}: empty store {empty_rate:.0f} msg/s; "
          f"{total:,} cases {full_rate:.0f} msg/s ({full_rate / empty_rate:.0%} of empty; target ≥ 90 %)")
    print(f"  per CPU-second of this process: empty {empty_cpu:.0f}, full {full_cpu:.0f} "
          f"({full_cpu / empty_cpu:.0%})")
    print(f"  every round (wall): empty {', '.join(f'{r[0]:.0f}' for r in empty_rates)}; "
          f"full {', '.join(f'{r[0]:.0f}' for r in full_rates)} msg/s; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    print(f"  memory: {rss_mib()[0]:.0f} MiB")


def measure(url: str, base_pg: str | None, count: int, messages_n: int, tmp: Path, ingest: bool = True) -> None:
    run = uuid.uuid4().hex[:6]
    config = write_config(tmp)
    print(f"memory at start: {rss_mib()[0]:.0f} MiB")
    daemon = Daemon(config, url)
    daemon.prepare()  # as `inboxd run` does before its watchers start: migrations, the Message-ID secret
    with daemon.store.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(cases)).scalar() or 0)
    settle_runs(daemon, count)
    # Rounds alternate between the two stores and the best of each counts: on a machine shared with other
    # work, a round can lose its CPU to a neighbour; the best round is the code's own speed.
    if ingest:
        measure_ingest(daemon, config, base_pg, total, messages_n, tmp, run)
    settle_runs(daemon, count)
    daemon.tick()  # the digest item and anything the ingest scheduled
    due_items(daemon, 100, run)
    with_due = timed(daemon.tick, 1)
    with daemon.store.connect() as conn:
        left = conn.execute(select(func.count()).select_from(scheduled).where(
            scheduled.c.key.like(f"bench-%:{run}:%"), scheduled.c.done_at.is_(None))).scalar()
    print(f"tick with 100 due items: {with_due[0]:.0f} ms ({left} left undone; target ≤ 200 ms)")
    none_due = timed(daemon.tick, 10)
    print(f"tick with none due: {ms(none_due)} (target ≤ 50 ms)")
    print(f"  memory: {rss_mib()[0]:.0f} MiB")
    common = ["--config", str(config), "--database-url", url]
    listing = timed(command(["cases", "list", *common]), 5)
    print(f"cases list: {ms(listing)} (target ≤ 300 ms)")
    waiting = timed(command(["cases", "list", "--status", "waiting_on_us", *common]), 5)
    print(f"cases list --status waiting_on_us: {ms(waiting)}")
    stats = timed(command(["stats", "--json", *common]), 5)
    print(f"stats: {ms(stats)} (target ≤ 300 ms)")
    current, peak = rss_mib()
    print(f"memory: {current:.0f} MiB now, peak {peak:.0f} MiB (target ≤ 150 MB)")
    daemon.store.dispose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--messages", type=int, default=300, help="messages timed for each ingest rate")
    parser.add_argument("--database-url", help="default: SQLite in --cache, then PostgreSQL at "
                                               "$INBOXD_TEST_POSTGRES_URL (schema bench_history) if set")
    parser.add_argument("--cache", default="/tmp/inboxd-bench-history-{cases}.db")
    parser.add_argument("--refill", action="store_true")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="measure one of the two")
    parser.add_argument("--no-ingest", action="store_true", help="measure the tick and the commands only")
    parser.add_argument("--fill-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    now = datetime.now(UTC)
    configure_logging(level="ERROR")  # the figures, not a line per message
    if args.fill_only:
        fill(args.database_url, args.cases, now)
        return 0
    targets: list[tuple[str, str | None]] = []
    if args.database_url:
        targets.append((args.database_url, None))
    else:
        targets.append((f"sqlite:///{args.cache.format(cases=args.cases)}", None))
        if base := os.environ.get("INBOXD_TEST_POSTGRES_URL"):
            targets.append((pg_schema_url(base, SCHEMA), base))
    for url, base_pg in targets:
        label = url.partition(":")[0]
        if args.only and label != args.only:
            continue
        if args.refill or not filled(url, args.cases, now):
            print(f"{label}: filling {args.cases:,} cases …", flush=True)
            if base_pg is not None:
                pg_reset_schema(base_pg, SCHEMA)
            elif url.startswith("sqlite:///"):
                for suffix in ("", "-wal", "-shm"):
                    Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
            started = time.monotonic()
            # In a child process: the fill's own memory is not the daemon code's.
            subprocess.run([sys.executable, __file__, "--fill-only", "--cases", str(args.cases),
                            "--database-url", url], check=True)
            print(f"{label}: filled in {time.monotonic() - started:.0f} s")
        else:
            print(f"{label}: reusing the store filled earlier with {args.cases:,} cases")
        with tempfile.TemporaryDirectory() as tmp:
            print(f"== {label}")
            measure(url, base_pg, args.cases, args.messages, Path(tmp), ingest=not args.no_ingest)
    return 0


if __name__ == "__main__":
    sys.exit(main())

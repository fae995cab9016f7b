"""The running totals `inboxd stats` reads (migration 0015): kept by triggers through inserts, updates and
deletes, filled from the tables when the migration runs, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Connection, delete, func, insert, select, update

from inboxd.store import repo
from inboxd.store.db import alembic_config, make_engine, migrate
from inboxd.store.schema import cases, messages, outbox

NOW = datetime(2026, 11, 20, 17, 30, tzinfo=UTC)


def _counted(conn: Connection) -> dict[str, int]:
    """What `stats` showed before the totals: every row counted."""
    result = {f"cases_{status}": int(n) for status, n in
              conn.execute(select(cases.c.status, func.count()).group_by(cases.c.status))}
    result["messages"] = int(conn.execute(select(func.count()).select_from(messages)).scalar() or 0)
    result["quarantined"] = int(conn.execute(select(func.count()).select_from(messages)
                                             .where(messages.c.status == "quarantined")).scalar() or 0)
    result.update({f"outbox_{state}": int(n) for state, n in
                   conn.execute(select(outbox.c.state, func.count()).group_by(outbox.c.state))})
    return result


def _totals(conn: Connection) -> dict[str, int]:
    result = repo.counts(conn)
    result.update({f"outbox_{state}": n for state, n in repo.outbox_totals(conn).items()})
    return result


def _add(conn: Connection, start: int, count: int) -> None:
    """``count`` cases, each with a message (one in three quarantined) and an acknowledgement; in one
    statement per table, as a bulk writer would."""
    refs = [repo.insert_case(conn, mailbox="support", customer=f"c{i}@x.example", customer_name="", subject="s",
                             priority="normal", language="en", now=NOW)[0] for i in range(start, start + count)]
    conn.execute(insert(messages), [
        {"message_id": f"<m{start}.{i}@x.example>", "content_hash": f"h{start}.{i}", "mailbox": "support",
         "folder": "INBOX", "direction": "in", "kind": "customer", "case_id": ref,
         "status": "quarantined" if i % 3 == 0 else "processed", "received_at": NOW, "size": 10}
        for i, ref in enumerate(refs)])
    conn.execute(insert(outbox), [
        {"idempotency_key": f"ack:{start}.{i}", "message_id": f"<a{start}.{i}@x.example>", "kind": "ack",
         "case_id": ref, "mailbox": "support", "mail_from": "support@example.com", "rcpt_to": ["c@x.example"],
         "raw": b"x", "state": "pending", "attempts": 0, "next_attempt_at": NOW, "created_at": NOW}
        for i, ref in enumerate(refs)])


def test_totals_follow_inserts_updates_and_deletes(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    with engine.begin() as conn:
        assert _totals(conn) == {"messages": 0, "quarantined": 0}
        _add(conn, 0, 9)
        assert _totals(conn) == _counted(conn) == {
            "cases_waiting_on_us": 9, "messages": 9, "quarantined": 3, "outbox_pending": 9}
    with engine.begin() as conn:
        # A status changed on some rows, and on one row to what it already was; other columns changed alone.
        conn.execute(update(cases).where(cases.c.number <= 1003).values(status="resolved"))
        conn.execute(update(cases).where(cases.c.number == 1004).values(status="waiting_on_us"))
        conn.execute(update(cases).values(subject="changed"))
        conn.execute(update(messages).where(messages.c.status == "quarantined").values(status="resolved"))
        conn.execute(update(outbox).where(outbox.c.id <= 4).values(state="sent", sent_at=NOW))
        conn.execute(update(outbox).where(outbox.c.id == 5).values(state="failed"))
        assert _totals(conn) == _counted(conn) == {
            "cases_waiting_on_us": 6, "cases_resolved": 3, "messages": 9, "quarantined": 0, "outbox_sent": 4,
            "outbox_failed": 1, "outbox_pending": 4}
    with engine.begin() as conn:
        conn.execute(delete(outbox).where(outbox.c.state == "failed"))
        conn.execute(delete(messages).where(messages.c.id > 6))
        assert _totals(conn) == _counted(conn)
        assert _totals(conn)["messages"] == 6 and "outbox_failed" not in _totals(conn)
    # What a transaction rolled back did not count.
    with engine.connect() as conn, conn.begin() as transaction:
        _add(conn, 100, 2)
        transaction.rollback()
    with engine.begin() as conn:
        assert _totals(conn) == _counted(conn)
    engine.dispose()


def test_totals_from_several_connections(database_url):
    """Writers on different connections (on PostgreSQL, different slots of a total) add up."""
    engine = make_engine(database_url)
    migrate(engine)
    first, second = engine.connect(), engine.connect()
    try:
        for i, conn in enumerate((first, second, first, second)):
            with conn.begin():
                _add(conn, 10 * i, 3)
                conn.execute(update(messages).where(messages.c.id == 1).values(status="quarantined"))
    finally:
        first.close()
        second.close()
    with engine.begin() as conn:
        assert _totals(conn) == _counted(conn)
        assert _totals(conn)["cases_waiting_on_us"] == 12
    engine.dispose()


def test_migration_fills_the_totals_from_the_tables(database_url):
    engine = make_engine(database_url)
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0014_nodes")
    with engine.begin() as conn:
        _add(conn, 0, 7)
        conn.execute(update(outbox).where(outbox.c.id <= 2).values(state="sent"))
        before = _counted(conn)
    assert migrate(engine)[1] == "0015_counters"
    with engine.begin() as conn:
        assert _totals(conn) == _counted(conn) == before
        _add(conn, 50, 2)  # and kept from there
        assert _totals(conn) == _counted(conn)
    engine.dispose()

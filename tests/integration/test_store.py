"""The store on real databases: SQLite, and PostgreSQL when INBOXD_TEST_POSTGRES_URL is set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, inspect

from inboxd.errors import StoreUnavailable
from inboxd.service.duework import break_overdue_promises
from inboxd.store import repo
from inboxd.store.db import current_revision, make_engine, migrate, open_store_readonly

NOW = datetime(2026, 11, 20, 17, 30, tzinfo=UTC)


@pytest.fixture
def store(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    yield repo.Store(engine)
    engine.dispose()


def test_migrations_create_every_table_and_are_idempotent(database_url):
    engine = make_engine(database_url)
    before, after = migrate(engine)
    assert before is None and after == current_revision(engine)
    assert set(inspect(engine).get_table_names()) >= {
        "folder_state", "messages", "cases", "promises", "scheduled", "outbox", "events", "alembic_version"}
    assert migrate(engine) == (after, after)
    engine.dispose()


def test_datetimes_come_back_aware_and_equal(store):
    berlin = NOW.astimezone(timezone(timedelta(hours=1)))
    with store.begin() as conn:
        case_id, number = repo.insert_case(conn, mailbox="support", customer="a@x.example", customer_name="A",
                                           subject="s", priority="normal", language="en", now=berlin)
    with store.connect() as conn:
        state = repo.case_state(conn, number)
    assert state is not None and state.opened_at == NOW and state.opened_at.tzinfo is not None


def test_case_numbers_are_sequential_from_1001(store):
    with store.begin() as conn:
        numbers = [repo.insert_case(conn, mailbox="support", customer=f"c{i}@x.example", customer_name="",
                                    subject="s", priority="normal", language="en", now=NOW)[1] for i in range(3)]
    assert numbers == [1001, 1002, 1003]


def test_folder_watermark_never_moves_back_within_a_uidvalidity(store):
    with store.begin() as conn:
        repo.set_folder_state(conn, "support", "INBOX", 7, 10, NOW)
        repo.set_folder_state(conn, "support", "INBOX", 7, 5, NOW)
        assert repo.get_folder_state(conn, "support", "INBOX").last_uid == 10
        repo.set_folder_state(conn, "support", "INBOX", 8, 3, NOW)  # a new UIDVALIDITY starts over
        assert repo.get_folder_state(conn, "support", "INBOX").last_uid == 3


def _enqueue(conn, key: str, case_id: int | None = None) -> bool:
    return repo.enqueue(conn, idempotency_key=key, message_id=f"{key}@example.com", kind="ack", case_id=case_id,
                        mailbox="support", mail_from="support@example.com", rcpt_to=["a@x.example"], raw=b"x",
                        now=NOW, copy_wanted=False)


def test_outbox_is_idempotent_by_key(store):
    with store.begin() as conn:
        assert _enqueue(conn, "ack:1001") is True
        assert _enqueue(conn, "ack:1001") is False
    with store.connect() as conn:
        assert repo.outbox_counts(conn) == {"pending": 1}


def test_outbox_claim_is_a_lease_that_expires(store):
    with store.begin() as conn:
        _enqueue(conn, "ack:1")
        _enqueue(conn, "ack:2")
    with store.begin() as conn:
        first = repo.claim_outbox(conn, NOW)
    assert [r.message_id for r in first] == ["ack:1@example.com", "ack:2@example.com"]
    with store.begin() as conn:
        assert repo.claim_outbox(conn, NOW + timedelta(minutes=1)) == []  # claimed: nobody else takes them
        repo.mark_sent(conn, first[0].id, NOW)
    with store.begin() as conn:
        # The claimer died: after the lease, the unsent one is taken over; the sent one never again.
        again = repo.claim_outbox(conn, NOW + repo.SEND_LEASE + timedelta(seconds=1))
    assert [r.message_id for r in again] == ["ack:2@example.com"]


def test_retry_and_failure_are_recorded(store):
    with store.begin() as conn:
        _enqueue(conn, "ack:1")
        (row,) = repo.claim_outbox(conn, NOW)
        repo.mark_retry(conn, row.id, "451 try later", NOW + timedelta(minutes=1))
    with store.begin() as conn:
        assert repo.claim_outbox(conn, NOW) == []
        (row,) = repo.claim_outbox(conn, NOW + timedelta(minutes=2))
        assert row.attempts == 1
        repo.mark_failed(conn, row.id, "550 no such user", NOW)
    with store.connect() as conn:
        assert repo.outbox_counts(conn) == {"failed": 1}


def test_threading_index_finds_cases_by_stored_and_sent_message_ids(store):
    with store.begin() as conn:
        case_id, number = repo.insert_case(conn, mailbox="support", customer="a@x.example", customer_name="",
                                           subject="s", priority="normal", language="en", now=NOW)
        repo.insert_message(conn, message_id="orig@x.example", content_hash="h", mailbox="support",
                            folder="INBOX", direction="in", kind="customer", status="processed", case_id=case_id,
                            received_at=NOW, size=1)
        _enqueue(conn, "ack:x", case_id)
    with store.connect() as conn:
        index = repo.ConnIndex(conn)
        assert index.case_for_message_ids(["orig@x.example"]) == number
        assert index.case_for_message_ids(["nope@x", "ack:x@example.com"]) == number
        assert index.case_for_message_ids(["nope@x"]) is None
        assert index.case_exists(number) and not index.case_exists(number + 1)


def test_overdue_promises_break_once(store):
    with store.begin() as conn:
        case_id, _ = repo.insert_case(conn, mailbox="support", customer="a@x.example", customer_name="",
                                      subject="s", priority="normal", language="en", now=NOW)
        repo.add_promise(conn, case_id=case_id, owner="team", source="ack", text="by Monday", made_at=NOW,
                         due_at=NOW + timedelta(hours=1))
    assert break_overdue_promises(store, NOW + timedelta(minutes=59)) == 0
    assert break_overdue_promises(store, NOW + timedelta(hours=2)) == 1
    assert break_overdue_promises(store, NOW + timedelta(hours=3)) == 0


def _impatient(url: str) -> repo.Store:
    """A store on ``url`` whose connections fail at once on a held lock instead of waiting for it."""
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _no_wait(dbapi_conn, _record) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout=0")

    return repo.Store(engine)


def _count_cases(conn) -> int:
    return len(repo.list_cases(conn))


def _new_case(conn, customer: str) -> None:
    repo.insert_case(conn, mailbox="support", customer=customer, customer_name="", subject="s",
                     priority="normal", language="en", now=NOW)


def test_sqlite_a_long_read_does_not_hold_up_a_writer(tmp_path):
    url = f"sqlite:///{tmp_path}/inboxd.db"
    migrate(make_engine(url))
    reader = open_store_readonly(url)  # as `inboxd report`, `cases`, `stats` and the status page read
    writer = _impatient(url)
    with writer.begin() as conn:
        _new_case(conn, "first@x.example")
    with reader.connect() as reading:
        assert _count_cases(reading) == 1  # the read transaction is open from here on
        with writer.begin() as conn:  # would fail at once ("database is locked") if the reader held the lock
            _new_case(conn, "second@x.example")
        assert _count_cases(reading) == 1  # the reader keeps its snapshot …
    with reader.connect() as reading:
        assert _count_cases(reading) == 2  # … and the next read sees the write
    reader.dispose()
    writer.dispose()


def test_sqlite_a_writer_still_takes_the_write_lock_when_it_begins(tmp_path):
    url = f"sqlite:///{tmp_path}/inboxd.db"
    migrate(make_engine(url))
    first, second = _impatient(url), _impatient(url)
    with first.begin() as conn:
        assert _count_cases(conn) == 0  # has only read so far, yet holds the lock: the second writer cannot begin
        with pytest.raises(StoreUnavailable), second.begin() as other:
            _new_case(other, "second@x.example")
        _new_case(conn, "first@x.example")
    with second.connect() as conn:
        assert _count_cases(conn) == 1
    first.dispose()
    second.dispose()

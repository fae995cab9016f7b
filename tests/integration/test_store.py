"""The store on real databases: SQLite, and PostgreSQL when INBOXD_TEST_POSTGRES_URL is set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect

from inboxd.service.duework import break_overdue_promises
from inboxd.store import repo
from inboxd.store.db import current_revision, make_engine, migrate

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

"""Which failures are the database's (retried) and which the message's (quarantined): repo.store_fault."""

from __future__ import annotations

import errno
import sqlite3

import psycopg.errors as pg
import pytest
from sqlalchemy import exc

from inboxd.errors import StoreUnavailable, WriteConflict
from inboxd.store.repo import describe_fault, store_fault


def _wrapped(wrapper: type[exc.DBAPIError], orig: Exception) -> exc.DBAPIError:
    return wrapper("INSERT …", {}, orig)


@pytest.mark.parametrize(("error", "expected"), [
    (_wrapped(exc.OperationalError, sqlite3.OperationalError("database or disk is full")), StoreUnavailable),
    (_wrapped(exc.OperationalError, sqlite3.OperationalError("disk I/O error")), StoreUnavailable),
    (_wrapped(exc.OperationalError, sqlite3.OperationalError("database is locked")), StoreUnavailable),
    (_wrapped(exc.OperationalError, sqlite3.OperationalError("attempt to write a readonly database")),
     StoreUnavailable),
    (_wrapped(exc.OperationalError, sqlite3.OperationalError("too many SQL variables")), None),
    (_wrapped(exc.IntegrityError, sqlite3.IntegrityError("UNIQUE constraint failed: cases.number")), WriteConflict),
    (_wrapped(exc.IntegrityError, sqlite3.IntegrityError("NOT NULL constraint failed: messages.kind")), None),
    (_wrapped(exc.IntegrityError, pg.UniqueViolation("duplicate key value")), WriteConflict),
    (_wrapped(exc.IntegrityError, pg.NotNullViolation("null value in column")), None),
    (_wrapped(exc.OperationalError, pg.SerializationFailure("could not serialize access")), WriteConflict),
    (_wrapped(exc.OperationalError, pg.DeadlockDetected("deadlock detected")), WriteConflict),
    (_wrapped(exc.OperationalError, pg.DiskFull("could not extend file")), StoreUnavailable),
    (_wrapped(exc.OperationalError, pg.AdminShutdown("terminating connection")), StoreUnavailable),
    (_wrapped(exc.InternalError, pg.ReadOnlySqlTransaction("read-only transaction")), StoreUnavailable),
    (_wrapped(exc.DataError, pg.StringDataRightTruncation("value too long")), None),
    (_wrapped(exc.InternalError, pg.InFailedSqlTransaction("current transaction is aborted")), None),
    (exc.TimeoutError("QueuePool limit reached"), StoreUnavailable),
    (OSError(errno.ENOSPC, "No space left on device"), StoreUnavailable),
    (ValueError("a bug on this message"), None),
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), None),
])
def test_store_fault_tells_the_databases_faults_from_the_messages(error: Exception, expected: type | None) -> None:
    assert store_fault(error) is expected


def test_a_fault_raised_while_handling_another_is_found_in_the_chain() -> None:
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as disk:
            raise RuntimeError("while writing the journal") from disk
    except RuntimeError as error:
        assert store_fault(error) is StoreUnavailable


def test_the_description_is_one_line_without_the_statement() -> None:
    error = _wrapped(exc.OperationalError, sqlite3.OperationalError("database or disk is full"))
    assert describe_fault(error) == "database unavailable: database or disk is full"

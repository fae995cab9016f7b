"""Engines and migrations: SQLite (WAL) by default, PostgreSQL for several daemons."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import StaticPool

from inboxd.errors import (
    DatabaseConfigError,
    DatabaseError,
    DatabaseMissing,
    DatabaseOutdated,
    DatabaseReadOnly,
    InboxdError,
)

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

    from inboxd.store.repo import Store

# Alembic is imported where the schema is changed, not by every command that only reads the store: it
# costs about a tenth of a second of start-up (``inboxd eta``, ``inboxd cases``).

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The PostgreSQL advisory lock held while the schema is changed ("inboxd" in ASCII): daemons that start
# together on an empty database take turns instead of creating the same tables twice.
MIGRATION_LOCK = 0x696E626F7864


# The execution option that marks a connection as one that only reads (``Store.connect``): on SQLite its
# transaction begins deferred instead of taking the write lock.
READ_ONLY = "inboxd_read_only"


def read_connection(engine: Engine) -> Connection:
    """A connection for reading only: on SQLite its transactions never hold the write lock."""
    return engine.connect().execution_options(**{READ_ONLY: True})


def make_engine(url: str) -> Engine:
    """An engine with the settings inboxd relies on for the given backend."""
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if memory:
            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # pysqlite's own transaction handling defers BEGIN; take it over so that
            # SQLAlchemy's BEGIN is real and a write transaction locks from its start.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            if conn.get_execution_options().get(READ_ONLY):
                # Deferred: a read snapshot and no lock; under WAL, writers go on while it reads.
                conn.exec_driver_sql("BEGIN")
            else:
                # IMMEDIATE: take the write lock at BEGIN, so concurrent writers wait instead of failing.
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to the newest revision; return (before, after)."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = alembic_config(engine)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Held until this transaction ends; whoever waited then finds the schema at its head.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        before = MigrationContext.configure(conn).get_current_revision()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    head = ScriptDirectory.from_config(cfg).get_current_head()
    return before, head or ""


def current_revision(engine: Engine) -> str | None:
    """The schema's revision as Alembic recorded it; None for a database inboxd has not migrated."""
    with read_connection(engine) as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


# -- for commands that only read, and for start-up errors ------------------------------------------

_REVISION_LINE = re.compile(r"""^(down_revision|revision)\s*(?::[^=]*)?=\s*(?:["']([^"']+)["']|None)""", re.M)


def head_revision() -> str:
    """The newest revision among the migration scripts, read from their text (Alembic is not imported)."""
    return _revisions()[0]


@lru_cache(maxsize=1)
def _revisions() -> tuple[str, frozenset[str]]:
    """(head, every revision) of the migration scripts."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        for name, value in _REVISION_LINE.findall(script.read_text(encoding="utf-8")):
            if value:
                (revisions if name == "revision" else parents).add(value)
    heads = sorted(revisions - parents)
    if len(heads) != 1:
        raise RuntimeError(f"the migration scripts have {len(heads)} heads: {heads}")
    return heads[0], frozenset(revisions)


def shown_url(url: str) -> str:
    """The URL as it may be shown to a person or logged: without its password."""
    try:
        parsed = make_url(url)
        return url if parsed.password is None else parsed.render_as_string(hide_password=True)
    except ArgumentError:
        # Not a URL at all: show only its scheme, in case the rest holds a password.
        return url.split("://", 1)[0] + "://…" if "://" in url else "(not a URL)"


def _sqlite_path(url: str) -> Path | None:
    """The file an SQLite URL names; None for another backend or an in-memory database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    name = parsed.database or ""
    if name in ("", ":memory:"):
        return None
    if name.startswith("file:"):  # an SQLite URI filename (?uri=true)
        name = name[len("file:"):]
    return Path(name)


def database_error(exc: BaseException, url: str) -> InboxdError | None:
    """What a failure to open or use the database means to the admin, or None when it is not such a failure.

    The message starts with ``database:`` and names the URL without its password; the subclass says
    which exit code fits (an invalid URL is a configuration problem, an unreachable server a temporary one).
    """
    if isinstance(exc, InboxdError):
        return exc
    where = shown_url(url)
    if isinstance(exc, ArgumentError):  # includes NoSuchModuleError: an unknown scheme
        return DatabaseConfigError(f"database: {where} is not a usable database URL ({_first_line(exc)}); "
                                   "expected e.g. sqlite:////var/lib/inboxd/inboxd.db or postgresql://user@host/db")
    if isinstance(exc, ModuleNotFoundError):
        return DatabaseConfigError(f"database: {where} needs the Python module {exc.name!r}, which is not installed "
                                   "(for PostgreSQL: pip install 'inboxd[postgres]')")
    if type(exc).__module__.startswith("alembic"):
        return DatabaseOutdated(f"database: {where} cannot be migrated: {_first_line(exc)} "
                                "(was it created by a newer inboxd?)")
    if not isinstance(exc, DBAPIError):
        return None
    detail = _first_line(exc.orig) if exc.orig is not None else _first_line(exc)
    if url.startswith("sqlite"):
        lowered = detail.lower()
        if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
            path = _sqlite_path(url)
            hint = f"; check that {path.parent} exists and that inboxd's user may write there" if path else ""
            return DatabaseReadOnly(f"database: cannot write {where}: {detail}{hint}")
        return DatabaseError(f"database: {where}: {detail}")
    if "does not exist" in detail or "authentication failed" in detail or "role " in detail:
        return DatabaseConfigError(f"database: {where}: {detail}")
    return DatabaseError(f"database: {where} is unavailable: {detail}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].strip() if text else type(exc).__name__


def open_store_readonly(url: str) -> Store:
    """The existing database at ``url`` for a command that only reads; never creates or migrates one.

    Raises DatabaseMissing when there is no inboxd database there (an SQLite file that does not exist,
    or a database without inboxd's tables), DatabaseOutdated when its schema is not this inboxd's
    revision (the answer is ``inboxd migrate``), and the other DatabaseError kinds when it cannot be
    reached (see ``database_error``). ``inboxd cases``, ``stats``, ``status`` and ``quarantine list`` use it.
    """
    from inboxd.store.repo import Store

    where = shown_url(url)
    try:
        path = _sqlite_path(url)
        if url.startswith("sqlite") and (path is None or not path.is_file()):
            raise DatabaseMissing(f"database: no inboxd database at {where} (point INBOXD_DATABASE_URL or "
                                  "--database-url at it; the daemon creates it when it first starts)")
        engine = make_engine(url)
        try:
            revision = current_revision(engine)
        except BaseException:
            engine.dispose()
            raise
    except Exception as exc:
        error = database_error(exc, url) or exc
        if isinstance(error, DatabaseReadOnly):
            # SQLite needs to write beside even a database it only reads (WAL's shared-memory file).
            detail = _first_line(exc.orig) if isinstance(exc, DBAPIError) and exc.orig is not None else str(exc)
            error = DatabaseReadOnly(f"database: cannot open {where}: {detail}; run the command as the user "
                                     "the daemon runs as (e.g. sudo -u inboxd inboxd …)")
        raise error from exc
    if revision is None:
        engine.dispose()
        raise DatabaseMissing(f"database: {where} holds no inboxd tables (point INBOXD_DATABASE_URL or "
                              "--database-url at inboxd's database; the daemon creates them when it first starts)")
    head, known = _revisions()
    if revision not in known:
        engine.dispose()
        raise DatabaseOutdated(f"database: {where} is at schema revision {revision}, which this inboxd does not "
                               f"know (it needs {head}): was the database used by a newer inboxd?")
    if revision != head:
        engine.dispose()
        raise DatabaseOutdated(f"database: {where} is at schema revision {revision}, this inboxd needs {head}: "
                               "run `inboxd migrate` (the daemon also migrates on start)")
    return Store(engine)

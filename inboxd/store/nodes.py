"""Queries behind several daemons on one PostgreSQL database: the node registry, leases, claims of a node.

Every time compared here is the database's (``database_now``), so the daemons' own clocks may differ.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from inboxd.store.schema import leases, nodes, outbox, scheduled


def database_now(conn: Connection) -> datetime:
    """The database's time (PostgreSQL's ``now()``): one clock for every daemon's leases."""
    if conn.dialect.name != "postgresql":
        return datetime.now(UTC)
    value: datetime = conn.execute(select(func.now())).scalar_one()
    return value.astimezone(UTC)


def beat(conn: Connection, *, name: str, host: str, pid: int, started_at: datetime, mailboxes: list[str],
         now: datetime) -> None:
    """Record that the node ``name`` is alive (and which mailboxes its configuration names)."""
    values = {"heartbeat_at": now, "mailboxes": sorted(mailboxes)}
    if conn.execute(update(nodes).where(nodes.c.name == name).values(**values)).rowcount == 0:
        conn.execute(insert(nodes).values(name=name, host=host, pid=pid, started_at=started_at, **values))


def live_nodes(conn: Connection, since: datetime) -> dict[str, list[str]]:
    """The nodes whose heartbeat is newer than ``since``: name → the mailboxes they can serve."""
    rows = conn.execute(select(nodes.c.name, nodes.c.mailboxes).where(nodes.c.heartbeat_at > since))
    return {str(r.name): [str(m) for m in (r.mailboxes or [])] for r in rows}


def forget_nodes(conn: Connection, before: datetime) -> int:
    """Drop the rows of nodes gone since before ``before`` (their leases lapsed long ago)."""
    return int(conn.execute(delete(nodes).where(nodes.c.heartbeat_at < before)).rowcount or 0)


def remove_node(conn: Connection, name: str) -> None:
    conn.execute(delete(nodes).where(nodes.c.name == name))


def renew_leases(conn: Connection, holder: str, now: datetime, ttl: timedelta) -> dict[str, int]:
    """Extend the leases ``holder`` still holds (not lapsed); return them, name → fencing token."""
    conn.execute(update(leases).where(leases.c.holder == holder, leases.c.expires_at > now)
                 .values(expires_at=now + ttl))
    rows = conn.execute(select(leases.c.name, leases.c.token)
                        .where(leases.c.holder == holder, leases.c.expires_at > now))
    return {str(r.name): int(r.token) for r in rows}


def current_holders(conn: Connection, now: datetime) -> dict[str, str]:
    """Every lease that is held and has not lapsed: name → holder."""
    rows = conn.execute(select(leases.c.name, leases.c.holder)
                        .where(leases.c.holder.isnot(None), leases.c.expires_at > now))
    return {str(r.name): str(r.holder) for r in rows}


def acquire_lease(conn: Connection, name: str, holder: str, now: datetime, ttl: timedelta) -> int | None:
    """Take the lease ``name`` when nobody holds it or its holder let it lapse; return its new fencing token.

    On PostgreSQL the UPDATE waits for a concurrent taker and then tests its condition again, so of two
    daemons trying at once exactly one gets the lease.
    """
    free = or_(leases.c.holder.is_(None), leases.c.expires_at.is_(None), leases.c.expires_at <= now)
    taken = conn.execute(update(leases).where(leases.c.name == name, free)
                         .values(holder=holder, token=leases.c.token + 1, acquired_at=now, expires_at=now + ttl))
    if taken.rowcount == 0:
        if conn.execute(select(leases.c.name).where(leases.c.name == name)).first() is not None:
            return None
        try:
            with conn.begin_nested():
                conn.execute(insert(leases).values(name=name, holder=holder, token=1, acquired_at=now,
                                                   expires_at=now + ttl))
        except IntegrityError:
            return None  # another daemon created it first
    token = conn.execute(select(leases.c.token).where(leases.c.name == name, leases.c.holder == holder)).scalar()
    return int(token) if token is not None else None


def holds_lease(conn: Connection, name: str, holder: str, token: int, now: datetime) -> bool:
    """Whether ``holder`` still holds the lease with this fencing token; on PostgreSQL the lease row stays share-locked
    until the caller's transaction ends, so nobody can take the lease over while that transaction writes."""
    row = conn.execute(select(leases.c.name).where(leases.c.name == name, leases.c.holder == holder,
                                                   leases.c.token == token, leases.c.expires_at > now)
                       .with_for_update(read=True)).first()
    return row is not None


def release_lease(conn: Connection, name: str, holder: str) -> bool:
    """Give a lease up (after the work it guards stopped): the next holder need not wait for it to lapse."""
    result = conn.execute(update(leases).where(leases.c.name == name, leases.c.holder == holder)
                          .values(holder=None, expires_at=None))
    return bool(result.rowcount)


def read_nodes(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(nodes).order_by(nodes.c.started_at, nodes.c.name))
    return [dict(r._mapping) for r in rows]


def read_leases(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(leases).where(leases.c.holder.isnot(None)).order_by(leases.c.name))
    return [dict(r._mapping) for r in rows]


def renew_outbox_claims(conn: Connection, outbox_ids: Collection[int], worker: str, until: datetime) -> int:
    """Extend the claims ``worker`` holds on messages it is sending now."""
    if not outbox_ids:
        return 0
    result = conn.execute(update(outbox).where(outbox.c.id.in_(list(outbox_ids)), outbox.c.state == "sending",
                                               outbox.c.claimed_by == worker).values(next_attempt_at=until))
    return int(result.rowcount or 0)


def release_claims_of(conn: Connection, worker: str, now: datetime) -> int:
    """Give back every claim of ``worker`` (a daemon stopping): others may take its messages and items at once."""
    sent = conn.execute(update(outbox).where(outbox.c.state == "sending", outbox.c.claimed_by == worker)
                        .values(state="pending", claimed_by=None, next_attempt_at=now))
    items = conn.execute(update(scheduled).where(and_(scheduled.c.claimed_by == worker, scheduled.c.done_at.is_(None)))
                         .values(claimed_by=None, claimed_until=None))
    return int(sent.rowcount or 0) + int(items.rowcount or 0)

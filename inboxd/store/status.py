"""Queries behind ``inboxd status`` and the first-start record of ``initial_sync: new``."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from inboxd.store.schema import folder_watch_start, messages, outbox, watch_status


def record_first_start(conn: Connection, mailbox: str, folder: str, now: datetime) -> datetime:
    """Remember when inboxd first started watching a folder (kept from the first start on); return it."""
    existing = first_start(conn, mailbox, folder)
    if existing is not None:
        return existing
    try:
        with conn.begin_nested():
            conn.execute(insert(folder_watch_start).values(mailbox=mailbox, folder=folder, started_at=now))
    except IntegrityError:
        # Another daemon on the same database recorded it first: its time stands.
        found = first_start(conn, mailbox, folder)
        assert found is not None
        return found
    return now


_FIRST_START = select(folder_watch_start.c.started_at).where(
    folder_watch_start.c.mailbox == bindparam("mailbox"), folder_watch_start.c.folder == bindparam("folder"))


def first_start(conn: Connection, mailbox: str, folder: str) -> datetime | None:
    return conn.execute(_FIRST_START, {"mailbox": mailbox, "folder": folder}).scalar()


def write_status(conn: Connection, rows: list[dict[str, Any]],
                 keep: set[tuple[str, str]] | None = None) -> None:
    """Upsert one row per (mailbox, channel); with ``keep``, drop the rows of anything no longer configured."""
    if keep is not None:
        for mailbox, channel in conn.execute(select(watch_status.c.mailbox, watch_status.c.channel)).all():
            if (mailbox, channel) not in keep:
                conn.execute(delete(watch_status).where(watch_status.c.mailbox == mailbox,
                                                        watch_status.c.channel == channel))
    for row in rows:
        key = (watch_status.c.mailbox == row["mailbox"], watch_status.c.channel == row["channel"])
        values = {k: v for k, v in row.items() if k not in ("mailbox", "channel")}
        if conn.execute(update(watch_status).where(*key).values(**values)).rowcount == 0:
            conn.execute(insert(watch_status).values(**row))


def read_status(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(watch_status).order_by(watch_status.c.mailbox, watch_status.c.channel))
    return [dict(r._mapping) for r in rows]


def quarantine_counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(messages.c.mailbox, func.count()).where(messages.c.status == "quarantined")
                        .group_by(messages.c.mailbox))
    return {str(mailbox): int(count) for mailbox, count in rows}


def outbox_counts_by_mailbox(conn: Connection) -> dict[str, dict[str, int]]:
    rows = conn.execute(select(outbox.c.mailbox, outbox.c.state, func.count())
                        .where(outbox.c.state.in_(("pending", "sending", "failed")))  # the index, not every sent mail
                        .group_by(outbox.c.mailbox, outbox.c.state))
    result: dict[str, dict[str, int]] = defaultdict(dict)
    for mailbox, state, count in rows:
        result[str(mailbox)][str(state)] = int(count)
    return dict(result)

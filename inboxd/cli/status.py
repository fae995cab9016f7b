"""``inboxd status``: what the running daemon reports about each mailbox (read-only).

Contract (DESIGN.md, "CLI contract")::

    inboxd status [--database-url URL] [--json]

Per mailbox: up or down (each watched folder, IDLE or polling), the last poll, the current and the last IMAP and
SMTP errors with their time, the quarantined messages and the outbox (pending, sending, failed), and the node
(host:pid) of the daemon that reported it. Several daemons on PostgreSQL: each mailbox's holder, and every daemon
(alive or gone, its last heartbeat, the mailboxes it serves, whether it leads the tick). The daemon writes its
state on every change and every ``HEARTBEAT_SECONDS``; a report older than a minute is shown as stale (the
daemon is not running, or hung).

Exit status: 0 when every mailbox is up with no current error, 3 when one is down, stale or failing (a processing
fault, an SMTP error), 1 when the daemon has not reported yet, 66 when there is no database (the command never
creates or migrates one).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

__all__ = ["add_parser", "cmd_status"]


def add_parser(subparsers: Any,
               with_db: Callable[[argparse.ArgumentParser], argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register ``status`` on the ``inboxd`` sub-command parsers (``with_db`` adds ``--database-url``)."""
    parser = with_db(subparsers.add_parser(
        "status", help="what the running daemon reports: mailboxes up or down, errors, quarantine, outbox",
        description="Show, per mailbox, what the daemon last reported. Exit 0 when all are up, 3 when one "
                    "is down or the report is stale, 66 without a database."))
    parser.add_argument("--json", action="store_true", help="one JSON object (see DESIGN.md)")
    parser.set_defaults(func=cmd_status)
    return parser


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def cmd_status(args: argparse.Namespace) -> int:
    from inboxd.cli.setup import readonly_store as _store
    from inboxd.core.status import build_report, exit_code, format_report
    from inboxd.store import nodes as store_nodes
    from inboxd.store import status as status_store

    # Never creates or migrates a database: without one (66) or at another revision (65), cli.main says so.
    store = _store(args)
    try:
        with store.connect() as conn:
            rows = status_store.read_status(conn)
            quarantined = status_store.quarantine_counts(conn)
            outbox = status_store.outbox_counts_by_mailbox(conn)
            nodes = store_nodes.read_nodes(conn)
            leases = store_nodes.read_leases(conn)
    finally:
        store.dispose()
    if not rows:
        return _fail("no status recorded: the daemon has not run with this database")
    report = build_report(rows, quarantined, outbox, datetime.now(UTC), nodes, leases)
    if args.json:
        print(json.dumps(report, default=_json_default, ensure_ascii=False))
    else:
        print("\n".join(format_report(report)))
    return exit_code(report)

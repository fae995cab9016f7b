"""``inboxd replay``: the current rules and decisions over last week's mail, read-only (:mod:`inboxd.service.replay`).

Contract::

    inboxd replay [--since 7d] [--mailbox M ...] [--all] [--json] [--config PATH] [--database-url URL]

Lists, per message that arrived in the window, what the configuration as it is now would change against
what was done (kind, priority, tags, assignee, acknowledged). ``--all`` lists unchanged messages too;
``--json`` prints one object per message. Exit 0; 66 without a database (never creates one).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from inboxd.cli.report import _since

__all__ = ["add_parser", "cmd_replay"]


def add_parser(subparsers: Any, with_config: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
               with_db: Callable[[argparse.ArgumentParser], argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = with_db(with_config(subparsers.add_parser(
        "replay", help="what the current rules would change on recent mail (read-only)",
        description="Run the current rules and decisions over mail already in the mailbox and list, per "
                    "message, what would change against what was done. Reads only: nothing is sent, "
                    "stored or marked seen.")))
    parser.add_argument("--since", type=_since, default=timedelta(days=7), metavar="DURATION",
                        help="how far back (calendar time; default 7d)")
    parser.add_argument("--mailbox", action="append", default=[], metavar="NAME",
                        help="only this mailbox (repeatable; default all)")
    parser.add_argument("--all", action="store_true", help="also list messages that would not change")
    parser.add_argument("--json", action="store_true", help="one JSON object per message")
    parser.set_defaults(func=cmd_replay)
    return parser


def cmd_replay(args: argparse.Namespace) -> int:
    from inboxd.cli.setup import database_url as _database_url
    from inboxd.cli.setup import json_default as _json_default
    from inboxd.cli.setup import load_runtime as _load
    from inboxd.cli.setup import local_time as _local
    from inboxd.cli.setup import readonly_store as _store
    from inboxd.service.daemon import imap_settings
    from inboxd.service.replay import describe_change, replay
    from inboxd.transport.imap import ImapConnection
    from inboxd.transport.tokens import TokenSources, state_directory

    rt = _load(args)
    unknown = [name for name in args.mailbox if name not in {m.name for m in rt.config.mailboxes}]
    if unknown:
        print(f"error: no mailbox {unknown[0]!r} in the configuration", file=sys.stderr)
        return 2
    store = _store(args)
    tokens = TokenSources(state_directory(_database_url(args)))
    now = datetime.now(UTC)
    try:
        rows = replay(rt, store, lambda mailbox: ImapConnection(imap_settings(mailbox, tokens.get(mailbox))),
                      now, args.since, args.mailbox)
    finally:
        store.dispose()
    shown = [row for row in rows if args.all or row.changed or row.was is None]
    if args.json:
        for row in shown:
            print(json.dumps(row.as_dict(), default=_json_default, ensure_ascii=False))
        return 0
    tz = rt.calendar.tz
    if shown:
        print(f"{'arrived':<21} {'from':<30} {'case':>6}  what changes")
    for row in shown:
        arrived = _local(row.arrived, tz) if row.arrived else "-"
        print(f"{arrived:<21} {row.sender[:30]:<30} {row.case or '-':>6}  {describe_change(row)}")
    changed = sum(1 for row in rows if row.changed)
    print(f"{len(rows)} message(s) replayed, {changed} would change")
    return 0

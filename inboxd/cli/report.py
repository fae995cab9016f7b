"""``inboxd report``: the status page as one self-contained HTML file, or its figures as JSON (read-only).

Contract::

    inboxd report [--since 7d] (--html FILE | --json) [--config PATH] [--database-url URL]

The HTML file carries its CSS and its SVG charts inline and loads nothing (for a weekly mail to the lead);
``--json`` prints the figures behind it. The numbers cover ``--since`` (calendar time: 7d, 2w, 36h); the charts
always show the last weeks and days. The command never creates or migrates a database (66 without one).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from inboxd.core.durations import parse_duration

__all__ = ["add_parser", "cmd_report"]


def _since(text: str) -> timedelta:
    try:
        duration = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if duration.is_business:
        raise argparse.ArgumentTypeError(f"{text!r}: use calendar time for --since, e.g. 7d or 2w")
    return duration.as_timedelta()


def add_parser(subparsers: Any, with_config: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
               with_db: Callable[[argparse.ArgumentParser], argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = with_db(with_config(subparsers.add_parser(
        "report", help="the status page as one HTML file, or its figures as JSON",
        description="Write the status page (numbers, charts, promises at risk, commitments, queue, mailboxes) "
                    "as one self-contained HTML file, or print its figures as JSON. Reads only.")))
    parser.add_argument("--since", type=_since, default=timedelta(days=7), metavar="DURATION",
                        help="the window of the numbers (default 7d)")
    out = parser.add_mutually_exclusive_group(required=True)
    out.add_argument("--html", metavar="FILE", help="write the page here ('-' for standard output)")
    out.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.set_defaults(func=cmd_report)
    return parser


def cmd_report(args: argparse.Namespace) -> int:
    from inboxd.cli.setup import load_runtime as _load
    from inboxd.cli.setup import readonly_store as _store
    from inboxd.web.page import figures, gather, render_page

    rt = _load(args)
    store = _store(args)
    now = datetime.now(UTC)
    try:
        with store.connect() as conn:
            data = gather(conn, rt, now, since=args.since)
    finally:
        store.dispose()
    if args.json:
        print(json.dumps(figures(data), ensure_ascii=False))
        return 0
    html = render_page(data, report=True)
    if args.html == "-":
        sys.stdout.write(html)
        return 0
    target = Path(args.html)
    # Written whole or not at all: a mail job reading the file never sees half a page.
    handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent if str(target.parent) else ".")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(html)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    print(f"report written to {target}", file=sys.stderr)
    return 0

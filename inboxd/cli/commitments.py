"""``inboxd commitments``: the promises in a staff reply and when they fall due (no side effects).

Contract (DESIGN.md, "CLI contract")::

    inboxd commitments [--config PATH] --sent-at ISO8601 [--json] [FILE|-]
    inboxd commitments [--config PATH] --batch FILE.jsonl

The body is read from FILE (or stdin for ``-`` or no FILE); ``--json`` prints
``{"commitments": [{"text": sentence, "due": ISO8601 with offset}]}``. ``--batch`` reads lines
``{"id", "sent_at", "text"}`` and writes one line ``{"id", "commitments": [...]}`` per input line, in
order, in one process, so a labelled set is scored without paying start-up per snippet. A batch line that
cannot be used still gets its output line, with an ``"error"`` key, and the command then exits 1.

A ``--sent-at`` without an offset is read in the team's timezone.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from inboxd.core.calendar import BusinessCalendar
    from inboxd.core.commitments import Commitment

__all__ = ["add_parser", "cmd_commitments"]


def add_parser(
    subparsers: Any,
    with_config: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Register ``commitments`` on the ``inboxd`` sub-command parsers (``with_config`` adds ``--config``)."""
    parser = with_config(subparsers.add_parser(
        "commitments", help="find the dated promises in a staff reply, with no side effects",
        description="Read the body of a staff reply and print the commitments it makes and when each falls due."))
    parser.add_argument("--sent-at", metavar="ISO8601",
                        help="the reply's Date, e.g. 2026-11-02T10:15:00+01:00 (required unless --batch)")
    parser.add_argument("--json", action="store_true", help='print {"commitments": [{"text", "due"}]}')
    parser.add_argument("--batch", metavar="FILE.jsonl",
                        help='lines {"id", "sent_at", "text"} in ("-" for stdin), one JSON line out per line')
    parser.add_argument("file", nargs="?", default="-", metavar="FILE|-", help="the reply body (default: stdin)")
    parser.set_defaults(func=cmd_commitments)
    return parser


def cmd_commitments(args: argparse.Namespace) -> int:
    """Run ``inboxd commitments``; returns the exit status."""
    if args.batch is None and not args.sent_at:
        print("error: --sent-at is required (or use --batch FILE.jsonl)", file=sys.stderr)
        return 2
    # Imported here: every other command should not pay for loading the calendar and holiday tables.
    from inboxd.cli.setup import load_runtime
    from inboxd.core.commitments import extract_commitments

    runtime = load_runtime(args)
    calendar = runtime.calendar
    if args.batch is not None:
        if args.batch == "-":
            return _run_batch(sys.stdin, calendar)
        try:
            with open(args.batch, encoding="utf-8") as handle:
                return _run_batch(handle, calendar)
        except OSError as exc:
            print(f"error: cannot read {args.batch}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    try:
        sent_at = _parse_sent_at(args.sent_at, calendar.tz)
    except ValueError as exc:
        print(f"error: --sent-at: {exc}", file=sys.stderr)
        return 2
    try:
        body = _read_body(args.file)
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    commitments = extract_commitments(body, sent_at, calendar)
    if args.json:
        _print_json({"commitments": [_as_json(c) for c in commitments]})
    else:
        _print_readable(commitments, sent_at)
    return 0


def _parse_sent_at(value: object, tz: ZoneInfo) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected an ISO 8601 date and time, e.g. 2026-11-02T10:15:00+01:00")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 date and time, e.g. 2026-11-02T10:15:00+01:00") from None
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed


def _read_body(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    # Mail bodies come in odd encodings; a wrong byte must not stop the command.
    return Path(name).read_bytes().decode("utf-8", errors="replace")


def _as_json(commitment: Commitment) -> dict[str, str]:
    return {"text": commitment.text, "due": commitment.due.isoformat()}


def _print_json(obj: object, stream: TextIO | None = None) -> None:
    print(json.dumps(obj, ensure_ascii=False), file=stream or sys.stdout)


def _print_readable(commitments: list[Commitment], sent_at: datetime) -> None:
    if not commitments:
        print("no dated commitments found")
        return
    for commitment in commitments:
        print(f"due {commitment.due:%a %Y-%m-%d %H:%M %z} ({commitment.kind}, {commitment.language}): "
              f"{commitment.text}")


def _run_batch(lines: Iterable[str], calendar: BusinessCalendar) -> int:
    """One output line per input line; a bad line gets an ``error`` and makes the exit status 1."""
    from inboxd.core.commitments import extract_commitments

    status = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        item_id: object = None
        try:
            item = json.loads(line)
            if not isinstance(item, dict):
                raise ValueError("expected a JSON object with id, sent_at and text")
            item_id = item.get("id")
            text = item.get("text")
            if not isinstance(text, str):
                raise ValueError("missing text")
            sent_at = _parse_sent_at(item.get("sent_at"), calendar.tz)
            found = extract_commitments(text, sent_at, calendar)
            _print_json({"id": item_id, "commitments": [_as_json(c) for c in found]})
        except ValueError as exc:
            # json.JSONDecodeError is a ValueError too.
            status = 1
            _print_json({"id": item_id, "commitments": [], "error": f"line {number}: {exc}"})
    return status

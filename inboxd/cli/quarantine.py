"""``inboxd quarantine`` and ``inboxd outbox``: mail inboxd could not handle, made visible and retryable.

Contract (DESIGN.md, "CLI contract")::

    inboxd quarantine list [--all] [--json]    quarantined messages with their error (--all: also resolved ones)
    inboxd quarantine show ID [--json | --raw]  one of them, with its headers (--raw: the message as received)
    inboxd quarantine retry ID | --all [--force]  run the stored message through the normal path once more
    inboxd outbox list [--state S] [--json]     mail that failed or is still waiting to go out
    inboxd outbox retry ID                      give a failed message a fresh set of attempts

``list`` and ``show`` only read: without a database they say so and exit 1, never creating one.

``retry`` hands the stored raw message to :class:`inboxd.service.ingest.Processor` — the code the daemon runs —
for the mailbox and folder it came from. Retried twice, or while the daemon runs, nothing is duplicated:
the message is first claimed (``quarantined`` → ``retrying``), and the Message-ID + content-hash dedupe
and the outbox's idempotency keys stop a second case or acknowledgement. A message that now succeeds gets
its case and acknowledgement (queued for the daemon to send) and its quarantine row becomes ``resolved``,
kept for audit. One that fails again stays quarantined with the new error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inboxd.service.ingest import Outcome
    from inboxd.store.repo import Store

__all__ = ["add_parsers"]

OUTBOX_STATES = ("pending", "sending", "sent", "failed")


def add_parsers(
    subparsers: Any,
    with_config: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
    with_db: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
) -> None:
    """Register ``quarantine`` and ``outbox`` on the ``inboxd`` sub-command parsers."""
    quarantine = subparsers.add_parser("quarantine", help="messages inboxd could not process: list, show, retry")
    actions = quarantine.add_subparsers(dest="quarantine_action", required=True)
    p = with_db(actions.add_parser("list", help="quarantined messages with their error"))
    p.add_argument("--all", action="store_true", help="also those retried successfully (kept for audit)")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_quarantine_list)
    p = with_db(actions.add_parser("show", help="one quarantined message"))
    p.add_argument("id", type=int)
    p.add_argument("--json", action="store_true")
    p.add_argument("--raw", action="store_true", help="write the message as received to stdout")
    p.set_defaults(func=cmd_quarantine_show)
    p = with_db(with_config(actions.add_parser("retry", help="process a quarantined message again, once")))
    p.add_argument("id", type=int, nargs="?")
    p.add_argument("--all", action="store_true", help="every quarantined message")
    p.add_argument("--force", action="store_true",
                   help="also take over a message left 'retrying' by a retry that did not finish (e.g. a crash); "
                        "make sure no other retry of it is running")
    p.set_defaults(func=cmd_quarantine_retry)

    outbox = subparsers.add_parser("outbox", help="mail inboxd sends: what failed or waits")
    actions = outbox.add_subparsers(dest="outbox_action", required=True)
    p = with_db(actions.add_parser("list", help="failed, waiting and in-flight mail (default: all but sent)"))
    p.add_argument("--state", choices=OUTBOX_STATES, action="append",
                   help="only this state (repeatable; default: pending, sending and failed)")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_outbox_list)
    p = with_db(actions.add_parser("retry", help="give a failed message a fresh set of attempts"))
    p.add_argument("id", type=int)
    p.set_defaults(func=cmd_outbox_retry)


# -- shared ----------------------------------------------------------------------------------------


def _store(args: argparse.Namespace) -> Store:
    """The existing database: these commands never create or migrate one (no database: exit 66, see cli.main)."""
    from inboxd.cli.setup import readonly_store as existing_store

    store: Store = existing_store(args)
    return store


def _print_json(obj: Any) -> None:
    from inboxd.cli.setup import print_json

    print_json(obj)


def _headers(raw: bytes | None) -> dict[str, str]:
    """From, To, Subject, Date and Message-ID as the sender wrote them; empty when unreadable."""
    if not raw:
        return {}
    try:
        parsed = BytesHeaderParser(policy=default_policy).parsebytes(raw)
        return {name: " ".join(str(parsed[name]).split())[:300] for name in
                ("From", "To", "Subject", "Date", "Message-ID") if parsed[name] is not None}
    except Exception:  # noqa: BLE001 - a message broken enough to be quarantined may have broken headers
        return {}


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    headers = _headers(row.get("raw"))
    return {"id": row["id"], "status": row["status"], "mailbox": row["mailbox"], "folder": row["folder"],
            "uid": row["uid"], "received_at": row["received_at"], "size": row["size"],
            "from": headers.get("From"), "subject": headers.get("Subject"), "error": row["error"] or "",
            "headers": headers}


def _last_line(text: str) -> str:
    return text.strip().splitlines()[-1] if text.strip() else ""


# -- quarantine ------------------------------------------------------------------------------------


def cmd_quarantine_list(args: argparse.Namespace) -> int:
    from inboxd.store import repo

    store = _store(args)
    try:
        with store.connect() as conn:
            rows = repo.quarantine_rows(conn, include_resolved=args.all, limit=args.limit)
    finally:
        store.dispose()
    entries = [_entry(r) for r in rows]
    if args.json:
        for entry in entries:
            entry.pop("headers")
            _print_json(entry)
        return 0
    if not entries:
        print("no quarantined messages")
        return 0
    print(f"{'id':>6}  {'status':<11} {'received (UTC)':<16}  {'mailbox/folder':<24} {'from':<30} error")
    for e in entries:
        print(f"{e['id']:>6}  {e['status']:<11} {e['received_at']:%Y-%m-%d %H:%M}  "
              f"{(e['mailbox'] + '/' + e['folder'])[:24]:<24} {(e['from'] or '-')[:30]:<30} "
              f"{_last_line(e['error'])[:100]}")
    return 0


def cmd_quarantine_show(args: argparse.Namespace) -> int:
    from inboxd.store import repo

    store = _store(args)
    try:
        with store.connect() as conn:
            row = repo.quarantine_row(conn, args.id)
    finally:
        store.dispose()
    if row is None:
        print(f"error: no quarantined message {args.id} (see `inboxd quarantine list --all`)", file=sys.stderr)
        return 1
    if args.raw:
        sys.stdout.buffer.write(row["raw"] or b"")
        sys.stdout.flush()
        return 0
    entry = _entry(row)
    if args.json:
        _print_json(entry)
        return 0
    print(f"quarantined message {entry['id']} ({entry['status']})")
    print(f"  received {entry['received_at']:%Y-%m-%d %H:%M:%S} UTC in {entry['mailbox']}/{entry['folder']}"
          + (f", UID {entry['uid']}" if entry["uid"] is not None else "") + f", {entry['size']} bytes")
    for name, value in entry["headers"].items():
        print(f"  {name}: {value}")
    print("  error:")
    for line in (entry["error"] or "-").splitlines():
        print(f"    {line}")
    return 0


class _StillFailing(Exception):
    """Processing the message failed again (carries the cause)."""


def _retry_one(store: Store, rt: Any, row: dict[str, Any], now: Callable[[], datetime],
               force: bool = False) -> tuple[str, str]:
    """Retry one quarantined message; return (result, detail) with result resolved | failed | busy.

    ``force`` also claims a message that is ``retrying``: one whose retry was interrupted (the process was
    killed between the claim and the outcome) stays so, and nothing else ever moves it on.
    """
    from inboxd.core.clock import SystemClock
    from inboxd.errors import InboxdError
    from inboxd.service.daemon import watched_folders
    from inboxd.service.ingest import Processor
    from inboxd.store import repo

    class RetryProcessor(Processor):
        """The daemon's processor, except that a failure is reported here instead of quarantined again."""

        def _quarantine(self, *args: Any, **kwargs: Any) -> Outcome:
            exc = args[5] if len(args) > 5 else kwargs.get("exc")
            raise _StillFailing(exc)

    with store.begin() as conn:
        claimed = repo.set_quarantine_status(conn, row["id"], "retrying", expected="quarantined") or (
            force and repo.set_quarantine_status(conn, row["id"], "retrying", expected="retrying"))
        if not claimed:
            current = repo.quarantine_row(conn, row["id"])
            if current is not None and current["status"] == "resolved":
                return "resolved", "already retried and processed; nothing to do"
            return "busy", ("another retry of it is running (if none is, e.g. after a crash: "
                            f"inboxd quarantine retry {row['id']} --force)")
    resolved = False
    error: str | None = None
    try:
        mailbox = rt.mailbox(row["mailbox"])
        roles = {(name, folder): role for name, role, folder in watched_folders(rt.config)}
        role = roles.get((row["mailbox"], row["folder"]), "inbox")
        processor = RetryProcessor(store, lambda: rt, SystemClock())
        outcome = processor.process(mailbox, role, row["folder"], None, None, row["raw"] or b"")
        with store.begin() as conn:
            repo.set_quarantine_status(conn, row["id"], "resolved")
            repo.add_event(conn, "message.quarantine_resolved", now(), message_ref=row["id"],
                           data={"quarantined": row["id"], "outcome": outcome.status, "kind": outcome.kind,
                                 "case": outcome.case})
        resolved = True
        if outcome.status == "duplicate":
            return "resolved", "it had been processed already; nothing new"
        what = f"{outcome.kind}" + (f", case {outcome.case}" if outcome.case is not None else "")
        return "resolved", what + (", acknowledgement queued" if outcome.acknowledged else "")
    except _StillFailing as exc:
        cause = exc.args[0]
        error = f"{type(cause).__name__}: {cause}"
        return "failed", f"still failing: {error}"
    except (InboxdError, LookupError) as exc:
        return "failed", f"not retried: {exc}"
    finally:
        if not resolved:
            with store.begin() as conn:
                repo.set_quarantine_status(conn, row["id"], "quarantined", error=error)


def cmd_quarantine_retry(args: argparse.Namespace) -> int:
    from inboxd.cli.setup import load_runtime as _load
    from inboxd.store import repo

    if (args.id is None) == (not args.all):
        print("error: give one message ID or --all", file=sys.stderr)
        return 2
    store = _store(args)
    status = 0
    try:
        rt = _load(args)
        with store.connect() as conn:
            if args.all:
                rows = repo.quarantine_rows(conn, limit=100_000)
                rows = [r for r in rows if r["status"] == "quarantined" or (args.force and r["status"] == "retrying")]
            else:
                one = repo.quarantine_row(conn, args.id)
                if one is None:
                    print(f"error: no quarantined message {args.id} (see `inboxd quarantine list`)",
                          file=sys.stderr)
                    return 1
                rows = [one]
        if not rows:
            print("no quarantined messages")
        for row in rows:
            result, detail = _retry_one(store, rt, row, lambda: datetime.now(UTC), force=args.force)
            print(f"message {row['id']}: {detail}", file=sys.stdout if result == "resolved" else sys.stderr)
            if result != "resolved":
                status = 1
    finally:
        store.dispose()
    return status


# -- outbox ----------------------------------------------------------------------------------------


def cmd_outbox_list(args: argparse.Namespace) -> int:
    from inboxd.store import repo

    store = _store(args)
    states = args.state or ["pending", "sending", "failed"]
    try:
        with store.connect() as conn:
            rows = repo.outbox_rows(conn, states, limit=args.limit)
    finally:
        store.dispose()
    if args.json:
        for row in rows:
            _print_json(row)
        return 0
    if not rows:
        print(f"no mail {'/'.join(states)} in the outbox")
        return 0
    print(f"{'id':>6}  {'state':<8} {'kind':<13} {'case':>6} {'attempts':>8}  {'next attempt (UTC)':<18} "
          f"{'to':<30} last error")
    for r in rows:
        print(f"{r['id']:>6}  {r['state']:<8} {r['kind']:<13} {r['case'] or '-':>6} {r['attempts']:>8}  "
              f"{r['next_attempt_at']:%Y-%m-%d %H:%M}   {', '.join(r['rcpt_to'])[:30]:<30} "
              f"{(r['last_error'] or '')[:100]}")
    return 0


def cmd_outbox_retry(args: argparse.Namespace) -> int:
    from inboxd.store import repo

    store = _store(args)
    try:
        with store.begin() as conn:
            requeued = repo.requeue_failed(conn, args.id, datetime.now(UTC))
            if requeued:
                repo.add_event(conn, "outbox.requeued", datetime.now(UTC), data={"outbox": args.id})
    finally:
        store.dispose()
    if not requeued:
        print(f"error: outbox message {args.id} has not failed (see `inboxd outbox list`)", file=sys.stderr)
        return 1
    print(f"outbox message {args.id}: queued again; the running daemon sends it within seconds")
    return 0

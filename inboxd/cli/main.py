"""``inboxd`` commands: thin shells over the core. ``--json`` outputs are a stable contract.

Errors are handled once, in ``main()``: an error a user can cause is one line on stderr (for
``inboxd run``, one structured log line) and one of the exit codes below, never a traceback.
Anything else is an internal error: one line, and the traceback only with ``INBOXD_DEBUG=1``.
The codes follow sysexits.h, so that systemd's ``RestartPreventExitStatus=`` can tell a
problem the admin must fix (no restart) from one that may pass (restart).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from inboxd import __version__
from inboxd.cli.auth import add_parser as add_auth_parser
from inboxd.cli.commitments import add_parser as add_commitments_parser
from inboxd.cli.quarantine import add_parsers as add_quarantine_parsers
from inboxd.cli.replay import add_parser as add_replay_parser
from inboxd.cli.report import add_parser as add_report_parser
from inboxd.cli.service import add_parsers as add_service_parsers
from inboxd.cli.setup import config_path as _config_path
from inboxd.cli.setup import database_url as _database_url
from inboxd.cli.setup import json_default as _json_default
from inboxd.cli.setup import load_runtime as _load
from inboxd.cli.setup import local_time as _local
from inboxd.cli.setup import print_json as _print_json
from inboxd.cli.setup import readonly_store as _store
from inboxd.cli.setup import settings as _settings
from inboxd.cli.status import add_parser as add_status_parser
from inboxd.errors import (
    ConfigError,
    DatabaseConfigError,
    DatabaseError,
    DatabaseMissing,
    DatabaseOutdated,
    DatabaseReadOnly,
    InboxdError,
    SecretError,
)

# Exit codes (README.md, "Exit codes"); systemd/inboxd.service does not restart the daemon on 65, 73 and 78.
EXIT_OK = 0
EXIT_FAILED = 1  # the command ran and failed: no such case, a file explain could not read, check-config errors
EXIT_USAGE = 2  # an unknown option or an invalid argument value
EXIT_DATABASE_OUTDATED = 65  # EX_DATAERR: the schema is at another revision (run `inboxd migrate`)
EXIT_NO_DATABASE = 66  # EX_NOINPUT: a command that only reads found no database (and created none)
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug (INBOXD_DEBUG=1 shows the traceback)
EXIT_READ_ONLY = 73  # EX_CANTCREAT: the database or its directory cannot be written
EXIT_UNAVAILABLE = 75  # EX_TEMPFAIL: the database server is unreachable; trying again later may work
EXIT_CONFIG = 78  # EX_CONFIG: the configuration, a secret or the database URL is missing or invalid
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_BROKEN_PIPE = 141  # the reader of stdout went away (`inboxd cases --json | head`), as for SIGPIPE


def exit_code_for(exc: InboxdError) -> int:
    """The exit code for an error inboxd raised on purpose."""
    codes: list[tuple[type[InboxdError], int]] = [
        (ConfigError, EXIT_CONFIG), (SecretError, EXIT_CONFIG), (DatabaseConfigError, EXIT_CONFIG),
        (DatabaseReadOnly, EXIT_READ_ONLY), (DatabaseMissing, EXIT_NO_DATABASE),
        (DatabaseOutdated, EXIT_DATABASE_OUTDATED), (DatabaseError, EXIT_UNAVAILABLE)]
    return next((code for cls, code in codes if isinstance(exc, cls)), EXIT_FAILED)


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with a usage error as one line on stderr (the full usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _instant(value: str) -> datetime:
    """An ISO 8601 argument (``--at``); a time without an offset is read in the team's timezone later."""
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO 8601 time such as 2026-11-20T18:00:00+01:00") from None


def _positive(value: str) -> int:
    """A whole number ≥ 1 (``--random``, ``--jobs``)."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of 1 or more")
    return number


# -- commands ----------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    """The daemon. A failure to start is one structured log line (``startup.failed``) and an exit code."""
    import structlog

    from inboxd.service.logs import configure_logging

    try:
        log_format = _settings().log_format
    except ConfigError:
        log_format = None  # reported below, once logging is set up
    configure_logging(log_format)
    log = structlog.get_logger("inboxd.cli.main")
    url = ""
    daemon: Any = None
    try:
        from inboxd.config import check_secrets
        from inboxd.service.daemon import Daemon

        url = _database_url(args)
        daemon = Daemon(_config_path(args), url)
        # A secret that cannot be read now will not appear by itself: refuse to start, like check-config --strict.
        missing = check_secrets(daemon.runtime.config, strict=True)
        if missing:
            raise SecretError("; ".join(missing))
        return int(daemon.run())
    except Exception as exc:
        # Until the scheduler runs, the daemon is starting; a failure after that is not a start-up failure.
        event = "startup.failed" if daemon is None or daemon.scheduler is None else "daemon.failed"
        error = _known_error(exc, url)
        if error is None:
            if _debug():
                raise
            log.error(event, error=f"internal error: {type(exc).__name__}: {exc}", exit_code=EXIT_INTERNAL,
                      hint="run with INBOXD_DEBUG=1 for the traceback")
            return EXIT_INTERNAL
        code = exit_code_for(error)
        problems = error.problems if isinstance(error, ConfigError) else [str(error)]
        log.error(event, error=problems[0] if len(problems) == 1 else f"{len(problems)} problems",
                  exit_code=code, **({"problems": problems} if len(problems) > 1 else {}))
        return code


def _debug() -> bool:
    """``INBOXD_DEBUG=1``: let an internal error end with its traceback."""
    return os.environ.get("INBOXD_DEBUG", "") not in ("", "0")


def _known_error(exc: BaseException, url: str) -> InboxdError | None:
    """``exc`` as an error a user can cause (a database failure translated); None for anything else."""
    from inboxd.store.db import database_error

    if isinstance(exc, InboxdError):
        # A store error raised from the database's own exception: that one says what the admin must do.
        cause = exc.__cause__
        if not isinstance(exc, DatabaseError) and cause is not None and not isinstance(cause, InboxdError):
            return database_error(cause, url) or exc
        return exc
    return database_error(exc, url)


def cmd_check_config(args: argparse.Namespace) -> int:
    from inboxd.service.config_check import check_config

    path = _config_path(args)
    errors, warnings = check_config(path, strict=args.strict)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    if errors:
        print(f"{path}: {len(errors)} error(s)", file=sys.stderr)
        return 1
    print(f"{path}: OK" + (f" ({len(warnings)} warning(s))" if warnings else ""))
    from inboxd.config import load_config

    for index, mailbox in enumerate(load_config(path).mailboxes):
        if mailbox.imap.initial_sync == "all":
            print(f"note: mailboxes[{index}].imap.initial_sync: all: every message already in the folders gets a "
                  f"case; those received more than {mailbox.imap.acknowledge_max_age} before inboxd's first start "
                  "get no acknowledgement (imap.acknowledge_max_age)")
    if args.connect:
        from inboxd.cli.service import check_connections

        return check_connections(path)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from inboxd.store.db import make_engine, migrate

    engine = make_engine(_database_url(args))
    before, after = migrate(engine)
    print(f"database at revision {after}" + (f" (was {before or 'empty'})" if before != after else ""))
    return 0


def _age(since: datetime | None, now: datetime) -> str:
    if since is None:
        return "-"
    seconds = int((now - since).total_seconds())
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _team_zone(args: argparse.Namespace) -> Any:
    """The team's timezone, in which the human-readable listings show times."""
    from inboxd.config import load_config

    return load_config(_config_path(args)).team.tz


def cmd_cases(args: argparse.Namespace) -> int:
    from inboxd.store import repo

    # The listings show times in the team's zone; --json keeps ISO 8601 with the offset and needs no config.
    tz = None if args.json else _team_zone(args)
    store = _store(args)
    now = datetime.now(UTC)
    with store.connect() as conn:
        if args.action == "show":
            if args.number is None:
                print("usage: inboxd cases show NUMBER", file=sys.stderr)
                return 2
            detail = repo.case_detail(conn, args.number)
            if detail is None:
                print(f"no case {args.number}", file=sys.stderr)
                return 1
            if args.json:
                _print_json(detail)
                return 0
            _print_case(detail, now, tz)
            return 0
        rows = repo.list_cases(conn, status=args.status, limit=args.limit, tag=args.tag, assignee=args.assignee)
    if args.json:
        for row in rows:
            _print_json(row)
        return 0
    if not rows:
        print("no cases yet")
        return 0
    print(f"{'case':>6}  {'status':<20} {'prio':<7} {'age':>5}  {'promised by':<22} {'customer':<30} "
          f"{'assignee':<20} {'tags':<20} subject")
    for r in rows:
        promised = _local(r["promised_by"], tz) if r["promised_by"] else "-"
        tags = ",".join(r["tags"] or []) or "-"
        print(f"{r['number']:>6}  {r['status']:<20} {r['priority']:<7} {_age(r['opened_at'], now):>5}  "
              f"{promised:<22} {r['customer'][:30]:<30} {(r['assignee'] or '-')[:20]:<20} {tags[:20]:<20} "
              f"{r['subject'][:60]}")
    return 0


def _print_case(detail: dict[str, Any], now: datetime, tz: Any) -> None:
    print(f"case {detail['number']}: {detail['subject']}")
    print(f"  status {detail['status']}, priority {detail['priority']}, language {detail['language']}")
    print(f"  customer {detail['customer']}" + (f" ({detail['customer_name']})" if detail["customer_name"] else "")
          + ("  [UNREACHABLE: mail bounced]" if detail.get("unreachable_at") else "")
          + ("  [no proactive updates]" if detail.get("updates_opted_out") else ""))
    extras = [f"assigned to {detail['assignee']}" if detail.get("assignee") else "",
              f"tags {', '.join(detail['tags'])}" if detail.get("tags") else "",
              f"template set {detail['template_set']}" if detail.get("template_set") else "",
              f"linked to case {detail['linked_to']}" if detail.get("linked_to") else "",
              f"feedback {detail['feedback_score']}/5" if detail.get("feedback_score") else ""]
    if any(extras):
        print("  " + ", ".join(e for e in extras if e))
    print(f"  opened {_local(detail['opened_at'], tz)} ({_age(detail['opened_at'], now)} ago)"
          + (f", first response {_local(detail['first_response_at'], tz)}"
             if detail["first_response_at"] else ", no response yet"))
    print("  promises:")
    for p in detail["promises"] or [{"owner": "-", "text": "none", "state": "", "due_at": None}]:
        due = f" due {_local(p['due_at'], tz)}" if p.get("due_at") else ""
        print(f"    [{p['state']}] {p['owner']}: {p['text']}{due}")
    print("  messages:")
    for m in detail["messages"]:
        print(f"    {_local(m['received_at'], tz)}  {m['direction']:<3} {m['kind']:<11} {m['from_addr'] or '-'}"
              f"  {m['subject'] or ''}")
    print("  sent by inboxd:")
    for s in detail["sent"]:
        print(f"    {_local(s['created_at'], tz)}  {s['kind']:<6} to {', '.join(s['rcpt_to'])}  [{s['state']}]"
              + (f" attempts {s['attempts']}, last error: {s['last_error']}" if s["last_error"] else ""))
    pending = [s for s in detail.get("scheduled", []) if s["done_at"] is None]
    if pending:
        print("  scheduled:")
        for s in pending:
            print(f"    {_local(s['due_at'], tz)}  {s['kind']}")
    print("  events:")
    for e in detail["events"]:
        data = json.dumps(e["data"], default=_json_default, ensure_ascii=False) if e["data"] else ""
        print(f"    {_local(e['at'], tz, seconds=True)}  {e['kind']} {data}")


def _existing_store(args: argparse.Namespace) -> Any:
    """The configured database if there is one; None when there is none. Never creates or migrates one.

    A database that is there but cannot be used (an invalid URL, an unreachable server, an older
    schema) is an error, not a quiet "no database".
    """
    from inboxd.store.db import open_store_readonly

    try:
        return open_store_readonly(_database_url(args))
    except DatabaseMissing:
        return None


def explain_message(rt: Any, raw: bytes, store: Any = None, *, now: datetime | None = None,
                    mailbox: Any = None) -> dict[str, Any]:
    """What inboxd would do with one message, without doing it.

    The daemon's own read and decision (:func:`inboxd.service.gather.gather_message`, then
    :func:`inboxd.core.decide.decide_message`) in a read-only transaction that is rolled back: the actions
    it lists are the ones ``inboxd run`` would apply now, to the message arriving in the mailbox's
    inbox. A file has no arrival time: its Date stands in for it (mail from before inboxd first
    watched the folder, older than ``acknowledge_max_age``, is history and not acknowledged). Without
    a database (``store`` None) the message meets an empty store, and one that replies to mail or
    names a case is said to join it.
    """
    from inboxd.core import decide as d
    from inboxd.mail.parse import parse_message
    from inboxd.mail.threading import case_number_from_subject
    from inboxd.service.gather import gather_message, mailbox_for

    now = now or datetime.now(UTC)
    box = mailbox or mailbox_for(rt, raw)
    written = parse_message(raw).date
    with (store or _empty_store()).read() as conn:
        ctx = gather_message(conn, rt, box, "inbox", raw, now, arrived_at=min(written, now) if written else now,
                             folder=box.imap.folders.inbox)
    actions = d.decide_message(ctx)
    msg, kind = ctx.msg, ctx.classification.kind
    case = next((a.number for a in actions if isinstance(a, d.JoinCase)), None)
    would_ack = any(isinstance(a, d.Acknowledge) for a in actions)
    what = _explained(ctx, actions, case)
    listed = [d.describe(a) for a in actions]
    if store is None and kind == "customer" and (
            msg.in_reply_to or msg.references
            or case_number_from_subject(msg.subject, rt.config.cases.subject_token) is not None):
        # Without a database: a reply or a case token means it would most likely join a case, whose
        # state (and so the decision) is unknown here.
        would_ack, what, listed = False, "join the case it replies to", []
    return {
        "kind": kind, "would_acknowledge": would_ack, "reason": ctx.classification.reason,
        "rules": list(ctx.rules.matched), "priority": ctx.rules.priority or rt.config.cases.default_priority,
        "language": next((a.language for a in actions if isinstance(a, d.OpenCase)), None)
        or (ctx.case.language if ctx.case is not None else None) or ctx.rules.language
        or rt.config.cases.default_language,
        "tags": list(ctx.rules.tags), "assignee": ctx.rules.assignee, "template_set": ctx.rules.template_set,
        "reply_text": msg.reply_text,
        "case": case, "action": what, "mailbox": box.name, "actions": listed,
    }


def cmd_schema(args: argparse.Namespace) -> int:
    from inboxd.config.schema import json_schema, reference_markdown

    if args.reference:
        print(reference_markdown())
    else:
        print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
    return 0
def _explained(ctx: Any, actions: list[Any], case: int | None) -> str:
    """The decision in a few words (``inboxd explain``'s "would:")."""
    from inboxd.core import decide as d

    kind = ctx.classification.kind
    if any(isinstance(a, d.AlreadyRecorded) for a in actions):
        return "nothing: the message is on record already"
    if ctx.own_message:
        return "record it: it is mail inboxd sent"
    if kind == "customer":
        if case is not None:
            extra = next((f"; record the feedback {a.score}/5" if isinstance(a, d.RecordFeedback)
                          else "; send the customer no more updates on it" for a in actions
                          if isinstance(a, (d.RecordFeedback, d.OptOut))), "")
            return f"join case {case}{extra}"
        if any(isinstance(a, d.Acknowledge) for a in actions):
            return "open a case and acknowledge it"
        why = next((a.detail for a in actions if isinstance(a, d.HoldAck)), None) or next(
            (str(a.data.get("reason") or a.data.get("guard") or a.kind) for a in actions
             if isinstance(a, d.Note) and a.kind.startswith(("not_acknowledged.", "ack."))), "")
        return f"open a case, but no acknowledgement: {why}" if why else "open a case"
    if kind == "staff":
        return "record a staff response on its case" if case is not None else "record it (no case found)"
    if kind == "staff_note":
        rejected = next((a for a in actions if isinstance(a, d.RejectNote)), None)
        confirmed = next((a for a in actions if isinstance(a, d.ConfirmNote)), None)
        if rejected is not None:
            return f"record an internal note; apply none of its commands: {rejected.errors[0].why}"
        if confirmed is not None:
            return f"record an internal note and apply its commands ({len(confirmed.done)})"
        return "record an internal note"
    unreachable = next((a for a in actions if isinstance(a, d.MarkUnreachable)), None)
    if unreachable is not None:
        return f"record it, never answer, and mark {', '.join(unreachable.addresses)} unreachable"
    return "record it and never answer"


_EMPTY_STORE: Any = None


def _empty_store() -> Any:
    """An empty in-memory database: what ``explain`` reads from when there is none."""
    global _EMPTY_STORE
    if _EMPTY_STORE is None:
        from inboxd.store.db import make_engine
        from inboxd.store.repo import Store
        from inboxd.store.schema import metadata

        engine = make_engine("sqlite://")
        metadata.create_all(engine)
        _EMPTY_STORE = Store(engine)
    return _EMPTY_STORE


def cmd_explain(args: argparse.Namespace) -> int:

    rt = _load(args)
    cfg = rt.config
    store = _existing_store(args)
    unreadable = 0
    try:
        for name in args.files:
            result: dict[str, Any]
            try:
                raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
                result = {"file": name, **explain_message(rt, raw, store)}
            except Exception as exc:  # noqa: BLE001 - every file gets its line
                unreadable += 1
                result = {"file": name, "kind": "ignored", "would_acknowledge": False, "reason": f"error: {exc}",
                          "rules": [], "priority": cfg.cases.default_priority,
                          "language": cfg.cases.default_language, "tags": [], "assignee": None,
                          "template_set": None, "reply_text": "", "case": None,
                          "action": "none: the file could not be read", "actions": []}
            if args.json:
                _print_json(result)
                continue
            print(f"{result['file']}: {result['kind']} — {result['reason']}")
            print(f"  would: {result['action']}; acknowledge: {'yes' if result['would_acknowledge'] else 'no'}; "
                  f"priority {result['priority']}; language {result['language']}; "
                  f"rules: {', '.join(result['rules']) or '-'}")
            if result["actions"]:
                print(f"  decided: {', '.join(a['action'] for a in result['actions'])}")
            if result["reply_text"]:
                print("  new text:\n    " + "\n    ".join(result["reply_text"].splitlines()[:20]))
    finally:
        if store is not None:
            store.dispose()
    # Every file got its line; the exit code still tells a script that some could not be read.
    return EXIT_FAILED if unreadable else EXIT_OK


def cmd_eta(args: argparse.Namespace) -> int:
    from inboxd.core.eta import fallback_estimate, notice_rule
    from inboxd.core.humanize import phrase_due

    rt = _load(args)
    now: datetime = args.at or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=rt.calendar.tz)
    store = _existing_store(args)
    if store is not None:
        from inboxd.service.forecast import fit_model

        # The same model the daemon uses, on the history in the database.
        with store.connect() as conn:
            model, queue = fit_model(conn, rt, now)
        store.dispose()
        estimate = model.estimate(now, args.priority, queue)
        source = "history"
    else:
        fallback = {str(k): v for k, v in rt.config.promises.fallback.items()}
        estimate = fallback_estimate(now, args.priority, fallback, rt.calendar)
        source = "fallback (no database)"
    phrase = phrase_due(estimate.due, now, rt.calendar.tz)
    notices = notice_rule(rt.config.updates.delay_notice_before)
    if args.json:
        _print_json({"at": now.isoformat(), "priority": args.priority, "due": estimate.due.isoformat(),
                     "phrase": phrase, "basis": estimate.basis, "reasons": list(estimate.reasons),
                     "ahead": estimate.ahead, "predicted_bh": estimate.predicted_bh, "source": source,
                     "notices": notices})
    else:
        print(f"An acknowledgement sent now would promise a response {phrase}.")
        print(f"  from: {source}")
        print(f"  basis: {estimate.basis}")
        for reason in estimate.reasons:
            print(f"  reason: {reason}")
        print(f"  notices: {notices}")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from inboxd.config import load_config
    from inboxd.service.simulate import load_workload, run_simulation

    if args.random is not None:
        return _simulate_random(args)
    config = load_config(_config_path(args))
    try:
        workload = load_workload(args.workload)
    except ConfigError as exc:
        # A workload file is the command's input, not inboxd's configuration: an ordinary failure.
        raise InboxdError("; ".join(exc.problems)) from None
    report = run_simulation(config, workload)
    if args.json:
        _print_json(report)
        return 0
    for key, value in report.items():
        print(f"{key:<24} {json.dumps(value, default=_json_default)}")
    return 0


def _simulate_random(args: argparse.Namespace) -> int:
    """``simulate --random N``: N drawn teams, each month scored against the estimate's targets."""
    from concurrent.futures import ProcessPoolExecutor

    from inboxd.service import workloads

    first = workloads.HELD_OUT.start + args.seed if args.held_out else args.seed
    chosen = list(range(first, first + args.random)) if args.held_out else workloads.seeds(args.random, first)
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            rows = list(pool.map(workloads.evaluate, chosen))
    else:
        rows = [workloads.evaluate(seed) for seed in chosen]
    summary = workloads.summarize(rows)
    if args.json:
        _print_json({"workloads": rows, "summary": summary})
        return 0
    print(f"{'seed':>8} {'team':>4} {'load':>5} {'pattern':<9} {'cases':>6} {'kept':>6} {'slack':>6} {'bound':>6}"
          f" {'annc':>5} {'needl':>6} {'24h':>6}  misses")
    for row in rows:
        misses = ",".join(key for key, ok in row["meets"].items() if not ok) or "-"
        print(f"{row['seed']:>8} {row['team']:>4} {row['load']:>5} {row['pattern']:<9} {row['cases']:>6}"
              f" {row['kept_rate']:>6} {row['median_slack_bh']:>6} {row['slack_bound_bh']:>6}"
              f" {row['broken_announced_rate']:>5} {row['needless_share']:>6} {row['static_24h_kept']:>6}  {misses}")
    for key, value in summary.items():
        print(f"{key:<24} {json.dumps(value)}")
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    from inboxd.service.template_samples import sample_context

    rt = _load(args)
    try:
        context = sample_context(rt, args.template, datetime.now(UTC), args.language)
    except LookupError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 1
    rendered = rt.renderer.render(args.template, args.language, context)
    if getattr(args, "html", False):
        if rendered.html is None:
            print(f"error: {args.template} has no HTML twin ({args.language}/{args.template}.html.j2)", file=sys.stderr)
            return 1
        print(rendered.html.rstrip("\n"))
        return 0
    print(f"Subject: {rendered.subject}\n\n{rendered.body}", end="")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from datetime import timedelta
    from statistics import mean

    from inboxd.store import repo
    from inboxd.web.page import window_numbers

    rt = _load(args, check_templates=False)  # stats needs the calendar, no template
    store = _store(args)
    now = datetime.now(UTC)
    result: dict[str, Any] = {"at": now.isoformat(), "windows": {}}
    with store.connect() as conn:
        for days in (7, 30):
            since = now - timedelta(days=days)
            # Counted in the database over the windows' indexes, as the status page does: the cost is the
            # window's, not the history's.
            numbers = window_numbers(conn, rt, since)
            scores = repo.feedback_scores(conn, since)
            numbers["feedback_count"] = len(scores)
            numbers["feedback_average"] = round(mean(scores), 2) if scores else None
            result["windows"][f"{days}d"] = numbers
        totals = repo.counts(conn)
        totals.update({f"outbox_{k}": v for k, v in repo.outbox_totals(conn).items()})
        result["totals"] = totals
    if args.json:
        _print_json(result)
        return 0
    labels = [("promises_made", "promises made"), ("kept_rate", "kept rate"), ("broken", "broken"),
              ("delay_notices", "delay notices"), ("staff_commitments", "staff commitments"),
              ("staff_kept_rate", "staff kept rate"), ("cases_opened", "cases opened"),
              ("cases_answered", "cases answered"), ("median_first_response_hours", "median first response (h)"),
              ("p90_first_response_hours", "p90 first response (h)"),
              ("median_first_response_bh", "median first response (business h)"),
              ("feedback_count", "feedback replies"), ("feedback_average", "feedback average (1-5)")]
    print(f"{'':<38} {'7 days':>10} {'30 days':>10}")
    for key, label in labels:
        values = [result["windows"][w][key] for w in ("7d", "30d")]
        shown = ["-" if v is None else (f"{v:.1%}" if "rate" in key else str(v)) for v in values]
        print(f"{label:<38} {shown[0]:>10} {shown[1]:>10}")
    print()
    for key, value in sorted(result["totals"].items()):
        print(f"{key:<38} {value:>10}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from inboxd.dev.demo import run_demo

    return run_demo(keep=args.keep)


# -- parser --------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="inboxd", description="Keeps a support team honest with its customers.")
    parser.add_argument("--version", action="version", version=f"inboxd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", help="configuration file (default: $INBOXD_CONFIG, config/inboxd.yaml, "
                                        "/etc/inboxd/inboxd.yaml)")
        return p

    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--database-url", help="SQLAlchemy URL (default: $INBOXD_DATABASE_URL or SQLite)")
        return p

    p = with_db(with_config(sub.add_parser("run", help="run the daemon")))
    p.set_defaults(func=cmd_run)
    p = with_config(sub.add_parser("check-config", help="validate the configuration"))
    p.add_argument("config_file", nargs="?", help="same as --config")
    p.add_argument("--strict", action="store_true", help="treat unavailable secrets as errors")
    p.add_argument("--connect", action="store_true",
                   help="also log in to every mailbox (IMAP and SMTP) and check that its folders exist")
    p.set_defaults(func=cmd_check_config)
    p = sub.add_parser("schema", help="print the configuration's JSON Schema (for editor completion)")
    p.add_argument("--reference", action="store_true", help="the configuration reference as Markdown instead")
    p.set_defaults(func=cmd_schema)
    p = with_db(sub.add_parser("migrate", help="create or upgrade the database schema"))
    p.set_defaults(func=cmd_migrate)
    p = with_db(with_config(sub.add_parser("cases", help="list cases, or show one")))
    p.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    p.add_argument("number", nargs="?", type=int)
    p.add_argument("--status", help="only cases in this status")
    p.add_argument("--tag", help="only cases with this tag (rules set tags)")
    p.add_argument("--assignee", help="only cases assigned to this address")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_cases)
    p = with_db(with_config(sub.add_parser("explain", help="classify messages, with no side effects")))
    p.add_argument("files", nargs="+", metavar="FILE.eml")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_explain)
    p = with_config(sub.add_parser("simulate", help="replay a synthetic workload through the real estimator"))
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--workload", help="workload YAML (see tests/data/workloads)")
    source.add_argument("--random", type=_positive, metavar="N",
                        help="draw N random teams and months instead (each with its own configuration)")
    p.add_argument("--seed", type=int, default=0, help="with --random: the first seed (default 0)")
    p.add_argument("--held-out", action="store_true",
                   help="with --random: the seeds kept for final checks (1,000,000 on)")
    p.add_argument("--jobs", type=_positive, default=1, help="with --random: simulations in parallel")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_simulate)
    p = with_db(with_config(sub.add_parser("eta", help="the promise an acknowledgement sent now would make")))
    p.add_argument("--at", type=_instant, help="ISO 8601 instant (default: now)")
    p.add_argument("--priority", default="normal", choices=["urgent", "high", "normal", "low"])
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eta)
    add_commitments_parser(sub, with_config)
    add_status_parser(sub, with_db)
    add_report_parser(sub, with_config, with_db)
    add_replay_parser(sub, with_config, with_db)
    p = with_config(sub.add_parser("preview", help="render a template with sample data"))
    p.add_argument("template")
    p.add_argument("--language", default="en")
    p.add_argument("--html", action="store_true", help="the HTML part (from the template's .html.j2 twin)")
    p.set_defaults(func=cmd_preview)
    p = with_db(with_config(sub.add_parser("stats", help="counts of cases, messages and mail sent")))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)
    add_quarantine_parsers(sub, with_config, with_db)
    add_service_parsers(sub, with_db)
    add_auth_parser(sub, with_config, with_db)
    p = sub.add_parser("demo", help="run inboxd against a local Dovecot and SMTP hub with sample mail")
    p.add_argument("--keep", action="store_true", help="keep the demo directory")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; every failure ends here as a line on stderr and an exit code (see the top)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "config_file", None) and not args.config:
        args.config = args.config_file
    try:
        code = int(args.func(args))
        # Flushed here, so that a reader that went away is met inside this handler.
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # `inboxd cases --json | head`: the reader has what it wanted. Point stdout at /dev/null so
        # that the interpreter's own flush at exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:
        try:
            url = _database_url(args) if hasattr(args, "database_url") else ""
        except Exception:  # noqa: BLE001 - the settings themselves may be what failed
            url = ""
        error = _known_error(exc, url)
        if error is None:
            if _debug():
                raise
            print(f"internal error: {type(exc).__name__}: {_one_line(exc)} "
                  "(run with INBOXD_DEBUG=1 for the traceback)", file=sys.stderr)
            return EXIT_INTERNAL
        problems = error.problems if isinstance(error, ConfigError) else [str(error)]
        for problem in problems:
            print(problem if problem.startswith("database:") else f"error: {problem}", file=sys.stderr)
        return exit_code_for(error)


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else ""


if __name__ == "__main__":
    sys.exit(main())

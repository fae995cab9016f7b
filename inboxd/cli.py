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
from inboxd.cli_auth import add_parser as add_auth_parser
from inboxd.cli_commitments import add_parser as add_commitments_parser
from inboxd.cli_quarantine import add_parsers as add_quarantine_parsers
from inboxd.cli_report import add_parser as add_report_parser
from inboxd.cli_service import add_parsers as add_service_parsers
from inboxd.cli_status import add_parser as add_status_parser
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


def _settings() -> Any:
    from pydantic import ValidationError

    from inboxd.config import Settings

    try:
        return Settings()
    except ValidationError as exc:
        # An environment variable with a value inboxd does not know (INBOXD_LOG_FORMAT=xml).
        raise ConfigError([f"INBOXD_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
                           for err in exc.errors()]) from None


def _config_path(args: argparse.Namespace) -> Path:
    if getattr(args, "config", None):
        return Path(args.config)
    return Path(_settings().config_path())


def _database_url(args: argparse.Namespace) -> str:
    if getattr(args, "database_url", None):
        return str(args.database_url)
    return str(_settings().resolved_database_url())


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, default=_json_default, ensure_ascii=False))


def _load(args: argparse.Namespace) -> Any:
    from inboxd.config import load_config
    from inboxd.runtime import build_runtime

    path = _config_path(args)
    return build_runtime(load_config(path), path.parent)


# -- commands ----------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    """The daemon. A failure to start is one structured log line (``startup.failed``) and an exit code."""
    import structlog

    from inboxd.logs import configure_logging

    try:
        log_format = _settings().log_format
    except ConfigError:
        log_format = None  # reported below, once logging is set up
    configure_logging(log_format)
    log = structlog.get_logger("inboxd.cli")
    url = ""
    daemon: Any = None
    try:
        from inboxd.config import check_secrets
        from inboxd.daemon import Daemon

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
    from inboxd.config import check_config

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
        from inboxd.cli_service import check_connections

        return check_connections(path)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from inboxd.store.db import make_engine, migrate

    engine = make_engine(_database_url(args))
    before, after = migrate(engine)
    print(f"database at revision {after}" + (f" (was {before or 'empty'})" if before != after else ""))
    return 0


def _store(args: argparse.Namespace) -> Any:
    """The configured database for a command that only reads: never created, never migrated."""
    from inboxd.store.db import open_store_readonly

    return open_store_readonly(_database_url(args))


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


def _local(moment: datetime, tz: Any, seconds: bool = False) -> str:
    """A time in the team's zone with its abbreviation: ``2026-11-23 13:00 CET``."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


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
        rows = repo.list_cases(conn, status=args.status, limit=args.limit)
    if args.json:
        for row in rows:
            _print_json(row)
        return 0
    if not rows:
        print("no cases yet")
        return 0
    print(f"{'case':>6}  {'status':<20} {'prio':<7} {'age':>5}  {'promised by':<22} {'customer':<30} subject")
    for r in rows:
        promised = _local(r["promised_by"], tz) if r["promised_by"] else "-"
        print(f"{r['number']:>6}  {r['status']:<20} {r['priority']:<7} {_age(r['opened_at'], now):>5}  "
              f"{promised:<22} {r['customer'][:30]:<30} {r['subject'][:60]}")
    return 0


def _print_case(detail: dict[str, Any], now: datetime, tz: Any) -> None:
    print(f"case {detail['number']}: {detail['subject']}")
    print(f"  status {detail['status']}, priority {detail['priority']}, language {detail['language']}")
    print(f"  customer {detail['customer']}" + (f" ({detail['customer_name']})" if detail["customer_name"] else "")
          + ("  [UNREACHABLE: mail bounced]" if detail.get("unreachable_at") else "")
          + ("  [no proactive updates]" if detail.get("updates_opted_out") else ""))
    extras = [f"assigned to {detail['assignee']}" if detail.get("assignee") else "",
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


def explain_message(rt: Any, raw: bytes, conn: Any = None) -> dict[str, Any]:
    """What inboxd would do with one message, without doing it (pure apart from read-only lookups)."""
    from datetime import UTC, datetime

    from inboxd.mail.classify import classify
    from inboxd.mail.parse import parse_message
    from inboxd.mail.threading import ThreadingPolicy, case_number_from_subject, thread_message
    from inboxd.rules import apply_rules

    cfg = rt.config
    msg = parse_message(raw)
    rules = apply_rules(cfg.rules, msg)
    verdict = classify(msg, rt.team, "inbox", rules.ignored_by, raw=raw)
    case: int | None = None
    joins = False
    if conn is not None:
        from inboxd.store import repo

        index = repo.ConnIndex(conn)
        now = datetime.now(UTC)
        match = thread_message(
            sender=msg.from_addr, sender_is_staff=verdict.kind in ("staff", "staff_note"),
            in_reply_to=msg.in_reply_to, references=msg.references, subject=msg.subject,
            recipients=msg.recipients, index=index,
            policy=ThreadingPolicy(cfg.cases.subject_token, rt.team.our_addresses,
                                   now - cfg.cases.thread_window.as_timedelta()))
        if match is not None and match.attach:
            case, joins = match.case_number, True
    else:
        # Without a database: a reply or a case token means it would most likely join a case.
        joins = bool(msg.in_reply_to or msg.references
                     or case_number_from_subject(msg.subject, cfg.cases.subject_token) is not None)
    would_ack = verdict.kind == "customer" and not joins
    forged = None
    if would_ack:
        from inboxd.mail.auth import forged_sender

        forged = forged_sender(msg, rt.team.trusted_authserv_ids)
        would_ack = forged is None
    if verdict.kind == "customer":
        what = f"join case {case}" if case else ("join the case it replies to" if joins else
                                                 f"open a case, but no acknowledgement: {forged}" if forged else
                                                 "open a case and acknowledge it")
    elif verdict.kind == "staff":
        what = "record a staff response on its case" if (case or joins) else "record it (no case found)"
    elif verdict.kind == "staff_note":
        what = "record an internal note"
    else:
        what = "record it and never answer"
    from inboxd.language import choose_language, detect_message_language

    case_language = None
    if case is not None and conn is not None:
        state = repo.case_state(conn, case)
        case_language = state.language if state is not None else None
    language = choose_language(
        rule=rules.language, case_language=case_language,
        detected=detect_message_language(msg.subject, msg.reply_text) if verdict.kind == "customer" else None,
        served=rt.served_languages, default=cfg.cases.default_language).language
    return {
        "kind": verdict.kind, "would_acknowledge": would_ack, "reason": verdict.reason,
        "rules": list(rules.matched), "priority": rules.priority or cfg.cases.default_priority,
        "language": language,
        "reply_text": msg.reply_text,
        "case": case, "action": what,
    }


def cmd_explain(args: argparse.Namespace) -> int:
    rt = _load(args)
    cfg = rt.config
    store = _existing_store(args)
    conn = store.engine.connect() if store is not None else None
    unreadable = 0
    try:
        for name in args.files:
            result: dict[str, Any]
            try:
                raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
                result = {"file": name, **explain_message(rt, raw, conn)}
            except Exception as exc:  # noqa: BLE001 - every file gets its line
                unreadable += 1
                result = {"file": name, "kind": "ignored", "would_acknowledge": False, "reason": f"error: {exc}",
                          "rules": [], "priority": cfg.cases.default_priority,
                          "language": cfg.cases.default_language, "reply_text": "", "case": None,
                          "action": "none: the file could not be read"}
            if args.json:
                _print_json(result)
                continue
            print(f"{result['file']}: {result['kind']} — {result['reason']}")
            print(f"  would: {result['action']}; acknowledge: {'yes' if result['would_acknowledge'] else 'no'}; "
                  f"priority {result['priority']}; language {result['language']}; "
                  f"rules: {', '.join(result['rules']) or '-'}")
            if result["reply_text"]:
                print("  new text:\n    " + "\n    ".join(result["reply_text"].splitlines()[:20]))
    finally:
        if conn is not None:
            conn.close()
            store.dispose()
    # Every file got its line; the exit code still tells a script that some could not be read.
    return EXIT_FAILED if unreadable else EXIT_OK


def cmd_eta(args: argparse.Namespace) -> int:
    from inboxd.eta import fallback_estimate
    from inboxd.humanize import phrase_due

    rt = _load(args)
    now: datetime = args.at or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=rt.calendar.tz)
    store = _existing_store(args)
    if store is not None:
        from inboxd.forecast import fit_model

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
    if args.json:
        _print_json({"at": now.isoformat(), "priority": args.priority, "due": estimate.due.isoformat(),
                     "phrase": phrase, "basis": estimate.basis, "reasons": list(estimate.reasons),
                     "ahead": estimate.ahead, "predicted_bh": estimate.predicted_bh, "source": source})
    else:
        print(f"An acknowledgement sent now would promise a response {phrase}.")
        print(f"  from: {source}")
        print(f"  basis: {estimate.basis}")
        for reason in estimate.reasons:
            print(f"  reason: {reason}")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from inboxd.config import load_config
    from inboxd.simulate import load_workload, run_simulation

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


def cmd_preview(args: argparse.Namespace) -> int:
    from inboxd.template_samples import sample_context

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

    from inboxd.stats import window_stats
    from inboxd.store import repo

    rt = _load(args)
    store = _store(args)
    now = datetime.now(UTC)
    result: dict[str, Any] = {"at": now.isoformat(), "windows": {}}
    with store.connect() as conn:
        for days in (7, 30):
            since = now - timedelta(days=days)
            result["windows"][f"{days}d"] = window_stats(
                repo.promise_outcomes(conn, since), repo.first_responses(conn, since),
                repo.feedback_scores(conn, since), rt.calendar, now)
        totals = repo.counts(conn)
        totals.update({f"outbox_{k}": v for k, v in repo.outbox_counts(conn).items()})
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
    from inboxd.demo import run_demo

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
    p = with_db(sub.add_parser("migrate", help="create or upgrade the database schema"))
    p.set_defaults(func=cmd_migrate)
    p = with_db(with_config(sub.add_parser("cases", help="list cases, or show one")))
    p.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    p.add_argument("number", nargs="?", type=int)
    p.add_argument("--status", help="only cases in this status")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_cases)
    p = with_db(with_config(sub.add_parser("explain", help="classify messages, with no side effects")))
    p.add_argument("files", nargs="+", metavar="FILE.eml")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_explain)
    p = with_config(sub.add_parser("simulate", help="replay a synthetic workload through the real estimator"))
    p.add_argument("--workload", required=True, help="workload YAML (see tests/data/workloads)")
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

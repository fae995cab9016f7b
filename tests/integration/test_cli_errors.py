"""Errors a user can cause, through the real ``inboxd`` command: one clear line, a documented exit code.

Each case runs the command as a process with its environment set, and checks what an admin or a
script sees: the exit code, exactly one line on stderr (for ``inboxd run``, one JSON log line), and
never a traceback. Commands that only read never leave a database behind.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect

from inboxd.dev.demo import config_yaml
from inboxd.store import repo
from inboxd.store.db import head_revision, make_engine, migrate

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE_POSTGRES = "postgresql://inboxd@127.0.0.1:1/inboxd"


def inboxd(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real command line in its own process (as `inboxd` would be), with only this environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("INBOXD_")}
    return subprocess.run([sys.executable, "-m", "inboxd.cli.main", *args], capture_output=True, text=True,
                          env=dict(base, PYTHONPATH=str(ROOT), **env), timeout=60, cwd=ROOT, input=stdin)


@pytest.fixture
def rig(tmp_path: Path) -> dict[str, str]:
    """A valid configuration with a readable secret, and where each case's database would be."""
    secret = tmp_path / "imap-password"
    secret.write_text("secret\n")
    config = tmp_path / "inboxd.yaml"
    # The servers are never reached: each case fails before inboxd connects to them.
    config.write_text(config_yaml(support="support@example.com", imap_port=1, smtp_port=1, password_file=secret,
                                  staff=["alice@example.com"]))
    return {"tmp": str(tmp_path), "config": str(config), "db": f"{tmp_path}/inboxd.db"}


def migrated(url: str, revision: str | None = None) -> str:
    """Create the database at ``url``; with ``revision``, pretend it was left at that one."""
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    if revision is not None:
        path = url[len("sqlite:///"):]
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    return url


# (case id, how to set it up from the rig, expected exit code, words the line must hold)
START_FAILURES = [
    ("config-missing", lambda r: {"INBOXD_CONFIG": f"{r['tmp']}/nowhere.yaml"}, 78, "cannot read the configuration"),
    ("config-invalid", lambda r: {"INBOXD_CONFIG": broken_config(r)}, 78, "team.timezone"),
    ("secret-missing", lambda r: {"INBOXD_CONFIG": config_without_secret(r)}, 78, "password_file"),
    ("log-format-invalid", lambda r: {"INBOXD_LOG_FORMAT": "xml"}, 78, "INBOXD_LOG_FORMAT"),
    ("database-url-invalid", lambda r: {"INBOXD_DATABASE_URL": "foo://x"}, 78, "database: foo://x"),
    ("database-read-only", lambda r: {"INBOXD_DATABASE_URL": read_only(r)}, 73, "readonly database"),
    ("database-directory-not-writable", lambda r: {"INBOXD_DATABASE_URL": f"sqlite:///{r['config']}/inboxd.db"},
     73, "cannot write"),
    ("database-from-a-newer-inboxd", lambda r: {"INBOXD_DATABASE_URL": migrated(f"sqlite:///{r['db']}", "0999")},
     65, "0999"),
    ("postgresql-unreachable", lambda r: {"INBOXD_DATABASE_URL": UNREACHABLE_POSTGRES}, 75, "unavailable"),
]


def broken_config(rig: dict[str, str]) -> str:
    path = Path(rig["tmp"]) / "broken.yaml"
    path.write_text(Path(rig["config"]).read_text().replace("Europe/Berlin", "Europe/Berln"))
    return str(path)


def config_without_secret(rig: dict[str, str]) -> str:
    (Path(rig["tmp"]) / "imap-password").unlink()
    return rig["config"]


def read_only(rig: dict[str, str]) -> str:
    # SQLite's read-only mode: the same refusal a read-only file gives, even to root.
    migrated(f"sqlite:///{rig['db']}")
    return f"sqlite:///file:{rig['db']}?mode=ro&uri=true"


@pytest.mark.parametrize(("name", "make_env", "code", "words"), START_FAILURES, ids=[c[0] for c in START_FAILURES])
def test_a_daemon_that_cannot_start_says_why_in_one_log_line(rig, name, make_env, code, words):
    env = {"INBOXD_CONFIG": rig["config"], "INBOXD_DATABASE_URL": f"sqlite:///{rig['db']}",
           "INBOXD_LOG_FORMAT": "json"}
    env.update(make_env(rig))
    result = inboxd("run", env=env)
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    (line,) = result.stderr.splitlines()
    entry = json.loads(line)
    assert entry["event"] == "startup.failed" and entry["level"] == "error" and entry["exit_code"] == code
    assert words in entry["error"]


def test_a_database_password_is_never_shown(rig):
    url = "postgresql://inboxd:hunter2@127.0.0.1:1/inboxd"
    for args in (["run"], ["cases"]):
        result = inboxd(*args, env={"INBOXD_CONFIG": rig["config"], "INBOXD_DATABASE_URL": url,
                                    "INBOXD_LOG_FORMAT": "json"})
        assert result.returncode == 75
        assert "hunter2" not in result.stderr and "inboxd:***@127.0.0.1" in result.stderr


# (case id, arguments, environment from the rig, expected exit code, words the line must hold)
COMMAND_FAILURES = [
    ("cases-without-database", ["cases"], lambda r: {}, 66, "no inboxd database"),
    ("stats-without-database", ["stats", "--json"], lambda r: {}, 66, "no inboxd database"),
    ("cases-show-without-database", ["cases", "show", "1001"], lambda r: {}, 66, "no inboxd database"),
    ("cases-on-older-schema", ["cases", "--json"],
     lambda r: {"INBOXD_DATABASE_URL": migrated(f"sqlite:///{r['db']}", "0006")}, 65, "run `inboxd migrate`"),
    ("eta-on-older-schema", ["eta"],
     lambda r: {"INBOXD_DATABASE_URL": migrated(f"sqlite:///{r['db']}", "0006")}, 65, "run `inboxd migrate`"),
    ("cases-bad-database-url", ["cases"], lambda r: {"INBOXD_DATABASE_URL": "foo://x"}, 78, "database: foo://x"),
    ("explain-bad-database-url", ["explain", "-"], lambda r: {"INBOXD_DATABASE_URL": "foo://x"}, 78, "database:"),
    ("stats-postgresql-unreachable", ["stats"], lambda r: {"INBOXD_DATABASE_URL": UNREACHABLE_POSTGRES}, 75,
     "database:"),
    ("cases-config-missing", ["cases"], lambda r: {"INBOXD_CONFIG": f"{r['tmp']}/nowhere.yaml"}, 78,
     "cannot read the configuration"),
    ("eta-at-not-a-time", ["eta", "--at", "tomorrow"], lambda r: {}, 2, "'tomorrow' is not an ISO 8601 time"),
    ("eta-unknown-priority", ["eta", "--priority", "asap"], lambda r: {}, 2, "invalid choice: 'asap'"),
    ("cases-show-not-a-number", ["cases", "show", "abc"], lambda r: {}, 2, "invalid int value"),
    ("preview-unknown-template", ["preview", "bogus"], lambda r: {}, 1, "'bogus'"),
    ("unknown-command", ["frobnicate"], lambda r: {}, 2, "invalid choice"),
    ("simulate-workload-missing", ["simulate", "--workload", "/nonexistent/workload.yaml"], lambda r: {}, 1,
     "cannot read the workload"),
]


@pytest.mark.parametrize(("name", "args", "make_env", "code", "words"), COMMAND_FAILURES,
                         ids=[c[0] for c in COMMAND_FAILURES])
def test_a_command_that_fails_says_why_in_one_line(rig, name, args, make_env, code, words):
    env = {"INBOXD_CONFIG": rig["config"], "INBOXD_DATABASE_URL": f"sqlite:///{rig['db']}"}
    env.update(make_env(rig))
    result = inboxd(*args, env=env, stdin="")
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    (line,) = result.stderr.splitlines()
    assert words in line


def test_read_commands_never_create_or_migrate_a_database(rig, database_url):
    env = {"INBOXD_CONFIG": rig["config"], "INBOXD_DATABASE_URL": database_url}
    for args in (["cases"], ["cases", "list", "--json"], ["stats"], ["stats", "--json"]):
        result = inboxd(*args, env=env)
        assert result.returncode == 66, result.stderr
        assert result.stdout == ""
    # Without a database, eta and explain still answer, from the configuration alone.
    eta = inboxd("eta", "--json", env=env)
    assert eta.returncode == 0 and json.loads(eta.stdout)["source"].startswith("fallback")
    explain = inboxd("explain", "--json", "-", env=env, stdin="From: a@customer.example\nSubject: Hi\n\nHelp\n")
    assert explain.returncode == 0 and json.loads(explain.stdout)["case"] is None
    if database_url.startswith("sqlite"):
        assert not Path(database_url[len("sqlite:///"):]).exists()
    else:
        engine = make_engine(database_url)
        assert inspect(engine).get_table_names() == []
        engine.dispose()


def test_explain_gives_every_file_its_line_and_fails_when_one_could_not_be_read(rig, tmp_path):
    good = tmp_path / "good.eml"
    good.write_text("From: a@customer.example\nTo: support@example.com\nSubject: Help\n\nPlease help.\n")
    env = {"INBOXD_CONFIG": rig["config"], "INBOXD_DATABASE_URL": f"sqlite:///{rig['db']}"}
    result = inboxd("explain", "--json", str(good), str(tmp_path / "missing.eml"), env=env)
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(Path(x["file"]).name, x["kind"]) for x in lines] == [("good.eml", "customer"), ("missing.eml", "ignored")]
    assert "No such file" in lines[1]["reason"]
    assert inboxd("explain", "--json", str(good), env=env).returncode == 0


def database_with_a_case(rig: dict[str, str], due: datetime) -> str:
    url = migrated(f"sqlite:///{rig['db']}")
    store = repo.Store(make_engine(url))
    now = datetime.now(UTC)
    with store.begin() as conn:
        case_id, _ = repo.insert_case(conn, mailbox="support", customer="ann@customer.example", customer_name="Ann",
                                      subject="Printer", priority="normal", language="en", now=now)
        repo.add_promise(conn, case_id=case_id, owner="team", source="ack", text="by Monday", made_at=now,
                         due_at=due)
    store.dispose()
    return url


def test_cases_are_listed_in_the_teams_timezone(rig):
    due = datetime(2026, 7, 6, 11, 0, tzinfo=UTC)  # summer time in Berlin: 13:00 CEST
    env = {"INBOXD_CONFIG": rig["config"], "INBOXD_DATABASE_URL": database_with_a_case(rig, due)}
    listing = inboxd("cases", "list", env=env)
    assert listing.returncode == 0, listing.stderr
    assert "2026-07-06 13:00 CEST" in listing.stdout
    shown = inboxd("cases", "show", "1001", env=env)
    assert "due 2026-07-06 13:00 CEST" in shown.stdout and " UTC" not in shown.stdout
    # --json keeps ISO 8601 with its offset, as before.
    (row,) = [json.loads(line) for line in inboxd("cases", "--json", env=env).stdout.splitlines()]
    assert datetime.fromisoformat(row["promised_by"]) == due
    assert datetime.fromisoformat(row["promised_by"]).astimezone(ZoneInfo("Europe/Berlin")).hour == 13


def test_a_reader_that_goes_away_ends_the_output_quietly(rig):
    env = {"INBOXD_CONFIG": rig["config"],
           "INBOXD_DATABASE_URL": database_with_a_case(rig, datetime.now(UTC) + timedelta(days=1))}
    base = {k: v for k, v in os.environ.items() if not k.startswith("INBOXD_")}
    # `inboxd cases --json | head -0`: the reading end is closed before inboxd writes its first line.
    proc = subprocess.Popen([sys.executable, "-m", "inboxd.cli.main", "cases", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=dict(base, PYTHONPATH=str(ROOT), **env), cwd=ROOT)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert stderr == ""


def test_an_internal_error_is_one_line_with_a_hint_and_debug_shows_the_traceback(rig):
    # A command with a bug in it: an exception inboxd does not raise on purpose.
    env = {"INBOXD_CONFIG": rig["config"], "INBOXD_DATABASE_URL": f"sqlite:///{rig['db']}"}
    code = ("import sys, inboxd.cli.main as cli\n"
            "def boom(args): raise RuntimeError('something broke\\nsecond line')\n"
            "cli.cmd_stats = boom\n"
            "sys.exit(cli.main(['stats']))\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith("INBOXD_")}
    run = [sys.executable, "-c", code]
    quiet = subprocess.run(run, capture_output=True, text=True, env=dict(base, PYTHONPATH=str(ROOT), **env),
                           cwd=ROOT, timeout=60)
    assert quiet.returncode == 70
    assert quiet.stderr.splitlines() == [
        "internal error: RuntimeError: something broke (run with INBOXD_DEBUG=1 for the traceback)"]
    loud = subprocess.run(run, capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env=dict(base, PYTHONPATH=str(ROOT), INBOXD_DEBUG="1", **env))
    assert loud.returncode != 0 and "Traceback" in loud.stderr and "something broke" in loud.stderr


def test_the_revision_read_without_alembic_is_alembics_head():
    from alembic.script import ScriptDirectory

    from inboxd.store.db import alembic_config

    engine = make_engine("sqlite://")
    assert head_revision() == ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    engine.dispose()


def test_with_json_logs_a_librarys_warning_is_json_too():
    # APScheduler and alembic log through the standard library; the journal should get one format.
    code = ("import logging\nfrom inboxd.service.logs import configure_logging\nconfigure_logging('json')\n"
            "logging.getLogger('apscheduler.scheduler').warning('Run time of job %r was missed', 'tick')\n"
            "try:\n    1 / 0\nexcept ZeroDivisionError:\n    logging.getLogger('alembic').exception('failed')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    first, second = (json.loads(line) for line in result.stderr.splitlines())
    assert first["event"] == "Run time of job 'tick' was missed" and first["level"] == "warning"
    assert first["logger"] == "apscheduler.scheduler"
    assert second["level"] == "error" and "ZeroDivisionError" in second["exception"]


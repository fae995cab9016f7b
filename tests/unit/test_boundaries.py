"""The pure core imports no I/O: decisions stay testable with an injected clock and no servers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "inboxd"
CORE = ["calendar.py", "durations.py", "eta.py", "humanize.py", "cases.py", "decide.py", "rules.py",
        "backoff.py", "simulate.py", "mail/parse.py", "mail/classify.py", "mail/threading.py", "mail/reply.py",
        "mail/compose.py", "mail/bounces.py", "mail/auth.py", "commitments.py", "mail/html.py",
        "notes.py", "followups.py", "stats.py", "reasons.py", "language.py", "staff_text.py"]
FORBIDDEN = {"imapclient", "smtplib", "sqlalchemy", "alembic", "apscheduler", "socket", "subprocess",
             "inboxd.store", "inboxd.transport", "inboxd.daemon", "inboxd.ingest", "inboxd.outbox",
             "inboxd.devmail", "structlog"}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_io(module: str) -> None:
    bad = {name for name in imported_modules(PACKAGE / module)
           if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)}
    assert not bad, f"{module} imports {sorted(bad)}"


@pytest.mark.parametrize("module", CORE)
def test_core_module_reads_no_environment(module: str) -> None:
    source = (PACKAGE / module).read_text()
    assert "os.environ" not in source and "getenv" not in source

"""Reading the quarantine or the outbox never creates a database."""

from __future__ import annotations

from pathlib import Path

import pytest

from inboxd.cli.main import main


@pytest.mark.parametrize("argv", [["quarantine", "list"], ["quarantine", "list", "--json"],
                                  ["quarantine", "show", "1"], ["outbox", "list"], ["outbox", "retry", "1"],
                                  ["quarantine", "retry", "1"]])
def test_without_a_database_one_line_and_exit_66(tmp_path: Path, capsys, argv: list[str]) -> None:
    database = tmp_path / "inboxd.db"
    code = main([*argv, "--database-url", f"sqlite:///{database}"])
    out, err = capsys.readouterr()
    assert code == 66 and out == ""
    assert "no inboxd database" in err and len(err.splitlines()) == 1
    assert not database.exists()

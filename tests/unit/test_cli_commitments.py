"""``inboxd commitments``: the CLI contract (DESIGN.md) for one reply and for a batch.

The command runs through ``inboxd.cli.main`` once ``inboxd/cli/main.py`` registers it; until then through a
parser built the same way with ``inboxd.cli.commitments.add_parser``, so these tests hold either way.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from inboxd.cli import main as cli
from inboxd.cli.commitments import add_parser

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "commitments"
CONFIG = str(DATA / "config.yaml")


def _registered() -> bool:
    parser = cli.build_parser()
    return any(isinstance(action, argparse._SubParsersAction) and "commitments" in action.choices
               for action in parser._actions)


def run(argv: list[str]) -> int:
    """Run ``inboxd <argv>`` the way a user would."""
    if _registered():
        return cli.main(argv)
    parser = argparse.ArgumentParser(prog="inboxd")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config")
        return p

    add_parser(sub, with_config)
    args = parser.parse_args(argv)
    return int(args.func(args))


@pytest.fixture
def stdin(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stdin", stream)
    return stream


def test_json_for_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = tmp_path / "reply.txt"
    body.write_text("Hi Anna,\n\nI'll call you tomorrow at 2pm. We usually reply within a day.\n\nBest,\nTom\n")
    status = run(["commitments", "--config", CONFIG, "--sent-at", "2026-11-02T10:15:00+01:00", "--json", str(body)])
    assert status == 0
    assert json.loads(capsys.readouterr().out) == {
        "commitments": [{"text": "I'll call you tomorrow at 2pm.", "due": "2026-11-03T14:00:00+01:00"}]}


def test_json_from_stdin_and_sent_at_in_another_timezone(stdin: io.StringIO,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    stdin.write("Ich schicke Ihnen das Angebot bis Freitag.\n")
    stdin.seek(0)
    # 09:15 UTC is 10:15 in Berlin; the due time comes back in the team's timezone.
    status = run(["commitments", "--config", CONFIG, "--sent-at", "2026-11-02T09:15:00Z", "--json", "-"])
    assert status == 0
    assert json.loads(capsys.readouterr().out)["commitments"] == [
        {"text": "Ich schicke Ihnen das Angebot bis Freitag.", "due": "2026-11-06T17:00:00+01:00"}]


def test_sent_at_without_offset_is_team_time(stdin: io.StringIO, capsys: pytest.CaptureFixture[str]) -> None:
    stdin.write("I'll call you in 30 minutes.")
    stdin.seek(0)
    assert run(["commitments", "--config", CONFIG, "--sent-at", "2026-07-01T10:00", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["commitments"][0]["due"] == "2026-07-01T10:30:00+02:00"


def test_readable_output(stdin: io.StringIO, capsys: pytest.CaptureFixture[str]) -> None:
    stdin.write("I'll call you tomorrow at 2pm.")
    stdin.seek(0)
    assert run(["commitments", "--config", CONFIG, "--sent-at", "2026-11-02T10:15:00+01:00"]) == 0
    out = capsys.readouterr().out
    assert "Tue 2026-11-03 14:00 +0100" in out and "I'll call you tomorrow at 2pm." in out


def test_readable_output_when_nothing_is_promised(stdin: io.StringIO, capsys: pytest.CaptureFixture[str]) -> None:
    stdin.write("We'll keep you posted.")
    stdin.seek(0)
    assert run(["commitments", "--config", CONFIG, "--sent-at", "2026-11-02T10:15:00+01:00"]) == 0
    assert capsys.readouterr().out.strip() == "no dated commitments found"


@pytest.mark.parametrize(("argv", "message"), [
    ([], "--sent-at is required"),
    (["--sent-at", "yesterday"], "not an ISO 8601"),
])
def test_bad_sent_at(argv: list[str], message: str, stdin: io.StringIO, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["commitments", "--config", CONFIG, *argv]) == 2
    assert message in capsys.readouterr().err


def test_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = run(["commitments", "--config", CONFIG, "--sent-at", "2026-11-02T10:15:00+01:00",
                  str(tmp_path / "missing.txt")])
    assert status == 1
    assert "cannot read" in capsys.readouterr().err


def test_batch_writes_one_line_per_input_in_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(json.dumps(item) for item in [
        {"id": "a", "sent_at": "2026-11-02T10:15:00+01:00", "text": "I'll call you tomorrow at 2pm."},
        {"id": "b", "sent_at": "2026-11-02T10:15:00+01:00", "text": "We'll keep you posted."},
        {"id": 3, "sent_at": "2026-11-05T16:50:00+01:00", "text": "Wir melden uns innerhalb von 2 Werktagen."},
    ]) + "\n")
    assert run(["commitments", "--config", CONFIG, "--batch", str(batch)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [
        {"id": "a", "commitments": [{"text": "I'll call you tomorrow at 2pm.", "due": "2026-11-03T14:00:00+01:00"}]},
        {"id": "b", "commitments": []},
        {"id": 3, "commitments": [{"text": "Wir melden uns innerhalb von 2 Werktagen.",
                                   "due": "2026-11-09T17:00:00+01:00"}]},
    ]


def test_batch_bad_lines_still_get_their_line(stdin: io.StringIO, capsys: pytest.CaptureFixture[str]) -> None:
    stdin.write('{"id": "x", "text": "I\'ll call you tomorrow."}\nnot json\n'
                '{"id": "ok", "sent_at": "2026-11-02T10:15:00+01:00", "text": "I\'ll call you tomorrow."}\n')
    stdin.seek(0)
    assert run(["commitments", "--config", CONFIG, "--batch", "-"]) == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["id"] for line in lines] == ["x", None, "ok"]
    assert "error" in lines[0] and "error" in lines[1] and "error" not in lines[2]
    assert lines[2]["commitments"][0]["due"] == "2026-11-03T17:00:00+01:00"


def test_batch_scores_the_labelled_set_in_one_process(capsys: pytest.CaptureFixture[str]) -> None:
    labelled = DATA / "labelled.jsonl"
    rows = [json.loads(line) for line in labelled.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert run(["commitments", "--config", CONFIG, "--batch", str(labelled)]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["id"] for line in out] == [row["id"] for row in rows]
    found = sum(len(line["commitments"]) for line in out)
    expected = sum(len(row["expected"]) for row in rows)
    assert abs(found - expected) <= expected * 0.1

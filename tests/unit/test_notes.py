"""Parsing staff-note commands: every command, its errors, and 'nothing half-applied' at the parse level."""

from __future__ import annotations

from datetime import datetime

import pytest

from inboxd.core.calendar import BusinessCalendar
from inboxd.core.commitments import resolve_when
from inboxd.core.notes import parse_note

CAL = BusinessCalendar.build("Europe/Berlin", {"mon-fri": "09:00-17:00"}, country="DE", subdivision="BE")
REF = datetime.fromisoformat("2026-11-23T10:30:00+01:00")  # a Monday
STAFF = [("bob@example.com", "Bob"), ("alice@example.com", "Alice")]


def parse(text: str):
    return parse_note(text, lambda t: resolve_when(t, REF, CAL), STAFF)


@pytest.mark.parametrize(("line", "name", "when", "text"), [
    ("#remind tomorrow 10:00 call Ann back", "remind", "2026-11-24T10:00:00+01:00", "call Ann back"),
    ("#remind Friday", "remind", "2026-11-27T17:00:00+01:00", ""),
    ("#followup in 2 days", "followup", "2026-11-25T17:00:00+01:00", ""),
    ("#waiting the vendor until next week", "waiting", "2026-12-04T17:00:00+01:00", "the vendor"),
    ("#snooze until 2026-12-01 14:30", "snooze", "2026-12-01T14:30:00+01:00", ""),
    ("#priority High", "priority", None, "high"),
    ("#assign bob", "assign", None, "bob@example.com"),
    ("#assign alice@example.com", "assign", None, "alice@example.com"),
    ("#resolve", "resolve", None, ""),
    ("#reopen", "reopen", None, ""),
    ("#done", "done", None, ""),
])
def test_each_command(line: str, name: str, when: str | None, text: str) -> None:
    (command,), errors = parse(f"Some context first.\n{line}\n")
    assert errors == []
    assert command.name == name and command.text == text
    assert (command.when.isoformat() if command.when else None) == when


@pytest.mark.parametrize(("line", "why"), [
    ("#frobnicate", "unknown command #frobnicate"),
    ("#remind whenever", "no time I understand"),
    ("#remind", "the time is missing"),
    ("#followup tomorrow call them", "#followup takes only a time"),
    ("#priority sky-high", "unknown priority"),
    ("#assign mallory", "is not a staff member"),
    ("#waiting until Friday", "write who we wait for"),
    ("#snooze Friday", "write 'until' and a time"),
    ("#resolve now please", "#resolve takes nothing after it"),
])
def test_errors_name_the_line_and_why(line: str, why: str) -> None:
    commands, (error,) = parse(f"#priority urgent\n{line}")
    assert error.line == line and why in error.why and error.line_number == 2
    assert [c.name for c in commands] == ["priority"]  # the caller applies nothing when errors is not empty


def test_case_numbers_and_prose_are_not_commands() -> None:
    assert parse("About #1042 and the #hashtag-free text.\n#1042\nNo commands here.") == ([], [])

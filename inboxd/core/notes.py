"""Commands in staff notes: one per line, ``#remind``, ``#done``, ``#resolve`` … Pure.

A staff note is mail from staff to our own addresses only, with the case token in its subject. Its
command lines are parsed all at once; if any line is not understood, none is applied and the author
is told which line and why — a note is never half-applied.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

PRIORITIES = ("urgent", "high", "normal", "low")
COMMANDS = ("remind", "followup", "waiting", "snooze", "priority", "assign", "resolve", "reopen", "done")
USAGE = {
    "remind": "#remind <when> [text]",
    "followup": "#followup <when>",
    "waiting": "#waiting <who> until <when>",
    "snooze": "#snooze until <when>",
    "priority": "#priority urgent|high|normal|low",
    "assign": "#assign <staff email or name>",
    "resolve": "#resolve",
    "reopen": "#reopen",
    "done": "#done",
}
_COMMAND_LINE = re.compile(r"^\s*#([A-Za-z][\w-]*)\b\s*(.*?)\s*$")

# A resolver turns "tomorrow 10:00" into an instant, or None (injected: commitments.resolve_when).
WhenResolver = Callable[[str], datetime | None]


@dataclass(frozen=True)
class NoteCommand:
    name: str
    line: str
    when: datetime | None = None
    text: str = ""  # #remind's text, #waiting's who, #assign's staff address, #priority's level


@dataclass(frozen=True)
class NoteError:
    line_number: int
    line: str
    why: str


def _split_when(words: list[str], resolve: WhenResolver) -> tuple[datetime | None, str]:
    """The longest leading run of words that is a time, and the rest: "#remind tomorrow 10:00 call Ann"."""
    for cut in range(len(words), 0, -1):
        when = resolve(" ".join(words[:cut]))
        if when is not None:
            return when, " ".join(words[cut:])
    return None, " ".join(words)


def _after_until(rest: str) -> tuple[str, str] | None:
    match = re.match(r"^(.*?)\s*\b(?:until|till|bis)\b\s*(.+)$", rest, re.IGNORECASE)
    return (match.group(1).strip(), match.group(2).strip()) if match else None


def parse_note(text: str, resolve: WhenResolver, staff: Sequence[tuple[str, str]]) -> tuple[
        list[NoteCommand], list[NoteError]]:
    """Every command line of a note, or the errors; ``staff`` is (email, name) of each team member."""
    commands: list[NoteCommand] = []
    errors: list[NoteError] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _COMMAND_LINE.match(line)
        if not match:
            continue
        name, rest = match.group(1).lower(), match.group(2)
        if name.isdigit():
            continue  # "#1042": a case number, not a command
        if name not in COMMANDS:
            errors.append(NoteError(number, line.strip(), f"unknown command #{name}; known: "
                                    + ", ".join(f"#{c}" for c in COMMANDS)))
            continue
        result = _parse_command(name, rest, line.strip(), resolve, staff)
        if isinstance(result, str):
            errors.append(NoteError(number, line.strip(), f"{result} (use: {USAGE[name]})"))
        else:
            commands.append(result)
    return commands, errors


def _parse_command(name: str, rest: str, line: str, resolve: WhenResolver,
                   staff: Sequence[tuple[str, str]]) -> NoteCommand | str:
    if name in ("resolve", "reopen", "done"):
        return NoteCommand(name, line) if not rest else f"#{name} takes nothing after it"
    if name == "priority":
        level = rest.lower()
        return NoteCommand(name, line, text=level) if level in PRIORITIES else f"unknown priority {rest!r}"
    if name == "assign":
        wanted = rest.lower().strip()
        for email, person in staff:
            if wanted and (wanted == email.lower() or wanted == (person or "").lower()):
                return NoteCommand(name, line, text=email)
        return f"{rest!r} is not a staff member" if rest else "whom to assign is missing"
    if name in ("remind", "followup"):
        when, remainder = _split_when(rest.split(), resolve)
        if when is None:
            return f"no time I understand in {rest!r}, or it has passed" if rest else "the time is missing"
        if name == "followup" and remainder:
            return f"#followup takes only a time, not {remainder!r}"
        return NoteCommand(name, line, when=when, text=remainder)
    if name == "waiting":
        parts = _after_until(rest)
        if parts is None or not parts[0]:
            return "write who we wait for, then 'until' and a time"
        when = resolve(parts[1])
        if when is None:
            return f"no time I understand in {parts[1]!r}, or it has passed"
        return NoteCommand(name, line, when=when, text=parts[0])
    # snooze
    parts = _after_until(rest) if rest.lower().startswith(("until", "till", "bis")) else None
    when = resolve(parts[1]) if parts else None
    return NoteCommand(name, line, when=when) if when else "write 'until' and a time still ahead"

"""The admins' regular expressions, compiled with RE2: matching time grows linearly with the text.

Python's ``re`` backtracks: a pattern such as ``(a+)+$`` takes exponential time on a long run of
``a`` followed by a ``b``, and a rule runs on every customer mail. RE2 never backtracks, so no
pattern an admin writes can hang ingest. The price: RE2 has no backreferences (``\\1``) and no
look-around (``(?=…)``, ``(?<!…)``); such a pattern is rejected when the configuration is loaded.
"""

from __future__ import annotations

from typing import Any, Protocol

import re2


class Pattern(Protocol):
    def search(self, text: str) -> Any: ...


# RE2 logs every pattern it refuses to stderr; the refusal reaches the admin as a config problem instead.
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
# The automaton may grow beyond RE2's default 8 MiB for large alternations of literal strings (lists of domains).
_OPTIONS.max_mem = 64 << 20


def compile_pattern(text: str) -> Pattern:
    """A compiled RE2 pattern; ValueError with RE2's reason when it cannot take ``text``."""
    try:
        return re2.compile(text, _OPTIONS)  # type: ignore[no-any-return]
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(f"invalid regular expression {text!r} for the linear-time engine (RE2): {reason}") \
            from None


# --------------------------------------------------------------------------- time of week

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _day(text: str, spec: str) -> int:
    key = text.strip().lower()[:3]
    if key not in DAYS:
        raise ValueError(f"{spec!r}: {text!r} is not a day (mon, tue, wed, thu, fri, sat, sun)")
    return DAYS.index(key)


def _minute(text: str, spec: str) -> int:
    hours, sep, minutes = text.strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(f"{spec!r}: {text!r} is not a time of day; write HH:MM")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > 24 * 60:
        raise ValueError(f"{spec!r}: {text!r} is not a time of day; write HH:MM")
    return value


def parse_time_of_week(spec: str) -> tuple[frozenset[int], int, int]:
    """``"mon-fri 18:00-08:00"`` → (weekdays 0–6, start minute, end minute).

    Days are a range (``mon-fri``), a list (``sat,sun``), both (``mon-wed,fri``) or ``daily``; the hours
    are optional (the whole day). An end at or before the start runs past midnight: ``fri 18:00-08:00``
    is Friday evening to Saturday 08:00, and belongs to Friday.
    """
    parts = spec.split()
    if not parts or len(parts) > 2:
        raise ValueError(f"{spec!r}: write days and optional hours, e.g. \"mon-fri 18:00-08:00\" or \"sat,sun\"")
    days: set[int] = set()
    if parts[0].lower() in ("daily", "*"):
        days = set(range(7))
    else:
        for item in parts[0].split(","):
            first, sep, last = item.partition("-")
            start, end = _day(first, spec), _day(last, spec) if sep else _day(first, spec)
            days.update((start + offset) % 7 for offset in range((end - start) % 7 + 1))
    if len(parts) == 1:
        return frozenset(days), 0, 24 * 60
    first, sep, last = parts[1].partition("-")
    if not sep:
        raise ValueError(f"{spec!r}: write hours as HH:MM-HH:MM")
    return frozenset(days), _minute(first, spec), _minute(last, spec)


def in_time_of_week(window: tuple[frozenset[int], int, int], weekday: int, minute: int) -> bool:
    """Whether a local time (weekday 0 = Monday, minute of the day) falls in a window."""
    days, start, end = window
    if start < end:
        return weekday in days and start <= minute < end
    # Past midnight: the evening of a listed day, or the morning after one.
    return (weekday in days and minute >= start) or ((weekday - 1) % 7 in days and minute < end)

"""Durations as admins write them: ``30m``, ``4h``, ``2d`` (calendar time), ``1bd``, ``6bh`` (business time).

Pure: parsing only. Adding a business duration to an instant needs the team's calendar
(:func:`inboxd.core.calendar.BusinessCalendar.add`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

Unit = Literal["s", "m", "h", "d", "w", "bh", "bd"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(bd|bh|s|m|h|d|w)\s*$")
_CALENDAR_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class Duration:
    """An amount of calendar or business time."""

    amount: float
    unit: Unit

    @property
    def is_business(self) -> bool:
        return self.unit in ("bh", "bd")

    def as_timedelta(self) -> timedelta:
        """The calendar length; for business units, the nominal length (``1bh`` = 1 h, ``1bd`` = 24 h)."""
        if self.unit == "bh":
            return timedelta(hours=self.amount)
        if self.unit == "bd":
            return timedelta(days=self.amount)
        return timedelta(seconds=self.amount * _CALENDAR_SECONDS[self.unit])

    def __str__(self) -> str:
        amount = int(self.amount) if float(self.amount).is_integer() else self.amount
        return f"{amount}{self.unit}"


def parse_duration(text: str) -> Duration:
    """Parse ``"4h"``, ``"2bd"``, ``"30m"`` …; raise ValueError with a readable message otherwise."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(
            f"invalid duration {text!r}: use a number and a unit, e.g. 30m, 4h, 2d, 1w "
            "(calendar) or 6bh, 2bd (business hours/days)"
        )
    amount = float(match.group(1))
    if amount <= 0:
        raise ValueError(f"invalid duration {text!r}: must be greater than zero")
    return Duration(amount, match.group(2))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Rate:
    """``5/1d``: at most ``count`` events per ``period``."""

    count: int
    period: Duration

    def __str__(self) -> str:
        return f"{self.count}/{self.period}"


def parse_rate(text: str) -> Rate:
    """Parse ``"5/1d"`` or ``"3/10m"``; the period must be calendar time."""
    count_text, sep, period_text = str(text).partition("/")
    if not sep or not count_text.strip().isdigit():
        raise ValueError(f"invalid rate {text!r}: use COUNT/DURATION, e.g. 5/1d or 3/10m")
    period = parse_duration(period_text)
    if period.is_business:
        raise ValueError(f"invalid rate {text!r}: the period must be calendar time (m, h, d)")
    return Rate(int(count_text), period)

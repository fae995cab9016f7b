"""The injected clock: every decision takes ``now`` from here, never from ``datetime.now()``.

The daemon uses :class:`SystemClock`; tests and ``inboxd simulate`` use :class:`FrozenClock`,
so they run the very same code paths with a time they control.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._at = at.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._at

    def set(self, at: datetime) -> None:
        with self._lock:
            self._at = at.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._at += delta
            return self._at


# How far back a staff message's Date header is believed: older is a wrong clock (or a resent draft).
SAID_TRUST = timedelta(days=30)


def said_at(date: datetime | None, now: datetime, trust: timedelta = SAID_TRUST,
            received: datetime | None = None) -> datetime:
    """When staff mail was written, for resolving its "Friday" and "today": its Date header, within reason.

    The latest it can have been said is when the server received it (``received``, IMAP's INTERNALDATE) or,
    unknown, ``now``. A Date up to ``trust`` before that is believed (a note read late still means the days
    it named); one after it (a client's clock ahead), older than that, missing or without a timezone is
    not, and that latest moment stands in. Never later than ``now``.
    """
    latest = min(received, now) if received is not None and received.utcoffset() is not None else now
    if date is None or date.tzinfo is None or date.utcoffset() is None:
        return latest
    if date > latest or latest - date > trust:
        return latest
    return date

"""When staff mail was said: its Date header, within reason (:func:`inboxd.core.clock.said_at`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from inboxd.core.clock import SAID_TRUST, said_at

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("date", "expected"), [
    (NOW - timedelta(hours=17), NOW - timedelta(hours=17)),  # read late: the day it named still counts
    (NOW - SAID_TRUST, NOW - SAID_TRUST),
    (NOW - timedelta(minutes=1), NOW - timedelta(minutes=1)),
    (NOW, NOW),
    (NOW + timedelta(seconds=1), NOW),  # a client's clock ahead: never later than now
    (NOW + timedelta(days=400), NOW),
    (NOW - SAID_TRUST - timedelta(seconds=1), NOW),  # older than a month: a wrong clock, not a late read
    (datetime(1970, 1, 1, tzinfo=UTC), NOW),
    (None, NOW),
    (datetime(2026, 11, 24, 8, 0), NOW),  # no timezone: no instant at all
])
def test_said_at(date: datetime | None, expected: datetime) -> None:
    assert said_at(date, NOW) == expected


def test_said_at_keeps_the_writers_offset() -> None:
    written = datetime(2026, 11, 23, 17, 40, tzinfo=timezone(timedelta(hours=1)))
    assert said_at(written, NOW).utcoffset() == timedelta(hours=1)
    assert said_at(written, NOW, trust=timedelta(hours=1)) == NOW


def test_said_at_is_never_after_the_server_received_it() -> None:
    received = NOW - timedelta(hours=2)
    assert said_at(NOW - timedelta(hours=3), NOW, received=received) == NOW - timedelta(hours=3)
    assert said_at(NOW - timedelta(hours=1), NOW, received=received) == received  # the client's clock ahead
    assert said_at(None, NOW, received=received) == received
    # A Date a month before it reached the server is a wrong clock: the server's time stands in.
    assert said_at(received - SAID_TRUST - timedelta(hours=1), NOW, received=received) == received
    assert said_at(NOW - timedelta(hours=1), NOW, received=NOW + timedelta(hours=1)) == NOW - timedelta(hours=1)

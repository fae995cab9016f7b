"""Due times as a person would say them. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

QUARTER = timedelta(minutes=15)


def round_up(at: datetime, step: timedelta = QUARTER) -> datetime:
    """Round up to the next multiple of ``step`` (a promise is never made earlier than computed)."""
    seconds = step.total_seconds()
    if at.tzinfo is None or at.utcoffset() is None:
        epoch = datetime(2000, 1, 1, tzinfo=at.tzinfo)
        remainder = (at - epoch).total_seconds() % seconds
        return at if remainder == 0 else at + timedelta(seconds=seconds - remainder)
    # In UTC: wall-clock arithmetic in the local zone goes wrong in the hour the clocks go back
    # (02:07 CET would round to 02:15 CEST, 52 minutes earlier).
    utc = at.astimezone(UTC)
    remainder = (utc - datetime(2000, 1, 1, tzinfo=UTC)).total_seconds() % seconds
    return at if remainder == 0 else (utc + timedelta(seconds=seconds - remainder)).astimezone(at.tzinfo)


def phrase_due(due: datetime, now: datetime, tz: ZoneInfo) -> str:
    """``today by 15:00 CET``, ``tomorrow (Tuesday) by 13:00 CET``, ``by Monday 30 November, 13:00 CET``."""
    local = due.astimezone(tz)
    today = now.astimezone(tz).date()
    clock = f"{local:%H:%M} {local.tzname()}"
    if local.date() == today:
        return f"today by {clock}"
    if local.date() == today + timedelta(days=1):
        return f"tomorrow ({local:%A}) by {clock}"
    return f"by {local:%A} {local.day} {local:%B}, {clock}"


def phrase_in_offset(due: datetime, offset: timedelta) -> str:
    """The due time at a fixed UTC offset (the customer's, from their Date header)."""
    local = due.astimezone(timezone(offset))
    sign = "+" if offset >= timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{local:%A} {local:%H:%M} (UTC{sign}{minutes // 60:02d}:{minutes % 60:02d})"

"""Due times as a person would say them. Pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
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


_DE_DAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
_DE_MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
              "November", "Dezember")
# Written out here rather than through the C locale, which a service may not have installed.
_EN_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")


def _german(language: str) -> bool:
    return language.replace("_", "-").split("-")[0].lower() == "de"


def weekday_name(day: date, language: str = "en") -> str:
    """``Monday``; German: ``Montag``."""
    return (_DE_DAYS if _german(language) else _EN_DAYS)[day.weekday()]


def phrase_day(day: date, language: str = "en") -> str:
    """``Friday 25 December``; German: ``Freitag, 25. Dezember``."""
    if _german(language):
        return f"{_DE_DAYS[day.weekday()]}, {day.day}. {_DE_MONTHS[day.month - 1]}"
    return f"{_EN_DAYS[day.weekday()]} {day.day} {_EN_MONTHS[day.month - 1]}"


def phrase_due(due: datetime, now: datetime, tz: ZoneInfo, language: str = "en") -> str:
    """``today by 15:00 CET``, ``tomorrow (Tuesday) by 13:00 CET``, ``by Monday 30 November, 13:00 CET``.

    German: ``heute bis 15:00 Uhr (CET)``, ``morgen (Dienstag) bis 13:00 Uhr (CET)``,
    ``bis Montag, 30. November, 13:00 Uhr (CET)``.
    """
    local = due.astimezone(tz)
    today = now.astimezone(tz).date()
    if _german(language):
        clock = f"{local:%H:%M} Uhr ({local.tzname()})"
        if local.date() == today:
            return f"heute bis {clock}"
        if local.date() == today + timedelta(days=1):
            return f"morgen ({weekday_name(local.date(), 'de')}) bis {clock}"
        return f"bis {phrase_day(local.date(), 'de')}, {clock}"
    clock = f"{local:%H:%M} {local.tzname()}"
    if local.date() == today:
        return f"today by {clock}"
    if local.date() == today + timedelta(days=1):
        return f"tomorrow ({weekday_name(local.date())}) by {clock}"
    return f"by {phrase_day(local.date())}, {clock}"


def phrase_in_offset(due: datetime, offset: timedelta) -> str:
    """The due time at a fixed UTC offset (the customer's, from their Date header)."""
    local = due.astimezone(timezone(offset))
    sign = "+" if offset >= timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{local:%A} {local:%H:%M} (UTC{sign}{minutes // 60:02d}:{minutes % 60:02d})"

"""Due times as a person would say them, in the reader's language. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time, match_skeleton

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


# Month and day names, date order and clock format come from the Unicode CLDR through Babel; what is
# written here is only the few connecting words around them ("today by", "bis", "au plus tard le").
# Plain "en" is written the international way (day before month, 24-hour clock: CLDR's en_GB), as inboxd
# always has; "en-US" gives "Monday, November 30" and "1:00 PM".
_LOCALE_ALIASES = {"en": "en_GB"}


@dataclass(frozen=True)
class _Words:
    today: str  # {clock}
    tomorrow: str  # {weekday} {clock}
    later: str  # {day} {clock}
    clock: str  # {time} {zone}
    offset: str  # {weekday} {time} {offset}


_WORDS: dict[str, _Words] = {
    "en": _Words("today by {clock}", "tomorrow ({weekday}) by {clock}", "by {day}, {clock}",
                 "{time} {zone}", "{weekday} {time} ({offset})"),
    "de": _Words("heute bis {clock}", "morgen ({weekday}) bis {clock}", "bis {day}, {clock}",
                 "{time} Uhr ({zone})", "{weekday}, {time} Uhr ({offset})"),
    "fr": _Words("aujourd’hui au plus tard à {clock}", "demain ({weekday}) au plus tard à {clock}",
                 "au plus tard le {day} à {clock}", "{time} ({zone})", "{weekday} à {time} ({offset})"),
    "es": _Words("hoy, a más tardar a las {clock}", "mañana ({weekday}), a más tardar a las {clock}",
                 "a más tardar el {day} a las {clock}", "{time} ({zone})", "el {weekday} a las {time} ({offset})"),
    "it": _Words("oggi entro le {clock}", "domani ({weekday}) entro le {clock}", "entro {day} alle {clock}",
                 "{time} ({zone})", "{weekday} alle {time} ({offset})"),
    "nl": _Words("uiterlijk vandaag om {clock}", "uiterlijk morgen ({weekday}) om {clock}",
                 "uiterlijk {day} om {clock}", "{time} uur ({zone})", "{weekday} om {time} uur ({offset})"),
    "pt": _Words("hoje até às {clock}", "amanhã ({weekday}) até às {clock}", "até {day}, às {clock}",
                 "{time} ({zone})", "{weekday} às {time} ({offset})"),
}

LANGUAGES: tuple[str, ...] = tuple(_WORDS)
"""The languages due times are phrased in; any other is phrased in English."""


def _base(language: str) -> str:
    return language.replace("_", "-").split("-")[0].strip().lower()


def _words(language: str) -> _Words:
    return _WORDS.get(_base(language), _WORDS["en"])


@lru_cache(maxsize=64)
def babel_locale(language: str) -> Locale:
    """The CLDR locale for a case or staff language (``de``, ``pt-BR``); one without CLDR data, or one whose
    words inboxd does not have, is formatted as English, so names never mix two languages in one phrase."""
    if _base(language) not in _WORDS:
        language = "en"
    tag = language.replace("-", "_")
    try:
        return Locale.parse(_LOCALE_ALIASES.get(tag.lower(), tag))
    except (ValueError, UnknownLocaleError):
        return Locale.parse(_LOCALE_ALIASES.get(_base(language), _base(language)))


@lru_cache(maxsize=64)
def _day_pattern(locale: Locale) -> str:
    """The locale's pattern for a weekday with its date and month name and no year ("EEEE d MMMM"),
    from CLDR's skeletons, with the weekday and month written out in full."""
    pattern = locale.datetime_skeletons[match_skeleton("MMMMEEEEd", locale.datetime_skeletons) or "MMMMEd"]
    text = str(getattr(pattern, "pattern", pattern))
    text = re.sub(r"(?<!E)E{1,3}(?!E)", "EEEE", text)
    return re.sub(r"(?<!M)MMM(?!M)", "MMMM", text)


def weekday_name(day: date, language: str = "en") -> str:
    """``Monday``; German: ``Montag``; French: ``lundi``."""
    return str(format_date(day, "EEEE", locale=babel_locale(language)))


def phrase_day(day: date, language: str = "en") -> str:
    """``Friday 25 December``; German: ``Freitag, 25. Dezember``; Spanish: ``viernes, 25 de diciembre``."""
    locale = babel_locale(language)
    return str(format_date(day, _day_pattern(locale), locale=locale))


def phrase_time(at: datetime | time, language: str = "en") -> str:
    """A wall-clock time as the locale writes it (``13:00``; ``en-US``: ``1:00 PM``)."""
    return str(format_time(at, "short", locale=babel_locale(language)))


_PLAIN_ENGLISH = Locale.parse("en")  # "Sep", where en_GB writes "Sept"


def short_moment(at: datetime) -> str:
    """``Mon 30 Nov 13:00`` in ``at``'s own zone: English staff's terse form (CLDR's names, not the C library's)."""
    return str(format_datetime(at, "EEE dd MMM HH:mm", tzinfo=at.tzinfo, locale=_PLAIN_ENGLISH))


def phrase_moment(at: datetime, language: str = "en") -> str:
    """A moment in its own zone, for staff: ``Mon 30 Nov 13:00 CET``; German ``Montag, 30. November, 13:00 CET``."""
    if _base(language) not in _WORDS or _base(language) == "en":
        return f"{short_moment(at)} {at.tzname()}"  # as staff have always read it
    return f"{phrase_day(at.date(), language)}, {phrase_time(at, language)} {at.tzname()}"


def phrase_due(due: datetime, now: datetime, tz: ZoneInfo, language: str = "en") -> str:
    """``today by 15:00 CET``, ``tomorrow (Tuesday) by 13:00 CET``, ``by Monday 30 November, 13:00 CET``.

    German: ``heute bis 15:00 Uhr (CET)``, ``morgen (Dienstag) bis 13:00 Uhr (CET)``,
    ``bis Montag, 30. November, 13:00 Uhr (CET)``; French: ``au plus tard le lundi 30 novembre à 13:00 (CET)``.
    """
    local = due.astimezone(tz)
    today = now.astimezone(tz).date()
    words = _words(language)
    clock = words.clock.format(time=phrase_time(local, language), zone=local.tzname())
    if local.date() == today:
        return words.today.format(clock=clock)
    if local.date() == today + timedelta(days=1):
        return words.tomorrow.format(weekday=weekday_name(local.date(), language), clock=clock)
    return words.later.format(day=phrase_day(local.date(), language), clock=clock)


def phrase_in_offset(due: datetime, offset: timedelta, language: str = "en") -> str:
    """The due time at a fixed UTC offset (the customer's, from their Date header): ``Monday 13:00 (UTC-05:00)``."""
    local = due.astimezone(timezone(offset))
    sign = "+" if offset >= timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return _words(language).offset.format(weekday=weekday_name(local.date(), language),
                                          time=phrase_time(local, language),
                                          offset=f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}")

"""Business hours, holidays and business-time arithmetic in the team's timezone.

Pure: values in, values out. Nothing here reads the clock, the environment or a file; the
``holidays`` package supplies public holidays from its built-in tables.

Two rules keep the arithmetic correct across daylight-saving changes:

* Opening and closing instants are built per local date from wall-clock times
  (``datetime.combine(day, time, tzinfo=tz)``), never by adding a timedelta to a local time.
* All comparisons and sums happen in UTC. Python compares and subtracts two datetimes that share
  a ``tzinfo`` object by their wall-clock fields, which is wrong on the day the clocks change.

Every search over days is capped (:data:`SEARCH_DAYS`, about three years) so that a calendar
with no open time at all raises ``ValueError`` instead of looping forever.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from inboxd.core.durations import Duration

__all__ = [
    "END_OF_DAY",
    "SEARCH_DAYS",
    "BusinessCalendar",
    "WeeklyHours",
    "parse_date_ranges",
    "parse_weekly_hours",
]

WeeklyHours = dict[int, tuple[tuple[time, time], ...]]
"""Weekday (0 = Monday … 6 = Sunday) → sorted, non-overlapping open ranges of that day.

A range ending at :data:`END_OF_DAY` is open until midnight at the end of the day ("24:00").
"""

END_OF_DAY = time.max
"""The end of a range written as ``24:00``: midnight at the end of the day.

``datetime.time`` cannot hold 24:00, and ``time.max`` sorts after every other end time.
"""

SEARCH_DAYS = 3 * 366 + 7
"""How many days a search may look ahead (or back) for open time before giving up."""

# Enough days for several years of look-ups; beyond it the memo starts afresh rather than grow.
_DAY_MEMO_SIZE = 4096

_DEFAULT_CLOSE = time(17, 0)
_ONE_DAY = timedelta(days=1)
_ZERO = timedelta(0)

_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES: dict[str, int] = {name: number for number, name in enumerate(_DAY_NAMES)}
_DAY_ALIASES.update(
    {
        name: number
        for number, name in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    }
)
_DAY_GROUPS: dict[str, tuple[int, ...]] = {
    "daily": tuple(range(7)),
    "everyday": tuple(range(7)),
    "every day": tuple(range(7)),
    "weekdays": tuple(range(5)),
    "weekends": (5, 6),
    "weekend": (5, 6),
}
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
# Admins paste ranges from documents that use en or em dashes.
_RANGE_SEPARATOR = re.compile(r"\s*[-\u2013\u2014]\s*")
_DATE_RANGE_SEPARATOR = ".."
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# --------------------------------------------------------------------------------------------
# Parsing the configuration
# --------------------------------------------------------------------------------------------


def parse_weekly_hours(spec: Mapping[str, str | list[str]]) -> WeeklyHours:
    """Parse business hours as admins write them, e.g. ``{"mon-fri": "09:00-17:00", "sat": "10:00-14:00"}``.

    Keys name days: ``mon``, ``mon-fri``, ``mon,wed,fri``, ``fri-mon`` (wrapping past Sunday), ``daily``,
    ``weekdays``, ``weekends``; full day names work too; case does not matter. Values are ranges such as
    ``"09:00-17:00"`` or ``"09:00-12:00, 13:00-17:00"``, a list of such ranges, or ``"closed"``.
    ``24:00`` may end a range. Days not named are closed; touching ranges are merged.

    Returns all seven weekdays (closed days map to ``()``). Raises ``ValueError`` with a message an admin
    can act on, naming the bad part.
    """
    if not isinstance(spec, Mapping):
        raise ValueError(
            f"business hours must map days to ranges, e.g. {{mon-fri: '09:00-17:00'}}, not {spec!r}"
        )
    hours: WeeklyHours = {day: () for day in range(7)}
    # Which key first named each day, so a second mention can point at both.
    named_by: dict[int, str] = {}
    for raw_key, value in spec.items():
        key = str(raw_key).strip()
        days = _parse_day_spec(key)
        ranges = _parse_day_ranges(key, value)
        for day in days:
            if day in named_by:
                first = named_by[day]
                where = f"in '{key}'" if first == key else f"in '{first}' and '{key}'"
                raise ValueError(f"day '{_DAY_NAMES[day]}' given twice ({where})")
            named_by[day] = key
            hours[day] = ranges
    return hours


def _parse_day_spec(key: str) -> list[int]:
    """``"mon-fri"`` → ``[0, 1, 2, 3, 4]``; ``"sun-tue"`` → ``[6, 0, 1]``."""
    lowered = key.lower()
    if lowered in _DAY_GROUPS:
        return list(_DAY_GROUPS[lowered])
    if not lowered:
        raise ValueError("empty day name: use e.g. mon, mon-fri or mon,wed,fri")
    days: list[int] = []
    for part in lowered.split(","):
        part = part.strip()
        if not part:
            raise ValueError(f"empty day in '{key}': use e.g. mon,wed,fri")
        if "-" in part:
            first_text, _, last_text = part.partition("-")
            first = _day_number(first_text.strip(), key)
            last = _day_number(last_text.strip(), key)
            # Walk forward from the first day so that "fri-mon" wraps past Sunday.
            span = (last - first) % 7
            part_days = [(first + offset) % 7 for offset in range(span + 1)]
        else:
            part_days = [_day_number(part, key)]
        for day in part_days:
            if day in days:
                raise ValueError(f"day '{_DAY_NAMES[day]}' given twice (in '{key}')")
            days.append(day)
    return days


def _day_number(name: str, key: str) -> int:
    if name not in _DAY_ALIASES:
        raise ValueError(f"unknown day '{name}' in '{key}' (use mon, tue, wed, thu, fri, sat, sun)")
    return _DAY_ALIASES[name]


def _parse_day_ranges(key: str, value: object) -> tuple[tuple[time, time], ...]:
    """``"09:00-12:00, 13:00-17:00"`` (or a list of ranges, or ``"closed"``) → sorted merged ranges."""
    if isinstance(value, str):
        items = [value]
    elif isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        items = list(value)
    else:
        raise ValueError(
            f"hours for '{key}' must be text like '09:00-17:00', a list of such ranges or 'closed', "
            f"not {value!r}"
        )
    texts = [text.strip() for item in items for text in item.split(",")]
    if any(text.lower() == "closed" for text in texts):
        if len(texts) > 1:
            raise ValueError(f"hours for '{key}' mix 'closed' with open ranges")
        return ()
    if not texts or any(not text for text in texts):
        raise ValueError(f"hours for '{key}' contain an empty range: use e.g. '09:00-17:00' or 'closed'")
    parsed = sorted((_parse_range(text, key), text) for text in texts)
    merged: list[tuple[time, time]] = []
    previous_text = ""
    for (start, end), text in parsed:
        if merged and start < merged[-1][1]:
            raise ValueError(f"ranges '{previous_text}' and '{text}' overlap (for '{key}')")
        if merged and start == merged[-1][1]:
            # "09:00-12:00, 12:00-17:00" is one stretch of open time.
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
        previous_text = text
    return tuple(merged)


def _parse_range(text: str, key: str) -> tuple[time, time]:
    parts = _RANGE_SEPARATOR.split(text)
    if len(parts) != 2:
        raise ValueError(f"invalid range '{text}' for '{key}': use HH:MM-HH:MM, e.g. 09:00-17:00")
    start = _parse_clock(parts[0], text, key, is_end=False)
    end = _parse_clock(parts[1], text, key, is_end=True)
    if end <= start:
        if end == start:
            raise ValueError(f"range '{text}' is empty (for '{key}')")
        raise ValueError(
            f"range '{text}' ends before it starts (for '{key}'; split hours past midnight over two days, "
            "e.g. mon: 22:00-24:00 and tue: 00:00-06:00)"
        )
    return start, end


def _parse_clock(text: str, range_text: str, key: str, *, is_end: bool) -> time:
    match = _CLOCK.match(text)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        if is_end and hour == 24 and minute == 0:
            return END_OF_DAY
        if hour < 24 and minute < 60:
            return time(hour, minute)
    allowed = "00:00 to 24:00" if is_end else "00:00 to 23:59"
    raise ValueError(f"invalid time '{text}' in range '{range_text}' for '{key}': use HH:MM, {allowed}")


def parse_date_ranges(items: Iterable[str | date]) -> frozenset[date]:
    """Parse closure dates: ``"2026-12-24"``, ``"2026-12-21..2026-12-31"`` (inclusive) or ``date`` objects.

    Raises ``ValueError`` naming the bad entry.
    """
    # A lone string is iterable too; treat it as one entry rather than as characters.
    entries: Iterable[str | date] = [items] if isinstance(items, str | date) else items
    days: set[date] = set()
    for item in entries:
        if isinstance(item, datetime):
            days.add(item.date())
        elif isinstance(item, date):
            days.add(item)
        elif isinstance(item, str):
            first_text, separator, last_text = item.partition(_DATE_RANGE_SEPARATOR)
            first = _parse_date(first_text, item)
            if not separator:
                days.add(first)
                continue
            last = _parse_date(last_text, item)
            if last < first:
                raise ValueError(f"date range '{item}' ends before it starts")
            span = (last - first).days
            if span > 3660:
                raise ValueError(f"date range '{item}' is longer than ten years")
            days.update(first + timedelta(days=offset) for offset in range(span + 1))
        else:
            raise ValueError(f"invalid date {item!r}: use YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD")
    return frozenset(days)


def _parse_date(text: str, item: str) -> date:
    text = text.strip()
    where = "" if text == item.strip() else f" in '{item}'"
    problem = ValueError(f"invalid date '{text}'{where}: use YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD")
    # fromisoformat alone would also take "20261224" and week dates; admins should see one format.
    if not _ISO_DATE.fullmatch(text):
        raise problem
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise problem from None


# --------------------------------------------------------------------------------------------
# Holidays
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _public_holidays(country: str, subdivision: str | None, year: int,
                     language: str | None = None) -> Mapping[date, str]:
    """The public holidays of one region and year (English names, or ``language``'s), computed once per process.

    ``holidays`` builds its tables lazily and slowly; keying the cache by region and year keeps
    calendar arithmetic fast and lets frozen, unhashable calendars share the work. A ``language`` the
    package has no names for in that country gives the English names.
    """
    # Without a language the package names holidays in the country's own language ("Neujahr", "元日"):
    # English is asked for explicitly, and a language it has no names for there falls back to English.
    supported = _localized_languages().get(country, ())
    wanted = language if language in supported else None
    if wanted is None:
        wanted = next((code for code in ("en_US", "en_GB", "en") if code in supported), None)
    table = holidays.country_holidays(country, subdiv=subdivision, years=year, language=wanted)
    return MappingProxyType({day: str(name) for day, name in table.items() if day.year == year})


@functools.lru_cache(maxsize=1)
def _localized_languages() -> Mapping[str, tuple[str, ...]]:
    """The languages the ``holidays`` package names each country's holidays in."""
    return {str(code): tuple(languages) for code, languages in holidays.list_localized_countries().items()}


@functools.lru_cache(maxsize=1)
def _supported_countries() -> Mapping[str, list[str]]:
    return MappingProxyType(holidays.list_supported_countries())


def _check_holiday_region(country: str | None, subdivision: str | None) -> tuple[str | None, str | None]:
    """Validate a holiday region and return its canonical codes (``"de", "be"`` → ``"DE", "BE"``)."""
    if country is None:
        if subdivision is not None:
            raise ValueError(f"holiday subdivision '{subdivision}' given without a country")
        return None, None
    supported = _supported_countries()
    code = str(country).strip().upper()
    if code not in supported:
        raise ValueError(
            f"unknown holiday country '{country}': use an ISO 3166 code such as DE, FR, GB or US"
        )
    if subdivision is None:
        return code, None
    known = supported[code]
    by_upper = {name.upper(): name for name in known}
    wanted = str(subdivision).strip()
    if wanted.upper() in by_upper:
        return code, by_upper[wanted.upper()]
    # The package also accepts some spelled-out names ("Berlin"); let it decide before refusing.
    try:
        holidays.country_holidays(code, subdiv=wanted)
    except NotImplementedError:
        listing = ", ".join(known) if known else "none"
        raise ValueError(
            f"unknown holiday subdivision '{subdivision}' for country {code} (known: {listing})"
        ) from None
    return code, wanted


# --------------------------------------------------------------------------------------------
# The calendar
# --------------------------------------------------------------------------------------------

_Interval = tuple[datetime, datetime]


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: inboxd needs timezone-aware datetimes")
    return at.astimezone(UTC)


@dataclass(frozen=True)
class BusinessCalendar:
    """When a team (or one staff member) works: weekly hours, public holidays and extra closures.

    Build it with :meth:`build` from configuration values. Every datetime it returns is aware and in
    ``tz``; every datetime it accepts must be aware (any timezone).
    """

    tz: ZoneInfo
    hours: WeeklyHours
    closed: frozenset[date] = field(default_factory=frozenset)
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    # Memo of each local date's open intervals: the daemon asks about the same few days over and over,
    # and building them (holiday lookup, DST-aware instants) dominates the cost of every operation.
    # Invisible to equality and repr; ``hours`` and ``closed`` must therefore not be mutated.
    _days: dict[date, tuple[_Interval, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        country, subdivision = _check_holiday_region(self.holiday_country, self.holiday_subdivision)
        # The dataclass is frozen; normalising in place is the documented way around that.
        object.__setattr__(self, "holiday_country", country)
        object.__setattr__(self, "holiday_subdivision", subdivision)
        object.__setattr__(self, "closed", frozenset(self.closed))

    @classmethod
    def build(
        cls,
        timezone: str,
        business_hours: Mapping[str, str | list[str]],
        *,
        country: str | None = None,
        subdivision: str | None = None,
        extra_closed: Iterable[str | date] = (),
    ) -> BusinessCalendar:
        """Build a calendar from configuration values; raise ``ValueError`` with a readable message.

        ``timezone`` is an IANA name (``Europe/Berlin``), ``business_hours`` as for
        :func:`parse_weekly_hours`, ``country``/``subdivision`` choose public holidays (``DE``/``BE``)
        and ``extra_closed`` lists closure dates as for :func:`parse_date_ranges`.
        """
        try:
            tz = ZoneInfo(str(timezone))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone '{timezone}': use an IANA name such as Europe/Berlin"
            ) from None
        hours = parse_weekly_hours(business_hours)
        if not any(hours.values()):
            raise ValueError("business hours never open: give at least one range, e.g. mon-fri: 09:00-17:00")
        return cls(
            tz=tz,
            hours=hours,
            closed=parse_date_ranges(extra_closed),
            holiday_country=country,
            holiday_subdivision=subdivision,
        )

    # ---- days ----------------------------------------------------------------------------

    def holiday_name(self, d: date, language: str | None = None) -> str | None:
        """The name of the public holiday on ``d`` (e.g. ``"Christmas Day"``), ``"closed"`` for an extra
        closure, or ``None`` when neither applies (an ordinary weekend day also gives ``None``).

        With ``language`` (``"de"``) the holiday is named in that language where the ``holidays`` package
        knows it for the country (``"Erster Weihnachtstag"``), else in English.
        """
        if self.holiday_country is not None:
            name = _public_holidays(self.holiday_country, self.holiday_subdivision, d.year, language).get(d)
            if name is not None:
                return name
        if d in self.closed:
            return "closed"
        return None

    def is_business_day(self, d: date) -> bool:
        """Whether the team works on ``d``: it has hours that weekday and it is no holiday or closure."""
        return bool(self.hours.get(d.weekday())) and self.holiday_name(d) is None

    def nth_business_day(self, d: date, n: int) -> date:
        """The ``n``-th business day after ``d``; for ``n == 0``, ``d`` itself or the next business day."""
        if n < 0:
            raise ValueError(f"nth_business_day needs n >= 0, not {n}")
        self._require_some_hours()
        day = d if n > 0 else d - _ONE_DAY
        remaining = max(n, 1)
        idle = 0
        while True:
            day += _ONE_DAY
            if self.is_business_day(day):
                idle = 0
                remaining -= 1
                if remaining == 0:
                    return day
            else:
                idle += 1
                if idle > SEARCH_DAYS:
                    raise ValueError(f"no business day within {SEARCH_DAYS} days after {d}")

    def previous_business_day(self, d: date) -> date:
        """The last business day strictly before ``d`` ("before Friday", "before Christmas")."""
        self._require_some_hours()
        day = d
        for _ in range(SEARCH_DAYS):
            day -= _ONE_DAY
            if self.is_business_day(day):
                return day
        raise ValueError(f"no business day within {SEARCH_DAYS} days before {d}")

    def open_ranges(self, d: date) -> list[tuple[datetime, datetime]]:
        """The open intervals of local date ``d`` as aware datetimes in ``tz`` (``[]`` when closed)."""
        return [(start.astimezone(self.tz), end.astimezone(self.tz)) for start, end in self._day_intervals(d)]

    def close_of_business(self, d: date) -> datetime:
        """The end of ``d``'s last open range; 17:00 local on a closed day (DESIGN: commitment due times)."""
        intervals = self._day_intervals(d)
        if intervals:
            return intervals[-1][1].astimezone(self.tz)
        return self._instant(d, _DEFAULT_CLOSE, closing=True).astimezone(self.tz)

    # ---- instants ------------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """Whether the team is working at the instant ``at``."""
        t = _utc(at)
        return any(start <= t for start, _ in self._intervals_after(t, until=t))

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself (in ``tz``) if the team is open then, else the next instant it opens."""
        t = _utc(at)
        for start, _ in self._intervals_after(t):
            return max(start, t).astimezone(self.tz)
        raise AssertionError("unreachable: _intervals_after raises when it finds nothing")

    def add_business_time(self, start: datetime, delta: timedelta) -> datetime:
        """``start`` plus ``delta`` of open time (negative ``delta`` goes back).

        Time outside business hours does not count. Going forward, a result that lands exactly on a
        closing time stays there (Mon 09:00 + 8 h → Mon 17:00, not Tue 09:00); going back, it stays on the
        opening time. ``delta == 0`` returns ``start`` unchanged.
        """
        t = _utc(start)
        if delta == _ZERO:
            return t.astimezone(self.tz)
        if delta > _ZERO:
            remaining = delta
            for opens, closes in self._intervals_after(t):
                opens = max(opens, t)
                available = closes - opens
                if remaining <= available:
                    return (opens + remaining).astimezone(self.tz)
                remaining -= available
        else:
            remaining = -delta
            for opens, closes in self._intervals_before(t):
                closes = min(closes, t)
                available = closes - opens
                if remaining <= available:
                    return (closes - remaining).astimezone(self.tz)
                remaining -= available
        raise AssertionError("unreachable: interval searches raise when they find nothing")

    def add_business_days(self, start: datetime, n: int) -> datetime:
        """``n`` business days after ``start``, at the same time of day.

        ``start`` first moves to :meth:`next_open`; the result is the same wall-clock time ``n`` business
        days later, moved into that day's open hours (before opening → the opening, in a break → the end of
        the break, after closing → :meth:`close_of_business`). Mon 10:00 + 1 → Tue 10:00;
        Fri 18:00 + 1 → Tue 09:00 (Fri 18:00 counts as Mon 09:00).
        """
        return self._add_business_days(start, n)[0]

    def _add_business_days(self, start: datetime, n: int) -> tuple[datetime, date]:
        """:meth:`add_business_days`, also returning the business day the result belongs to."""
        if n < 0:
            raise ValueError(f"add_business_days needs n >= 0, not {n}")
        opened = self.next_open(start)
        day = self.nth_business_day(opened.date(), n)
        # The wall-clock time is kept, not the offset: 10:00 stays 10:00 across a DST change.
        wanted = self._instant(day, opened.time())
        intervals = self._day_intervals(day)
        if not intervals:
            # Only possible when the day's sole range lies inside a skipped DST hour.
            return self.close_of_business(day), day
        for opens, closes in intervals:
            if wanted < opens:
                return opens.astimezone(self.tz), day
            if wanted < closes:
                return wanted.astimezone(self.tz), day
        return intervals[-1][1].astimezone(self.tz), day

    def add(self, start: datetime, duration: Duration) -> datetime:
        """``start`` plus a configured duration.

        Calendar units (``s m h d w``) add elapsed time (``1d`` is 24 hours, even across a DST change);
        ``bh`` adds open time (:meth:`add_business_time`); ``bd`` adds business days
        (:meth:`add_business_days`), and a fraction of a business day adds that share of the landing day's
        open hours (``1.5bd`` from Mon 10:00 on 09-17 days → Tue 14:00).
        """
        if duration.unit == "bh":
            return self.add_business_time(start, timedelta(hours=duration.amount))
        if duration.unit == "bd":
            whole = int(duration.amount)
            fraction = duration.amount - whole
            result, day = self._add_business_days(start, whole)
            if fraction > 0:
                day_length = sum((closes - opens for opens, closes in self._day_intervals(day)), _ZERO)
                result = self.add_business_time(result, day_length * fraction)
            return result
        return (_utc(start) + duration.as_timedelta()).astimezone(self.tz)

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        """The open time in ``[a, b)``; negative when ``b`` is before ``a``."""
        start, end = _utc(a), _utc(b)
        if end < start:
            return -self.business_time_between(b, a)
        total = _ZERO
        for opens, closes in self._intervals_after(start, until=end):
            if opens >= end:
                break
            total += min(closes, end) - max(opens, start)
        return total

    # ---- internals -----------------------------------------------------------------------

    def _require_some_hours(self) -> None:
        if not any(self.hours.values()):
            raise ValueError("the team is never open")

    def _instant(self, d: date, t: time, *, closing: bool = False) -> datetime:
        """The UTC instant at which the wall clock shows ``t`` on local date ``d``.

        Where DST makes that ambiguous, an open range covers every moment its wall-clock times are
        shown: a time the clocks skip (02:30 on a spring-forward night) maps to the first real instant
        after the jump, so "01:30-02:30" is open for 30 minutes that night; a time shown twice maps to
        its first showing when it opens a range and to its second when it closes one.
        """
        if t == END_OF_DAY:
            d, t = d + _ONE_DAY, time(0)
        first = datetime.combine(d, t, tzinfo=self.tz).astimezone(UTC)
        second = datetime.combine(d, t, tzinfo=self.tz).replace(fold=1).astimezone(UTC)
        if first == second:
            return first
        if first < second:
            # Shown twice (clocks went back): fold=0 is the earlier showing.
            return second if closing else first
        # Skipped (clocks jumped forward): the jump lies in (second, first]. zoneinfo does not expose
        # its transitions, so find the jump by bisection over whole seconds (tzdata uses no finer ones).
        before = second.astimezone(self.tz).utcoffset()
        low, high = 0, int((first - second).total_seconds())
        while high - low > 1:
            middle = (low + high) // 2
            if (second + timedelta(seconds=middle)).astimezone(self.tz).utcoffset() == before:
                low = middle
            else:
                high = middle
        return second + timedelta(seconds=high)

    def _day_intervals(self, d: date) -> tuple[_Interval, ...]:
        """The open intervals of local date ``d`` in UTC, sorted and non-overlapping (memoised)."""
        cached = self._days.get(d)
        if cached is None:
            if len(self._days) >= _DAY_MEMO_SIZE:
                self._days.clear()
            cached = self._days[d] = self._compute_day_intervals(d)
        return cached

    def _compute_day_intervals(self, d: date) -> tuple[_Interval, ...]:
        if not self.is_business_day(d):
            return ()
        intervals: list[_Interval] = []
        for start, end in self.hours.get(d.weekday(), ()):
            opens, closes = self._instant(d, start), self._instant(d, end, closing=True)
            # Near a DST change a range can come out empty (inside a skipped hour) or overlap its
            # neighbour (a repeated hour); merge so callers see disjoint intervals.
            if closes <= opens:
                continue
            if intervals and opens <= intervals[-1][1]:
                intervals[-1] = (intervals[-1][0], max(intervals[-1][1], closes))
            else:
                intervals.append((opens, closes))
        return tuple(intervals)

    def _intervals_after(self, t: datetime, until: datetime | None = None) -> Iterator[_Interval]:
        """Open intervals (UTC) that end after ``t``, in order and non-overlapping.

        Without ``until`` the stream is endless and raises ``ValueError`` after :data:`SEARCH_DAYS`
        days without open time; with ``until`` it stops quietly once past that instant.
        """
        if until is None:
            self._require_some_hours()
        # Start a day early: the previous local day's last range may end after ``t`` in odd zones.
        day = t.astimezone(self.tz).date() - _ONE_DAY
        last_day = None if until is None else until.astimezone(self.tz).date() + _ONE_DAY
        previous_close: datetime | None = None
        idle = 0
        while last_day is None or day <= last_day:
            found = False
            for opens, closes in self._day_intervals(day):
                if previous_close is not None:
                    opens = max(opens, previous_close)
                if closes <= t or closes <= opens:
                    continue
                found = True
                previous_close = closes
                yield opens, closes
            idle = 0 if found else idle + 1
            if last_day is None and idle > SEARCH_DAYS:
                raise ValueError(f"no business hours within {SEARCH_DAYS} days after {t.astimezone(self.tz)}")
            day += _ONE_DAY

    def _intervals_before(self, t: datetime) -> Iterator[_Interval]:
        """Open intervals (UTC) that start before ``t``, latest first and non-overlapping; endless,
        raising ``ValueError`` after :data:`SEARCH_DAYS` days without open time."""
        self._require_some_hours()
        day = t.astimezone(self.tz).date() + _ONE_DAY
        next_open: datetime | None = None
        idle = 0
        while True:
            found = False
            for opens, closes in reversed(self._day_intervals(day)):
                if next_open is not None:
                    closes = min(closes, next_open)
                if opens >= t or closes <= opens:
                    continue
                found = True
                next_open = opens
                yield opens, closes
            idle = 0 if found else idle + 1
            if idle > SEARCH_DAYS:
                raise ValueError(
                    f"no business hours within {SEARCH_DAYS} days before {t.astimezone(self.tz)}"
                )
            day -= _ONE_DAY

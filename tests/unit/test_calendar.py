"""Business-time arithmetic: worked examples an admin would check by hand, then properties over 2025-2028.

Dates used below (2026): Fri 9 Jan, Mon 12 Jan; DST starts Sun 29 Mar (Berlin) and Sun 8 Mar (New York),
ends Sun 25 Oct (Berlin) and Sun 1 Nov (New York); Thu 24 Dec is an extra closure, Fri 25 Dec Christmas,
Sat 26 Dec the second day of Christmas, Fri 1 Jan 2027 New Year's Day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxd.core.calendar import (
    END_OF_DAY,
    BusinessCalendar,
    parse_date_ranges,
    parse_weekly_hours,
)
from inboxd.core.durations import parse_duration

BERLIN_TZ = ZoneInfo("Europe/Berlin")
NEW_YORK_TZ = ZoneInfo("America/New_York")

BERLIN = BusinessCalendar.build(
    "Europe/Berlin", {"mon-fri": "09:00-17:00"}, country="DE", subdivision="BE", extra_closed=["2026-12-24"]
)
SPLIT = BusinessCalendar.build(
    "Europe/Berlin", {"mon-fri": "09:00-12:00, 13:00-17:00"}, country="DE", subdivision="BE"
)
# Short Friday with a break, and Saturday mornings: exercises clamping in add_business_days.
UNEVEN = BusinessCalendar.build(
    "Europe/Berlin", {"mon-thu": "09:00-17:00", "fri": "09:00-12:00, 14:00-15:00", "sat": "10:00-14:00"}
)
NEW_YORK = BusinessCalendar.build(
    "America/New_York", {"mon-fri": "09:00-17:00"}, country="US", subdivision="NY"
)
ALWAYS = BusinessCalendar.build("Europe/Berlin", {"daily": "00:00-24:00"})
# Ranges across and inside the hour that DST skips or repeats, and one running to midnight.
NIGHT = BusinessCalendar.build(
    "Europe/Berlin",
    {"mon-fri": "08:00-12:00", "sat": "22:00-24:00", "sun": "00:00-01:00, 01:30-02:30, 02:45-03:15"},
)
CALENDARS = [BERLIN, SPLIT, UNEVEN, NEW_YORK, ALWAYS, NIGHT]


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=BERLIN_TZ)


def new_york(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK_TZ)


def same_instant(actual: datetime, expected: datetime, cal: BusinessCalendar) -> None:
    """Equal as instants, in the calendar's zone, and with the expected local UTC offset."""
    assert actual.tzinfo is cal.tz
    assert actual == expected
    assert actual.utcoffset() == expected.utcoffset()


# --------------------------------------------------------------------------------------------
# Parsing business hours
# --------------------------------------------------------------------------------------------

NINE_TO_FIVE = ((time(9), time(17)),)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"mon-fri": "09:00-17:00"}, {0: NINE_TO_FIVE, 4: NINE_TO_FIVE, 5: (), 6: ()}),
        ({"MON,wed,Fri": "9:00-17:00"}, {0: NINE_TO_FIVE, 1: (), 2: NINE_TO_FIVE, 4: NINE_TO_FIVE}),
        ({"sun-tue": "09:00-17:00"}, {6: NINE_TO_FIVE, 0: NINE_TO_FIVE, 1: NINE_TO_FIVE, 2: ()}),
        (
            {"fri-mon": "09:00-17:00"},
            {4: NINE_TO_FIVE, 5: NINE_TO_FIVE, 6: NINE_TO_FIVE, 0: NINE_TO_FIVE, 1: ()},
        ),
        ({"Monday": "09:00 \u2013 17:00"}, {0: NINE_TO_FIVE}),
        (
            {"mon-fri": "13:00-17:00, 09:00-12:00"},
            {0: ((time(9), time(12)), (time(13), time(17)))},
        ),
        ({"mon": ["09:00-12:00", "13:00-17:00"]}, {0: ((time(9), time(12)), (time(13), time(17)))}),
        ({"mon": "09:00-12:00, 12:00-17:00"}, {0: NINE_TO_FIVE}),
        ({"daily": "00:00-24:00"}, {d: ((time(0), END_OF_DAY),) for d in range(7)}),
        ({"mon-sun": "closed"}, {d: () for d in range(7)}),
        (
            {"mon-fri": "09:00-17:00", "sat": "closed", "sun": "10:00-12:00"},
            {5: (), 6: ((time(10), time(12)),)},
        ),
        ({}, {d: () for d in range(7)}),
    ],
)
def test_parse_weekly_hours(
    spec: dict[str, str | list[str]], expected: dict[int, tuple[object, ...]]
) -> None:
    hours = parse_weekly_hours(spec)
    assert sorted(hours) == list(range(7))
    for day, ranges in expected.items():
        assert hours[day] == ranges


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"mnd-fri": "09:00-17:00"}, "unknown day 'mnd' in 'mnd-fri'"),
        ({"mon": "17:00-09:00"}, "range '17:00-09:00' ends before it starts"),
        ({"mon": "09:00-09:00"}, "range '09:00-09:00' is empty"),
        ({"mon-fri": "09:00-17:00", "mon": "closed"}, "day 'mon' given twice"),
        ({"mon,MON": "09:00-17:00"}, "day 'mon' given twice"),
        ({"mon": "09:00-13:00, 12:00-17:00"}, "ranges '09:00-13:00' and '12:00-17:00' overlap"),
        ({"mon": "9-17"}, "invalid time '9' in range '9-17'"),
        ({"mon": "09:00-24:30"}, "invalid time '24:30'"),
        ({"mon": "24:00-24:00"}, "invalid time '24:00'"),
        ({"mon": "09:60-10:00"}, "invalid time '09:60'"),
        ({"mon": "09:00"}, "invalid range '09:00' for 'mon'"),
        ({"mon": ""}, "hours for 'mon' contain an empty range"),
        ({"mon": "closed, 09:00-10:00"}, "mix 'closed' with open ranges"),
        ({"mon": 9}, "hours for 'mon' must be text"),
        ({"mon,,tue": "09:00-17:00"}, "empty day in 'mon,,tue'"),
    ],
)
def test_parse_weekly_hours_errors(spec: dict[str, str | list[str]], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_weekly_hours(spec)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["2026-12-24"], {date(2026, 12, 24)}),
        ("2026-12-24", {date(2026, 12, 24)}),
        ([date(2026, 12, 24), datetime(2026, 12, 25, 10, 0)], {date(2026, 12, 24), date(2026, 12, 25)}),
        (
            ["2026-12-30..2027-01-02"],
            {date(2026, 12, 30), date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 2)},
        ),
        ([" 2026-12-24 .. 2026-12-24 "], {date(2026, 12, 24)}),
        ([], set()),
    ],
)
def test_parse_date_ranges(items: list[str | date], expected: set[date]) -> None:
    assert parse_date_ranges(items) == frozenset(expected)


def test_parse_date_ranges_counts_both_ends() -> None:
    assert len(parse_date_ranges(["2026-12-21..2026-12-31"])) == 11


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["2026-13-01"], "invalid date '2026-13-01'"),
        (["24.12.2026"], "invalid date '24.12.2026'"),
        (["20261224"], "invalid date '20261224'"),
        (["2026-12-31..2026-12-01"], "date range '2026-12-31..2026-12-01' ends before it starts"),
        (["2026-12-01.."], "invalid date '' in '2026-12-01..'"),
        ([5], "invalid date 5"),
    ],
)
def test_parse_date_ranges_errors(items: list[str], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_date_ranges(items)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Europe/Berln"}, "unknown timezone 'Europe/Berln'"),
        ({"country": "XX"}, "unknown holiday country 'XX'"),
        ({"country": "DE", "subdivision": "XX"}, "unknown holiday subdivision 'XX' for country DE"),
        ({"subdivision": "BE"}, "holiday subdivision 'BE' given without a country"),
        ({"business_hours": {"sat-sun": "closed"}}, "business hours never open"),
        ({"extra_closed": ["2026-02-30"]}, "invalid date '2026-02-30'"),
    ],
)
def test_build_errors(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"timezone": "Europe/Berlin", "business_hours": {"mon-fri": "09:00-17:00"}}
    arguments.update(kwargs)
    with pytest.raises(ValueError) as raised:
        BusinessCalendar.build(**arguments)  # type: ignore[arg-type]
    assert message in str(raised.value)


def test_build_normalises_holiday_codes() -> None:
    cal = BusinessCalendar.build("Europe/Berlin", {"mon-fri": "09:00-17:00"}, country="de", subdivision="be")
    assert (cal.holiday_country, cal.holiday_subdivision) == ("DE", "BE")
    assert cal.holiday_name(date(2026, 3, 8)) == "Women's Day"


# --------------------------------------------------------------------------------------------
# Days
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cal", "day", "name", "business"),
    [
        (BERLIN, date(2026, 1, 12), None, True),
        (BERLIN, date(2026, 1, 10), None, False),  # an ordinary Saturday
        (BERLIN, date(2026, 1, 1), "New Year's Day", False),
        (BERLIN, date(2026, 3, 8), "Women's Day", False),  # Berlin only; a Sunday in 2026
        (BERLIN, date(2026, 4, 6), "Easter Monday", False),
        (BERLIN, date(2026, 12, 24), "closed", False),  # the extra closure
        (BERLIN, date(2026, 12, 25), "Christmas Day", False),
        (BERLIN, date(2026, 12, 26), "Second Day of Christmas", False),
        (BERLIN, date(2026, 12, 31), None, True),
        (BERLIN, date(2027, 1, 1), "New Year's Day", False),
        (UNEVEN, date(2026, 12, 25), None, True),  # no holiday country configured
        (NEW_YORK, date(2026, 7, 3), "Independence Day (observed)", False),
        (NEW_YORK, date(2026, 2, 12), "Lincoln's Birthday", False),  # New York State only
        (NEW_YORK, date(2026, 12, 24), None, True),
    ],
)
def test_holidays_and_business_days(
    cal: BusinessCalendar, day: date, name: str | None, business: bool
) -> None:
    assert cal.holiday_name(day) == name
    assert cal.is_business_day(day) is business


@pytest.mark.parametrize(
    ("cal", "day", "n", "expected"),
    [
        (BERLIN, date(2026, 12, 23), 0, date(2026, 12, 23)),
        (BERLIN, date(2026, 12, 24), 0, date(2026, 12, 28)),
        (BERLIN, date(2026, 12, 23), 1, date(2026, 12, 28)),
        (BERLIN, date(2026, 12, 30), 2, date(2027, 1, 4)),
        (BERLIN, date(2026, 1, 9), 1, date(2026, 1, 12)),
        (BERLIN, date(2026, 1, 10), 0, date(2026, 1, 12)),
        (BERLIN, date(2026, 1, 12), 5, date(2026, 1, 19)),
        (UNEVEN, date(2026, 1, 9), 1, date(2026, 1, 10)),
    ],
)
def test_nth_business_day(cal: BusinessCalendar, day: date, n: int, expected: date) -> None:
    assert cal.nth_business_day(day, n) == expected


@pytest.mark.parametrize(
    ("cal", "day", "expected"),
    [
        (BERLIN, date(2026, 1, 12), berlin(2026, 1, 12, 17)),
        (BERLIN, date(2026, 12, 24), berlin(2026, 12, 24, 17)),  # closed: 17:00 by convention
        (BERLIN, date(2026, 1, 10), berlin(2026, 1, 10, 17)),
        (SPLIT, date(2026, 1, 12), berlin(2026, 1, 12, 17)),
        (UNEVEN, date(2026, 1, 9), berlin(2026, 1, 9, 15)),
        (UNEVEN, date(2026, 1, 10), berlin(2026, 1, 10, 14)),
        (NIGHT, date(2026, 1, 10), berlin(2026, 1, 11, 0)),  # "24:00"
        (NEW_YORK, date(2026, 3, 9), new_york(2026, 3, 9, 17)),
    ],
)
def test_close_of_business(cal: BusinessCalendar, day: date, expected: datetime) -> None:
    same_instant(cal.close_of_business(day), expected, cal)


@pytest.mark.parametrize(
    ("cal", "day", "expected_hours"),
    [
        (BERLIN, date(2026, 1, 12), [8.0]),
        (BERLIN, date(2026, 12, 24), []),
        (SPLIT, date(2026, 1, 12), [3.0, 4.0]),
        (ALWAYS, date(2026, 3, 29), [23.0]),  # spring forward: a 23-hour day
        (ALWAYS, date(2026, 10, 25), [25.0]),  # fall back: a 25-hour day
        (ALWAYS, date(2026, 3, 30), [24.0]),
        # Clocks jump 02:00 -> 03:00: 01:30-02:30 keeps 30 minutes and ends at the jump, where 02:45-03:15
        # (really 03:00-03:15) begins, so the two merge into 45 minutes.
        (NIGHT, date(2026, 3, 29), [1.0, 0.75]),
        # Clocks go back 03:00 -> 02:00: 01:30-02:30 runs until 02:30 is shown the second time (2 h), which
        # is after 02:45-03:15 first opens; together they run 01:30 summer time to 03:15 winter time.
        (NIGHT, date(2026, 10, 25), [1.0, 2.75]),
    ],
)
def test_open_ranges_lengths_across_dst(
    cal: BusinessCalendar, day: date, expected_hours: list[float]
) -> None:
    ranges = cal.open_ranges(day)
    assert [(end - start).total_seconds() / 3600 for start, end in _utc_ranges(ranges)] == expected_hours
    for start, end in ranges:
        assert start.tzinfo is cal.tz and end.tzinfo is cal.tz


def _utc_ranges(ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    # Subtracting two datetimes that share a ZoneInfo compares wall clocks; UTC gives elapsed time.
    return [(start.astimezone(UTC), end.astimezone(UTC)) for start, end in ranges]


# --------------------------------------------------------------------------------------------
# Instants
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cal", "at", "open_"),
    [
        (BERLIN, berlin(2026, 1, 12, 9), True),
        (BERLIN, berlin(2026, 1, 12, 8, 59, 59), False),
        (BERLIN, berlin(2026, 1, 12, 16, 59), True),
        (BERLIN, berlin(2026, 1, 12, 17), False),  # ranges are half-open
        (BERLIN, berlin(2026, 1, 10, 12), False),
        (BERLIN, berlin(2026, 12, 25, 12), False),
        (BERLIN, datetime(2026, 1, 12, 8, 30, tzinfo=UTC), True),  # 09:30 in Berlin
        (SPLIT, berlin(2026, 1, 12, 12), False),
        (SPLIT, berlin(2026, 1, 12, 13), True),
        (ALWAYS, berlin(2026, 3, 29, 3), True),
        (NIGHT, berlin(2026, 1, 10, 23, 59), True),
        (NIGHT, berlin(2026, 1, 11, 0, 30), True),
    ],
)
def test_is_open(cal: BusinessCalendar, at: datetime, open_: bool) -> None:
    assert cal.is_open(at) is open_


@pytest.mark.parametrize(
    ("cal", "at", "expected"),
    [
        (BERLIN, berlin(2026, 1, 12, 10), berlin(2026, 1, 12, 10)),
        (BERLIN, berlin(2026, 1, 9, 18), berlin(2026, 1, 12, 9)),
        (BERLIN, berlin(2026, 12, 23, 17), berlin(2026, 12, 28, 9)),
        (BERLIN, berlin(2026, 3, 27, 17), berlin(2026, 3, 30, 9)),
        (SPLIT, berlin(2026, 1, 12, 12, 30), berlin(2026, 1, 12, 13)),
        (NEW_YORK, new_york(2026, 7, 2, 17), new_york(2026, 7, 6, 9)),
        (NEW_YORK, berlin(2026, 1, 12, 12), new_york(2026, 1, 12, 9)),
    ],
)
def test_next_open(cal: BusinessCalendar, at: datetime, expected: datetime) -> None:
    same_instant(cal.next_open(at), expected, cal)


@pytest.mark.parametrize(
    ("cal", "start", "hours", "expected"),
    [
        (BERLIN, berlin(2026, 1, 9, 18), 4, berlin(2026, 1, 12, 13)),
        (BERLIN, berlin(2026, 1, 12, 9), 8, berlin(2026, 1, 12, 17)),  # lands on closing time, stays there
        (BERLIN, berlin(2026, 1, 12, 16), 2, berlin(2026, 1, 13, 10)),
        (BERLIN, berlin(2026, 1, 10, 12), 1, berlin(2026, 1, 12, 10)),
        (BERLIN, berlin(2026, 1, 12, 10), 40, berlin(2026, 1, 19, 10)),
        (BERLIN, berlin(2026, 12, 23, 15), 4, berlin(2026, 12, 28, 11)),  # 24th closed, Christmas, weekend
        (BERLIN, berlin(2026, 12, 31, 16), 2, berlin(2027, 1, 4, 10)),  # New Year's Day, weekend
        (BERLIN, berlin(2026, 3, 27, 16), 2, berlin(2026, 3, 30, 10)),  # into summer time
        (BERLIN, berlin(2026, 10, 23, 16), 2, berlin(2026, 10, 26, 10)),  # back to winter time
        (BERLIN, datetime(2026, 1, 12, 8, tzinfo=UTC), 1, berlin(2026, 1, 12, 10)),
        (BERLIN, berlin(2026, 1, 12, 10), -4, berlin(2026, 1, 9, 14)),
        (BERLIN, berlin(2026, 1, 12, 10), -1, berlin(2026, 1, 12, 9)),  # back to the opening, not before
        (BERLIN, berlin(2026, 1, 12, 10), 0, berlin(2026, 1, 12, 10)),
        (SPLIT, berlin(2026, 1, 12, 11), 2, berlin(2026, 1, 12, 14)),
        (SPLIT, berlin(2026, 1, 12, 12, 30), 1, berlin(2026, 1, 12, 14)),
        (SPLIT, berlin(2026, 1, 12, 11), 1, berlin(2026, 1, 12, 12)),
        (NEW_YORK, new_york(2026, 7, 2, 16), 2, new_york(2026, 7, 6, 10)),  # July 4th observed on Friday
        (NEW_YORK, new_york(2026, 3, 6, 16), 2, new_york(2026, 3, 9, 10)),  # into daylight time
        (NEW_YORK, berlin(2026, 1, 12, 15), 1, new_york(2026, 1, 12, 10)),
        (ALWAYS, berlin(2026, 3, 29, 0), 24, berlin(2026, 3, 30, 1)),  # 23-hour day
        (ALWAYS, berlin(2026, 10, 25, 0), 24, berlin(2026, 10, 25, 23)),  # 25-hour day
    ],
)
def test_add_business_time(cal: BusinessCalendar, start: datetime, hours: float, expected: datetime) -> None:
    same_instant(cal.add_business_time(start, timedelta(hours=hours)), expected, cal)


@pytest.mark.parametrize(
    ("cal", "start", "n", "expected"),
    [
        (BERLIN, berlin(2026, 1, 12, 10), 1, berlin(2026, 1, 13, 10)),
        (BERLIN, berlin(2026, 1, 9, 18), 1, berlin(2026, 1, 13, 9)),  # Fri evening counts as Mon 09:00
        (BERLIN, berlin(2026, 1, 9, 10), 1, berlin(2026, 1, 12, 10)),
        (BERLIN, berlin(2026, 4, 2, 10), 1, berlin(2026, 4, 7, 10)),  # Good Friday and Easter Monday
        (BERLIN, berlin(2026, 5, 22, 10), 1, berlin(2026, 5, 26, 10)),  # Whit Monday
        (BERLIN, berlin(2026, 12, 23, 10), 2, berlin(2026, 12, 29, 10)),
        (BERLIN, berlin(2026, 3, 27, 10), 1, berlin(2026, 3, 30, 10)),  # same wall clock across DST
        (BERLIN, berlin(2026, 10, 23, 10), 1, berlin(2026, 10, 26, 10)),
        (BERLIN, berlin(2026, 1, 10, 12), 0, berlin(2026, 1, 12, 9)),
        (BERLIN, berlin(2026, 1, 12, 10), 5, berlin(2026, 1, 19, 10)),
        (UNEVEN, berlin(2026, 1, 8, 13), 1, berlin(2026, 1, 9, 14)),  # in Friday's break -> its end
        (UNEVEN, berlin(2026, 1, 8, 16), 1, berlin(2026, 1, 9, 15)),  # after Friday's close -> the close
        (UNEVEN, berlin(2026, 1, 9, 9, 30), 1, berlin(2026, 1, 10, 10)),  # before Saturday's opening
        (UNEVEN, berlin(2026, 1, 7, 8), 1, berlin(2026, 1, 8, 9)),
        (NEW_YORK, new_york(2026, 7, 2, 10), 1, new_york(2026, 7, 6, 10)),
    ],
)
def test_add_business_days(cal: BusinessCalendar, start: datetime, n: int, expected: datetime) -> None:
    same_instant(cal.add_business_days(start, n), expected, cal)


@pytest.mark.parametrize(
    ("cal", "start", "duration", "expected"),
    [
        (BERLIN, berlin(2026, 1, 9, 18), "4bh", berlin(2026, 1, 12, 13)),
        (BERLIN, berlin(2026, 1, 9, 18), "1bd", berlin(2026, 1, 13, 9)),
        (BERLIN, berlin(2026, 1, 12, 10), "1.5bd", berlin(2026, 1, 13, 14)),
        (BERLIN, berlin(2026, 1, 10, 12), "0.5bd", berlin(2026, 1, 12, 13)),
        (SPLIT, berlin(2026, 1, 12, 10), "0.5bd", berlin(2026, 1, 12, 14, 30)),  # half of 7 open hours
        (BERLIN, berlin(2026, 1, 9, 16), "2h", berlin(2026, 1, 9, 18)),  # calendar time ignores hours
        (BERLIN, berlin(2026, 3, 28, 12), "1d", berlin(2026, 3, 29, 13)),  # 24 elapsed hours over DST
        (BERLIN, berlin(2026, 1, 9, 16), "30m", berlin(2026, 1, 9, 16, 30)),
        (BERLIN, berlin(2026, 1, 9, 16), "1w", berlin(2026, 1, 16, 16)),
        (BERLIN, datetime(2026, 1, 9, 15, tzinfo=UTC), "90s", berlin(2026, 1, 9, 16, 1, 30)),
    ],
)
def test_add_duration(cal: BusinessCalendar, start: datetime, duration: str, expected: datetime) -> None:
    same_instant(cal.add(start, parse_duration(duration)), expected, cal)


@pytest.mark.parametrize(
    ("cal", "a", "b", "hours"),
    [
        (BERLIN, berlin(2026, 1, 12), berlin(2026, 1, 19), 40),
        (BERLIN, berlin(2026, 12, 21), berlin(2026, 12, 28), 24),  # Mon-Wed only
        (BERLIN, berlin(2026, 1, 19), berlin(2026, 1, 12), -40),
        (BERLIN, berlin(2026, 1, 12, 10), berlin(2026, 1, 12, 10), 0),
        (BERLIN, berlin(2026, 1, 9, 16), berlin(2026, 1, 12, 10), 2),
        (SPLIT, berlin(2026, 1, 12, 11), berlin(2026, 1, 12, 14), 2),
        (ALWAYS, berlin(2026, 3, 29), berlin(2026, 3, 30), 23),
        (ALWAYS, berlin(2026, 10, 25), berlin(2026, 10, 26), 25),
        (NEW_YORK, new_york(2026, 6, 29), new_york(2026, 7, 6), 32),  # the observed 4th of July
    ],
)
def test_business_time_between(cal: BusinessCalendar, a: datetime, b: datetime, hours: float) -> None:
    assert cal.business_time_between(a, b) == timedelta(hours=hours)


# --------------------------------------------------------------------------------------------
# Misuse and degenerate calendars
# --------------------------------------------------------------------------------------------


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 1, 12, 10)
    calls: list[Callable[[], object]] = [
        lambda: BERLIN.is_open(naive),
        lambda: BERLIN.next_open(naive),
        lambda: BERLIN.add_business_time(naive, timedelta(hours=1)),
        lambda: BERLIN.add(naive, parse_duration("2h")),
        lambda: BERLIN.business_time_between(naive, berlin(2026, 1, 13)),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="naive datetime"):
            call()


def test_negative_day_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="n >= 0"):
        BERLIN.add_business_days(berlin(2026, 1, 12), -1)
    with pytest.raises(ValueError, match="n >= 0"):
        BERLIN.nth_business_day(date(2026, 1, 12), -1)


def test_a_team_that_is_never_open_raises_instead_of_looping() -> None:
    never = BusinessCalendar(tz=BERLIN_TZ, hours=parse_weekly_hours({}))
    start = berlin(2026, 1, 12, 10)
    calls: list[Callable[[], object]] = [
        lambda: never.next_open(start),
        lambda: never.add_business_time(start, timedelta(hours=1)),
        lambda: never.add_business_time(start, timedelta(hours=-1)),
        lambda: never.add_business_days(start, 1),
        lambda: never.nth_business_day(start.date(), 0),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="the team is never open"):
            call()
    assert never.is_open(start) is False
    assert never.business_time_between(start, start + timedelta(days=5000)) == timedelta(0)
    assert never.close_of_business(start.date()) == berlin(2026, 1, 12, 17)


def test_a_closure_longer_than_the_search_window_raises() -> None:
    closed = BusinessCalendar(
        tz=BERLIN_TZ,
        hours=parse_weekly_hours({"mon-fri": "09:00-17:00"}),
        closed=parse_date_ranges(["2026-01-01..2029-12-31"]),
    )
    with pytest.raises(ValueError, match="no business hours within"):
        closed.next_open(berlin(2026, 1, 12))
    with pytest.raises(ValueError, match="no business day within"):
        closed.nth_business_day(date(2026, 1, 12), 1)
    assert closed.next_open(berlin(2029, 12, 31)) == berlin(2030, 1, 1, 9)


# --------------------------------------------------------------------------------------------
# Properties over 2025-2028, biased towards the DST weekends
# --------------------------------------------------------------------------------------------

_DST_DAYS = [
    date(2025, 3, 30), date(2025, 10, 26), date(2026, 3, 29), date(2026, 10, 25),
    date(2027, 3, 28), date(2027, 10, 31), date(2028, 3, 26), date(2028, 10, 29),
    date(2025, 3, 9), date(2025, 11, 2), date(2026, 3, 8), date(2026, 11, 1),
    date(2027, 3, 14), date(2027, 11, 7), date(2028, 3, 12), date(2028, 11, 5),
]  # fmt: skip

_any_instant = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
_near_dst = st.builds(
    lambda day, offset: datetime.combine(day, time(0), tzinfo=UTC) + offset,
    st.sampled_from(_DST_DAYS),
    st.timedeltas(min_value=timedelta(days=-2), max_value=timedelta(days=2)),
)
# Local wall-clock times, including ones that DST skips or repeats.
_local_instant = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2028, 12, 31),
    timezones=st.sampled_from([BERLIN_TZ, NEW_YORK_TZ]),
)
instants = st.one_of(_any_instant, _near_dst, _local_instant)
calendars = st.sampled_from(CALENDARS)
spans = st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(hours=120))
fast = settings(max_examples=200, deadline=None)


def _is_boundary(cal: BusinessCalendar, at: datetime, which: int) -> bool:
    """Whether ``at`` is an opening (which=0) or closing (which=1) instant of some open range."""
    local_day = at.astimezone(cal.tz).date()
    days = (local_day - timedelta(days=1), local_day)
    return any(u(edge[which]) == u(at) for day in days for edge in cal.open_ranges(day))


def u(at: datetime) -> datetime:
    """The instant in UTC: comparing two datetimes that share a zone compares wall clocks and ignores fold."""
    return at.astimezone(UTC)


@fast
@given(calendars, instants, spans)
def test_add_business_time_lands_in_open_time_and_measures_back(
    cal: BusinessCalendar, start: datetime, delta: timedelta
) -> None:
    end = cal.add_business_time(start, delta)
    assert end.tzinfo is cal.tz
    assert u(end) > u(start)
    assert cal.is_open(end) or _is_boundary(cal, end, which=1)
    assert cal.business_time_between(start, end) == delta


@fast
@given(calendars, instants, spans)
def test_subtracting_business_time_mirrors_adding(
    cal: BusinessCalendar, start: datetime, delta: timedelta
) -> None:
    begin = cal.add_business_time(start, -delta)
    assert u(begin) < u(start)
    assert cal.is_open(begin)
    assert cal.business_time_between(begin, start) == delta
    assert cal.business_time_between(start, begin) == -delta


@fast
@given(calendars, instants, spans, spans)
def test_add_business_time_is_monotonic(
    cal: BusinessCalendar, start: datetime, first: timedelta, second: timedelta
) -> None:
    shorter, longer = sorted((first, second))
    assert u(cal.add_business_time(start, shorter)) <= u(cal.add_business_time(start, longer))
    later_start = u(start) + first
    assert u(cal.add_business_time(start, second)) <= u(cal.add_business_time(later_start, second))


@fast
@given(calendars, instants)
def test_next_open_is_the_first_open_instant(cal: BusinessCalendar, at: datetime) -> None:
    opened = cal.next_open(at)
    assert opened.tzinfo is cal.tz
    assert u(opened) >= u(at)
    assert cal.is_open(opened)
    assert cal.business_time_between(at, opened) == timedelta(0)
    assert (u(opened) == u(at)) is cal.is_open(at)


@fast
@given(calendars, instants, instants, instants)
def test_business_time_between_adds_up(cal: BusinessCalendar, a: datetime, b: datetime, c: datetime) -> None:
    ab, bc, ac = (
        cal.business_time_between(a, b),
        cal.business_time_between(b, c),
        cal.business_time_between(a, c),
    )
    assert ab + bc == ac
    assert cal.business_time_between(b, a) == -ab
    assert abs(ab) <= abs(u(b) - u(a))


@fast
@given(calendars, instants, st.integers(min_value=0, max_value=15))
def test_add_business_days_keeps_to_business_days(cal: BusinessCalendar, start: datetime, n: int) -> None:
    end = cal.add_business_days(start, n)
    assert end.tzinfo is cal.tz
    assert u(end) >= u(cal.next_open(start))
    assert cal.is_open(end) or _is_boundary(cal, end, which=1)
    assert u(end) <= u(cal.add_business_days(start, n + 1))


@fast
@given(calendars, st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)))
def test_open_ranges_are_sorted_and_disjoint(cal: BusinessCalendar, day: date) -> None:
    ranges = _utc_ranges(cal.open_ranges(day))
    assert all(start < end for start, end in ranges)
    assert all(first[1] < second[0] for first, second in zip(ranges, ranges[1:], strict=False))
    assert bool(ranges) is cal.is_business_day(day)
    closing = cal.close_of_business(day)
    if ranges:
        assert u(closing) == ranges[-1][1]
    else:
        assert (closing.date(), closing.time()) == (day, time(17))

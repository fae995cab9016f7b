"""The promise in an acknowledgement: a time the team can keep, said the way a person would say it.

Team: Berlin, Mon-Fri 09:00-17:00, public holidays of Berlin (DE-BE). Dates (2026): Fri 20 Nov, Mon 23 Nov;
DST ends Sun 25 Oct and starts Sun 29 Mar; Fri 25 Dec Christmas Day, Sat 26 Dec Second Day of Christmas,
Fri 1 Jan 2027 New Year's Day, Fri 3 Apr Good Friday, Mon 6 Apr Easter Monday.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from inboxd.core.calendar import BusinessCalendar
from inboxd.core.durations import Duration, parse_duration
from inboxd.core.eta import closure_reasons, fallback_estimate
from inboxd.core.humanize import phrase_due, round_up

BERLIN = ZoneInfo("Europe/Berlin")
CALENDAR = BusinessCalendar.build("Europe/Berlin", {"mon-fri": "09:00-17:00"}, country="DE", subdivision="BE")
# The shipped defaults: urgent is written in calendar hours.
FALLBACK: dict[str, Duration] = {
    "urgent": parse_duration("4h"),
    "high": parse_duration("1bd"),
    "normal": parse_duration("2bd"),
    "low": parse_duration("5bd"),
}


def berlin(month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=BERLIN)


# --------------------------------------------------------------------------------------------
# fallback_estimate
# --------------------------------------------------------------------------------------------

def test_friday_evening_urgent_in_business_hours_is_monday_afternoon() -> None:
    estimate = fallback_estimate(berlin(11, 20, 18), "urgent", {**FALLBACK, "urgent": parse_duration("4bh")},
                                 CALENDAR)
    assert estimate.due == berlin(11, 23, 13)


def test_friday_evening_urgent_is_never_promised_within_four_hours() -> None:
    # With the shipped "urgent: 4h" a mail at Friday 18:00 must not be promised Friday 22:00: nobody works then.
    now = berlin(11, 20, 18)
    estimate = fallback_estimate(now, "urgent", FALLBACK, CALENDAR)
    assert estimate.due - now > timedelta(hours=4)
    assert estimate.due == berlin(11, 23, 13)
    assert not phrase_due(estimate.due, now, BERLIN).startswith("today")


@pytest.mark.parametrize(
    ("now", "priority", "due"),
    [
        # An ordinary Monday morning: due times round up to the quarter hour.
        (berlin(11, 23, 10, 7), "urgent", berlin(11, 23, 14, 15)),
        (berlin(11, 23, 10, 7), "high", berlin(11, 24, 10, 15)),
        (berlin(11, 23, 10, 7), "normal", berlin(11, 25, 10, 15)),
        (berlin(11, 23, 10, 7), "low", berlin(11, 30, 10, 15)),
        (berlin(11, 23, 10, 7), "something else", berlin(11, 25, 10, 15)),  # unknown priority: normal
        # Late in the day, urgent hours run on into the next morning.
        (berlin(11, 23, 15, 30), "urgent", berlin(11, 24, 11, 30)),
        # Weekend mail counts from Monday 09:00.
        (berlin(11, 21, 11), "urgent", berlin(11, 23, 13)),
        (berlin(11, 21, 11), "high", berlin(11, 24, 9)),
        # Easter: Good Friday and Easter Monday are closed.
        (berlin(4, 2, 16), "high", berlin(4, 7, 16)),
        (berlin(4, 2, 16), "urgent", berlin(4, 7, 12)),
        # Across the change to summer time the wall-clock time is kept.
        (berlin(3, 27, 10), "high", berlin(3, 30, 10)),
    ],
)
def test_fallback_due_times(now: datetime, priority: str, due: datetime) -> None:
    estimate = fallback_estimate(now, priority, FALLBACK, CALENDAR)
    assert estimate.due == due
    assert estimate.due.tzinfo == BERLIN  # said in the team's zone
    assert estimate.due.utcoffset() == due.utcoffset()


@pytest.mark.parametrize(
    ("now", "priority", "due", "holiday"),
    [
        (berlin(12, 24, 10), "normal", berlin(12, 29, 10), "We are closed for Christmas Day on Friday 25 December."),
        (berlin(12, 23, 15), "normal", berlin(12, 28, 15), "We are closed for Christmas Day on Friday 25 December."),
        (berlin(12, 31, 10), "high", berlin(1, 4, 10, year=2027),
         "We are closed for New Year's Day on Friday 1 January."),
        (berlin(4, 2, 16), "normal", berlin(4, 8, 16), "We are closed for Good Friday on Friday 3 April."),
    ],
)
def test_a_holiday_in_the_way_is_named(now: datetime, priority: str, due: datetime, holiday: str) -> None:
    estimate = fallback_estimate(now, priority, FALLBACK, CALENDAR)
    assert estimate.due == due
    assert holiday in estimate.reasons


def test_a_holiday_on_a_weekend_is_not_given_as_a_reason() -> None:
    # The Second Day of Christmas is a Saturday in 2026: the team would not work anyway.
    reasons = fallback_estimate(berlin(12, 24, 10), "normal", FALLBACK, CALENDAR).reasons
    assert not any("Second Day" in reason for reason in reasons)


def test_no_reasons_on_an_ordinary_working_day() -> None:
    assert fallback_estimate(berlin(11, 23, 10), "high", FALLBACK, CALENDAR).reasons == ()


@pytest.mark.parametrize(
    ("now", "reason"),
    [
        (berlin(11, 23, 7), "We are outside our working hours right now and back today at 09:00."),
        (berlin(11, 23, 17, 30), "We are outside our working hours right now and back on Tuesday at 09:00."),
        (berlin(11, 20, 18), "We are outside our working hours right now and back on Monday at 09:00."),
        (berlin(11, 22, 12), "We are outside our working hours right now and back on Monday at 09:00."),
    ],
)
def test_closure_reasons_outside_hours_say_when_the_team_is_back(now: datetime, reason: str) -> None:
    assert closure_reasons(now, fallback_estimate(now, "high", FALLBACK, CALENDAR).due, CALENDAR) == [reason]


def test_closure_reasons_are_empty_while_the_team_works() -> None:
    assert closure_reasons(berlin(11, 23, 10), berlin(11, 23, 14), CALENDAR) == []


_INSTANTS = st.integers(0, 3 * 365 * 24 * 60).map(lambda minutes: datetime(2025, 1, 1, tzinfo=UTC)
                                                  + timedelta(minutes=minutes))


@settings(max_examples=300, deadline=None)
@given(now=_INSTANTS, priority=st.sampled_from(sorted(FALLBACK)))
def test_every_promise_falls_due_while_the_team_works(now: datetime, priority: str) -> None:
    estimate = fallback_estimate(now, priority, FALLBACK, CALENDAR)
    due = estimate.due
    assert due > now
    # Due in working time, or at the moment the team closes: never at night, at a weekend or on a holiday.
    assert CALENDAR.is_open(due) or CALENDAR.is_open(due - timedelta(minutes=15))
    # Responsibility, never blame (DESIGN: honesty rule 4).
    for reason in estimate.reasons:
        assert reason.startswith(("We are", "Our office"))
        assert "volume" not in reason and "you" not in reason.lower().split()


# --------------------------------------------------------------------------------------------
# round_up
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (berlin(11, 23, 10), berlin(11, 23, 10)),
        (berlin(11, 23, 10, 0, 1), berlin(11, 23, 10, 15)),
        (berlin(11, 23, 10, 7), berlin(11, 23, 10, 15)),
        (berlin(11, 23, 10, 14, 59), berlin(11, 23, 10, 15)),
        (berlin(11, 23, 10, 15), berlin(11, 23, 10, 15)),
        (berlin(11, 23, 10, 45, 30), berlin(11, 23, 11)),
        (berlin(11, 23, 23, 50), berlin(11, 24, 0, 0)),
        (berlin(11, 23, 10, 15) + timedelta(microseconds=1), berlin(11, 23, 10, 30)),
    ],
)
def test_round_up_to_the_next_quarter_hour(at: datetime, expected: datetime) -> None:
    assert round_up(at) == expected


@settings(max_examples=300, deadline=None)
@given(instant=st.integers(0, 2 * 365 * 24 * 3600).map(lambda s: datetime(2025, 6, 1, tzinfo=UTC)
                                                          + timedelta(seconds=s)))
@example(instant=datetime(2026, 10, 25, 1, 7, tzinfo=UTC))  # 02:07 CET, the second 02:07 of the night
@example(instant=datetime(2026, 10, 25, 0, 7, tzinfo=UTC))  # 02:07 CEST, the first
@example(instant=datetime(2026, 3, 29, 0, 59, tzinfo=UTC))  # 01:59 CET, before the clocks jump
def test_round_up_is_never_earlier_and_at_most_a_quarter_later(instant: datetime) -> None:
    at = instant.astimezone(BERLIN)
    rounded = round_up(at).astimezone(UTC)
    # In UTC: Python compares two Berlin times by their wall clocks, which the DST nights make ambiguous.
    assert instant <= rounded < instant + timedelta(minutes=15)
    local = rounded.astimezone(BERLIN)
    assert (local.minute % 15, local.second, local.microsecond) == (0, 0, 0)


# --------------------------------------------------------------------------------------------
# phrase_due
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("due", "now", "phrase"),
    [
        (berlin(11, 23, 15), berlin(11, 23, 10), "today by 15:00 CET"),
        (berlin(11, 24, 13), berlin(11, 23, 10), "tomorrow (Tuesday) by 13:00 CET"),
        (berlin(11, 24, 9), berlin(11, 23, 23, 30), "tomorrow (Tuesday) by 09:00 CET"),
        (berlin(11, 30, 13), berlin(11, 23, 10), "by Monday 30 November, 13:00 CET"),
        (berlin(11, 23, 13), berlin(11, 20, 18), "by Monday 23 November, 13:00 CET"),
        (berlin(3, 30, 13), berlin(3, 27, 16), "by Monday 30 March, 13:00 CEST"),
        (berlin(1, 4, 10, year=2027), berlin(12, 31, 10), "by Monday 4 January, 10:00 CET"),
        # "Today" is the team's today: 23:30 UTC on Monday is already Tuesday in Berlin.
        (berlin(11, 24, 9), datetime(2026, 11, 23, 23, 30, tzinfo=UTC), "today by 09:00 CET"),
        # A due time given in another zone is said in the team's.
        (datetime(2026, 11, 23, 12, tzinfo=UTC), berlin(11, 23, 10), "today by 13:00 CET"),
    ],
)
def test_phrase_due(due: datetime, now: datetime, phrase: str) -> None:
    assert phrase_due(due, now, BERLIN) == phrase

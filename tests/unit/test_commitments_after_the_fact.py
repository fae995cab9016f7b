"""No promise is due before it was made: each expression family said after its time has passed.

The team calendar is tests/data/commitments/config.yaml (Berlin, Mon-Fri 09:00-17:00, Berlin holidays,
24 December closed). 2026-11-20 is a Friday; 2026-12-31 a Thursday, and 2027-01-04 the first business day
after it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxd.config import load_config
from inboxd.core.calendar import BusinessCalendar
from inboxd.core.commitments import extract_commitments, resolve_when
from inboxd.core.notes import parse_note

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "commitments"


@pytest.fixture(scope="module")
def calendar() -> BusinessCalendar:
    team = load_config(DATA / "config.yaml").team
    return BusinessCalendar.build(
        team.timezone, team.business_hours, country=team.holidays.country,
        subdivision=team.holidays.subdivision, extra_closed=team.holidays.extra)


def dues(text: str, sent_at: str, calendar: BusinessCalendar) -> list[str]:
    return [c.due.isoformat() for c in extract_commitments(text, datetime.fromisoformat(sent_at), calendar)]


def when(text: str, sent_at: str, calendar: BusinessCalendar) -> str | None:
    resolved = resolve_when(text, datetime.fromisoformat(sent_at), calendar)
    return resolved.isoformat() if resolved else None


FRIDAY_LATE = "2026-11-20T17:40:00+01:00"
NEXT_MONDAY_CLOSE = "2026-11-23T17:00:00+01:00"


def test_followup_friday_written_on_friday_after_close_is_due_next_friday(calendar: BusinessCalendar) -> None:
    # The NeoMutt case: "#followup Friday" on a Friday at 17:40 CET came due that day at 17:00.
    ref = datetime.fromisoformat(FRIDAY_LATE)
    (command,), errors = parse_note("#followup Friday", lambda t: resolve_when(t, ref, calendar), [])
    assert errors == []
    assert command.when is not None and command.when > ref
    assert command.when.isoformat() == "2026-11-27T17:00:00+01:00"


# (family, said at, text, due): each said when the time it names has already passed.
AFTER_THE_FACT = [
    # A named weekday → the same weekday next week (its time of day kept).
    ("weekday on the named day, late", FRIDAY_LATE, "I'll send the summary on Friday.", "2026-11-27T17:00:00+01:00"),
    ("this weekday, late", FRIDAY_LATE, "I'll call you this Friday.", "2026-11-27T17:00:00+01:00"),
    ("weekday with a clock, on the day", "2026-11-20T16:00:00+01:00", "I'll call you on Friday at 10.",
     "2026-11-27T10:00:00+01:00"),
    ("weekday with a part of day", "2026-11-20T13:00:00+01:00", "I'll ring you on Friday morning.",
     "2026-11-27T12:00:00+01:00"),
    ("German weekday, late", "2026-11-20T18:00:00+01:00", "Ich melde mich am Freitag mit dem Ergebnis.",
     "2026-11-27T17:00:00+01:00"),
    # Today and the end of the day → the next business day's close.
    ("today, late", "2026-11-20T18:30:00+01:00", "I'll get back to you today.", NEXT_MONDAY_CLOSE),
    ("later today, late", "2026-11-19T17:05:00+01:00", "I'll send the figures later today.",
     "2026-11-20T17:00:00+01:00"),
    ("end of day, late", "2026-11-16T19:00:00+01:00", "I'll send the report by end of day.",
     "2026-11-17T17:00:00+01:00"),
    ("EOD at close exactly", "2026-11-16T17:00:00+01:00", "I'll send it EOD.", "2026-11-17T17:00:00+01:00"),
    ("heute noch, late", "2026-11-20T18:30:00+01:00", "Ich schicke Ihnen das Angebot heute noch.",
     NEXT_MONDAY_CLOSE),
    # Parts of today → the next business day's close.
    ("this afternoon, late", "2026-11-19T17:30:00+01:00", "I'll call you this afternoon.",
     "2026-11-20T17:00:00+01:00"),
    ("this morning, after noon", "2026-11-18T13:00:00+01:00", "I'll send it this morning.",
     "2026-11-19T17:00:00+01:00"),
    ("tonight, at night", "2026-11-18T22:00:00+01:00", "I'll send it tonight.", "2026-11-19T17:00:00+01:00"),
    ("this evening, late", FRIDAY_LATE.replace("17:40", "20:30"), "I'll email you this evening.",
     NEXT_MONDAY_CLOSE),
    # A time of day without a day → that time tomorrow.
    ("clock, passed", "2026-11-18T16:00:00+01:00", "I'll call you at 10.", "2026-11-19T10:00:00+01:00"),
    ("lunchtime, passed", "2026-11-18T13:00:00+01:00", "I'll have an answer by lunchtime.",
     "2026-11-19T12:00:00+01:00"),
    # Periods that have just ended → the next business day's close.
    ("this week, Friday late", FRIDAY_LATE, "I'll update you this week.", NEXT_MONDAY_CLOSE),
    ("before the weekend, Friday late", FRIDAY_LATE, "We'll ship it before the weekend.", NEXT_MONDAY_CLOSE),
    ("end of the month, last business day late", "2026-11-30T18:00:00+01:00",
     "You'll have the statement from me by the end of the month.", "2026-12-01T17:00:00+01:00"),
    ("end of the month at year end", "2026-12-31T17:30:00+01:00", "I'll close the account by the end of the month.",
     "2027-01-04T17:00:00+01:00"),
    ("end of the year, at year end", "2026-12-31T18:00:00+01:00", "We'll finish the migration by the end of the year.",
     "2027-01-04T17:00:00+01:00"),
    ("year end in German, at year end", "2026-12-31T18:00:00+01:00", "Wir schließen die Umstellung bis Jahresende ab.",
     "2027-01-04T17:00:00+01:00"),
    ("end of the quarter, last business day late", "2027-06-30T17:30:00+02:00",
     "I'll send the audit report by the end of the quarter.", "2027-07-01T17:00:00+02:00"),
    ("before a holiday, on the last day before it, late", "2026-12-23T18:00:00+01:00",
     "We'll ship the replacement before Christmas.", "2026-12-28T17:00:00+01:00"),
    # Today's date → the next business day's close.
    ("today's date, late", FRIDAY_LATE, "I'll send it on 20 November.", NEXT_MONDAY_CLOSE),
]


@pytest.mark.parametrize(("sent_at", "text", "due"), [case[1:] for case in AFTER_THE_FACT],
                         ids=[case[0] for case in AFTER_THE_FACT])
def test_said_after_the_fact(sent_at: str, text: str, due: str, calendar: BusinessCalendar) -> None:
    assert dues(text, sent_at, calendar) == [due]


@pytest.mark.parametrize(("sent_at", "text", "due"), [
    (FRIDAY_LATE, "Friday", "2026-11-27T17:00:00+01:00"),
    (FRIDAY_LATE, "today", NEXT_MONDAY_CLOSE),
    (FRIDAY_LATE, "EOD", NEXT_MONDAY_CLOSE),
    (FRIDAY_LATE, "this afternoon", NEXT_MONDAY_CLOSE),
    (FRIDAY_LATE, "2026-11-20", NEXT_MONDAY_CLOSE),
    (FRIDAY_LATE, "Friday 10:00", "2026-11-27T10:00:00+01:00"),
])
def test_note_times_said_after_the_fact(sent_at: str, text: str, due: str, calendar: BusinessCalendar) -> None:
    assert when(text, sent_at, calendar) == due


@pytest.mark.parametrize("text", ["2026-11-19", "2026-11-20 09:30", "2026-11-20T17:39"])
def test_a_passed_instant_is_no_note_time(text: str, calendar: BusinessCalendar) -> None:
    assert when(text, FRIDAY_LATE, calendar) is None


def test_a_passed_calendar_date_is_no_commitment(calendar: BusinessCalendar) -> None:
    assert dues("I'll send it on 3 November 2026.", FRIDAY_LATE, calendar) == []


def test_a_passed_note_time_is_an_error_not_a_time_in_the_past(calendar: BusinessCalendar) -> None:
    ref = datetime.fromisoformat(FRIDAY_LATE)
    commands, errors = parse_note("#snooze until 2026-11-19", lambda t: resolve_when(t, ref, calendar), [])
    assert commands == [] and len(errors) == 1


_EXPRESSIONS = [
    "today", "later today", "this morning", "this afternoon", "this evening", "tonight", "EOD", "end of day",
    "by lunchtime", "at 10", "at 3pm", "Monday", "Friday", "this Friday", "Friday at 10", "on Friday morning",
    "tomorrow", "tomorrow at 9", "this week", "before the weekend", "next week", "by the end of the month",
    "within 2 hours", "in 3 days", "within 2 business days", "on 20 November", "before Friday", "heute",
    "heute noch", "am Freitag", "bis Freitag um 10 Uhr", "bis Monatsende", "diese Woche", "by the end of the year",
    "by the end of the quarter", "by end of Q2", "before Christmas", "by Easter", "first thing tomorrow",
    "first thing", "by the end of the afternoon", "by lunch", "the day after tomorrow", "bis Jahresende",
]


@settings(max_examples=300, deadline=None)
@given(expression=st.sampled_from(_EXPRESSIONS),
       moment=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31)),
       offset=st.sampled_from([0, 1, -5, 9]))
def test_no_due_time_precedes_the_reference_time(expression: str, moment: datetime, offset: int,
                                                  calendar: BusinessCalendar) -> None:
    ref = moment.replace(tzinfo=timezone(timedelta(hours=offset)))
    resolved = resolve_when(expression, ref, calendar)
    assert resolved is None or resolved > ref
    sentence = (f"Ich melde mich {expression}." if expression.startswith(("heute", "am ", "bis ", "diese"))
                else f"I'll call you {expression}.")
    for commitment in extract_commitments(sentence, ref, calendar):
        assert commitment.due > ref, (sentence, ref, commitment.due)

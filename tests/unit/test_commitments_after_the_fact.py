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
    ("today's date with a passed clock", "2026-11-20T12:00:00+01:00", "I'll send it on 20 November at 10:00.",
     NEXT_MONDAY_CLOSE),
    ("German today's date, late", FRIDAY_LATE, "Ich schicke es am 20.11.", NEXT_MONDAY_CLOSE),
    # A named weekday on that day, in German and from the other end of the week.
    ("Monday on a Monday evening", "2026-11-23T18:00:00+01:00", "I'll call you on Monday.",
     "2026-11-30T17:00:00+01:00"),
    ("German Monday on a Monday evening", "2026-11-23T18:00:00+01:00", "Ich rufe Sie am Montag an.",
     "2026-11-30T17:00:00+01:00"),
    ("German weekday with a clock, on the day", "2026-11-20T11:00:00+01:00", "Ich melde mich bis Freitag um 10 Uhr.",
     "2026-11-27T10:00:00+01:00"),
    ("German this weekday, late", FRIDAY_LATE, "Ich schicke es diesen Freitag.", "2026-11-27T17:00:00+01:00"),
    ("German weekday with its part of day, late", FRIDAY_LATE, "Ich schicke es Freitagnachmittag.",
     "2026-11-27T17:00:00+01:00"),
    ("by a weekday, on the day, late", FRIDAY_LATE, "I'll send it by Friday at the latest.",
     "2026-11-27T17:00:00+01:00"),
    # German parts of today and the end of the working day.
    ("German this afternoon, late", "2026-11-18T17:30:00+01:00", "Ich schicke es heute Nachmittag.",
     "2026-11-19T17:00:00+01:00"),
    ("German this morning, after noon", "2026-11-18T13:00:00+01:00", "Ich schicke es heute Vormittag.",
     "2026-11-19T17:00:00+01:00"),
    ("German tonight, at night", "2026-11-20T23:40:00+01:00", "Ich schicke es heute Nacht.", NEXT_MONDAY_CLOSE),
    ("German close of business, late", "2026-11-18T17:30:00+01:00", "Ich schicke es bis Feierabend.",
     "2026-11-19T17:00:00+01:00"),
    ("German in the course of the day, late", "2026-11-18T17:30:00+01:00", "Ich schicke es im Laufe des Tages.",
     "2026-11-19T17:00:00+01:00"),
    ("today with a passed clock", FRIDAY_LATE, "I'll send it today at 5pm.", NEXT_MONDAY_CLOSE),
    ("German today with a passed clock", FRIDAY_LATE, "Ich schicke es heute bis 17 Uhr.", NEXT_MONDAY_CLOSE),
    ("by the end of the afternoon, late", "2026-11-18T17:30:00+01:00", "I'll send it by the end of the afternoon.",
     "2026-11-19T17:00:00+01:00"),
    ("first thing, said at noon on a Friday", "2026-11-20T12:00:00+01:00", "I'll send it first thing.",
     "2026-11-23T12:00:00+01:00"),
    # German clock times without a day → that time tomorrow.
    ("German clock, passed", "2026-11-18T16:00:00+01:00", "Ich rufe Sie um 15 Uhr an.", "2026-11-19T15:00:00+01:00"),
    ("German half past, passed", "2026-11-18T16:00:00+01:00", "Ich rufe Sie um halb drei an.",
     "2026-11-19T14:30:00+01:00"),
    ("German noon, passed", "2026-11-18T13:00:00+01:00", "Ich schicke es bis Mittag.", "2026-11-19T12:00:00+01:00"),
    # A week said at the weekend, after it ended.
    ("this week, on Saturday", "2026-11-21T11:00:00+01:00", "I'll send it this week.", NEXT_MONDAY_CLOSE),
    ("before the weekend, on Sunday", "2026-11-22T11:00:00+01:00", "I'll send it before the weekend.",
     NEXT_MONDAY_CLOSE),
    ("German this week, Friday late", "2026-11-20T18:00:00+01:00", "Ich schicke es diese Woche.", NEXT_MONDAY_CLOSE),
    ("German end of the week, Friday late", "2026-11-20T18:00:00+01:00", "Ich schicke es bis Ende der Woche.",
     NEXT_MONDAY_CLOSE),
    # Month ends in German and by name.
    ("German month end, last business day late", "2026-11-30T18:00:00+01:00", "Ich schicke es bis Monatsende.",
     "2026-12-01T17:00:00+01:00"),
    ("end of a named month, on its last day", "2026-11-30T18:00:00+01:00", "Ich schicke es bis Ende November.",
     "2026-12-01T17:00:00+01:00"),
    # At year end: every family said on 31 December after close is due on the first business day of the new year.
    ("today, at year end", "2026-12-31T18:00:00+01:00", "I'll send it today.", "2027-01-04T17:00:00+01:00"),
    ("weekday, at year end", "2026-12-31T18:00:00+01:00", "I'll send it on Thursday.", "2027-01-07T17:00:00+01:00"),
    ("today's date, at year end", "2026-12-31T18:00:00+01:00", "I'll send it on December 31st.",
     "2027-01-04T17:00:00+01:00"),
    ("German today's date, at year end", "2026-12-31T18:00:00+01:00", "Ich schicke es am 31. Dezember.",
     "2027-01-04T17:00:00+01:00"),
    ("day of the month, at year end", "2026-12-31T18:00:00+01:00", "I'll send it by the 31st.",
     "2027-01-04T17:00:00+01:00"),
    ("German day of the month, at year end", "2026-12-31T18:00:00+01:00", "Ich schicke es bis zum 31.",
     "2027-01-04T17:00:00+01:00"),
    ("end of December, at year end", "2026-12-31T18:00:00+01:00", "I'll send it by the end of December.",
     "2027-01-04T17:00:00+01:00"),
    ("end of Q4, at year end", "2026-12-31T18:00:00+01:00", "I'll send it by the end of Q4.",
     "2027-01-04T17:00:00+01:00"),
    ("German quarter end, at year end", "2026-12-31T18:00:00+01:00", "Ich schicke es bis Quartalsende.",
     "2027-01-04T17:00:00+01:00"),
    ("before New Year, at year end", "2026-12-31T18:00:00+01:00", "I'll send it before New Year.",
     "2027-01-04T17:00:00+01:00"),
    ("German before New Year, at year end", "2026-12-31T18:00:00+01:00", "Ich schicke es vor Neujahr.",
     "2027-01-04T17:00:00+01:00"),
    ("by New Year's Eve, on it", "2026-12-31T18:00:00+01:00", "I'll send it by New Year's Eve.",
     "2027-01-04T17:00:00+01:00"),
    ("German by New Year's Eve, on it", "2026-12-31T18:00:00+01:00", "Ich schicke es bis Silvester.",
     "2027-01-04T17:00:00+01:00"),
    # A holiday said on the holiday: the next business day, not next year's.
    ("by Christmas, on Christmas Day", "2026-12-25T12:00:00+01:00", "I'll send it by Christmas.",
     "2026-12-28T17:00:00+01:00"),
    ("German by Christmas, on Christmas Day", "2026-12-25T12:00:00+01:00", "Ich schicke es bis Weihnachten.",
     "2026-12-28T17:00:00+01:00"),
    ("by Christmas Eve, on it", "2026-12-24T12:00:00+01:00", "I'll send it by Christmas Eve.",
     "2026-12-28T17:00:00+01:00"),
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
    # German note times: a bare weekday or word is too short to tell its language by.
    (FRIDAY_LATE, "Freitag", "2026-11-27T17:00:00+01:00"),
    (FRIDAY_LATE, "freitag", "2026-11-27T17:00:00+01:00"),
    (FRIDAY_LATE, "Freitag 10:00", "2026-11-27T10:00:00+01:00"),
    (FRIDAY_LATE, "Freitagnachmittag", "2026-11-27T17:00:00+01:00"),
    (FRIDAY_LATE, "heute", NEXT_MONDAY_CLOSE),
    (FRIDAY_LATE, "heute Nachmittag", NEXT_MONDAY_CLOSE),
    (FRIDAY_LATE, "20.11.", NEXT_MONDAY_CLOSE),
    (FRIDAY_LATE, "Montag", NEXT_MONDAY_CLOSE),
    ("2026-11-23T18:00:00+01:00", "Montag", "2026-11-30T17:00:00+01:00"),
    ("2026-11-23T18:00:00+01:00", "Monday", "2026-11-30T17:00:00+01:00"),
    ("2026-11-30T18:00:00+01:00", "Monatsende", "2026-12-01T17:00:00+01:00"),
    ("2026-11-30T18:00:00+01:00", "end of the month", "2026-12-01T17:00:00+01:00"),
    ("2026-12-31T18:00:00+01:00", "Jahresende", "2027-01-04T17:00:00+01:00"),
    ("2026-12-31T18:00:00+01:00", "end of the year", "2027-01-04T17:00:00+01:00"),
    ("2026-12-31T18:00:00+01:00", "today", "2027-01-04T17:00:00+01:00"),
    ("2026-12-31T18:00:00+01:00", "2026-12-31", "2027-01-04T17:00:00+01:00"),
    ("2026-12-31T18:00:00+01:00", "Donnerstag", "2027-01-07T17:00:00+01:00"),
    ("2026-12-25T12:00:00+01:00", "bis Weihnachten", "2026-12-28T17:00:00+01:00"),
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
    "Freitag", "Montag 10:00", "heute Nachmittag", "Monatsende", "übermorgen", "bis Weihnachten", "vor Neujahr",
    "bis Silvester", "by New Year's Eve", "by Christmas Eve",
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
    german = expression.startswith(("heute", "am ", "bis ", "diese", "vor ")) or expression in (
        "Freitag", "Montag 10:00", "Monatsende", "übermorgen")
    sentence = (f"Ich melde mich {expression}." if german
                else f"I'll call you {expression}.")
    for commitment in extract_commitments(sentence, ref, calendar):
        assert commitment.due > ref, (sentence, ref, commitment.due)


def test_german_note_commands_said_after_the_fact(calendar: BusinessCalendar) -> None:
    ref = datetime.fromisoformat(FRIDAY_LATE)
    commands, errors = parse_note("#followup Freitag\n#snooze bis heute\n#remind Freitag 10:00 Kunde anrufen\n"
                                  "#waiting Lieferant bis Freitag",
                                  lambda t: resolve_when(t, ref, calendar), [])
    assert errors == []
    assert [(c.name, c.when.isoformat() if c.when else None, c.text) for c in commands] == [
        ("followup", "2026-11-27T17:00:00+01:00", ""),
        ("snooze", NEXT_MONDAY_CLOSE, ""),
        ("remind", "2026-11-27T10:00:00+01:00", "Kunde anrufen"),
        ("waiting", "2026-11-27T17:00:00+01:00", "Lieferant"),
    ]

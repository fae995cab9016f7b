"""Commitments in staff replies: which sentences promise something, and exactly when each falls due.

The due-time tables follow DESIGN.md "Commitment due-time semantics" rule by rule, in English and German,
against the team calendar of ``tests/data/commitments/config.yaml``: Europe/Berlin, Mon-Fri 09:00-17:00,
Berlin public holidays and 24 December 2026 closed. 2026 dates used below: DST starts Sun 29 March and ends
Sun 25 October; Good Friday 3 April, Easter Monday 6 April; Christmas Fri 25 / Sat 26 December; New Year
Fri 1 January 2027. The last test scores the whole labelled set against the issue's targets.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxd.config import load_config
from inboxd.core.calendar import BusinessCalendar
from inboxd.core.commitments import Commitment, extract_commitments

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "commitments"


@pytest.fixture(scope="module")
def calendar() -> BusinessCalendar:
    team = load_config(DATA / "config.yaml").team
    return BusinessCalendar.build(
        team.timezone, team.business_hours, country=team.holidays.country,
        subdivision=team.holidays.subdivision, extra_closed=team.holidays.extra)


def extract(text: str, sent_at: str, calendar: BusinessCalendar) -> list[Commitment]:
    return extract_commitments(text, datetime.fromisoformat(sent_at), calendar)


def dues(text: str, sent_at: str, calendar: BusinessCalendar) -> list[str]:
    return [c.due.isoformat() for c in extract(text, sent_at, calendar)]


# (rule, sent_at, text, due). Weekdays: 2026-11-02 is a Monday, 2026-11-06 a Friday.
DUE_CASES = [
    # Explicit date and time → that instant; a date without a time → close of business that day.
    ("date+time en", "2026-11-02T10:15:00+01:00", "I'll call you on 5 November at 14:30.", "2026-11-05T14:30:00+01:00"),
    ("date+time de", "2026-11-02T10:15:00+01:00", "Ich rufe Sie am 5.11. um 14:30 Uhr an.",
     "2026-11-05T14:30:00+01:00"),
    ("date+time ordinal de", "2026-11-20T10:00:00+01:00", "Ich informiere Sie am Dienstag, 24. November, um 11 Uhr.",
     "2026-11-24T11:00:00+01:00"),
    ("date en", "2026-11-19T10:00:00+01:00", "We will send the new firmware to you on 3 December.",
     "2026-12-03T17:00:00+01:00"),
    ("date de", "2026-11-19T10:00:00+01:00", "Wir schicken Ihnen die neue Firmware am 3. Dezember.",
     "2026-12-03T17:00:00+01:00"),
    ("iso date", "2026-11-12T10:00:00+01:00", "I'll send the backup to you on 2026-11-16.",
     "2026-11-16T17:00:00+01:00"),
    ("day-first numeric", "2026-11-11T10:00:00+01:00", "I'll call you on 12/11 at 10:00.", "2026-11-12T10:00:00+01:00"),
    ("date next year", "2026-12-30T10:00:00+01:00", "I'll reactivate the account on 5 January.",
     "2027-01-05T17:00:00+01:00"),
    ("date on a closed day is 17:00", "2026-12-30T10:00:00+01:00", "I'll reactivate the account on 2 January.",
     "2027-01-02T17:00:00+01:00"),
    ("date on a holiday is 17:00 de", "2026-12-14T10:00:00+01:00", "Ich melde mich am 25. Dezember.",
     "2026-12-25T17:00:00+01:00"),
    ("day of month", "2026-12-04T10:00:00+01:00", "I'll check in with you on the 10th.", "2026-12-10T17:00:00+01:00"),
    ("bare clock today", "2026-11-23T08:15:00+01:00", "I'll call you at 10 to walk you through it.",
     "2026-11-23T10:00:00+01:00"),
    ("bare clock passed → tomorrow", "2026-11-23T16:00:00+01:00", "I'll call you at 10.", "2026-11-24T10:00:00+01:00"),
    ("pm", "2026-11-02T10:15:00+01:00", "I'll send you the documentation by 3 pm.", "2026-11-02T15:00:00+01:00"),
    ("bare afternoon hour", "2026-11-04T16:00:00+01:00", "I'll send the login details before 5 today.",
     "2026-11-04T17:00:00+01:00"),
    ("window end en", "2026-12-01T10:00:00+01:00", "You will get a call from our engineer tomorrow between 9 and 11.",
     "2026-12-02T11:00:00+01:00"),
    ("window end de", "2026-12-01T10:00:00+01:00", "Unser Techniker ruft Sie morgen zwischen 9 und 11 Uhr an.",
     "2026-12-02T11:00:00+01:00"),
    ("Uhr then von mir", "2027-01-12T11:00:00+01:00", "Die Auswertung bekommen Sie morgen bis 10 Uhr von mir.",
     "2027-01-13T10:00:00+01:00"),
    ("halb drei", "2026-12-15T10:00:00+01:00", "Ich rufe Sie am Freitag um halb drei an.", "2026-12-18T14:30:00+01:00"),
    # today / later today / end of day / EOD / COB → close of business today.
    ("today", "2026-12-02T10:00:00+01:00", "I'll send you the licence keys today.", "2026-12-02T17:00:00+01:00"),
    ("later today", "2026-11-03T14:40:00+01:00", "I'll get back to you later today.", "2026-11-03T17:00:00+01:00"),
    ("end of day", "2026-11-03T14:40:00+01:00", "We'll have the fix deployed by end of day.",
     "2026-11-03T17:00:00+01:00"),
    ("EOD", "2026-11-03T14:40:00+01:00", "I'll send it EOD.", "2026-11-03T17:00:00+01:00"),
    ("COB", "2026-11-03T14:40:00+01:00", "You'll hear from me by COB.", "2026-11-03T17:00:00+01:00"),
    # Said after close of business, "end of the day" is the next business day's close: never before the message.
    ("end of day after hours", "2026-11-06T18:45:00+01:00", "I'll send the config by the end of the day.",
     "2026-11-09T17:00:00+01:00"),
    ("heute noch", "2026-11-03T14:40:00+01:00", "Wir melden uns heute noch bei Ihnen.", "2026-11-03T17:00:00+01:00"),
    ("im Laufe des Tages", "2026-11-16T10:00:00+01:00", "Wir schalten Ihren Tarif im Laufe des Tages frei.",
     "2026-11-16T17:00:00+01:00"),
    ("Feierabend", "2026-11-16T10:00:00+01:00", "Ich kümmere mich bis Feierabend darum.", "2026-11-16T17:00:00+01:00"),
    # tomorrow → close of business tomorrow (17:00 when tomorrow is closed).
    ("tomorrow", "2026-11-17T16:30:00+01:00", "I'll come back to you tomorrow.", "2026-11-18T17:00:00+01:00"),
    ("EOD tomorrow", "2026-11-24T11:00:00+01:00", "I will send you the plan by EOD tomorrow.",
     "2026-11-25T17:00:00+01:00"),
    ("morgen", "2026-11-17T16:30:00+01:00", "Ich gebe Ihnen morgen Bescheid.", "2026-11-18T17:00:00+01:00"),
    ("tomorrow is an extra closure", "2026-12-23T15:00:00+01:00", "We'll send the confirmation tomorrow.",
     "2026-12-24T17:00:00+01:00"),
    ("tomorrow is Good Friday", "2026-04-02T12:00:00+02:00", "Ich melde mich morgen.", "2026-04-03T17:00:00+02:00"),
    ("tomorrow at", "2026-11-02T10:15:00+01:00", "I'll call you tomorrow at 2pm.", "2026-11-03T14:00:00+01:00"),
    # this morning / afternoon / evening / tonight → 12:00 / close of business / 20:00 / 21:00.
    ("this morning", "2026-11-18T08:30:00+01:00", "I'll call you this morning.", "2026-11-18T12:00:00+01:00"),
    ("this afternoon", "2026-11-04T09:05:00+01:00", "I'll update you this afternoon.", "2026-11-04T17:00:00+01:00"),
    ("this evening", "2026-12-09T10:00:00+01:00", "I'll send you the invoice copy this evening.",
     "2026-12-09T20:00:00+01:00"),
    ("tonight", "2026-11-06T18:45:00+01:00", "I'm going to escalate this tonight.", "2026-11-06T21:00:00+01:00"),
    ("tomorrow morning", "2026-11-12T15:20:00+01:00", "I will email you the credentials tomorrow morning.",
     "2026-11-13T12:00:00+01:00"),
    ("weekday afternoon", "2026-12-07T10:00:00+01:00", "I will have the quote ready by Thursday afternoon.",
     "2026-12-10T17:00:00+01:00"),
    ("afternoon clock", "2026-11-03T09:00:00+01:00", "I'll phone you at 4.30 this afternoon.",
     "2026-11-03T16:30:00+01:00"),
    ("heute Vormittag", "2026-11-04T09:05:00+01:00", "Ich kümmere mich heute Vormittag darum.",
     "2026-11-04T12:00:00+01:00"),
    ("heute Nachmittag", "2026-11-04T09:05:00+01:00", "Ich melde mich heute Nachmittag.", "2026-11-04T17:00:00+01:00"),
    ("heute Abend", "2026-12-09T10:00:00+01:00", "Ich schicke Ihnen die Kopie heute Abend.",
     "2026-12-09T20:00:00+01:00"),
    ("heute Nacht", "2026-12-09T10:00:00+01:00", "Wir spielen das Update heute Nacht ein.",
     "2026-12-09T21:00:00+01:00"),
    ("morgen früh", "2026-11-05T16:50:00+01:00", "Ich schicke Ihnen die Unterlagen morgen früh.",
     "2026-11-06T12:00:00+01:00"),
    ("Montagvormittag", "2026-12-11T15:00:00+01:00", "Unsere Techniker melden sich am Montagvormittag bei Ihnen.",
     "2026-12-14T12:00:00+01:00"),
    # A weekday → the nearest such day on or after today.
    ("weekday later this week", "2026-11-02T10:15:00+01:00", "I will send you the invoice by Friday.",
     "2026-11-06T17:00:00+01:00"),
    ("weekday is today", "2026-11-06T10:00:00+01:00", "I'll send you the invoice by Friday.",
     "2026-11-06T17:00:00+01:00"),
    ("weekday next week", "2026-11-06T11:30:00+01:00", "I'll send the updated quote on Monday.",
     "2026-11-09T17:00:00+01:00"),
    ("weekday at", "2026-11-12T15:20:00+01:00", "We're sending a technician on Tuesday at 10.",
     "2026-11-17T10:00:00+01:00"),
    ("weekday de", "2026-11-02T10:15:00+01:00", "Bis Freitag schicke ich Ihnen das Angebot.",
     "2026-11-06T17:00:00+01:00"),
    ("weekday at de", "2026-11-12T15:20:00+01:00", "Unser Techniker kommt am Dienstag um 10 Uhr vorbei.",
     "2026-11-17T10:00:00+01:00"),
    ("next <weekday> is in next week", "2026-11-02T10:15:00+01:00", "I'll call you next Friday.",
     "2026-11-13T17:00:00+01:00"),
    ("weekday next week explicit", "2026-11-27T10:00:00+01:00", "I'll get back to you by Wednesday next week.",
     "2026-12-02T17:00:00+01:00"),
    ("weekday across spring DST", "2026-03-27T14:00:00+01:00", "I'll call you on Monday at 9.",
     "2026-03-30T09:00:00+02:00"),
    ("weekday across autumn DST de", "2026-10-23T15:00:00+02:00", "Ich melde mich am Montag um 10 Uhr.",
     "2026-10-26T10:00:00+01:00"),
    # within N hours / in N minutes → reference + duration (elapsed time, also across DST).
    ("in N minutes", "2026-11-11T11:00:00+01:00", "I'll call you in 30 minutes.", "2026-11-11T11:30:00+01:00"),
    ("within the hour", "2026-11-18T12:00:00+01:00", "I'll call you back within the hour.",
     "2026-11-18T13:00:00+01:00"),
    ("within N hours over spring DST", "2026-03-28T10:00:00+01:00", "I will reboot the server within 24 hours.",
     "2026-03-29T11:00:00+02:00"),
    ("within N hours over autumn DST", "2026-10-24T23:00:00+02:00", "We'll complete the maintenance within 6 hours.",
     "2026-10-25T04:00:00+01:00"),
    ("in N hours after hours", "2026-11-08T20:00:00+01:00", "We will restore your mailbox within 4 hours.",
     "2026-11-09T00:00:00+01:00"),
    ("innerhalb von N Stunden", "2026-11-17T14:05:00+01:00",
     "Sie bekommen innerhalb von 2 Stunden eine Antwort von uns.",
     "2026-11-17T16:05:00+01:00"),
    ("in N Minuten", "2026-11-11T11:00:00+01:00", "Ich rufe Sie in 30 Minuten zurück.", "2026-11-11T11:30:00+01:00"),
    ("in einer Stunde", "2026-12-07T14:20:00+01:00", "Ich melde mich in einer Stunde wieder.",
     "2026-12-07T15:20:00+01:00"),
    # within N days → close of business N days later (17:00 on a closed day).
    ("within N days", "2026-11-13T10:00:00+01:00", "We will refund the difference within 10 days.",
     "2026-11-23T17:00:00+01:00"),
    ("within N days lands on Saturday", "2026-11-11T11:00:00+01:00", "I'll get back to you within 3 days.",
     "2026-11-14T17:00:00+01:00"),
    ("innerhalb von N Tagen", "2026-11-11T11:00:00+01:00", "Ich melde mich innerhalb von 3 Tagen.",
     "2026-11-14T17:00:00+01:00"),
    # within N business days → close of business on the Nth business day after today.
    ("business days", "2026-11-05T16:50:00+01:00", "We will ship the unit within 2 business days.",
     "2026-11-09T17:00:00+01:00"),
    ("business days over Christmas", "2026-12-23T15:00:00+01:00", "I'll get back to you within two business days.",
     "2026-12-29T17:00:00+01:00"),
    ("business days over Easter", "2026-04-02T12:00:00+02:00", "I'll send the terms within 2 business days.",
     "2026-04-08T17:00:00+02:00"),
    ("Werktage over Labour Day", "2026-04-30T10:00:00+02:00", "Wir liefern die Hardware innerhalb von drei Werktagen.",
     "2026-05-06T17:00:00+02:00"),
    ("Arbeitstage", "2026-12-14T10:00:00+01:00", "Ich nehme die Änderung innerhalb von 5 Arbeitstagen vor.",
     "2026-12-21T17:00:00+01:00"),
    # this week / end of the week / before the weekend → close of business on the week's last business day.
    ("this week", "2026-11-09T09:00:00+01:00", "Our team will finish the migration this week.",
     "2026-11-13T17:00:00+01:00"),
    ("end of the week", "2026-12-10T10:00:00+01:00", "I'll confirm the visit by the end of the week.",
     "2026-12-11T17:00:00+01:00"),
    ("before the weekend in Christmas week", "2026-12-23T10:00:00+01:00", "I will call you before the weekend.",
     "2026-12-23T17:00:00+01:00"),
    ("diese Woche in Christmas week", "2026-12-21T09:30:00+01:00", "Die Rechnung schicke ich Ihnen noch diese Woche.",
     "2026-12-23T17:00:00+01:00"),
    ("vor dem Wochenende", "2026-11-09T09:00:00+01:00", "Ich sende Ihnen den Vertrag vor dem Wochenende zu.",
     "2026-11-13T17:00:00+01:00"),
    # next week → its last business day; early next week → its Tuesday.
    ("next week", "2026-11-10T13:00:00+01:00", "We'll deliver the report next week.", "2026-11-20T17:00:00+01:00"),
    ("next week over New Year", "2026-12-31T11:00:00+01:00", "I'll call you next week.", "2027-01-08T17:00:00+01:00"),
    ("end of next week", "2026-11-23T09:00:00+01:00", "Our developers will have a patch by the end of next week.",
     "2026-12-04T17:00:00+01:00"),
    ("nächste Woche", "2026-11-10T13:00:00+01:00", "Wir liefern den Bericht nächste Woche.",
     "2026-11-20T17:00:00+01:00"),
    ("early next week", "2026-11-06T11:30:00+01:00", "Expect an update from us early next week.",
     "2026-11-10T17:00:00+01:00"),
    ("Anfang nächster Woche", "2026-12-29T10:00:00+01:00", "Den Vertrag schicke ich Ihnen Anfang nächster Woche.",
     "2027-01-05T17:00:00+01:00"),
    # end of the month → its last business day.
    ("end of the month", "2026-11-10T13:00:00+01:00", "I will confirm the date by the end of the month.",
     "2026-11-30T17:00:00+01:00"),
    ("end of month on a weekend", "2026-10-12T10:00:00+02:00", "We'll migrate you by the end of the month.",
     "2026-10-30T17:00:00+01:00"),
    ("Monatsende", "2026-12-31T11:00:00+01:00", "Wir schließen die Umstellung bis Monatsende ab.",
     "2026-12-31T17:00:00+01:00"),
    ("Ende des Monats", "2026-05-04T10:00:00+02:00", "Ich bestätige Ihnen den Termin bis Ende des Monats.",
     "2026-05-29T17:00:00+02:00"),
]


@pytest.mark.parametrize(("sent_at", "text", "due"), [case[1:] for case in DUE_CASES],
                         ids=[case[0] for case in DUE_CASES])
def test_due_time_follows_design(sent_at: str, text: str, due: str, calendar: BusinessCalendar) -> None:
    assert dues(text, sent_at, calendar) == [due]


# Who may promise: I, we, our team or engineers, "you'll hear from me", "expect an update from us".
PROMISERS = [
    "I'll send it tomorrow.",
    "We will send it tomorrow.",
    "We're going to send it tomorrow.",
    "Our engineers will send it tomorrow.",
    "My colleague Sarah will send it tomorrow.",
    "You'll hear from me tomorrow.",
    "Expect an update from us tomorrow.",
    "Please expect a call from us tomorrow.",
    "Let me get back to you tomorrow.",
    "I've checked the logs and will get back to you tomorrow.",
    "Will send the invoice tomorrow.",
    "Ich melde mich morgen.",
    "Wir melden uns morgen bei Ihnen.",
    "Ich rufe Sie morgen an.",
    "Sie hören morgen von uns.",
    "Unser Team schickt Ihnen das morgen.",
    "Ich habe Ihre Logs erhalten und melde mich morgen.",
    "Unsere Entwickler arbeiten an einer Lösung und spielen sie morgen ein.",
]


@pytest.mark.parametrize("text", PROMISERS)
def test_first_person_promises_count(text: str, calendar: BusinessCalendar) -> None:
    assert dues(text, "2026-11-04T10:00:00+01:00", calendar) == ["2026-11-05T17:00:00+01:00"]


NOT_COMMITMENTS = [
    # Past tense.
    "I called you yesterday at 3pm but couldn't reach you.",
    "We sent the replacement on Monday.",
    "We were going to call you on Friday, but the engineer was ill.",
    "I had planned to send the report on Tuesday.",
    "Ich habe Sie gestern um 15 Uhr angerufen.",
    "Wir haben den Ersatz am Montag verschickt.",
    # Questions and requests to the customer.
    "Could you send it by Friday?",
    "Would you like me to call you tomorrow?",
    "Shall we schedule a call for Thursday at 10?",
    "Please return the faulty unit within 14 days.",
    "Let me know by Friday if the new version works.",
    "Könnten Sie bis Freitag die Logdateien schicken?",
    "Passt es Ihnen, wenn ich Sie am Donnerstag um 10 Uhr anrufe?",
    "Bitte senden Sie das Gerät innerhalb von 14 Tagen zurück.",
    # Negations.
    "We can't deliver by Friday.",
    "Unfortunately we won't be able to fix this before next week.",
    "I will not be available tomorrow afternoon.",
    "Wir können leider nicht bis Freitag liefern.",
    # Policies.
    "We usually reply within a day.",
    "We will always respond within 24 hours on business days.",
    "Wir antworten in der Regel innerhalb eines Werktages.",
    "Wir bearbeiten Anfragen innerhalb von zwei Werktagen.",
    # Third-party facts and closures.
    "Your subscription renews on 1 December.",
    "The courier will deliver the parcel tomorrow.",
    "Our office is closed on the 24th.",
    "We'll be closed between Christmas and New Year.",
    "I'll be on holiday until 4 January.",
    "Ihr Abonnement verlängert sich am 1. Dezember.",
    "Unser Büro ist am 24. Dezember geschlossen.",
    "Ich bin morgen nicht im Büro.",
    # Undated promises.
    "We'll keep you posted.",
    "I'll get back to you as soon as possible.",
    "Wir halten Sie auf dem Laufenden.",
    "Ich melde mich zeitnah bei Ihnen.",
    # Conditionals where the time is the customer's.
    "If you send me the logs by Friday, I'll take a look.",
    "Wenn Sie mir die Logs bis Freitag schicken, schaue ich sie mir an.",
    # Numbers that look like dates or times.
    "The fix is included in version 2.10.",
    "Your order 12/05 was shipped.",
    "Ticket #2024-11 has been merged with this one.",
    "Der Fehler ist in Version 2.10 behoben.",
    "Ihre Bestellung 12/05 wurde versandt.",
    "I'll send it on 31/12/9999.",
    # Offers and wishes.
    "We could send a technician on Thursday if you prefer.",
    "Ich könnte Ihnen am Donnerstag einen Techniker schicken.",
    "We'll need the logs by Friday.",
]


@pytest.mark.parametrize("text", NOT_COMMITMENTS)
def test_not_a_commitment(text: str, calendar: BusinessCalendar) -> None:
    assert extract(text, "2026-11-04T10:00:00+01:00", calendar) == []


def test_quotes_attributions_and_signatures_are_ignored(calendar: BusinessCalendar) -> None:
    text = (
        "Hi Anna,\n\nsorry to hear that. I'll call you tomorrow at 10 to sort it out.\n\nBest regards,\nTom\n"
        "-- \nTom Baker | Support\nWe'll reply within one business day.\n\n"
        "On Mon, 2 Nov 2026 at 09:12, Anna <anna@customer.example> wrote:\n> Could you call me on Friday?\n"
        "> I will be in the office until 5pm.\n"
    )
    found = extract(text, "2026-11-02T11:00:00+01:00", calendar)
    assert [(c.text, c.due.isoformat()) for c in found] == [
        ("I'll call you tomorrow at 10 to sort it out.", "2026-11-03T10:00:00+01:00")]


@pytest.mark.parametrize("text", [
    "Thanks.\n\n> I'll send it by Friday.\n",
    "Thanks.\n\nOn Mon, 2 Nov 2026, Ann <a@x.example> wrote:\nI'll send it by Friday.\n",
    "Danke.\n\nAm 02.11.2026 um 09:12 schrieb Paul Neumann <paul@kunde.example>:\nIch schicke es bis Freitag.\n",
    "Thanks.\n\n-----Original Message-----\nFrom: Ann\nI'll send it by Friday.\n",
    "Thanks.\n-- \nI'll send it by Friday.\n",
    "Thanks!\n\nBest regards,\nTom\nWe'll reply within 2 business days.\n",
])
def test_text_outside_the_new_words_is_ignored(text: str, calendar: BusinessCalendar) -> None:
    assert extract(text, "2026-11-02T10:00:00+01:00", calendar) == []


def test_a_closing_word_that_opens_the_reply_does_not_cut_it(calendar: BusinessCalendar) -> None:
    text = "Hi Anna,\n\nThanks!\n\nI will call you tomorrow at 10 to discuss.\n\nBest,\nTom\n"
    assert dues(text, "2026-11-04T10:00:00+01:00", calendar) == ["2026-11-05T10:00:00+01:00"]


def test_two_promises_in_one_sentence(calendar: BusinessCalendar) -> None:
    found = extract("I'm going to escalate this tonight and I'll call you Monday at 9:30.",
                    "2026-11-06T18:45:00+01:00", calendar)
    assert [c.due.isoformat() for c in found] == ["2026-11-06T21:00:00+01:00", "2026-11-09T09:30:00+01:00"]
    assert [c.kind for c in found] == ["generic", "call"]


def test_a_clock_time_takes_the_day_named_before_it(calendar: BusinessCalendar) -> None:
    # Sent on a Friday evening: "by midday" is Monday's midday, not Saturday's.
    found = dues("I'll pick this up on Monday and update you by midday.", "2026-12-04T17:30:00+01:00", calendar)
    assert found == ["2026-12-07T17:00:00+01:00", "2026-12-07T12:00:00+01:00"]


def test_either_or_is_due_at_the_later(calendar: BusinessCalendar) -> None:
    assert dues("I'll post the label today or tomorrow.", "2026-11-26T10:00:00+01:00", calendar) == \
        ["2026-11-27T17:00:00+01:00"]
    assert dues("Ich schicke es Ihnen heute oder morgen.", "2026-11-26T10:00:00+01:00", calendar) == \
        ["2026-11-27T17:00:00+01:00"]


def test_a_trailing_deadline_belongs_to_the_promise_before_it(calendar: BusinessCalendar) -> None:
    text = "I'll send you the tracking number as soon as it's available, by Monday at the latest."
    assert dues(text, "2026-11-26T10:00:00+01:00", calendar) == ["2026-11-30T17:00:00+01:00"]
    text = "Sobald ich mit dem Lager gesprochen habe, melde ich mich, spätestens am Freitag."
    assert dues(text, "2026-11-05T10:00:00+01:00", calendar) == ["2026-11-06T17:00:00+01:00"]


def test_past_reference_in_an_earlier_clause_does_not_block(calendar: BusinessCalendar) -> None:
    text = "Following our call yesterday, I will send you the summary tomorrow."
    assert dues(text, "2026-11-04T10:00:00+01:00", calendar) == ["2026-11-05T17:00:00+01:00"]


def test_result_fields(calendar: BusinessCalendar) -> None:
    sent_at = datetime.fromisoformat("2026-11-02T09:15:00+00:00")  # the Date may be in any timezone
    [en] = extract_commitments("Thanks. I'll call you tomorrow at 2pm.", sent_at, calendar)
    assert en == Commitment(text="I'll call you tomorrow at 2pm.", due=en.due, kind="call", language="en")
    assert en.due.tzinfo == calendar.tz and en.due.isoformat() == "2026-11-03T14:00:00+01:00"
    [de] = extract_commitments("Ich schicke Ihnen das Angebot bis Freitag.", sent_at, calendar)
    assert (de.kind, de.language) == ("deliver", "de")


def test_naive_sent_at_is_refused(calendar: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        extract_commitments("I'll call you tomorrow.", datetime(2026, 11, 2, 10, 0), calendar)


def test_nothing_in_nothing_out(calendar: BusinessCalendar) -> None:
    assert extract("", "2026-11-02T10:00:00+01:00", calendar) == []
    assert extract("Thanks!\n\nBest,\nTom", "2026-11-02T10:00:00+01:00", calendar) == []


_WORDS = ["I'll", "we'll", "Ich", "wir", "call", "melde", "mich", "by", "on", "at", "bis", "um", "am", "Uhr",
          "tomorrow", "morgen", "Friday", "Freitag", "next", "week", "nächste", "Woche", "within", "innerhalb",
          "2", "10", "31", "12/11", "3.12.", "31/12/9999", "business", "days", "Werktagen", "hours", "halb",
          "between", "and", "end", "of", "the", "month", "tonight", "EOD", ",", ".", "?", "\n", "> ", "-- ",
          "99:99", "13pm", "12am", "the 31st", "30. Februar", "on 31/2", "Ende", "Dezember"]


@settings(max_examples=150, deadline=None)
@given(text=st.one_of(st.text(max_size=200), st.lists(st.sampled_from(_WORDS), max_size=20).map(" ".join)),
       offset=st.integers(min_value=-12, max_value=14),
       sent=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1)))
def test_any_text_any_time_never_raises(text: str, offset: int, sent: datetime, calendar: BusinessCalendar) -> None:
    # Runs on every staff message the daemon sees: it must degrade to "no commitment", never crash.
    at = sent.replace(tzinfo=timezone(timedelta(hours=offset)))
    for commitment in extract_commitments(text, at, calendar):
        assert commitment.due.tzinfo == calendar.tz and commitment.text


def _scorer() -> ModuleType:
    path = ROOT / "tests" / "perf" / "score_commitments.py"
    spec = importlib.util.spec_from_file_location("score_commitments", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Dataclasses look their module up in sys.modules while the module is executing.
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_labelled_set_meets_the_targets(calendar: BusinessCalendar) -> None:
    scorer = _scorer()
    started = time.perf_counter()
    report = scorer.score([DATA / "labelled.jsonl"], calendar)
    elapsed = time.perf_counter() - started
    tallies = report.tallies
    assert report.snippets >= 200
    assert tallies["all"].precision >= 0.95, report.false_positives
    assert tallies["en"].recall >= 0.90, report.misses
    assert tallies["de"].recall >= 0.80, report.misses
    assert elapsed < 2.0


def test_labelled_set_has_the_promised_shape() -> None:
    scorer = _scorer()
    rows = scorer.load_set(DATA / "labelled.jsonl")
    assert len(rows) >= 200
    assert sum(row["lang"] == "de" for row in rows) >= 70
    assert sum(not row["expected"] for row in rows) * 3 >= len(rows)
    assert len({row["id"] for row in rows}) == len(rows)
    for row in rows:
        assert datetime.fromisoformat(row["sent_at"]).utcoffset() is not None
        for item in row["expected"]:
            assert item["text_contains"].lower() in row["text"].lower()
            assert datetime.fromisoformat(item["due"]).utcoffset() is not None

"""Due times, days and staff phrases in the reader's language, with names and order from Babel (CLDR)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from inboxd.core.humanize import phrase_day, phrase_due, phrase_in_offset, phrase_moment, weekday_name
from inboxd.core.staff_text import digest_counts, due_detail, waiting_detail

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)  # a Monday
TODAY, TOMORROW, LATER = NOW.replace(hour=15), NOW + timedelta(days=1, hours=3), NOW + timedelta(days=7, hours=3)


@pytest.mark.parametrize(
    ("language", "today", "tomorrow", "later"),
    [
        ("en", "today by 15:00 CET", "tomorrow (Tuesday) by 13:00 CET", "by Monday 30 November, 13:00 CET"),
        ("de", "heute bis 15:00 Uhr (CET)", "morgen (Dienstag) bis 13:00 Uhr (CET)",
         "bis Montag, 30. November, 13:00 Uhr (CET)"),
        ("fr", "aujourd’hui au plus tard à 15:00 (CET)", "demain (mardi) au plus tard à 13:00 (CET)",
         "au plus tard le lundi 30 novembre à 13:00 (CET)"),
        ("es", "hoy, a más tardar a las 15:00 (CET)", "mañana (martes), a más tardar a las 13:00 (CET)",
         "a más tardar el lunes, 30 de noviembre a las 13:00 (CET)"),
        ("it", "oggi entro le 15:00 (CET)", "domani (martedì) entro le 13:00 (CET)",
         "entro lunedì 30 novembre alle 13:00 (CET)"),
        ("nl", "uiterlijk vandaag om 15:00 uur (CET)", "uiterlijk morgen (dinsdag) om 13:00 uur (CET)",
         "uiterlijk maandag 30 november om 13:00 uur (CET)"),
        ("pt", "hoje até às 15:00 (CET)", "amanhã (terça-feira) até às 13:00 (CET)",
         "até segunda-feira, 30 de novembro, às 13:00 (CET)"),
        # A regional variant takes its own CLDR data: US English puts the month first and uses a 12-hour clock.
        # (CLDR puts a narrow no-break space before PM.)
        ("en-US", "today by 3:00\u202fPM CET", "tomorrow (Tuesday) by 1:00\u202fPM CET",
         "by Monday, November 30, 1:00\u202fPM CET"),
        ("de-AT", "heute bis 15:00 Uhr (CET)", "morgen (Dienstag) bis 13:00 Uhr (CET)",
         "bis Montag, 30. November, 13:00 Uhr (CET)"),
        # A language without words here is said in English, not half in one language and half in another.
        ("sv", "today by 15:00 CET", "tomorrow (Tuesday) by 13:00 CET", "by Monday 30 November, 13:00 CET"),
    ],
)
def test_phrase_due_in_each_language(language: str, today: str, tomorrow: str, later: str) -> None:
    assert phrase_due(TODAY, NOW, BERLIN, language) == today
    assert phrase_due(TOMORROW, NOW, BERLIN, language) == tomorrow
    assert phrase_due(LATER, NOW, BERLIN, language) == later


def test_day_and_weekday_names_come_from_cldr() -> None:
    day = datetime(2026, 12, 25).date()
    assert [phrase_day(day, lang) for lang in ("en", "de", "es", "pt-BR")] == [
        "Friday 25 December", "Freitag, 25. Dezember", "viernes, 25 de diciembre", "sexta-feira, 25 de dezembro"]
    assert [weekday_name(day, lang) for lang in ("fr", "it", "nl")] == ["vendredi", "venerdì", "vrijdag"]


def test_the_customers_own_time_in_their_language() -> None:
    due = datetime(2026, 11, 30, 13, tzinfo=BERLIN)
    assert phrase_in_offset(due, timedelta(hours=-5)) == "Monday 07:00 (UTC-05:00)"
    assert phrase_in_offset(due, timedelta(hours=-5), "fr") == "lundi à 07:00 (UTC-05:00)"
    assert phrase_in_offset(due, timedelta(hours=5, minutes=30), "de") == "Montag, 17:30 Uhr (UTC+05:30)"


def test_staff_phrases_keep_english_as_it_was_and_speak_the_staff_language() -> None:
    assert due_detail(TODAY, NOW, BERLIN) == "due today by 15:00 CET"
    assert due_detail(LATER, NOW, BERLIN) == "due Monday 30 November, 13:00 CET"
    assert due_detail(NOW - timedelta(hours=2), NOW, BERLIN) == "overdue since Mon 23 Nov 08:00"
    assert due_detail(TODAY, NOW, BERLIN, "de") == "fällig heute bis 15:00 Uhr (CET)"
    assert due_detail(NOW - timedelta(hours=2), NOW, BERLIN, "fr") == \
        "en retard depuis le lundi 23 novembre à 08:00 (CET)"
    assert waiting_detail(timedelta(hours=5)) == "waiting 5 business hours"
    assert waiting_detail(timedelta(hours=40)) == "waiting 5 business days"
    assert waiting_detail(timedelta(hours=1), "nl") == "wacht al 1 werkuur"
    assert waiting_detail(timedelta(hours=16), "it") == "in attesa da 2 giorni lavorativi"
    assert digest_counts(1, 2, 0) == "1 promise(s) due, 2 case(s) waiting"
    assert digest_counts(1, 2, 3, "de") == "1 fällige Zusage, 2 wartende Vorgänge, 3 bald fällige Teamzusagen"
    assert digest_counts(0, 1, 0, "es") == "1 caso en espera"


def test_a_moment_for_staff() -> None:
    at = datetime(2026, 11, 30, 13, tzinfo=BERLIN)
    assert phrase_moment(at) == "Mon 30 Nov 13:00 CET"
    assert phrase_moment(at, "de") == "Montag, 30. November, 13:00 CET"


def test_the_terse_english_staff_moment_is_cldrs_not_the_c_librarys() -> None:
    from inboxd.core.humanize import short_moment

    assert short_moment(datetime(2026, 9, 1, 9, 5, tzinfo=BERLIN)) == "Tue 01 Sep 09:05"
    assert phrase_moment(datetime(2026, 9, 1, 9, 5, tzinfo=BERLIN)) == "Tue 01 Sep 09:05 CEST"

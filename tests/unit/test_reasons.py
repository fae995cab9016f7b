"""Why a promise is long, said in the case's language: English as it always was, German for German cases.

Team: Berlin, Mon-Fri 09:00-17:00, public holidays of Berlin (DE-BE). Dates (2026): Mon 23 Nov, Thu 24 Dec
(the team's own closed day in the shipped config), Fri 25 Dec Christmas Day.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from inboxd.core.calendar import BusinessCalendar
from inboxd.core.durations import parse_duration
from inboxd.core.eta import Estimate, closure_reason_keys, closure_reasons, fallback_estimate
from inboxd.core.reasons import Reason, join, language_of

BERLIN = ZoneInfo("Europe/Berlin")
CALENDAR = BusinessCalendar.build("Europe/Berlin", {"mon-fri": "09:00-17:00"}, country="DE", subdivision="BE",
                                  extra_closed=["2026-12-24"])
FALLBACK = {"normal": parse_duration("2bd")}

CHRISTMAS = Reason("holiday", day=date(2026, 12, 25), name="Christmas Day", names=(("de", "Erster Weihnachtstag"),))
CLOSED = Reason("closed", day=date(2026, 12, 24))
BACK_TODAY = Reason("after_hours", time="09:00")
BACK_MONDAY = Reason("after_hours", day=date(2026, 11, 23), time="09:00")
BUSY = Reason("busy")
ABSENCE = Reason("absence", day=date(2026, 11, 30))


def berlin(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


# The English sentences exactly as inboxd has always written them (`inboxd eta --json` prints these).
@pytest.mark.parametrize(
    ("reason", "english"),
    [
        (CHRISTMAS, "We are closed for Christmas Day on Friday 25 December."),
        (CLOSED, "Our office is closed on Thursday 24 December."),
        (BACK_TODAY, "We are outside our working hours right now and back today at 09:00."),
        (BACK_MONDAY, "We are outside our working hours right now and back on Monday at 09:00."),
        (BUSY, "More requests than usual are ahead of yours; we answer them in the order they arrived and will "
               "reach yours as soon as we can."),
        (ABSENCE, "Part of our team is away until Monday 30 November, so we need a little longer than usual."),
    ],
    ids=["holiday", "closed", "after_hours-today", "after_hours-monday", "busy", "absence"],
)
def test_english_reasons_are_unchanged(reason: Reason, english: str) -> None:
    assert reason.text("en") == english
    assert reason.text() == english


@pytest.mark.parametrize(
    ("reason", "german"),
    [
        (CHRISTMAS, "Wir haben am Freitag, 25. Dezember, wegen des Feiertags „Erster Weihnachtstag“ geschlossen."),
        (CLOSED, "Unser Büro ist am Donnerstag, 24. Dezember, geschlossen."),
        (BACK_TODAY, "Wir sind gerade außerhalb unserer Arbeitszeiten und heute ab 09:00 Uhr wieder für Sie da."),
        (BACK_MONDAY, "Wir sind gerade außerhalb unserer Arbeitszeiten und am Montag ab 09:00 Uhr wieder für Sie da."),
        (BUSY, "Vor Ihrer Anfrage warten gerade mehr Anfragen als üblich; wir beantworten sie in der Reihenfolge "
               "ihres Eingangs und kommen so schnell wie möglich zu Ihrer."),
        (ABSENCE, "Ein Teil unseres Teams ist bis Montag, 30. November, abwesend; deshalb brauchen wir etwas länger "
                  "als üblich."),
    ],
    ids=["holiday", "closed", "after_hours-today", "after_hours-monday", "busy", "absence"],
)
def test_german_reasons_are_german(reason: Reason, german: str) -> None:
    assert reason.text("de") == german
    # Regional variants of German get the same wording.
    assert reason.text("de-AT") == reason.text("de_CH") == german


def test_a_holiday_without_a_german_name_keeps_its_english_name_in_the_german_sentence() -> None:
    reason = Reason("holiday", day=date(2026, 7, 14), name="National Day")
    assert reason.text("de") == "Wir haben am Dienstag, 14. Juli, wegen des Feiertags „National Day“ geschlossen."


@pytest.mark.parametrize("language", ["sv", "pl-PL", "", "EN-gb"])
def test_other_languages_get_english(language: str) -> None:
    assert language_of(language) == "en"
    assert CHRISTMAS.text(language) == "We are closed for Christmas Day on Friday 25 December."


def test_join_makes_one_paragraph_in_the_language() -> None:
    assert join([CLOSED, CHRISTMAS], "de") == (
        "Unser Büro ist am Donnerstag, 24. Dezember, geschlossen. "
        "Wir haben am Freitag, 25. Dezember, wegen des Feiertags „Erster Weihnachtstag“ geschlossen.")
    assert join([], "de") == ""


# --------------------------------------------------------------------------------------------
# From the calendar to the estimate
# --------------------------------------------------------------------------------------------

def test_closures_name_the_holiday_in_german_from_the_holidays_package() -> None:
    keys = closure_reason_keys(berlin(12, 23, 15), berlin(12, 29, 15), CALENDAR)
    assert keys == [CLOSED, CHRISTMAS]
    # The English strings stay what they were.
    assert closure_reasons(berlin(12, 23, 15), berlin(12, 29, 15), CALENDAR) == [
        "Our office is closed on Thursday 24 December.", "We are closed for Christmas Day on Friday 25 December."]


def test_a_country_without_german_holiday_names_keeps_the_english_name() -> None:
    paris = BusinessCalendar.build("Europe/Paris", {"mon-fri": "09:00-17:00"}, country="FR")
    now = datetime(2026, 12, 24, 10, tzinfo=ZoneInfo("Europe/Paris"))
    estimate = fallback_estimate(now, "normal", FALLBACK, paris)
    assert estimate.reasons == ("We are closed for Christmas Day on Friday 25 December.",)
    assert estimate.reason_text("de") == (
        "Wir haben am Freitag, 25. Dezember, wegen des Feiertags „Christmas Day“ geschlossen.")


def test_an_estimate_says_its_reasons_in_english_and_german() -> None:
    estimate = fallback_estimate(berlin(11, 20, 18), "normal", FALLBACK, CALENDAR)
    assert estimate.reason_keys == (BACK_MONDAY,)
    assert estimate.reasons == ("We are outside our working hours right now and back on Monday at 09:00.",)
    assert estimate.reason_text("en") == estimate.reasons[0]
    assert estimate.reason_text("de") == BACK_MONDAY.text("de")


def test_an_estimate_without_reason_keys_falls_back_to_its_english_reasons() -> None:
    old = Estimate(due=berlin(11, 23, 13), basis="old", reasons=("We are closed today.", "Sorry."))
    assert old.reason_text("de") == "We are closed today. Sorry."
    assert Estimate(due=berlin(11, 23, 13), basis="none").reason_text("de") == ""


# --------------------------------------------------------------------------------------------
# What a German customer reads
# --------------------------------------------------------------------------------------------

def test_a_german_acknowledgement_gives_its_reasons_in_german() -> None:
    from inboxd.config import load_config
    from inboxd.mail.parse import parse_message
    from inboxd.mail.render import Renderer, default_template_dirs
    from inboxd.service.ingest import _ack_context
    from inboxd.service.runtime import build_runtime

    templates = default_template_dirs()[0]
    config_path = templates.parent / "examples" / "inboxd.yaml"
    rt = build_runtime(load_config(config_path), config_path.parent)  # Berlin, DE-BE, closed 24 December
    msg = parse_message(b"From: Anna <anna@example.org>\r\nTo: support@example.com\r\nSubject: Drucker\r\n"
                        b"Message-ID: <a1@example.org>\r\n\r\nDer Drucker druckt nicht.\r\n")
    now = berlin(12, 23, 15)
    estimate = fallback_estimate(now, "normal", FALLBACK, rt.calendar)
    german = "Unser Büro ist am Donnerstag, 24. Dezember, geschlossen. Wir haben am Freitag, 25. Dezember, " \
             "wegen des Feiertags „Erster Weihnachtstag“ geschlossen."

    context = _ack_context(rt, msg, "[#1042]", 1042, estimate, now, "de")
    assert context["promise"]["reason"] == german
    body = Renderer(templates).render("ack", "de", context).body
    assert german in body and "We are" not in body

    # An English case of the same estimate reads exactly what it always did.
    english = _ack_context(rt, msg, "[#1042]", 1042, estimate, now, "en")["promise"]["reason"]
    assert english == ("Our office is closed on Thursday 24 December. "
                       "We are closed for Christmas Day on Friday 25 December.")


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("fr", "Nous sommes fermés le vendredi 25 décembre (jour férié : « Christmas Day »)."),
        ("es", "Permaneceremos cerrados el viernes, 25 de diciembre por el festivo «Christmas Day»."),
        ("it", "Siamo chiusi venerdì 25 dicembre per la festività «Christmas Day»."),
        ("nl", "Wij zijn op vrijdag 25 december gesloten vanwege de feestdag ‘Christmas Day’."),
        ("pt-BR", "Estaremos encerrados na sexta-feira, 25 de dezembro, devido ao feriado «Christmas Day»."),
    ],
)
def test_every_shipped_language_has_its_wording_with_babel_dates(language: str, sentence: str) -> None:
    assert CHRISTMAS.text(language) == sentence

"""The short phrases inboxd puts into its mail to staff (digest lines and counts), in the staff member's
language. Pure. Dates, times and numbers come from :mod:`inboxd.core.humanize` (Babel); only the words around
them are written here. A language without words here gets English."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from inboxd.core.humanize import phrase_day, phrase_due, phrase_time, short_moment

__all__ = ["digest_counts", "due_detail", "waiting_detail"]


@dataclass(frozen=True)
class _Words:
    due: str  # {phrase}: a due time as humanize.phrase_due says it
    overdue: str  # {day} {time} {zone}
    waiting_hours: tuple[str, str]  # one, many: {n}
    waiting_days: tuple[str, str]
    promises: tuple[str, str]
    cases: tuple[str, str]
    team_promises: tuple[str, str]


_WORDS: dict[str, _Words] = {
    "en": _Words("due {phrase}", "overdue since {day}, {time} {zone}",
                 ("waiting {n} business hours", "waiting {n} business hours"),
                 ("waiting {n} business days", "waiting {n} business days"),
                 ("{n} promise(s) due", "{n} promise(s) due"), ("{n} case(s) waiting", "{n} case(s) waiting"),
                 ("{n} team promise(s) due soon", "{n} team promise(s) due soon")),
    "de": _Words("fällig {phrase}", "überfällig seit {day}, {time} Uhr ({zone})",
                 ("wartet seit {n} Arbeitsstunde", "wartet seit {n} Arbeitsstunden"),
                 ("wartet seit {n} Arbeitstag", "wartet seit {n} Arbeitstagen"),
                 ("{n} fällige Zusage", "{n} fällige Zusagen"), ("{n} wartender Vorgang", "{n} wartende Vorgänge"),
                 ("{n} bald fällige Teamzusage", "{n} bald fällige Teamzusagen")),
    "fr": _Words("à faire {phrase}", "en retard depuis le {day} à {time} ({zone})",
                 ("en attente depuis {n} heure ouvrée", "en attente depuis {n} heures ouvrées"),
                 ("en attente depuis {n} jour ouvré", "en attente depuis {n} jours ouvrés"),
                 ("{n} engagement à tenir", "{n} engagements à tenir"), ("{n} dossier en attente",
                                                                          "{n} dossiers en attente"),
                 ("{n} engagement d’équipe bientôt dû", "{n} engagements d’équipe bientôt dus")),
    "es": _Words("plazo: {phrase}", "vencido desde el {day} a las {time} ({zone})",
                 ("en espera desde hace {n} hora laborable", "en espera desde hace {n} horas laborables"),
                 ("en espera desde hace {n} día laborable", "en espera desde hace {n} días laborables"),
                 ("{n} compromiso pendiente", "{n} compromisos pendientes"), ("{n} caso en espera",
                                                                              "{n} casos en espera"),
                 ("{n} compromiso del equipo a punto de vencer", "{n} compromisos del equipo a punto de vencer")),
    "it": _Words("da fare {phrase}", "scaduto da {day} alle {time} ({zone})",
                 ("in attesa da {n} ora lavorativa", "in attesa da {n} ore lavorative"),
                 ("in attesa da {n} giorno lavorativo", "in attesa da {n} giorni lavorativi"),
                 ("{n} impegno in scadenza", "{n} impegni in scadenza"), ("{n} pratica in attesa",
                                                                          "{n} pratiche in attesa"),
                 ("{n} impegno del team in scadenza a breve", "{n} impegni del team in scadenza a breve")),
    "nl": _Words("te doen {phrase}", "te laat sinds {day} om {time} uur ({zone})",
                 ("wacht al {n} werkuur", "wacht al {n} werkuren"), ("wacht al {n} werkdag", "wacht al {n} werkdagen"),
                 ("{n} toezegging die afloopt", "{n} toezeggingen die aflopen"), ("{n} wachtend dossier",
                                                                                 "{n} wachtende dossiers"),
                 ("{n} teamtoezegging die binnenkort afloopt", "{n} teamtoezeggingen die binnenkort aflopen")),
    "pt": _Words("a cumprir {phrase}", "em atraso desde {day}, às {time} ({zone})",
                 ("em espera há {n} hora útil", "em espera há {n} horas úteis"),
                 ("em espera há {n} dia útil", "em espera há {n} dias úteis"),
                 ("{n} compromisso a cumprir", "{n} compromissos a cumprir"), ("{n} processo em espera",
                                                                               "{n} processos em espera"),
                 ("{n} compromisso da equipa a vencer em breve", "{n} compromissos da equipa a vencer em breve")),
}


def _words(language: str) -> _Words:
    return _WORDS.get(language.replace("_", "-").split("-")[0].lower(), _WORDS["en"])


def _count(forms: tuple[str, str], n: int) -> str:
    return forms[0 if n == 1 else 1].format(n=n)


def due_detail(due: datetime, now: datetime, tz: ZoneInfo, language: str = "en") -> str:
    """``due today by 15:00 CET`` / ``overdue since …``; German ``fällig heute bis 15:00 Uhr (CET)``."""
    words = _words(language)
    if due < now:
        local = due.astimezone(tz)
        if words is _WORDS["en"]:
            # As it always read: "overdue since Mon 30 Nov 13:00".
            return f"overdue since {short_moment(local)}"
        return words.overdue.format(day=phrase_day(local.date(), language), time=phrase_time(local, language),
                                    zone=local.tzname())
    phrase = phrase_due(due, now, tz, language)
    return words.due.format(phrase=phrase.removeprefix("by ") if words is _WORDS["en"] else phrase)


def waiting_detail(waited: timedelta, language: str = "en") -> str:
    """How long a case has waited, in business hours up to two days' worth, then business days (8 h each)."""
    hours = waited.total_seconds() / 3600
    words = _words(language)
    if hours < 16:
        return _count(words.waiting_hours, round(hours))
    return _count(words.waiting_days, round(hours / 8))


def digest_counts(promises: int, waiting: int, team_promises: int, language: str = "en") -> str:
    """The digest's subject line counts: ``1 promise(s) due, 2 case(s) waiting``."""
    words = _words(language)
    parts = (_count(words.promises, promises) if promises else "",
             _count(words.cases, waiting) if waiting else "",
             _count(words.team_promises, team_promises) if team_promises else "")
    return ", ".join(part for part in parts if part)

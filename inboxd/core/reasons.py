"""Why a promise is as long as it is, said to the customer in the case's language. Pure.

:mod:`inboxd.core.eta` decides *which* reasons apply and records each as a :class:`Reason` (what kind, which
day, which holiday); this module words them. Kept as data until the mail is written, one estimate can
explain itself in English to ``inboxd eta`` and in German to a German customer.

Every wording takes responsibility and never blames the customer. An unknown language gets English.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from inboxd.core.humanize import phrase_day, weekday_name

__all__ = ["LANGUAGES", "Kind", "Reason", "join", "language_of"]

Kind = Literal["holiday", "closed", "after_hours", "busy", "absence"]
"""``holiday``: a public holiday on a working day; ``closed``: one of the team's own closed days
(config ``holidays.extra``); ``after_hours``: the team is not working right now; ``busy``: more cases than
usual are ahead; ``absence``: configured absences slow the team down until ``day``."""

# The wordings, one table per language; ``{day}`` is a date as :func:`inboxd.core.humanize.phrase_day` says it.
_TEXT: dict[str, dict[Kind, str]] = {
    "en": {
        "holiday": "We are closed for {name} on {day}.",
        "closed": "Our office is closed on {day}.",
        "after_hours": "We are outside our working hours right now and back {when} at {time}.",
        "busy": "More requests than usual are ahead of yours; we answer them in the order they arrived and will "
                "reach yours as soon as we can.",
        "absence": "Part of our team is away until {day}, so we need a little longer than usual.",
    },
    "de": {
        # A holiday's name is quoted so that the sentence stays grammatical whatever the name (and even when
        # only the English name is known).
        "holiday": "Wir haben am {day}, wegen des Feiertags „{name}“ geschlossen.",
        "closed": "Unser Büro ist am {day}, geschlossen.",
        "after_hours": "Wir sind gerade außerhalb unserer Arbeitszeiten und {when} ab {time} Uhr wieder für Sie da.",
        "busy": "Vor Ihrer Anfrage warten gerade mehr Anfragen als üblich; wir beantworten sie in der Reihenfolge "
                "ihres Eingangs und kommen so schnell wie möglich zu Ihrer.",
        "absence": "Ein Teil unseres Teams ist bis {day}, abwesend; deshalb brauchen wir etwas länger als üblich.",
    },
    "fr": {
        "holiday": "Nous sommes fermés le {day} (jour férié : « {name} »).",
        "closed": "Nos bureaux sont fermés le {day}.",
        "after_hours": "Nous sommes actuellement en dehors de nos heures d’ouverture et serons de retour {when} "
                       "à {time}.",
        "busy": "Plus de demandes que d’habitude nous sont parvenues avant la vôtre ; nous les traitons dans "
                "leur ordre d’arrivée et reviendrons vers vous dès que possible.",
        "absence": "Une partie de notre équipe est absente jusqu’au {day} ; il nous faut donc un peu plus de "
                   "temps que d’habitude.",
    },
    "es": {
        "holiday": "Permaneceremos cerrados el {day} por el festivo «{name}».",
        "closed": "Nuestra oficina permanecerá cerrada el {day}.",
        "after_hours": "En este momento estamos fuera de nuestro horario de atención y volveremos {when} "
                       "a las {time}.",
        "busy": "Tenemos más solicitudes de lo habitual por delante de la suya; las atendemos por orden de "
                "llegada y nos ocuparemos de la suya lo antes posible.",
        "absence": "Parte de nuestro equipo estará ausente hasta el {day}, por lo que necesitaremos algo más de "
                   "tiempo de lo habitual.",
    },
    "it": {
        "holiday": "Siamo chiusi {day} per la festività «{name}».",
        "closed": "I nostri uffici sono chiusi {day}.",
        "after_hours": "In questo momento siamo fuori dal nostro orario di lavoro e torneremo {when} alle {time}.",
        "busy": "Prima della Sua ci sono più richieste del solito; le gestiamo in ordine di arrivo e ci "
                "occuperemo della Sua il prima possibile.",
        "absence": "Parte del nostro team è assente fino a {day}, per cui ci serve un po’ più di tempo del solito.",
    },
    "nl": {
        "holiday": "Wij zijn op {day} gesloten vanwege de feestdag ‘{name}’.",
        "closed": "Ons kantoor is op {day} gesloten.",
        "after_hours": "Wij zijn op dit moment buiten onze werktijden en {when} om {time} uur weer bereikbaar.",
        "busy": "Er staan meer aanvragen dan gebruikelijk vóór de uwe; wij behandelen ze in volgorde van "
                "binnenkomst en komen zo snel mogelijk bij die van u.",
        "absence": "Een deel van ons team is afwezig tot {day}; daardoor hebben wij iets meer tijd nodig "
                   "dan gebruikelijk.",
    },
    "pt": {
        "holiday": "Estaremos encerrados na {day}, devido ao feriado «{name}».",
        "closed": "O nosso escritório estará encerrado na {day}.",
        "after_hours": "Neste momento estamos fora do nosso horário de atendimento e voltamos {when} às {time}.",
        "busy": "Há mais pedidos do que o habitual à frente do seu; respondemos pela ordem de chegada e "
                "trataremos do seu o mais depressa possível.",
        "absence": "Parte da nossa equipa está ausente até {day}, pelo que precisamos de um pouco mais de "
                   "tempo do que o habitual.",
    },
}
# When the team is back after hours: today, or on a named weekday.
_TODAY = {"en": "today", "de": "heute", "fr": "aujourd’hui", "es": "hoy", "it": "oggi", "nl": "vandaag",
          "pt": "hoje"}
_ON = {"en": "on {weekday}", "de": "am {weekday}", "fr": "{weekday}", "es": "el {weekday}", "it": "{weekday}",
       "nl": "op {weekday}", "pt": "na {weekday}"}

LANGUAGES = tuple(_TEXT)
"""The languages reasons can be said in; any other falls back to English."""


def language_of(language: str) -> str:
    """The wording language for a case language: ``de-AT`` → ``de``; unknown → ``en``."""
    base = language.replace("_", "-").split("-")[0].strip().lower()
    return base if base in _TEXT else "en"


@dataclass(frozen=True)
class Reason:
    """One reason a promise lies further out than the customer might expect, not yet put into words.

    ``day`` is the closed day (``holiday``, ``closed``), the day the team is back (``after_hours``; ``None``
    for today) or the day absent colleagues are back (``absence``). ``time`` is the wall-clock time the team
    opens again (``after_hours``, ``"09:00"``). ``name`` is a holiday's English name and ``names`` its name
    in other languages as ``(language, name)`` pairs, where the holidays package knows one.
    """

    kind: Kind
    day: date | None = None
    name: str | None = None
    time: str | None = None
    names: tuple[tuple[str, str], ...] = ()

    def text(self, language: str = "en") -> str:
        """This reason as a sentence in ``language`` (English when there is no wording for it)."""
        lang = language_of(language)
        fields: dict[str, str] = {}
        if self.day is not None:
            fields["day"] = phrase_day(self.day, lang)
        if self.kind == "holiday":
            fields["name"] = dict(self.names).get(lang) or self.name or ""
        if self.kind == "after_hours":
            fields["when"] = _TODAY[lang] if self.day is None else _ON[lang].format(
                weekday=weekday_name(self.day, lang))
            fields["time"] = self.time or ""
        return _TEXT[lang][self.kind].format(**fields)


def join(reasons: Iterable[Reason], language: str = "en") -> str:
    """The reasons as one paragraph in ``language``, for a template's ``promise.reason``."""
    return " ".join(reason.text(language) for reason in reasons)

"""Commitments staff make in their replies, resolved to due instants. Pure.

``extract_commitments(text, sent_at, calendar)`` reads the new words of a staff reply and returns every
first-person, future, dated promise to the customer ("I'll call you tomorrow at 2pm", "Bis Freitag schicke
ich Ihnen das Angebot") with the instant it falls due, following DESIGN.md "Commitment due-time semantics".

How it works, and why this way
------------------------------

A general date parser finds dates everywhere: in "We", in past tense, in version numbers. Here it runs the
other way round, in three small steps per sentence:

1. **Time expressions** come from a small grammar of pieces (a day, a part of the day, a clock time, an
   end-of-day word, or a self-contained span such as "within 2 business days"), one table per language.
   Adjacent pieces ("on Tuesday, 24 November, at 11:00") join into one expression, and each expression is
   resolved against the reference time (the message's Date in the team's timezone) and the team calendar.
2. **Clauses**: the sentence is cut at commas, dashes and at conjunctions that start a new subject, never
   inside a time expression.
3. **Commitment clauses**: a clause counts when it has a first-person future anchor ("I'll", "we are going
   to", "our engineers will", "you'll hear from me", German "ich/wir" with a present or future verb,
   "Sie hören … von uns") and nothing that undoes it (a question, a request, a negation, a policy word,
   past tense, a customer's if-clause, a closure or absence). A time expression counts only inside such a
   clause, or in a clause that is nothing but that time ("…, by Monday at the latest").

Decisions where DESIGN.md is silent (kept deliberately simple and documented so they can be tested):

* A clock time without a day ("at 3pm") takes the day of an earlier expression in the same sentence
  ("on Monday … by midday"), else today, or tomorrow when that time has already passed.
* A bare hour without am/pm means business hours: 1-7 are afternoon (``at 3`` is 15:00), 8-12 are as
  written; with "afternoon/evening/tonight" any hour before 12 is in the afternoon.
* "next Monday" is the Monday of next week; "this/coming Monday" and plain "Monday" the nearest on or
  after today (DESIGN). "Wednesday next week" is the Wednesday of next week.
* "between 9 and 11" is due at the end of the window; "today or tomorrow" at the later of the two.
* "within N weeks" is close of business 7·N days later, like "within N days".
* A date without a year is the next such date on or after today; "the 10th" is this month's 10th, or next
  month's once it has passed. Numeric dates are day first (``12/11`` is 12 November), and need a preposition
  ("on 12/11") or a German trailing dot (``12.11.``) so that order numbers and versions are not dates.
* A week is Monday to Sunday. When the week has no business day left at all, "this week" falls back to
  the next business day after it.
* No due time is before the message (``_ahead``): a weekday said after its time is the same weekday next
  week; today, parts of today and periods that have just ended are the next business day's close; a
  calendar date before today is no due time.
* "before <day>" is the close of the last business day before it; "before/by <holiday>" likewise, except
  "by" a holiday the team works on. Quarters end in March, June, September and December.
* A request to wait ("give me two days", "bear with me until Friday"), a hedge with a deadline ("I should
  be able to … by Thursday") and an imperative naming something of ours ("Expect a call from me on
  Monday") are promises; "might", "may" and "could" are not.
* "the day/morning/week after <event>", "N days after <event>", "within N hours of <event>" count from the
  event's own time expression in the same sentence (after the offset, else before it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from inboxd.core.calendar import BusinessCalendar
from inboxd.mail.reply import reply_text

__all__ = ["Commitment", "CommitmentKind", "extract_commitments", "resolve_when"]

CommitmentKind = Literal["call", "update", "deliver", "generic"]
Language = Literal["en", "de"]


@dataclass(frozen=True)
class Commitment:
    """One promise found in a staff reply.

    ``text`` is the sentence as the staff member wrote it (whitespace collapsed), ``due`` the instant it
    falls due (aware, in the team's timezone), ``kind`` what was promised and ``language`` the sentence's.
    """

    text: str
    due: datetime
    kind: CommitmentKind
    language: Language


def extract_commitments(text: str, sent_at: datetime, calendar: BusinessCalendar) -> list[Commitment]:
    """Find the dated first-person commitments in the new words of a staff reply.

    ``sent_at`` is the message's Date (any timezone, must be aware); due times are resolved in the
    calendar's timezone with its business hours and holidays. Quoted lines, attribution lines
    ("On … wrote:", "Am … schrieb …:", "-----Original Message-----") and anything after a signature
    separator are ignored even when the caller did not remove them already.
    """
    if sent_at.tzinfo is None or sent_at.utcoffset() is None:
        raise ValueError("sent_at must be timezone-aware")
    ctx = _Context(ref=sent_at.astimezone(calendar.tz), calendar=calendar)
    body = _new_words(text)
    document_language = _language(body, default="en")
    found: list[Commitment] = []
    seen: set[tuple[str, datetime]] = set()
    for sentence in _sentences(body):
        language = _language(sentence, default=document_language)
        for commitment in _sentence_commitments(sentence, language, ctx):
            key = (commitment.text, commitment.due)
            if key not in seen:
                seen.add(key)
                found.append(commitment)
    return found


def resolve_when(text: str, sent_at: datetime, calendar: BusinessCalendar) -> datetime | None:
    """The instant a bare time expression names ("tomorrow 10:00", "Friday", "in 2 days", "2026-12-01").

    The same grammar and semantics as commitments, for the ``<when>`` of staff-note commands; an ISO
    date or date-time is accepted too (a date alone means close of business that day).
    """
    if sent_at.tzinfo is None or sent_at.utcoffset() is None:
        raise ValueError("sent_at must be timezone-aware")
    stripped = text.strip()
    iso = _ISO_WHEN.fullmatch(stripped)
    ctx = _Context(ref=sent_at.astimezone(calendar.tz), calendar=calendar)
    if iso:
        # An instant that has passed is no time to be reminded at; today's date after hours is the next
        # business day's close, like "today" (see ``_ahead``).
        try:
            if iso.group("time"):
                moment = datetime.fromisoformat(f"{iso.group('date')}T{iso.group('time')}")
                moment = moment.replace(tzinfo=calendar.tz) if moment.tzinfo is None else moment
                return moment if moment > ctx.ref else None
            day = date.fromisoformat(iso.group("date"))
        except ValueError:
            return None
        ahead = _ahead([_Piece(0, 0, "day", day=day, explicit=True)], calendar.close_of_business(day), day, ctx)
        return ahead[0] if ahead else None
    sentence = stripped.translate(_APOSTROPHE)
    # A note's time is a word or two ("Freitag", "Montag 10:00"): too short to tell its language by, so the
    # other language is tried when the likelier one does not read the whole of it.
    likelier = _language(sentence, default="en")
    for language in (likelier, "de" if likelier == "en" else "en"):
        whens = _time_expressions(sentence, language, ctx)
        if not whens:
            continue
        # The whole text must be the time expression (give or take a preposition), not a sentence that has one.
        leftover = (sentence[:whens[0].start] + sentence[whens[-1].end:]).strip(" .,")
        if leftover and not _WHEN_FILLER.fullmatch(leftover):
            continue
        return max(w.due for w in whens)
    return None


_ISO_WHEN = re.compile(r"(?P<date>\d{4}-\d{2}-\d{2})(?:[ T](?P<time>\d{1,2}:\d{2}(?::\d{2})?(?:[+-]\d{2}:\d{2}|Z)?))?")
_WHEN_FILLER = re.compile(r"(?:by|on|at|until|till|bis|am|um|ab|in)", re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# Text → sentences
# --------------------------------------------------------------------------------------------

# A line that is only a closing ("Best regards,", "Viele Grüße") starts the signature: what follows is
# name, title and often boilerplate promises ("We reply within 24 hours") that nobody made to this customer.
_CLOSING = re.compile(
    r"^\s*(?:(?:best|kind|warm|many)\s+(?:regards|wishes|thanks)|regards|best|cheers|thanks(?:\s+again)?|"
    r"thank\s+you|sincerely|yours(?:\s+sincerely|\s+truly)?|all\s+the\s+best|"
    r"(?:viele|beste|liebe|freundliche|herzliche|sonnige)\s+gr(?:ü|ue)(?:ß|ss)e|mit\s+freundlichen\s+gr(?:ü|ue)(?:ß|ss)en|"
    r"mfg|lg|vg|gruß|gruss|danke|vielen\s+dank)\s*[,.!]?\s*$",
    re.IGNORECASE,
)
_ATTRIBUTION = re.compile(
    r"^\s*(?:on\b.{0,200}\bwrote:|am\b.{0,200}\bschrieb.{0,120}:|"
    r"-{2,}\s*(?:original message|urspr(?:ü|ue)ngliche nachricht|forwarded message|weitergeleitete nachricht)\s*-{2,})",
    re.IGNORECASE,
)


def _new_words(text: str) -> str:
    """The staff member's own words: no quotes, attribution blocks or signature."""
    lines = reply_text(text).split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        # reply_text already cuts these; the second look keeps this module safe on its own.
        if line.lstrip().startswith(">"):
            continue
        if _ATTRIBUTION.match(line) or line.rstrip() in ("--", "-- "):
            break
        closing = _CLOSING.match(line) and any(previous.strip() for previous in kept)
        if closing and _signature_follows(lines[index + 1:]):
            break
        kept.append(line)
    return "\n".join(kept)


def _signature_follows(rest: list[str]) -> bool:
    """Whether the lines after a closing look like a signature (a name first), not more of the message.

    "Thanks!" can open a reply as well as close it; what follows tells the two apart.
    """
    following = [line.strip() for line in rest if line.strip()]
    return not following or len(following[0]) <= 40 and not re.search(r"[.!?]$", following[0])


# Dots that do not end a sentence: abbreviations, ordinals before a month, day-first dates, clock times.
_ABBREVIATIONS = re.compile(
    r"\b(?:e\.g|i\.e|z\.\s?B|d\.\s?h|u\.\s?a|bzw|ca|Nr|Dr|Mr|Mrs|Ms|St|vs|approx|ggf|evtl|inkl|zzgl|usw|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Okt|Nov|Dec|Dez|Mo|Di|Mi|Do|Fr|Sa|So|a\.m|p\.m)\.",
)
_MONTH_WORDS = (
    "Januar|Februar|März|Maerz|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember|"
    "January|February|March|May|June|July|October|December|Jan|Feb|Mär|Apr|Jun|Jul|Aug|Sep|Sept|Okt|Oct|Nov|Dez|Dec"
)
_ORDINAL_BEFORE_MONTH = re.compile(rf"\b(\d{{1,2}})\.(?=\s*(?:{_MONTH_WORDS})\b)")
_DAY_FIRST_DATE = re.compile(r"\b(\d{1,2}\.\d{1,2})\.(?=\s)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-ZÄÖÜ0-9])|(?<=[.!?])\s*\n+")
_PROTECT = "\u2024"  # ONE DOT LEADER: looks like a dot, is no sentence end; swapped back afterwards.
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")


def _sentences(text: str) -> list[str]:
    """Split into sentences; lines inside a paragraph are joined (mail clients hard-wrap at ~72)."""
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in paragraph.split("\n") if line.strip()]
        # A greeting line ("Hi Anna,") or list item stands alone; other lines are wrapped prose.
        units: list[str] = []
        for line in lines:
            starts_unit = not units or _LIST_ITEM.match(line) or units[-1].endswith((",", ":")) and len(units[-1]) < 40
            if starts_unit:
                units.append(line)
            else:
                units[-1] = f"{units[-1]} {line}"
        for unit in units:
            protected = _ABBREVIATIONS.sub(lambda m: m.group(0)[:-1] + _PROTECT, unit)
            protected = _ORDINAL_BEFORE_MONTH.sub(lambda m: m.group(1) + _PROTECT, protected)
            protected = _DAY_FIRST_DATE.sub(lambda m: m.group(1) + _PROTECT, protected)
            for part in _SENTENCE_END.split(protected):
                cleaned = re.sub(r"\s+", " ", part.replace(_PROTECT, ".")).strip()
                if cleaned:
                    sentences.append(cleaned)
    return sentences


_GERMAN_WORDS = frozenset(
    "ich wir sie ihnen und der die das den dem nicht bis morgen heute uhr uns mich mir ist sind bitte wenn mit "
    "von bei für eine einen einer zu auf noch am um woche werde werden melde melden schicke schicken rufe an "
    "gerne vielen dank grüße hallo sehr geehrte geehrter frau herr ihr ihre ihren zurück".split()
)
_ENGLISH_WORDS = frozenset(
    "i we you the and will to by of for on at is are it this that your our with tomorrow today week i'll we'll "
    "send call back get hi hello thanks thank regards please can could would be have has in".split()
)


def _language(text: str, default: Language) -> Language:
    """German or English by counting common words; ``default`` when neither clearly wins."""
    words = re.findall(r"[a-zäöüß']+", text.lower().replace("\u2019", "'"))
    german = sum(word in _GERMAN_WORDS for word in words)
    english = sum(word in _ENGLISH_WORDS for word in words)
    if german > english:
        return "de"
    if english > german:
        return "en"
    return default


# --------------------------------------------------------------------------------------------
# Time expressions
# --------------------------------------------------------------------------------------------

_MORNING = time(12, 0)
_NOON = time(12, 0)
_EVENING = time(20, 0)
_NIGHT = time(21, 0)
_MAX_YEARS_AHEAD = 5  # explicit years further out are not promises


@dataclass(frozen=True)
class _Context:
    """The reference instant (in the team timezone) and the calendar every expression resolves against."""

    ref: datetime
    calendar: BusinessCalendar

    @property
    def today(self) -> date:
        return self.ref.date()

    def cob(self, day: date) -> datetime:
        return self.calendar.close_of_business(day)

    def at(self, day: date, clock: time) -> datetime:
        # Round-trip through UTC so a wall-clock time inside a DST gap comes out as a real instant.
        return datetime.combine(day, clock, tzinfo=self.calendar.tz).astimezone(UTC).astimezone(self.calendar.tz)

    def after(self, delta: timedelta) -> datetime:
        # Elapsed time: "within 24 hours" over a DST change is still 24 real hours.
        return (self.ref.astimezone(UTC) + delta).astimezone(self.calendar.tz)

    def monday(self, weeks_ahead: int = 0) -> date:
        return self.today - timedelta(days=self.today.weekday()) + timedelta(weeks=weeks_ahead)

    def last_business_day_of_week(self, monday: date) -> date:
        """The week's last business day; the first one after the week when the week has none."""
        for offset in range(6, -1, -1):
            if self.calendar.is_business_day(monday + timedelta(days=offset)):
                return monday + timedelta(days=offset)
        return self.calendar.nth_business_day(monday + timedelta(days=6), 1)

    def last_business_day_of_month(self, year: int, month: int) -> date:
        first_of_next = date(year + month // 12, month % 12 + 1, 1)
        day = first_of_next - timedelta(days=1)
        while day.month == month:
            if self.calendar.is_business_day(day):
                return day
            day -= timedelta(days=1)
        return first_of_next - timedelta(days=1)


_PieceKind = Literal["day", "part", "clock", "eod", "span"]


@dataclass(frozen=True)
class _Piece:
    """One recognised fragment of a time expression, positioned in the sentence."""

    start: int
    end: int
    kind: _PieceKind
    day: date | None = None
    explicit: bool = False  # a calendar date (beats a weekday named next to it)
    part: str | None = None  # morning, noon, afternoon, evening, night
    needs_day: bool = False  # a bare "morning" means nothing without a day next to it
    hour: int = 0
    minute: int = 0
    meridiem: str | None = None  # "am", "pm" or None when the hour is bare
    due: datetime | None = None  # spans resolve on their own
    weekday: bool = False  # a named weekday: said after its time, it means that weekday next week
    before: bool = False  # "before Friday": the last business day before it
    default_day: date | None = None  # "first thing": the next business day, unless a day is named next to it


@dataclass(frozen=True)
class _When:
    """A resolved time expression."""

    start: int
    end: int
    due: datetime
    day: date | None  # the day it named, for clock times later in the sentence


_PieceMaker = Callable[[re.Match[str], str, _Context], _Piece | None]

_EN_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30,
    "twenty-four": 24, "forty-eight": 48, "a couple of": 2, "couple of": 2, "a few": -1, "few": -1,
}
_DE_NUMBERS = {
    "ein": 1, "eine": 1, "einer": 1, "eines": 1, "einem": 1, "einen": 1, "zwei": 2, "drei": 3, "vier": 4,
    "fünf": 5, "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "elf": 11, "zwölf": 12,
    "vierzehn": 14, "fünfzehn": 15, "zwanzig": 20, "dreißig": 30, "vierundzwanzig": 24, "achtundvierzig": 48,
    "eins": 1,
}


def _alternation(words: dict[str, int]) -> str:
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))


_EN_NUM = rf"(?:\d{{1,3}}|{_alternation(_EN_NUMBERS)})"
_DE_NUM = rf"(?:\d{{1,3}}|{_alternation(_DE_NUMBERS)})"
# "1-2 days", "two or three hours", "ein bis zwei Tage": the later bound is the promise.
_EN_COUNT = rf"(?P<num>{_EN_NUM}(?:\s*(?:-|–|to|or)\s*{_EN_NUM})?)"
_DE_COUNT = rf"(?P<num>{_DE_NUM}(?:\s*(?:-|–|bis|oder)\s*{_DE_NUM})?)"


def _count(text: str) -> int | None:
    """The upper bound of a count such as ``3``, ``two``, ``1-2``, ``ein bis zwei``; None when vague."""
    last = re.split(r"\s*(?:-|–|\bto\b|\bor\b|\bbis\b|\boder\b)\s*", text.strip().lower())[-1]
    if last.isdigit():
        return int(last)
    value = _EN_NUMBERS.get(last, _DE_NUMBERS.get(last))
    return value if value is not None and value > 0 else None


_EN_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
_DE_MONTHS = {
    "januar": 1, "jan": 1, "jänner": 1, "februar": 2, "feb": 2, "märz": 3, "maerz": 3, "mär": 3, "april": 4,
    "apr": 4, "mai": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sep": 9, "sept": 9, "oktober": 10, "okt": 10, "november": 11, "nov": 11, "dezember": 12, "dez": 12,
}
# English month names are capitalised in writing; requiring it keeps "may" and "march" verbs out.
_EN_MONTH = "(?-i:" + "|".join(sorted((m.capitalize() for m in _EN_MONTHS), key=len, reverse=True)) + ")"
_DE_MONTH = "(?:" + _alternation(_DE_MONTHS) + ")"

_EN_WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2, "thursday": 3,
    "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sunday": 6,
}
_DE_WEEKDAYS = {
    "montag": 0, "dienstag": 1, "mittwoch": 2, "donnerstag": 3, "freitag": 4, "samstag": 5, "sonnabend": 5,
    "sonntag": 6,
}
_EN_WEEKDAY = "(?:" + _alternation(_EN_WEEKDAYS) + ")"
_DE_WEEKDAY = "(?:" + _alternation(_DE_WEEKDAYS) + ")"

_PARTS = {
    "morning": "morning", "first thing": "morning", "afternoon": "afternoon", "evening": "evening",
    "night": "night", "tonight": "night", "noon": "noon", "midday": "noon", "lunchtime": "noon", "lunch": "noon",
    "früh": "morning", "morgen": "morning", "vormittag": "morning", "mittag": "noon", "mittags": "noon",
    "nachmittag": "afternoon", "abend": "evening", "abends": "evening", "nacht": "night",
}


def _resolve_day_of_month(ctx: _Context, day: int, month: int | None, year: int | None) -> date | None:
    """The next such date on or after today (see module docstring); None for impossible dates."""
    today = ctx.today
    try:
        if month is None:
            for offset in range(0, 13):
                month_index = today.month - 1 + offset
                candidate_year, candidate_month = today.year + month_index // 12, month_index % 12 + 1
                try:
                    candidate = date(candidate_year, candidate_month, day)
                except ValueError:
                    continue
                if candidate >= today:
                    return candidate
            return None
        if year is not None:
            year = year + 2000 if year < 100 else year
            # A promise is for the near future; "31/12/9999" is a placeholder, not a due date.
            if not today.year - 1 <= year <= today.year + _MAX_YEARS_AHEAD:
                return None
            return date(year, month, day)
        candidate = date(today.year, month, day)
        return candidate if candidate >= today else date(today.year + 1, month, day)
    except ValueError:
        return None


def _weekday(ctx: _Context, weekday: int, modifier: str | None, next_week: bool) -> date:
    if next_week or (modifier or "").lower() in ("next", "nächsten", "nächster", "nächste"):
        return ctx.monday(1) + timedelta(days=weekday)
    if (modifier or "").lower() in ("kommenden", "coming", "this coming"):
        # "coming Monday" said on a Monday means the one after today.
        return ctx.today + timedelta(days=(weekday - ctx.today.weekday() - 1) % 7 + 1)
    return ctx.today + timedelta(days=(weekday - ctx.today.weekday()) % 7)


def _span(m: re.Match[str], due: datetime) -> _Piece:
    return _Piece(m.start(), m.end(), "span", due=due)


def _hours_or_minutes(m: re.Match[str], lang: str, ctx: _Context) -> _Piece | None:
    unit = m.group("unit").lower()
    amount = _count(m.group("num"))
    if amount is None:
        return None
    minutes = unit.startswith("min")
    return _span(m, ctx.after(timedelta(minutes=amount) if minutes else timedelta(hours=amount)))


def _fixed_delta(delta: timedelta) -> _PieceMaker:
    return lambda m, lang, ctx: _span(m, ctx.after(delta))


def _business_days(m: re.Match[str], lang: str, ctx: _Context) -> _Piece | None:
    amount = _count(m.group("num")) if m.groupdict().get("num") else 1
    if amount is None:
        return None
    return _span(m, ctx.cob(ctx.calendar.nth_business_day(ctx.today, amount)))


def _calendar_days(m: re.Match[str], lang: str, ctx: _Context) -> _Piece | None:
    amount = _count(m.group("num")) if m.groupdict().get("num") else 1
    if amount is None:
        return None
    return _span(m, ctx.cob(ctx.today + timedelta(days=amount)))


def _weeks(m: re.Match[str], lang: str, ctx: _Context) -> _Piece | None:
    amount = _count(m.group("num")) if m.groupdict().get("num") else 1
    if amount is None:
        return None
    return _span(m, ctx.cob(ctx.today + timedelta(days=7 * amount)))


def _this_week(m: re.Match[str], lang: str, ctx: _Context) -> _Piece:
    return _span(m, ctx.cob(ctx.last_business_day_of_week(ctx.monday())))


def _next_week(m: re.Match[str], lang: str, ctx: _Context) -> _Piece:
    return _span(m, ctx.cob(ctx.last_business_day_of_week(ctx.monday(1))))


def _early_next_week(m: re.Match[str], lang: str, ctx: _Context) -> _Piece:
    return _span(m, ctx.cob(ctx.monday(1) + timedelta(days=1)))


def _month_end(m: re.Match[str], lang: str, ctx: _Context) -> _Piece:
    named = m.groupdict().get("month")
    if named:
        month = (_EN_MONTHS if lang == "en" else _DE_MONTHS)[named.lower()]
        year = ctx.today.year if month >= ctx.today.month else ctx.today.year + 1
    else:
        year, month = ctx.today.year, ctx.today.month
    return _span(m, ctx.cob(ctx.last_business_day_of_month(year, month)))


def _next_month_end(m: re.Match[str], lang: str, ctx: _Context) -> _Piece:
    year, month = (ctx.today.year + 1, 1) if ctx.today.month == 12 else (ctx.today.year, ctx.today.month + 1)
    return _span(m, ctx.cob(ctx.last_business_day_of_month(year, month)))


def _quarter_end(m: re.Match[str], lang: str, ctx: _Context) -> _Piece:
    """The end of this quarter, the next ("end of next quarter") or a named one ("end of Q3")."""
    named = m.groupdict().get("q") or m.groupdict().get("q2")
    year = ctx.today.year
    if named:
        month = 3 * int(named)
        if ctx.last_business_day_of_month(year, month) < ctx.today and month < ctx.today.month:
            year += 1
    else:
        month = 3 * ((ctx.today.month - 1) // 3 + 1)
        if m.groupdict().get("next"):
            month += 3
            if month > 12:
                year, month = year + 1, month - 12
    return _span(m, ctx.cob(ctx.last_business_day_of_month(year, month)))


def _year_end(m: re.Match[str], lang: str, ctx: _Context) -> _Piece:
    year = ctx.today.year + (1 if m.groupdict().get("next") else 0)
    return _span(m, ctx.cob(ctx.last_business_day_of_month(year, 12)))


_FIXED_HOLIDAYS = {
    "christmas eve": (12, 24), "christmas": (12, 25), "christmas day": (12, 25), "boxing day": (12, 26),
    "new year's eve": (12, 31), "new years eve": (12, 31), "new year": (1, 1), "new year's": (1, 1),
    "new year's day": (1, 1), "new years day": (1, 1),
    "heiligabend": (12, 24), "weihnachten": (12, 24), "silvester": (12, 31), "neujahr": (1, 1),
    "halloween": (10, 31), "valentinstag": (2, 14), "valentine's day": (2, 14), "valentines day": (2, 14),
    "independence day": (7, 4),
    "the fourth of july": (7, 4), "fourth of july": (7, 4),
}
# Holidays on the nth weekday of a month (US and UK shopping calendars customers write in): (month, weekday,
# n, days added); n = -1 is the last such weekday.
_NTH_WEEKDAY_HOLIDAYS = {
    "thanksgiving": (11, 3, 4, 0), "thanksgiving day": (11, 3, 4, 0), "black friday": (11, 3, 4, 1),
    "cyber monday": (11, 3, 4, 4), "labor day": (9, 0, 1, 0), "labour day": (9, 0, 1, 0),
    "memorial day": (5, 0, -1, 0),
}
_EASTER_HOLIDAYS = {  # days from Easter Sunday
    "good friday": -2, "easter": 0, "easter sunday": 0, "easter monday": 1,
    "karfreitag": -2, "ostern": 0, "ostersonntag": 0, "ostermontag": 1,
}


# Days a holiday goes on after its date: "bis Weihnachten" said on the 25th is this Christmas, just passed, not
# next year's.
_HOLIDAY_LASTS = {"weihnachten": 2}


def _easter(year: int) -> date:
    """Easter Sunday of the Gregorian calendar (the anonymous "Meeus/Jones/Butcher" computus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_shift) // 451
    month, day = divmod(h + weekday_shift - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _holiday_date(name: str, year: int) -> date:
    if name in _NTH_WEEKDAY_HOLIDAYS:
        month, weekday, nth, plus = _NTH_WEEKDAY_HOLIDAYS[name]
        if nth > 0:
            first = date(year, month, 1)
            nth_day = first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
        else:
            last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
            nth_day = last - timedelta(days=(last.weekday() - weekday) % 7)
        return nth_day + timedelta(days=plus)
    if name in _EASTER_HOLIDAYS:
        return _easter(year) + timedelta(days=_EASTER_HOLIDAYS[name])
    month, day = _FIXED_HOLIDAYS[name]
    return date(year, month, day)


def _holiday(m: re.Match[str], lang: str, ctx: _Context) -> _Piece:
    """ "before Christmas", "by Easter", "vor Weihnachten": the last business day before the holiday.

    "by" a holiday the office works on ("by New Year's Eve") is that day's close; before it, or by a
    holiday the office is closed on, it is the close of the last business day before it.
    """
    name = re.sub(r"\s+", " ", m.group("h").lower().replace("’", "'"))
    holiday = _holiday_date(name, ctx.today.year)
    if holiday + timedelta(days=_HOLIDAY_LASTS.get(name, 0)) < ctx.today:
        holiday = _holiday_date(name, ctx.today.year + 1)
    strictly_before = m.group("prep").lower().split()[-1] in ("before", "of", "vor")
    day = holiday if not strictly_before and ctx.calendar.is_business_day(holiday) \
        else ctx.calendar.previous_business_day(holiday)
    return _span(m, ctx.cob(day))


def _first_thing(m: re.Match[str], lang: str, ctx: _Context) -> _Piece:
    # "first thing" with no day named is the next business morning.
    return _Piece(m.start(), m.end(), "part", part="morning",
                  default_day=ctx.calendar.nth_business_day(ctx.today, 1))


def _part_by(m: re.Match[str], lang: str, ctx: _Context) -> _Piece:
    # "by the end of the afternoon", "by mid-afternoon": today's, unless a day is named next to it.
    return _Piece(m.start(), m.end(), "part", part=_PARTS[m.group("p").lower()], default_day=ctx.today)


def _day_offset(days: int) -> _PieceMaker:
    return lambda m, lang, ctx: _Piece(m.start(), m.end(), "day", day=ctx.today + timedelta(days=days))


def _eod(m: re.Match[str], lang: str, ctx: _Context) -> _Piece:
    return _Piece(m.start(), m.end(), "eod")


def _today_eod(m: re.Match[str], lang: str, ctx: _Context) -> _Piece:
    # "later today", "heute noch": close of business today, and a day for clock times that follow.
    return _Piece(m.start(), m.end(), "eod", day=ctx.today)


_CLOCK_NEXT = re.compile(
    r"\s*,?\s*(?:at\s+)?\d{1,2}(?:[:.]\d{2})?\s*(?:[ap]\.?m\b|:|\.\d)|\s*,?\s*(?:noon|midday|eod|cob)\b", re.IGNORECASE)
_DAY_PREP_BEFORE = re.compile(r"\b(?:by|on|before|until|till|next|this|coming)\s+$", re.IGNORECASE)


def _weekday_piece(m: re.Match[str], lang: str, ctx: _Context) -> _Piece | None:
    name = m.group("wd")
    table = _EN_WEEKDAYS if lang == "en" else _DE_WEEKDAYS
    if lang == "en" and not name.lower().endswith("day") and not name[0].isupper() and not (
            _CLOCK_NEXT.match(m.string, m.end()) or _DAY_PREP_BEFORE.search(m.string[:m.start()])):
        # Abbreviations ("wed", "thu") may be other words; lower-case, they name days only next to a clock
        # time ("fri 5pm") or after a preposition that takes a day ("by fri", "on thurs").
        return None
    if lang == "en" and _POSSESSIVE.match(m.string, m.end()) and not _POSSESSIVE_LEAD.search(m.string[:m.start()]):
        return None  # "Friday's update was late"; but "before Friday's induction" is a day
    day = _weekday(ctx, table[name.lower()], m.groupdict().get("mod"), bool(m.groupdict().get("nw")))
    part = m.groupdict().get("part")
    plain = not m.groupdict().get("mod") and not m.groupdict().get("nw")
    return _Piece(m.start(), m.end(), "day", day=day, part=_PARTS[part.lower()] if part else None,
                  weekday=plain or (m.groupdict().get("mod") or "").lower() in ("this", "diesen"))


def _date_dm(m: re.Match[str], lang: str, ctx: _Context) -> _Piece | None:
    months = _EN_MONTHS if lang == "en" else _DE_MONTHS
    month = int(m.group("m")) if m.groupdict().get("m") else months[m.group("mon").lower().rstrip(".")]
    year = int(m.group("y")) if m.groupdict().get("y") else None
    day = _resolve_day_of_month(ctx, int(m.group("d")), month, year)
    return None if day is None else _Piece(m.start(), m.end(), "day", day=day, explicit=True)


def _day_of_month(m: re.Match[str], lang: str, ctx: _Context) -> _Piece | None:
    day = _resolve_day_of_month(ctx, int(m.group("d")), None, None)
    return None if day is None else _Piece(m.start(), m.end(), "day", day=day, explicit=True)


def _part(m: re.Match[str], lang: str, ctx: _Context) -> _Piece:
    word = m.group("p").lower()
    # "this morning", "tonight", "heute Abend" carry their day; a bare "morning" needs a neighbour.
    today = m.groupdict().get("today")
    part = _PARTS[word]
    if part == "noon" and not today:
        return _Piece(m.start(), m.end(), "clock", hour=12, meridiem="pm")
    return _Piece(m.start(), m.end(), "part", part=part, day=ctx.today if today else None, needs_day=not today)


_NOT_A_CLOCK_TAIL = re.compile(
    r"\s*(?:%|percent|prozent|users?|nutzer|days?|tage?n?|hours?|stunden?|minutes?|minuten|weeks?|wochen?|"
    r"business|working|werktage?n?|items?|of|von|st\b|nd\b|rd\b|th\b)")


def _clock(m: re.Match[str], lang: str, ctx: _Context) -> _Piece | None:
    hour = int(m.group("h"))
    minute = int(m.group("min")) if m.groupdict().get("min") else 0
    separator = m.groupdict().get("sep")
    meridiem_text = (m.groupdict().get("ap") or "").lower().replace(".", "")
    marker = (m.groupdict().get("uhr") or "").lower()
    prep = (m.groupdict().get("prep") or "").lower()
    meridiem = meridiem_text if meridiem_text in ("am", "pm") else None
    # A bare number is a time only with a preposition that takes times, "Uhr"/"o'clock", am/pm or a colon;
    # a dot (4.30) only after such a preposition, so version numbers stay numbers.
    if not (meridiem or marker or separator == ":" or prep):
        return None
    if separator == "." and not (prep or marker or meridiem):
        return None
    tail = m.string[m.end():m.end() + 24].lower()
    # "at 10 of them", "10 von 12", "2 business days": a bare number followed by a unit is no time of day.
    bare = not (marker or meridiem or separator == ":")
    if re.match(r"\s*[./-]\d", tail) or bare and _NOT_A_CLOCK_TAIL.match(tail):
        return None
    if hour > 24 or minute > 59 or (meridiem and not 1 <= hour <= 12):
        return None
    return _Piece(m.start(), m.end(), "clock", hour=hour % 24, minute=minute, meridiem=meridiem)


def _clock_window(m: re.Match[str], lang: str, ctx: _Context) -> _Piece | None:
    hour, minute = int(m.group("h")), int(m.group("min") or 0)
    meridiem = (m.groupdict().get("ap") or "").lower().replace(".", "") or None
    if hour > 23 or minute > 59:
        return None
    return _Piece(m.start(), m.end(), "clock", hour=hour, minute=minute, meridiem=meridiem)


def _half_hour(m: re.Match[str], lang: str, ctx: _Context) -> _Piece | None:
    # German "halb drei" is 2:30.
    number = _count(m.group("n"))
    if number is None or not 1 <= number <= 12:
        return None
    return _Piece(m.start(), m.end(), "clock", hour=number - 1 if number > 1 else 12, minute=30)


def _part_today(m: re.Match[str], lang: str, ctx: _Context) -> _Piece:
    return _Piece(m.start(), m.end(), "part", part=_PARTS[m.group("p").lower()], day=ctx.today)


def _fixed_days(days: int) -> _PieceMaker:
    return lambda m, lang, ctx: _span(m, ctx.cob(ctx.today + timedelta(days=days)))


def _tomorrow_de(m: re.Match[str], lang: str, ctx: _Context) -> _Piece | None:
    # "Morgen" is also the noun "morning": "heute Morgen", "am Morgen", "Guten Morgen".
    before = m.string[max(0, m.start() - 8):m.start()].lower()
    if re.search(r"\b(?:heute|am|guten|jeden|gestern|diesen|den|vom|zum)\s+$", before):
        return None
    return _Piece(m.start(), m.end(), "day", day=ctx.today + timedelta(days=1))


_Grammar = list[tuple[re.Pattern[str], _PieceMaker]]


def _grammar(rules: list[tuple[str, _PieceMaker]]) -> _Grammar:
    return [(re.compile(pattern, re.IGNORECASE), maker) for pattern, maker in rules]


# "within", or a request to wait: "give me two days", "allow us 5 business days".
# "give me", "allow us", "give our backup team": whose time is asked for.
_EN_WAIT_WHO = (r"(?:me|us|(?:our|my)\s+(?:[\w-]+\s+){0,2}?(?:team|teams|engineers?|developers?|technicians?|"
                r"colleagues?|department|staff|support|specialists?))")
_EN_WITHIN = (rf"(?:(?:with)?in|(?:give|allow)\s+{_EN_WAIT_WHO}(?:\s+(?:another|an\s+extra|a\s+further))?"
              r"(?:\s+up\s+to)?|"
              r"allow(?:\s+up\s+to)?|"
              r"(?:bear|stay|be\s+patient)\s+with\s+(?:me|us)\s+for(?:\s+(?:another|an\s+extra|a\s+further))?|"
              r"(?:bear|stay|be\s+patient)\s+with\s+(?:me|us)\s+(?:another|an\s+extra|a\s+further))")
_EN_HOLIDAY = (r"(?P<h>Christmas\s+Eve|Christmas\s+Day|Christmas|Boxing\s+Day|New\s+Year(?:['\u2019]?s)?\s+Eve|"
               r"New\s+Year(?:['\u2019]?s)?\s+Day|New\s+Year(?:['\u2019]s)?|Good\s+Friday|Easter\s+Sunday|"
               r"Easter\s+Monday|Easter|Thanksgiving(?:\s+Day)?|Black\s+Friday|Cyber\s+Monday|Labou?r\s+Day|"
               r"Memorial\s+Day|Halloween|Valentine(?:['\u2019]?s)?\s+Day|Independence\s+Day|(?:the\s+)?Fourth\s+of\s+July)")

_EN_GRAMMAR = _grammar([
    # Spans that resolve on their own.
    (rf"\b{_EN_WITHIN}\s+(?:the\s+)?(?:next\s+)?half\s+an?\s+hour\b", _fixed_delta(timedelta(minutes=30))),
    (r"\bwithin\s+(?:the\s+)?(?:next\s+)?hour\b", _fixed_delta(timedelta(hours=1))),
    (rf"\b{_EN_WITHIN}\s+(?:the\s+)?(?:next\s+)?{_EN_COUNT}\s+(?P<unit>hours?|hrs?|minutes?|mins?)\b",
     _hours_or_minutes),
    (rf"\b{_EN_WITHIN}\s+(?:the\s+)?(?:next\s+)?{_EN_COUNT}\s+(?:business|working)\s+days?\b", _business_days),
    (r"\b(?:(?:by|on|within)\s+)?(?:the\s+)?next\s+(?:business|working)\s+day\b", _business_days),
    (rf"\b{_EN_WITHIN}\s+a\s+day\s+or\s+two\b", _fixed_days(2)),
    (rf"\b{_EN_WITHIN}\s+(?:the\s+)?(?:next\s+)?{_EN_COUNT}\s+(?:calendar\s+)?days?\b", _calendar_days),
    (r"\bwithin\s+(?:a|one|the\s+next)\s+day\b", _calendar_days),
    (rf"\b{_EN_WITHIN}\s+(?:the\s+)?(?:next\s+)?{_EN_COUNT}\s+weeks?\b", _weeks),
    (r"\b(?:(?:by|before)\s+)?(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?week\b|\b(?:later\s+)?this\s+week\b|"
     r"\b(?:before|by)\s+the\s+weekend\b", _this_week),
    (r"\blater\s+in\s+the\s+week\b", _this_week),
    (r"\b(?:in|over|during|within)\s+the\s+(?:coming|next)\s+week\b", _fixed_days(7)),
    (r"\b(?:early|(?:at\s+)?(?:the\s+)?(?:beginning|start)\s+of)\s+next\s+week\b", _early_next_week),
    (r"\b(?:(?:by|before)\s+)?(?:the\s+)?end\s+of\s+next\s+week\b|\b(?:later\s+)?next\s+week\b", _next_week),
    (r"\b(?:(?:by|before)\s+)?(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?month\b|\bmonth[-\s]end\b",
     _month_end),
    (rf"\b(?:(?:by|before)\s+)?(?:the\s+)?end\s+of\s+(?P<month>{_EN_MONTH})\b", _month_end),
    (r"\b(?:(?:by|before)\s+)?(?:the\s+)?end\s+of\s+next\s+month\b", _next_month_end),
    (r"\b(?:(?:by|before)\s+)?(?:the\s+)?end\s+of\s+(?:the\s+|this\s+|(?P<next>next)\s+)?quarter\b|"
     r"\b(?:(?:by|before)\s+)?(?:the\s+)?quarter[-\s]end\b", _quarter_end),
    (r"\b(?:(?:by|before)\s+)?(?:the\s+)?end\s+of\s+(?-i:Q)(?P<q>[1-4])\b|\b(?-i:Q)(?P<q2>[1-4])[-\s]end\b",
     _quarter_end),
    (r"\b(?:(?:by|before)\s+)?(?:the\s+)?end\s+of\s+(?:the\s+|this\s+|(?P<next>next)\s+)?(?:calendar\s+)?year\b|"
     r"\b(?:(?:by|before)\s+)?(?:the\s+)?(?:year[-\s]end|end[-\s]of[-\s]year)\b", _year_end),
    (rf"\b(?P<prep>by|before|ahead\s+of|in\s+time\s+for)\s+(?:the\s+)?{_EN_HOLIDAY}(?:\s+(?:break|holidays?))?\b",
     _holiday),
    # End of the business day, on its own or next to a day ("EOD tomorrow", "end of day Friday").
    (r"\blater\s+today\b|\b(?:by\s+)?(?:the\s+)?end\s+of\s+today\b", _today_eod),
    (r"\b(?:by\s+|before\s+)?(?:the\s+)?(?:end|close)\s+of\s+(?:the\s+)?(?:business\s+|working\s+)?"
     r"(?:day|business|play)\b|\b(?-i:EOD|COB|EOB)\b", _eod),
    # Days.
    (r"\btoday\b", _day_offset(0)),
    (r"\b(?:the\s+)?day\s+after\s+tomorrow\b", _day_offset(2)),
    (r"\btomorrow\b(?!['\u2019]s)", _day_offset(1)),
    (rf"\b(?:(?P<mod>next|this\s+coming|this|coming)\s+)?(?P<wd>{_EN_WEEKDAY})\b"
     r"(?:\s+(?:of\s+)?(?P<nw>next\s+week))?", _weekday_piece),
    (rf"\b(?:the\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+(?P<mon>{_EN_MONTH})\.?(?:,?\s+(?P<y>\d{{4}}))?\b",
     _date_dm),
    (rf"\b(?P<mon>{_EN_MONTH})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y>\d{{4}})\b)?", _date_dm),
    (rf"\b(?:on|by|before)\s+the\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)\b(?!\s+(?:of\s+)?{_EN_MONTH})", _day_of_month),
    (r"\b(?:on|by|before)\s+(?P<d>\d{1,2})/(?P<m>\d{1,2})(?:/(?P<y>\d{2,4}))?\b(?![/.-]\d)", _date_dm),
    (r"(?<![\d#/-])\b(?P<y>20\d\d)-(?P<m>\d\d)-(?P<d>\d\d)\b", _date_dm),
    # Parts of the day.
    (r"\b(?P<today>this|later\s+this)\s+(?P<p>morning|afternoon|evening)\b", _part),
    (r"\b(?P<today>)(?P<p>tonight)\b", _part_today),
    (r"\b(?P<p>first\s+thing)(?:\s+in\s+the\s+morning)?\b", _first_thing),
    (r"\b(?:by|before|until|till)\s+(?:the\s+)?(?:(?:end|middle)\s+of\s+the\s+|(?:mid|late|early)[-\s]?)?"
     r"(?P<p>morning|afternoon|evening)\b", _part_by),
    (r"\b(?:the\s+)?(?:(?:end|middle)\s+of\s+the\s+|(?:mid|late|early)[-\s]?)(?P<p>morning|afternoon|evening)\b",
     _part),
    (r"\b(?:in\s+the\s+)?(?P<p>morning|afternoon|evening|night)\b", _part),
    (r"\b(?:(?:by|at|before|around)\s+)?(?P<p>noon|midday|lunchtime)\b|\b(?:by|before|around)\s+(?P<p2>lunch)\b",
     lambda m, lang, ctx: _Piece(m.start(), m.end(), "clock", hour=12, meridiem="pm") if m.group("p2")
     else _part(m, lang, ctx)),
    # Clock times.
    (r"\bbetween\s+\d{1,2}(?:[:.]\d{2})?\s*(?:[ap]\.?m\.?)?\s+and\s+(?P<h>\d{1,2})(?:[:.](?P<min>\d{2}))?"
     r"\s*(?P<ap>[ap]\.?m\.?)?(?!\w)", _clock_window),
    (r"(?:\b(?P<prep>at|by|before|around|about)\s+)?\b(?P<h>\d{1,2})(?:(?P<sep>[:.])(?P<min>\d{2}))?"
     r"\s*(?:(?P<ap>[ap]\.?m\.?)(?!\w)|(?P<uhr>o['\u2019]clock))?", _clock),
])


_DE_WITHIN = r"(?:innerhalb|binnen|in|geben\s+Sie\s+(?:mir|uns)(?:\s+noch)?)"
_DE_HOLIDAY = (r"(?P<h>Heiligabend|Weihnachten|Silvester|Neujahr|Karfreitag|Ostersonntag|Ostermontag|Ostern|"
               r"Valentinstag|Halloween)")

_DE_GRAMMAR = _grammar([
    (r"\b(?:innerhalb|binnen|in)\s+(?:einer\s+)?halben\s+Stunde\b", _fixed_delta(timedelta(minutes=30))),
    (r"\b(?:innerhalb|binnen)\s+(?:der\s+(?:nächsten|kommenden)\s+|einer\s+)Stunde\b",
     _fixed_delta(timedelta(hours=1))),
    (rf"\b(?:innerhalb|binnen|in)\s+(?:von\s+|der\s+(?:nächsten|kommenden)\s+|den\s+(?:nächsten|kommenden)\s+)?"
     rf"{_DE_COUNT}\s+(?P<unit>Stunden?|Std\.?|Minuten?|Min\.?)(?!\w)", _hours_or_minutes),
    (rf"\b(?:innerhalb|binnen|in)\s+(?:von\s+|der\s+(?:nächsten|kommenden)\s+|den\s+(?:nächsten|kommenden)\s+)?"
     rf"{_DE_COUNT}\s+(?:Werk|Arbeits|Geschäfts)tag(?:en|es|e|s)?\b", _business_days),
    (r"\b(?:(?:am|bis\s+zum|zum)\s+)?(?:nächsten|folgenden)\s+(?:Werk|Arbeits|Geschäfts)tag\b", _business_days),
    (r"\b(?:innerhalb|binnen)\s+(?:von\s+)?ein\s+bis\s+zwei\s+Tagen\b|\bin\s+ein\s+bis\s+zwei\s+Tagen\b",
     _fixed_days(2)),
    (rf"\b(?:innerhalb|binnen|in)\s+(?:von\s+|der\s+(?:nächsten|kommenden)\s+|den\s+(?:nächsten|kommenden)\s+)?"
     rf"{_DE_COUNT}\s+Tag(?:en|es|e)?\b", _calendar_days),
    (rf"\bgeben\s+Sie\s+(?:mir|uns)(?:\s+bitte)?(?:\s+noch)?\s+{_DE_COUNT}\s+Tage?\b", _calendar_days),
    (rf"\bgeben\s+Sie\s+(?:mir|uns)(?:\s+bitte)?(?:\s+noch)?\s+{_DE_COUNT}\s+(?:Werk|Arbeits|Geschäfts)tage?\b",
     _business_days),
    (rf"\bgeben\s+Sie\s+(?:mir|uns)(?:\s+bitte)?(?:\s+noch)?\s+{_DE_COUNT}\s+(?P<unit>Stunden?|Minuten?)\b",
     _hours_or_minutes),
    (rf"\bgeben\s+Sie\s+(?:mir|uns)(?:\s+bitte)?(?:\s+noch)?\s+{_DE_COUNT}\s+Wochen?\b", _weeks),
    (rf"\b(?:innerhalb|binnen|in)\s+(?:von\s+|der\s+(?:nächsten|kommenden)\s+|den\s+(?:nächsten|kommenden)\s+)?"
     rf"{_DE_COUNT}\s+Wochen?\b", _weeks),
    (r"\b(?:noch\s+)?(?:in\s+)?diese[rn]?\s+Woche\b|\bim\s+Laufe\s+(?:der|dieser)\s+Woche\b|"
     r"\b(?:bis\s+)?(?:zum\s+)?Ende\s+(?:der|dieser)\s+Woche\b|\b(?:bis\s+zum|(?:noch\s+)?vor\s+dem)\s+Wochenende\b",
     _this_week),
    (r"\b(?:Anfang|Beginn)\s+(?:der\s+)?(?:nächsten|kommenden)\s+Woche\b|\b(?:Anfang|Beginn)\s+(?:nächster|kommender)\s+Woche\b",
     _early_next_week),
    (r"\b(?:(?:bis\s+)?(?:zum\s+)?Ende\s+)?(?:der\s+|in\s+der\s+|im\s+Laufe\s+der\s+)?(?:nächsten|kommenden)\s+Woche\b|"
     r"\b(?:(?:bis\s+)?(?:zum\s+)?Ende\s+)?(?:nächster|kommender)\s+Woche\b|\b(?:nächste|kommende)\s+Woche\b",
     _next_week),
    (r"\b(?:bis\s+)?(?:zum\s+)?Ende\s+(?:des|dieses)\s+Monats\b|\b(?:bis\s+(?:zum\s+)?)?Monatsende\b", _month_end),
    (rf"\b(?:bis\s+)?(?:zum\s+)?Ende\s+(?P<month>{_DE_MONTH})\b", _month_end),
    (r"\b(?:bis\s+)?(?:zum\s+)?Ende\s+(?:des\s+)?(?:nächsten|kommenden)\s+Monats\b", _next_month_end),
    (r"\b(?:bis\s+)?(?:zum\s+)?Ende\s+(?:des|dieses|(?P<next>des\s+nächsten|des\s+kommenden|nächsten))\s+Quartals\b|"
     r"\b(?:bis\s+(?:zum\s+)?)?Quartalsende\b", _quarter_end),
    (r"\b(?:bis\s+)?(?:zum\s+)?Ende\s+(?-i:Q)(?P<q>[1-4])\b", _quarter_end),
    (r"\b(?:bis\s+)?(?:zum\s+)?Ende\s+(?:des|dieses|(?P<next>des\s+nächsten|des\s+kommenden|nächsten))\s+Jahres\b|"
     r"\b(?:bis\s+(?:zum\s+)?)?Jahresende\b|\b(?:bis\s+zum|vor\s+dem)\s+Jahreswechsel\b", _year_end),
    (rf"\b(?P<prep>bis|bis\s+vor|noch\s+vor|vor|spätestens\s+vor|bis\s+zu)\s+(?:dem\s+|zum\s+)?{_DE_HOLIDAY}\b",
     _holiday),
    (r"\b(?:heute\s+noch|noch\s+heute|im\s+Laufe\s+des\s+(?:heutigen\s+)?Tages|später\s+am\s+Tag)\b", _today_eod),
    (r"\b(?:(?:bis|vor)\s+)?(?:zum\s+)?(?:Feierabend|Dienstschluss|Geschäftsschluss|Büroschluss|"
     r"Ende\s+des\s+(?:Arbeits|Geschäfts)?tages)\b", _eod),
    (r"\bheute\b", _day_offset(0)),
    (r"\bübermorgen\b", _day_offset(2)),
    (r"\bmorgen\b", _tomorrow_de),
    (rf"\b(?:(?P<mod>nächsten|nächster|kommenden|diesen)\s+)?(?P<wd>{_DE_WEEKDAY})"
     r"(?P<part>vormittag|nachmittag|abend|morgen|mittag|früh)?\b"
     r"(?:\s+(?P<nw>(?:der\s+)?(?:nächsten|kommenden)\s+Woche|(?:nächster|kommender)\s+Woche))?", _weekday_piece),
    (rf"\b(?P<d>\d{{1,2}})\.\s*(?P<mon>{_DE_MONTH})\b\.?(?:\s+(?P<y>\d{{4}})\b)?", _date_dm),
    (r"(?<![\d.])\b(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?:(?P<y>\d{4}|\d{2})\b)?(?!\d)", _date_dm),
    (r"(?<![\d#/-])\b(?P<y>20\d\d)-(?P<m>\d\d)-(?P<d>\d\d)\b", _date_dm),
    (rf"\b(?:am|bis\s+zum|zum|bis\s+am)\s+(?P<d>\d{{1,2}})\.(?!\d)(?!\s*(?:{_DE_MONTH})\b)", _day_of_month),
    (r"\b(?P<today>heute)\s+(?P<p>früh|Morgen|Vormittag|Mittag|Nachmittag|Abend|Nacht)\b", _part),
    (r"\b(?:am\s+|zum\s+|bis\s+)?(?P<p>früh|Vormittag|Nachmittag|Abend|Nacht|Mittag|mittags|abends)\b", _part),
    (r"\bzwischen\s+\d{1,2}(?:[:.]\d{2})?\s*(?:Uhr\s+)?und\s+(?P<h>\d{1,2})(?:[:.](?P<min>\d{2}))?\s*(?:Uhr)?",
     _clock_window),
    (rf"\b(?:um\s+|gegen\s+|bis\s+)?halb\s+(?P<n>\d{{1,2}}|{_alternation(_DE_NUMBERS)})\b", _half_hour),
    (r"(?:\b(?P<prep>um|gegen)\s+)?(?:\b(?:bis|vor|spätestens)\s+)?\b(?P<h>\d{1,2})(?:(?P<sep>[:.])(?P<min>\d{2}))?"
     r"\s*(?P<uhr>Uhr\b|h\b)?", _clock),
])


_GRAMMARS: dict[str, _Grammar] = {"en": _EN_GRAMMAR, "de": _DE_GRAMMAR}

# Words in front of a time that make it not a due time: past ("last Friday", "since Monday"), start
# ("from Monday", "ab Montag"), a duration's end ("until Friday"), a schedule ("every Tuesday", "jeden Dienstag")
# or a different thing's date ("my email of 3 November").
_EN_NOT_DUE_BEFORE = re.compile(r"\b(?:last|since|from|until|till|every|each|of|past|previous)\s+(?:the\s+)?$",
                                re.IGNORECASE)
_DE_NOT_DUE_BEFORE = re.compile(
    r"\b(?:seit|ab|letzte[nmrs]?|vergangene[nmrs]?|vorige[nmrs]?|jede[nmrs]?|vom)\s+(?:dem\s+)?$", re.IGNORECASE)
# "before Friday", "before the 20th", "vor Donnerstag": the day is the limit, not the due day.
_EN_BEFORE = re.compile(r"\b(?:before|ahead\s+of|in\s+advance\s+of)\s+(?:the\s+)?$", re.IGNORECASE)
# "ahead of Thursday's deadline" is a limit, not "my email of 3 November".
_EN_AHEAD_OF = re.compile(r"\b(?:ahead|in\s+advance)\s+of\s+(?:the\s+)?$", re.IGNORECASE)
_DE_BEFORE = re.compile(r"\b(?:noch\s+)?vor\s+(?:dem\s+)?$", re.IGNORECASE)
_BEFORE_START = re.compile(r"(?:before|vor)\b", re.IGNORECASE)
# A request to wait ends in "until": "give me until Thursday", "bear with us till Friday", "geben Sie mir bis …".
_WAIT_UNTIL = re.compile(
    r"(?:\b(?:give|allow)\s+(?:me|us)|\bbear\s+with\s+(?:me|us)|\bhang\s+(?:on|tight|in\s+there)|"
    r"\bhold\s+(?:on|tight)|\bsit\s+tight)\s+(?:until|till)\s+$",
    re.IGNORECASE)
_NOT_DUE_AFTER = re.compile(r"^(?:['\u2019]s\b|\s+ago\b)", re.IGNORECASE)
# "before Friday's induction", "by Monday's meeting": a weekday's event dates the promise.
_POSSESSIVE = re.compile(r"['\u2019]s\b")
_POSSESSIVE_LEAD = re.compile(
    r"\b(?:before|by|ahead\s+of|in\s+advance\s+of|in\s+time\s+for)\s+(?:this\s+|next\s+|the\s+)?$", re.IGNORECASE)
# What may stand between two pieces of one expression: "Tuesday, 24 November, at 11:00", "Montag, den 7.".
_JOINER = re.compile(
    r"^(?:\s|,|(?<![\w])(?:at|on|by|around|about|the|of|um|am|den|gegen|spätestens|latest|at\s+the\s+latest)(?![\w]))*$",
    re.IGNORECASE,
)
_OR_JOINER = re.compile(r"^\s*(?:,\s*)?(?:or|oder|or\s+at\s+the\s+latest|spätestens\s+aber)\s*$", re.IGNORECASE)


def _pieces(sentence: str, lang: str, ctx: _Context) -> list[_Piece]:
    """All recognised pieces, longest first where they overlap."""
    candidates: list[_Piece] = []
    for pattern, maker in _GRAMMARS[lang]:
        for match in pattern.finditer(sentence):
            if match.end() == match.start():
                continue
            piece = maker(match, lang, ctx)
            if piece is not None:
                candidates.append(piece)
    candidates.sort(key=lambda piece: (piece.start, -(piece.end - piece.start)))
    kept: list[_Piece] = []
    for piece in candidates:
        if kept and piece.start < kept[-1].end:
            # Overlap: keep the longer of the two ("end of next week" beats "next week").
            if piece.end - piece.start > kept[-1].end - kept[-1].start:
                kept[-1] = piece
            continue
        kept.append(piece)
    not_due_before = _EN_NOT_DUE_BEFORE if lang == "en" else _DE_NOT_DUE_BEFORE
    before = _EN_BEFORE if lang == "en" else _DE_BEFORE
    pieces: list[_Piece] = []
    for piece in kept:
        lead = sentence[max(0, piece.start - 40):piece.start]
        if not_due_before.search(lead[-20:]) and not _WAIT_UNTIL.search(lead) and not (
                lang == "en" and _EN_AHEAD_OF.search(lead)):
            continue
        if _NOT_DUE_AFTER.match(sentence[piece.end:piece.end + 6]) and not (
                piece.weekday and _POSSESSIVE.match(sentence, piece.end) and _POSSESSIVE_LEAD.search(lead)):
            continue
        if piece.kind == "day" and (before.search(lead) or _BEFORE_START.match(sentence, piece.start)):
            piece = replace(piece, before=True)
        pieces.append(piece)
    return pieces


def _groups(sentence: str, pieces: list[_Piece]) -> Iterator[list[_Piece]]:
    """Runs of adjacent pieces that make one expression; a span always stands alone."""
    group: list[_Piece] = []
    for piece in pieces:
        if group:
            gap = sentence[group[-1].end:piece.start]
            kinds = [p.kind for p in group]
            joinable = (
                _JOINER.match(gap) is not None
                and piece.kind != "span" and "span" not in kinds
                and (piece.kind not in kinds or piece.kind in ("day", "part"))
            )
            if not joinable:
                yield group
                group = []
        group.append(piece)
    if group:
        yield group


def _adjust_hour(piece: _Piece, part: str | None) -> time:
    hour = piece.hour
    if piece.meridiem == "am":
        hour = 0 if hour == 12 else hour
    elif piece.meridiem == "pm":
        hour = hour if hour == 12 else hour + 12
    elif hour < 12 and (part in ("afternoon", "evening", "night") or (part != "morning" and 1 <= hour <= 7)):
        # Bare business-hours reading: "at 3" is 15:00, "this evening at 7" is 19:00.
        hour += 12
    return time(hour % 24, piece.minute)


def _resolve(group: list[_Piece], ctx: _Context, earlier_day: date | None) -> tuple[datetime, date | None] | None:
    """One expression's due instant and the day it names (None when it is not a complete time)."""
    spans = [piece for piece in group if piece.kind == "span"]
    if spans:
        due = spans[0].due
        return (due, None) if due is not None else None
    days = [piece for piece in group if piece.day is not None and piece.kind == "day"]
    explicit = [piece for piece in days if piece.explicit]
    chosen = explicit[0] if explicit else (days[0] if days else None)
    day = chosen.day if chosen else None
    parts = [piece.part for piece in group if piece.part]
    part = parts[-1] if parts else None
    clocks = [piece for piece in group if piece.kind == "clock"]
    eod = [piece for piece in group if piece.kind == "eod"]
    if day is None:
        carried = [piece.day for piece in group if piece.day is not None]
        defaults = [piece.default_day for piece in group if piece.default_day is not None]
        day = carried[0] if carried else (defaults[0] if defaults else None)
    if day is None:
        if any(piece.kind == "part" and piece.needs_day for piece in group) and not clocks:
            return None  # "in the morning" alone says nothing about which morning
        if clocks:
            day = earlier_day or ctx.today
            clock = _adjust_hour(clocks[-1], part)
            due = ctx.at(day, clock)
            if earlier_day is None and due <= ctx.ref:
                day = day + timedelta(days=1)
                due = ctx.at(day, clock)
            return due, day
        if eod:
            return ctx.cob(ctx.today), ctx.today
        return None
    if clocks:
        return ctx.at(day, _adjust_hour(clocks[-1], part)), day
    if chosen is not None and chosen.before and not part:
        # "before Friday", "before the 20th": close of business on the last business day before that day.
        day = ctx.calendar.previous_business_day(day)
        return ctx.cob(day), day
    if eod:
        return ctx.cob(day), day
    if part == "morning" or part == "noon":
        return ctx.at(day, _MORNING if part == "morning" else _NOON), day
    if part == "evening":
        return ctx.at(day, _EVENING), day
    if part == "night":
        return ctx.at(day, _NIGHT), day
    return ctx.cob(day), day


def _ahead(group: list[_Piece], due: datetime, day: date | None, ctx: _Context) -> tuple[datetime, date | None] | None:
    """No promise is due before it was made: an expression whose time has passed when said moves on.

    * a named weekday ("Friday", "this Friday at 10", "Freitag") → the same weekday a week later;
    * a calendar date before today ("on 3 December 2026" said on the 5th) → not a due time at all;
    * everything else that names today or a period that has just ended ("today", "EOD", "this afternoon",
      "tonight", "this week", "by the end of the month/quarter/year", today's date, "before the weekend")
      → close of business on the next business day.

    A clock time without a day already means tomorrow once it has passed (see ``_resolve``); spans
    ("within 2 hours", "in 3 days") always lie ahead.
    """
    if due > ctx.ref:
        return due, day
    explicit = any(piece.explicit for piece in group)
    if explicit and day is not None and day < ctx.today:
        return None
    if day is not None and not explicit and any(piece.weekday and not piece.before for piece in group):
        later = day + timedelta(days=7)
        if due == ctx.cob(day):
            return ctx.cob(later), later
        return ctx.at(later, due.astimezone(ctx.calendar.tz).time()), later
    following = ctx.calendar.nth_business_day(ctx.today, 1)
    return ctx.cob(following), following


# A time relative to another event in the same sentence: "the day after the installation on Wednesday", "two
# business days after the release on Monday", "within two hours of the maintenance at 10pm", and, with the event
# named before it, "our technician visits on Wednesday, and I'll call you the day after".
_EN_RELATIVE = re.compile(
    rf"\b(?:the\s+)?(?:(?P<num>{_EN_NUM})\s+(?P<bd>(?:business|working)\s+)?(?P<unit>days?|hours?|minutes?|weeks?)|"
    r"(?P<single>day|morning|afternoon|evening|week))\s+(?P<dir>after|following|before|prior\s+to)\b|"
    rf"\bwithin\s+(?P<wnum>{_EN_NUM})\s+(?P<wbd>(?:business|working)\s+)?(?P<wunit>days?|hours?|minutes?)\s+of\b|"
    # "we'll deliver the beams the same afternoon", "our fitter will install them the following day": the event is
    # named earlier in the sentence.
    r"\bthe\s+(?P<same>same|following)\s+(?P<sunit>day|morning|afternoon|evening)\b",
    re.IGNORECASE,
)
# "Once the part arrives on Tuesday, we'll have it installed within two days": the span counts from that day.
_EN_ONCE = re.compile(r"^\s*(?:once|after|when|as\s+soon\s+as)\b", re.IGNORECASE)
_EN_DAYS_SPAN = re.compile(
    rf"\bwithin\s+(?:the\s+next\s+)?(?P<num>{_EN_NUM})\s+(?P<bd>(?:business|working)\s+)?(?P<unit>days?|hours?)\b",
    re.IGNORECASE)


def _relative_due(match: re.Match[str], anchor: _When, ctx: _Context) -> tuple[datetime, date | None] | None:
    """The due instant of an offset ("two days", "the morning") after an event that falls at ``anchor``."""
    groups = match.groupdict()
    day = anchor.day or anchor.due.astimezone(ctx.calendar.tz).date()
    single = (groups.get("single") or groups.get("sunit") or "").lower()
    if (groups.get("same") or "").lower() == "same":
        if single == "morning":
            return ctx.at(day, _MORNING), day
        if single == "evening":
            return ctx.at(day, _EVENING), day
        return ctx.cob(day), day
    # "three days before the event on the 22nd", "the day before the visit on Friday": counted backwards.
    sign = -1 if (groups.get("dir") or "").lower().startswith(("before", "prior")) else 1
    if single:
        following = day + timedelta(days=sign)
        if single == "week":
            week_after = day + timedelta(days=7 * sign)
            last = ctx.last_business_day_of_week(week_after - timedelta(days=week_after.weekday()))
            return ctx.cob(last), last
        if single == "morning":
            return ctx.at(following, _MORNING), following
        if single == "evening":
            return ctx.at(following, _EVENING), following
        return ctx.cob(following), following
    amount = _count(groups.get("num") or groups.get("wnum") or "")
    unit = (groups.get("unit") or groups.get("wunit") or "").lower()
    if amount is None:
        return None
    if unit.startswith(("hour", "minute")):
        delta = timedelta(hours=amount) if unit.startswith("hour") else timedelta(minutes=amount)
        due = (anchor.due.astimezone(UTC) + sign * delta).astimezone(ctx.calendar.tz)
        return due, due.date()
    if groups.get("bd") or groups.get("wbd"):
        if sign > 0:
            target = ctx.calendar.nth_business_day(day, amount)
        else:
            target = day
            for _ in range(amount):
                target = ctx.calendar.previous_business_day(target)
        return ctx.cob(target), target
    target = day + timedelta(days=sign * amount * (7 if unit.startswith("week") else 1))
    return ctx.cob(target), target


def _relative(sentence: str, lang: str, found: list[_When], ctx: _Context) -> list[_When]:
    """Re-date the expressions that count from another event named in the same sentence."""
    if lang != "en" or not found:
        return found
    for match in _EN_RELATIVE.finditer(sentence):
        # The offset's own words may have been read as a span ("within two hours"): the event decides instead.
        whens = [w for w in found if not (w.start < match.end() and match.start() < w.end)]
        after = [w for w in whens if w.start >= match.end() and sentence[match.end():w.start].count(",") == 0]
        if match.group("same"):
            after = []  # "the same day" looks back
        inner = [w for w in found if match.start("dir") <= w.start < match.end()] if match.group("dir") else []
        if not after and inner and (match.group("single") or "").lower() == "week":
            # "the week before Thanksgiving": the holiday read with its "before" is the event.
            after = inner
            whens = [w for w in found if w is not inner[0]] + inner
        if after:
            anchor = after[0]
            start, end = match.start(), anchor.end
        else:
            before = [w for w in whens if w.end <= match.start()]
            if not before:
                continue
            anchor = before[-1]
            start, end = match.start(), match.end()
        resolved = _relative_due(match, anchor, ctx)
        if resolved is None or resolved[0] <= ctx.ref:
            continue
        merged = _When(start, end, resolved[0], resolved[1])
        kept = [w for w in whens if not (w is anchor and after)]
        found = sorted(kept + [merged], key=lambda w: w.start)
    if _EN_ONCE.match(sentence) and "," in sentence:
        lead_end = sentence.index(",")
        lead = [w for w in found if w.end <= lead_end and w.day is not None]
        for match in _EN_DAYS_SPAN.finditer(sentence, lead_end):
            if not lead:
                break
            spans = [w for w in found if w.start == match.start()]
            resolved = _relative_due(match, lead[-1], ctx)
            if spans and resolved is not None and resolved[0] > ctx.ref:
                found = [_When(w.start, w.end, resolved[0], resolved[1]) if w is spans[0] else w for w in found]
    return found


def _time_expressions(sentence: str, lang: str, ctx: _Context) -> list[_When]:
    """Every resolved time expression in a sentence, in order; "today or tomorrow" becomes the later one."""
    found: list[_When] = []
    earlier_day: date | None = None
    for group in _groups(sentence, _pieces(sentence, lang, ctx)):
        resolved = _resolve(group, ctx, earlier_day)
        if resolved is None:
            continue
        ahead = _ahead(group, *resolved, ctx)
        if ahead is None:
            continue
        due, day = ahead
        when = _When(group[0].start, group[-1].end, due, day)
        if day is not None:
            earlier_day = day
        if found and _OR_JOINER.match(sentence[found[-1].end:when.start]):
            previous = found.pop()
            when = _When(previous.start, when.end, max(previous.due, when.due), when.day)
        found.append(when)
    return _relative(sentence, lang, found, ctx)


# --------------------------------------------------------------------------------------------
# Clauses and commitments
# --------------------------------------------------------------------------------------------

_APOSTROPHE = str.maketrans({"\u2019": "'", "\u2018": "'"})

_EN_BOUNDARY = re.compile(
    r"\s*[,;:]\s+|\s+[-–—]+\s+|\s*[()]\s*|"
    r"\s+(?=(?:and|but|or|so|then|while|whereas)\s+(?:I|we|you|they|he|she|it|there|this|that|our|my|your)\b)|"
    # "I've received the logs and will get back to you tomorrow": the promise starts at "and will".
    r"\s+(?=(?:and|but)\s+(?:will|shall|am\s+going\s+to|are\s+going\s+to)\s)|"
    r"\s+(?=(?:if|unless|once|when|whenever|as\s+soon\s+as|so\s+that|so|because|since|after|before|until|till|"
    r"in\s+case|whether)\s+(?:you|your|the\s+customer|they|he|she|it|we|I)\b)",
    re.IGNORECASE,
)
# First-person verbs that start a promise after "und" with the subject left out (ich-form and wir-form).
_DE_PROMISE_VERBS = (
    "melde|melden|rufe|rufen|schicke|schicken|sende|senden|gebe|geben|prüfe|prüfen|kümmere|kümmern|informiere|"
    "informieren|bestätige|bestätigen|kläre|klären|schaue|schauen|komme|kommen|liefere|liefern|erledige|erledigen|"
    "werde|werden|stelle|stellen|sorge|sorgen|behebe|beheben|spiele|spielen|tausche|tauschen"
)
_DE_BOUNDARY = re.compile(
    r"\s*[,;:]\s+|\s+[-–—]+\s+|\s*[()]\s*|"
    r"\s+(?=(?:und|oder|aber|sondern|denn)\s+(?:ich|wir|Sie|er|es|die|der|das|unser\w*|mein\w*|Ihr\w*)\b)|"
    # "Ich habe die Logs erhalten und melde mich morgen": the promise starts at "und melde".
    rf"\s+(?=und\s+(?:{_DE_PROMISE_VERBS})\b)",
)


@dataclass
class _Clause:
    start: int
    end: int
    text: str
    anchored: bool = False
    kind_text: str = ""
    time_only: bool = False
    blocked: bool = False
    assures: bool = False  # "I'll make sure", "ich sorge dafür": the following that-clause is ours
    whens: list[_When] = field(default_factory=list)


def _clauses(sentence: str, lang: str, protected: list[_When]) -> list[_Clause]:
    boundary = _EN_BOUNDARY if lang == "en" else _DE_BOUNDARY
    cuts: list[tuple[int, int]] = []
    appositive: _When | None = None
    for match in boundary.finditer(sentence):
        if any(when.start < match.end() and match.start() < when.end for when in protected):
            continue  # never cut inside "on Tuesday, 24 November, at 11:00"
        if "," in match.group(0):
            # A time set off by commas after another ("bis Freitag, 16 Uhr, fertig") belongs to the clause
            # around it: neither comma ends a clause.
            left = [w for w in protected if w.end <= match.start() and not sentence[w.end:match.start()].strip()]
            right = [w for w in protected if w.start == match.end()]
            if left and right:
                appositive = right[0]
                continue
            if left and (left[-1] is appositive or "," in sentence[left[-1].start:left[-1].end]) \
                    and lang == "de" and not right:
                appositive = None
                continue
        appositive = None
        cuts.append((match.start(), match.end()))
    clauses: list[_Clause] = []
    position = 0
    for cut_start, cut_end in cuts + [(len(sentence), len(sentence))]:
        if cut_start > position:
            clauses.append(_Clause(position, cut_start, sentence[position:cut_start]))
        position = cut_end
    return clauses


# English anchors: a first-person subject with a future form.
_EN_SUBJECT = (
    r"(?:(?-i:I)|we|(?:our|my)\s+(?:[\w-]+\s+){0,2}?(?:team|teams|engineers?|developers?|devs|technicians?|"
    r"support|specialists?|experts?|colleagues?|department|staff|consultants?|agents?|fitters?|installers?|drivers?|"
    r"couriers?|crew|mechanics?|workshop|warehouse)(?:\s+(?-i:[A-Z][\w-]+)){0,2}|"
    # "The technician will come on Tuesday": the people a support reply sends are ours (a courier or driver is
    # the carrier's, see the labelled set).
    r"the\s+(?:technician|engineer|fitter|installer|mechanic)s?|"
    # "An engineer will call you", "a technician from our service team will be with you": a staff role, named
    # with any article, is ours; a carrier's driver or courier is not.
    r"(?:an?|one\s+of\s+our)\s+(?:[\w-]+\s+)?(?:technician|engineer|fitter|installer|mechanic|adviser|advisor|"
    r"specialist|agent|consultant|colleague|team\s+member|member\s+of\s+(?:our|the|my)\s+(?:[\w-]+\s+)?team)s?"
    r"(?:\s+from\s+(?:our|my)\s+(?:[\w-]+\s+){0,2}?(?:team|department|workshop))?|"
    r"(?:someone|one)\s+(?:of|from)\s+(?:our|my)\s+(?:[\w-]+\s+){0,2}?(?:team|engineers|colleagues|technicians))"
)
_EN_FUTURE = re.compile(
    rf"\b{_EN_SUBJECT}\s*(?:'ll|\s+will|\s+shall|(?:'m|'re|\s+am|\s+are|\s+is)\s+going\s+to|"
    # Hedged promises still name a deadline: "I should be able to …", "we hope to …", "I'm hoping to …".
    r"\s+(?:should|ought\s+to)(?!\s+have\s+(?:been|\w+ed|sent|got|gotten|done|made|told|given|written|seen|heard|known|"
    r"spoken|rung|thought|left|gone|come)\b)(?!\s+(?:you|we|I|it)\b)|"
    r"(?:'d|\s+would)\s+(?:hope|expect)\s+to|(?:'m|'re|\s+am|\s+are)\s+aiming\s+for|"
    r"\s+hope\s+(?:that\s+)?(?:(?-i:I)|we)\s*(?:can|will|'ll|should)|"
    r"(?:\s+|'m\s+|'re\s+|\s+am\s+|\s+are\s+)(?:hope|hoping|aim|aiming|expect|expecting|looking)\s+to|"
    r"\s+(?:anticipate|expect)\s+(?=(?:having|being\s+able|getting|sending|finishing|completing)\b)|"
    r"(?:'m|'re|\s+am|\s+are)\s+planning\s+to|\s+plan\s+to|\s+intend\s+to|\s+promise\s+to|"
    r"(?:'m|'re|\s+am|\s+are|\s+is)\s+(?!going\b|planning\b|hoping\b|aiming\b|expecting\b)(?P<ing>\w+ing)\b)"
    r"(?P<rest>.*)",
    re.IGNORECASE,
)
_EN_FIRST_PERSON = re.compile(rf"\b{_EN_SUBJECT}(?:'\w+)?\b", re.IGNORECASE)
# "Hopefully I can get the build through review by Monday", "with luck we can …": a hedged "can" is a promise.
_EN_HEDGED_CAN = re.compile(
    rf"\b(?:hopefully|with\s+(?:any\s+)?luck|all\s+being\s+well|fingers\s+crossed|if\s+all\s+goes\s+well|"
    rf"{_EN_SUBJECT}(?:'m|'re|\s+am|\s+are)\s+(?:fairly\s+|quite\s+|pretty\s+|very\s+)?(?:confident|sure|certain|optimistic|hopeful)"
    rf"(?:\s+that)?)\b,?\s+"
    rf"{_EN_SUBJECT}\s+can\b(?P<rest>.*)",
    re.IGNORECASE)
# "Report to follow by EOD", "More details to follow on Monday".
_EN_TO_FOLLOW = re.compile(r"^\s*(?:(?:your|the|an?|more|full|further)\s+)?(?:[\w-]+ ){0,2}?[\w-]+ to follow\b",
                           re.IGNORECASE)
_EN_THING_CONTINUED = re.compile(
    r"^\s*and\s+(?:will|should)\s+(?:reach\s+you|arrive|land|be\s+(?:with\s+you|delivered|ready))\b", re.IGNORECASE)
_EN_AND_THE = re.compile(r"\s(?:and|so|then)\s+(?=(?:your|the)\s)", re.IGNORECASE)
_EN_CONFIDENT = re.compile(
    rf"^\s*(?:{_EN_SUBJECT}(?:'m|'re|\s+am|\s+are)\s+(?:fairly\s+|quite\s+|pretty\s+|very\s+)?"
    r"(?:confident|sure|certain|optimistic|hopeful)(?:\s+that)?|hopefully|with\s+(?:any\s+)?luck|all\s+being\s+well|"
    r"if\s+all\s+goes\s+well)\s+(?=(?:your|the)\b)", re.IGNORECASE)
# What we do to the customer's thing, with the thing as the subject: "Your bike will be ready before Wednesday",
# "Your new card should be with you by Thursday", "The staging site ought to be back up by tomorrow afternoon",
# "Your prints go out to you on Monday", "the tracking number will come from me on Monday".
_EN_THING_DONE = re.compile(
    # The subject's words are separated by single spaces: a masked time inside it ("Prints ordered on <time> will
    # ship") is no subject of ours.
    r"^\s*(?:(?:and|so|then)\s+)?(?:(?:your|the|an?) |(?-i:[A-Z])(?=[\w-]* (?:[\w-]+ ){0,2}?(?:will|'ll|should|ought|"
    r"is|are|go|goes|ship|ships|coming|going|incoming)\b))(?:[\w€$£.,-]+ ){0,3}?"
    r"(?:(?:will|'ll|should|ought\s+to|is\s+going\s+to|are\s+going\s+to)\s+(?:be\s+(?:ready|fixed|repaired|done|"
    r"finished|shipped|dispatched|delivered|sent|posted|refunded|credited|processed|replaced|restored|reactivated|up|"
    r"online|available|uploaded|published|packed|emailed|e-mailed|mailed|shared|booked|arranged|completed|approved|"
    r"back\s+with\s+you|out\s+the\s+door|applied|added|"
    # The customer's thing in the passive: "Refund will be issued", "Your new SIM should be in the post".
    r"issued|reissued|re-?sent|reviewed|checked|collected|printed|corrected|renewed|reset|unlocked|unblocked|"
    r"cleaned|serviced|migrated|transferred|moved|signed|returned|picked\s+up|sorted|handled|paid(?:\s+out)?|"
    r"settled|released|deployed|rolled\s+out|patched|ported|switched\s+over|connected|enabled|extended|"
    r"assembled|calibrated|configured|prepared|in\s+the\s+(?:post|mail)|out\s+for\s+delivery|"
    r"activated|resolved|updated|upgraded|installed|live|back\s+(?:up|online|to\s+normal)|with\s+you|on\s+(?:its|their)"
    r"\s+way|in\s+your\s+(?:account|inbox|mailbox))|(?:arrive|land|reach\s+you|go\s+out|ship|happen|take\s+place|"
    r"complete|go\s+through|go\s+live|come\s+(?:to\s+you\s+)?from\s+"
    r"(?:me|us|our))\b)|(?:goes|go)\s+out\s+to\s+you|ships?\s+(?:out\s+)?to\s+you|"
    r"(?:is|are)\s+(?:going\s+out|being\s+(?:sent|shipped|dispatched))\s+to\s+you|"
    r"(?:(?:is|are)\s+)?coming\s+(?:your\s+way|(?:over\s+)?to\s+you)|(?:(?:is|are)\s+)?going\s+(?:out|live)|"
    r"(?:(?:is|are)\s+)?going\s+to\s+(?:print|press)|(?:(?:is|are)\s+)?incoming|(?:is|are)\s+on\s+(?:its|their)\s+way)\b",
    re.IGNORECASE)
# Present tense with the customer's own thing: "Your replacement unit ships tomorrow".
_EN_YOUR_THING_SHIPS = re.compile(
    r"^\s*(?:(?:and|so|then)\s+)?(?:your|the)\s+(?:[\w-]+ ){0,3}?"
    r"(?:ships|goes\s+out|(?:is|are)\s+being\s+(?:dispatched|shipped|posted|sent|prepared|packed)|(?:is|are)\s+(?:dispatched|shipped|"
    r"posted|sent\s+out))\b(?!\s+(?:within|in)\b)",
    re.IGNORECASE)
_EN_CONTINUED = re.compile(
    r"^\s*(?:and|but)\s+(?:will|shall|am\s+going\s+to|are\s+going\s+to)\s+(?P<rest>.*)", re.IGNORECASE)
# "Should have a fix for you by Thursday", "Hope to have it done by Monday": a hedge without its subject.
_EN_ELLIPTICAL_HEDGE = re.compile(
    r"^\s*(?:should|ought\s+to|hope\s+to|hoping\s+to|expect\s+to|aiming\s+to|aim\s+to)\s+"
    r"(?!have\s+(?:been|\w+ed|sent|got|gotten|done|made|told|given|written|seen|heard|known|spoken|rung|thought|left|"
    r"gone|come)\b)(?!(?:you|we|I|it|that|this|there|they|he|she)\b)(?P<rest>\w+.*)",
    re.IGNORECASE)
_EN_ELLIPTICAL = re.compile(
    r"^\s*(?:will|shall)\s+(?!(?:you|we|I|it|that|this|there|they|he|she|do|be)\b)(?P<rest>\w+.*)", re.IGNORECASE)
# Terse replies drop the subject: "Plan to send the contract tomorrow", "Sending the quote over this afternoon".
_EN_TERSE = re.compile(
    r"^\s*(?:(?:plan|planning|aiming|hoping|going)\s+to|(?:sending|shipping|releasing|deploying|rolling\s+out|"
    r"pushing|posting|dispatching|issuing|publishing|uploading|delivering|installing|replacing|fixing|calling|"
    r"ringing|emailing|finishing|refunding)\b)(?P<rest>.*)",
    re.IGNORECASE,
)
_EN_PLAN = re.compile(r"\b(?:our|my)\s+(?:\w+\s+)?(?:plan|aim|goal)\s+is\s+to\s+(?P<rest>\w+.*)", re.IGNORECASE)
_EN_TERSE_NOT = re.compile(r"\b(?:is|was|are|were|helps?|helped|fixed|means|takes|took|can|could|should|slows?|"
                           r"speeds?|gets?|costs?|closes?|stops?|ends?|starts?|resumes?|will|may|might)\b",
                           re.IGNORECASE)
# A status fragment before an elliptical "will …": "Out of the office today, will call you tomorrow".
_EN_STATUS_LEAD = re.compile(
    r"^\s*(?:(?:sure|ok|okay|yes|yep|noted|got\s+it|understood|no\s+problem|will\s+do)\s*[.!]?\s*$|"
    r"(?-i:I)(?:'m|\s+am)\b|we(?:'re|\s+are)\b|(?:out|leaving|back|off|away|travel\w*|busy|offline|"
    r"in\s+(?:a|the|training|meetings?)|on\s+(?:leave|holiday|vacation|site|the\s+road))\b|"
    r"(?:working\s+on|looking\s+into|on)\s+(?:it|this|that|the|your)\b)",
    re.IGNORECASE,
)
_EN_LET_ME = re.compile(r"\blet\s+(?:me|us)\s+(?!know\b)(?P<rest>\w+.*)", re.IGNORECASE)
_EN_HEAR_FROM = re.compile(
    r"\b(?:you(?:'ll|\s+will|\s+should|\s+can\s+expect\s+to)\s+(?:hear|receive|get|have)\b.*"
    r"\b(?:from\s+(?:me|us|our|my)\b|(?:our|my)\s+\w+)|expect\s+(?:to\s+hear\s+|an?\s+\w+\s+|the\s+\w+\s+)?"
    r"(?:\w+\s+)?from\s+(?:me|us|our\s+\w+)\b)",
    re.IGNORECASE,
)
# Imperatives that promise something to the customer: "Expect a call from me on Monday", "Keep an eye on your
# inbox tomorrow", "You can expect the corrected invoice within two working days".
_EN_IMPERATIVE = re.compile(
    r"^\s*(?:(?:so|and|then|just|please)\s+)*(?:expect|look\s+out\s+for|be\s+ready\s+for|stand\s+by\s+for|look\s+for|watch\s+(?:out\s+)?for|"
    r"watch\s+your\s+(?:inbox|e-?mails?|mailbox|phone|post|letterbox|mail|texts|messages)|keep\s+an\s+eye\s+(?:on|out\s+for)|you\s+can\s+expect|"
    r"you\s+should\s+(?:receive|get|see|have)|you(?:'ll|\s+will)\s+(?:receive|get|see|have))\b(?P<rest>.*)",
    re.IGNORECASE,
)
_EN_IMPERATIVE_OURS = re.compile(
    r"\byour\s+(?:[\w-]+\s+)?[\w-]+\s+to\s+(?:arrive|land|reach\s+you|turn\s+up|be\s+(?:delivered|back|with\s+you|ready|"
    r"fixed|shipped|dispatched|credited|refunded))\b|"
    r"\b(?:from\s+(?:me|us|our|my)|my|our|call|calls|callback|e-?mail|mail|update|reply|answer|response|invoice|"
    r"refund|replacement|quote|credit|tracking|confirmation|details|card|router|parcel|package|licen[cs]e|inbox|"
    r"report|statement|link|code|password|login|device|unit|part|order|shipment|fix|patch|visit|technician|"
    r"engineer|follow-?up|documents?|contract|offer|voucher|results?|figures|summary|estimate|courier|driver|fitters?|"
    r"installers?|delivery)\b",
    re.IGNORECASE,
)
_EN_IMPERATIVE_NOT = re.compile(
    # "You'll have to return the router", "you should get the unit back to us": the customer's task.
    r"^\s*to\b|\b(?:back\s+to\s+us|to\s+us|ready)\b|"
    r"\bfrom\s+(?!me\b|us\b|our\b|my\b)(?:the\s+|your\s+|a\s+|an\s+)?\w+|\b(?:delays?|disruptions?|downtime|"
    r"outages?|interruptions?|slow\w*|times|problems?|issues?|errors?|some|newsletters?|phishing|spam|scams?|"
    r"promotions?|promotional|marketing|sales?)\b",
    re.IGNORECASE,
)
# A request to wait is our promise for the time it names: "Give me two days", "bear with me until Friday".
_WAIT_LEAD = re.compile(
    r"(?:\b(?:give|allow)\s+(?:me|us)\s+(?:(?:until|till|bis)\s+)?|\bgeben\s+Sie\s+(?:mir|uns|unsere[mnr]\s+\w+)\s+(?:bitte\s+)?"
    r"(?:noch\s+)?(?:bis\s+)?|\b(?:bear\s+with\s+(?:me|us)|hang\s+(?:on|tight|in\s+there)|hold\s+(?:on|tight)|sit\s+tight)"
    r"\s+(?:until|till)\s+)$",
    re.IGNORECASE,
)
_WAIT_START = re.compile(
    rf"(?:give|allow)\s+{_EN_WAIT_WHO}\b|geben\s+Sie\s+(?:mir|uns)\b|(?:bear|stay|be\s+patient)\s+with\s+(?:me|us)\b",
    re.IGNORECASE)
# "Please allow 3-5 business days": a request to wait with no pronoun, only at the start of what is asked (not
# "we allow 30 days for returns", a policy).
_ALLOW_START = re.compile(r"allow\b", re.IGNORECASE)
_ALLOW_LEAD = re.compile(r"(?:^|[.!?:;,–—-]\s*|\b(?:please|kindly|just|so)\s+)$", re.IGNORECASE)


def _waits(sentence: str, whens: list[_When]) -> bool:
    """Whether a time expression is the time of a request to wait ("give me until Thursday")."""
    return any(_WAIT_START.match(sentence, when.start)
               or _ALLOW_START.match(sentence, when.start) and _ALLOW_LEAD.search(sentence[:when.start])
               or _wait_lead(sentence, when) for when in whens)


# "Geben Sie mir bis Freitag Zeit" asks for time; "Geben Sie mir bis Freitag Bescheid" asks the customer for news.
_DE_WAIT_UNTIL = re.compile(r"\bgeben\s+Sie\b.*\bbis\s+$", re.IGNORECASE)
# "Bitte haben Sie bis Freitag Geduld", "Gedulden Sie sich bitte noch bis Freitag": a request to wait.
_DE_PATIENCE_LEAD = re.compile(
    r"(?:\bhaben\s+Sie\s+(?:bitte\s+)?(?:noch\s+)?(?:etwas\s+)?bis\s+|\bgedulden\s+Sie\s+sich\s+(?:bitte\s+)?(?:noch\s+)?bis\s+)$",
    re.IGNORECASE)


def _wait_lead(sentence: str, when: _When) -> bool:
    window = sentence[max(0, when.start - 40):when.start]
    patience = _DE_PATIENCE_LEAD.search(window)
    if patience and ("gedulden" in patience.group(0).lower()
                     or re.match(r"\s*(?:\w+\s+)?Geduld\b", sentence[when.end:]) is not None):
        return True
    lead = _WAIT_LEAD.search(window)
    if lead and _DE_WAIT_UNTIL.search(lead.group(0)):
        return re.match(r"\s*Zeit\b", sentence[when.end:]) is not None
    return lead is not None


# "they will" right after a clause that named our team ("… our second-level team, and they will …").
_EN_THEY = re.compile(r"\b(?:they|he|she)\s*(?:'ll|\s+will)\b(?P<rest>.*)", re.IGNORECASE)
_EN_OUR_PEOPLE = re.compile(
    r"\b(?:our|my)\s+(?:[\w-]+\s+){0,2}?(?:team|engineers?|developers?|technicians?|colleagues?|specialists?|"
    r"department)\b",
    re.IGNORECASE,
)
# What may follow "will be" in a promise; anything else ("closed", "on holiday", "back in the office") is a fact.
_EN_BE_OK = re.compile(
    r"^\s*be\s+(?:(?:back\s+)?in\s+(?:touch|contact)|back\s+to\s+you|able\s+to|in\s+a\s+position\s+to|on[\s-]?site|there|with\s+you|"
    r"(?:done|finished|sorted|fixed|ready|complete|completed|resolved)\b|"
    r"\w+ing\b)",
    re.IGNORECASE,
)
_EN_BE_NOT_OK = re.compile(r"^\s*be\s+(?:closing|leaving|travelling|traveling|away|out|off|visiting)\b", re.IGNORECASE)
_EN_NOT_PROMISE_VERBS = re.compile(
    r"^\s*(?:(?:probably|definitely|also|then|first|still|just|personally)\s+)*"
    r"(?:need|require|wait|expect|assume|hope|appreciate|look\s+forward|miss|have\s+to\s+ask|ask\s+you|remind|"
    r"hear\s+(?:back\s+)?from\s+you|receive\s+(?:your|the\s+customer)|get\s+(?:your|a\s+reply\s+from\s+you)|"
    # What a hedge ("I should …", "we hope to …") says that is no promise to do something.
    r"mention|note|point\s+out|add(?=\s+(?:that\b|here\b|:))|say|stress|warn|apologi[sz]e|see\s+you|meet\s+you)\b",
    re.IGNORECASE,
)
_EN_NOT_ING = frozenset(
    {"expecting", "hoping", "waiting", "looking", "experiencing", "seeing", "getting", "having", "being", "closing",
     "missing", "wondering", "assuming", "thinking", "trying", "leaving", "travelling", "traveling", "feeling",
     "checking", "investigating", "working", "still"}
)

_EN_NEGATION = re.compile(
    r"\b(?:not|never|no|cannot|unable)\b|n't\b|\bwon't\b", re.IGNORECASE)
_EN_NEGATION_OK = re.compile(
    r"\b(?:no|not)\s+later\s+than\b|\bif\s+not\s+(?:sooner|earlier|before)\b|\bno\s+problem\b|\bno\s+worries\b",
    re.IGNORECASE)
_EN_POLICY = re.compile(
    r"\b(?:usually|normally|typically|generally|always|as\s+a\s+rule|in\s+general|on\s+average|most\s+of\s+the\s+time|"
    r"every|each|all\s+(?:requests|orders|tickets|enquiries|inquiries|customers)|our\s+policy|standard\s+practice)\b",
    re.IGNORECASE,
)
_EN_PAST = re.compile(r"\b(?:yesterday|ago|last\s+(?:week|month|time))\b", re.IGNORECASE)
_EN_REQUEST = re.compile(r"\b(?:please|kindly)\b", re.IGNORECASE)
_EN_CONDITIONAL_START = re.compile(
    r"^\s*(?:and\s+|but\s+)?(?:if|unless|in\s+case|whether|"
    r"(?:once|when|whenever|as\s+soon\s+as|after|before|until|till|so\s+that|so)\s+(?:you|your|the\s+customer|they|he|"
    r"she|it)\b)",
    re.IGNORECASE,
)
_EN_QUESTION_START = re.compile(
    r"^\s*(?:can|could|would|will|shall|should|do|does|did|is|are|was|were|have|has|may|might|when|what|how|which|"
    r"where|why|who|any\s+chance)\b",
    re.IGNORECASE,
)
_EN_WHEN_BACK = re.compile(
    r"^\s*(?:when|once|as\s+soon\s+as)\s+(?-i:I)(?:'m|\s+am)?\s+(?:back|return|get\s+back|come\s+back)\b|"
    r"^\s*(?:when|once|as\s+soon\s+as)\s+we(?:'re|\s+are)?\s+(?:back|return|get\s+back|come\s+back)\b|"
    # "I'll release the payout before I log off today": the end of our day is the promise's time.
    r"^\s*before\s+(?:(?-i:I)|we)\s+(?:log\s+off|sign\s+off|leave|go\s+home|head\s+(?:off|out|home)|finish|"
    r"wrap\s+up|close)\b",
    re.IGNORECASE)
_EN_ASSURE = re.compile(r"\b(?:make\s+sure|ensure|promise|guarantee)\b", re.IGNORECASE)
_EN_THAT_START = re.compile(r"^\s*(?:that\s+)", re.IGNORECASE)

# German anchors.
_DE_FIRST_PERSON = re.compile(r"\b(?:ich|wir)\b", re.IGNORECASE)
_DE_CONTINUED = re.compile(rf"^\s*und\s+(?:{_DE_PROMISE_VERBS})\b", re.IGNORECASE)
_DE_OUR_PEOPLE = re.compile(
    r"\b(?i:unser|unsere|mein|meine)\s+(?:[\w-]+\s+)?(?:[\w-]*Team|[\w-]*[Tt]echniker(?:in|innen)?|[\w-]*Entwickler(?:in|innen)?|"
    r"Kolleg(?:e|in|en|innen)|Support|Kundenservice|Kundendienst|Außendienst|Service|Mitarbeiter(?:in)?|"
    r"[\w-]*[Mm]onteur(?:in|e)?|Fahrer(?:in)?|Kurier|[\w-]*[Bb]erater(?:in)?|Handwerker|"
    r"[\w-]*[Aa]bteilung|Experten|Spezialisten)\b",
)
_DE_HEAR_FROM = re.compile(
    r"\bSie\b.*\b(?:hören|erhalten|bekommen|haben|kriegen)\b.*\bvon\s+(?:mir|uns|unserem|unserer|unseren)\b|"
    r"\b(?:hören|erhalten|bekommen|haben|kriegen)\s+Sie\b.*\bvon\s+(?:mir|uns|unserem|unserer|unseren)\b|"
    r"\bvon\s+(?:mir|uns)\b.*\b(?:hören|erhalten|bekommen|haben|kriegen)\s+Sie\b|"
    r"\b(?:unser|unsere|unseren|mein|meine|meinen)\s+\w+\s+(?:erhalten|bekommen|haben)\s+Sie\b|"
    # "Rechnen Sie morgen mit einem Anruf von mir", "Erwarten Sie bis Freitag Post von uns".
    r"^\s*(?i:(?:(?:bitte|dann|also)\s+)?(?:rechnen|erwarten|achten))\s+Sie\b.*(?:\bvon\s+(?:mir|uns|unserem|unserer|unseren)\b|"
    r"\b(?i:unser|unsere|unseren|unserem|unserer|mein|meine|meinen|meinem|meiner)\s+\w+)|"
    r"^\s*(?i:halten)\s+Sie\b(?=.*\bAusschau\b).*(?:\bvon\s+(?:mir|uns)\b|\b(?i:unser|unsere|unseren|unserem|unserer|"
    r"mein|meine|meinen|meinem|meiner)\s+\w+)",
)
# Verbs that make an ich/wir sentence something other than a promise: past and perfect auxiliaries, copulas
# (closures, absences), wishes and offers, thanks and hopes, and requests ("wir benötigen … bis Freitag").
_DE_NOT_PROMISE = re.compile(
    r"\b(?:habe|haben|hatte|hatten|hab|war|waren|bin|sind|ist|wurde|wurden|wollte|wollten|sollte|sollten|"
    r"könnte|könnten|würde|würden|möchte|möchten|kann|können|konnte|konnten|muss|müssen|musste|mussten|darf|dürfen|"
    r"freue|freuen|hoffe|hoffen|danke|danken|bedanke|bedanken|entschuldige|entschuldigen|bitte|bitten|"
    r"wünsche|wünschen|erwarte|erwarten|benötige|benötigen|brauche|brauchen|warte|warten|empfehle|empfehlen|"
    r"denke|denken|glaube|glauben|vermute|vermuten|gehe|gehen|weiß|wissen|sehe|sehen|arbeite|arbeiten|"
    r"geschlossen|erreichbar|Urlaub|abwesend)\b",
    re.IGNORECASE,
)
_DE_NEGATION = re.compile(r"\b(?:nicht|kein|keine|keinen|keinem|keiner|nie|niemals|nichts)\b", re.IGNORECASE)
_DE_NEGATION_OK = re.compile(
    r"\bnicht\s+später\s+als\b|\b(?:wenn|falls)\s+nicht\s+(?:schon\s+)?(?:früher|eher)\b", re.IGNORECASE)
_DE_POLICY = re.compile(
    r"\b(?:in\s+der\s+Regel|normalerweise|üblicherweise|grundsätzlich|generell|meist|meistens|immer|stets|"
    r"jede[nmrs]?|alle|Anfragen|täglich|regelmäßig)\b",
    re.IGNORECASE,
)
_DE_PAST = re.compile(r"\b(?:gestern|vorgestern|letzte[nmrs]?\s+Woche|vor\s+\w+\s+(?:Tagen|Wochen))\b", re.IGNORECASE)
_DE_CONDITIONAL_START = re.compile(
    r"^\s*(?:und\s+|aber\s+)?(?:wenn|falls|sofern|ob|sobald|nachdem|bevor|weil|da|damit|obwohl|während|bis\s+(?:ich|wir|Sie))\b",
    re.IGNORECASE,
)
_DE_QUESTION_START = re.compile(
    r"^\s*(?:passt|soll|sollen|können|könnten|kann|haben|hast|ist|sind|wäre|wären|würde|würden|möchten|wollen|geht|"
    r"dürfen|darf|wissen|wann|wie|was|wo|welche[nmrs]?|warum|schicken|senden|brauchen|benötigen)\b",
    re.IGNORECASE,
)
_DE_ASSURE = re.compile(r"\b(?:sorge|sorgen)\s+dafür\b|\bstelle\s+sicher\b|\bstellen\s+sicher\b|\bverspreche\b",
                        re.IGNORECASE)
_DE_THAT_START = re.compile(r"^\s*dass\b", re.IGNORECASE)
_DE_HEDGE_LEAD = re.compile(
    r"^\s*(?:ich|wir)\s+(?:hoffe|hoffen|rechne\s+damit|rechnen\s+damit|gehe\s+davon\s+aus|gehen\s+davon\s+aus)\s*$",
    re.IGNORECASE)
_DE_ZU_INFINITIVE = re.compile(r"\bzu\s+(?:können|schaffen|\w+en)\s*[.!]?\s*$", re.IGNORECASE)

_FILLER = re.compile(
    r"\b(?:at\s+the\s+latest|latest|hopefully|or\s+sooner|if\s+not\s+sooner|then|and|or|so|also|ok|okay|by|on|at|"
    r"spätestens|aber|und|oder|dann|also|bis|am|um|zum|allerdings|jedenfalls|sonst|the|or\s+earlier)\b",
    re.IGNORECASE,
)

_KINDS: list[tuple[CommitmentKind, re.Pattern[str]]] = [
    ("call", re.compile(r"\b(?:call|ring|phone|rufe|ruft|rufen|anrufen|anruf|rückruf|telefon\w*)", re.IGNORECASE)),
    ("update", re.compile(
        r"\b(?:updates?|get\s+back|come\s+back|hear|let\s+you\s+know|in\s+touch|confirm|check\s+in|follow\s+up|"
        r"answer|reply|respond|inform|melde|melden|meldet|bescheid|rückmeldung|informiere|informieren|bestätige|"
        r"bestätigen|antwort)", re.IGNORECASE)),
    ("deliver", re.compile(
        r"\b(?:send|ship|deliver|deploy|fix|resolve|restore|refund|issue|post|provide|email|e-mail|dispatch|"
        r"replace|activate|reactivate|upgrade|install|patch|finish|complete|sort|schick\w*|send\w*|liefer\w*|"
        r"zusend\w*|beheb\w*|bereit|erstatt\w*|tausch\w*|lös\w*|stell\w*|spiel\w*|schließ\w*|schalt\w*)",
        re.IGNORECASE)),
]


# A greeting at the start of the sentence ("Hi Anna, …", "Hallo Herr Meyer – …", "Dear team …") and a sign-off at
# its end (" Best, Tom", " – Cheers!", " Viele Grüße, Eva") are not part of the promise stored and shown.
_GREETING_WORD = (
    r"(?:hi|hello|hey|dear|hiya|good\s+(?:morning|afternoon|evening)|hallo|moin|servus|guten\s+(?:tag|morgen|abend)|"
    r"liebe[rs]?|sehr\s+geehrte[rs]?)"
)
_GREETING = re.compile(
    # "Hi Anna, …", "Dear support team – …", "Hallo Herr Meyer! …"
    rf"^\s*{_GREETING_WORD}\b(?:(?-i:Mr|Mrs|Ms|Dr|Prof)\.|[^,.!?:;\n–—]){{0,40}}?\s*(?:[,!:;]|\s[-–—])\s*|"
    # "Hi Anna I'll call you …": no comma, but a name and then the promise's own subject.
    rf"^\s*{_GREETING_WORD}(?:\s+(?:(?:Mr|Mrs|Ms|Dr|Frau|Herr)\.?\s+)?(?-i:[A-ZÄÖÜ][\w'.-]*)){{1,2}}\s+"
    r"(?=(?-i:I)\b|(?:we|our|my|ich|wir|unser\w*)\b)",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"(?:(?<=[.!?])|\s+[-–—]|,)\s*(?:(?:best|kind|warm|many)\s+(?:regards|wishes|thanks)|regards|best|cheers|thanks|"
    r"thank\s+you|many\s+thanks|all\s+the\s+best|speak\s+soon|talk\s+soon|take\s+care|"
    r"(?:viele|beste|liebe|freundliche|herzliche)\s+gr(?:ü|ue)(?:ß|ss)e|mit\s+freundlichen\s+gr(?:ü|ue)(?:ß|ss)en|"
    r"gruß|gruss|lg|vg|mfg)\s*[,!.]?(?:\s+(?-i:[A-ZÄÖÜ][\w'.-]*)(?:\s+(?-i:[A-ZÄÖÜ][\w'.-]*)){0,2})?\s*[.!]?\s*$",
    re.IGNORECASE,
)


def _promise_text(sentence: str) -> str:
    """The promise itself: the sentence without a greeting before it or a sign-off after it."""
    text = _SIGN_OFF.sub("", sentence).strip()
    text = _GREETING.sub("", text, count=1).strip()
    if not re.search(r"\w", text):
        return sentence
    return text[0].upper() + text[1:] if text[0].islower() and text is not sentence else text


def _kind(text: str) -> CommitmentKind:
    for kind, pattern in _KINDS:
        if pattern.search(text):
            return kind
    return "generic"


def _mask(text: str, start: int, whens: list[_When]) -> str:
    """The clause with its time expressions blanked, so "no later than" or "bis" inside them cannot mislead."""
    chars = list(text)
    for when in whens:
        for index in range(max(when.start - start, 0), min(when.end - start, len(chars))):
            chars[index] = " "
    return "".join(chars)


def _en_promise_rest(rest: str) -> bool:
    """Whether what follows "I will" makes a promise: not "be closed", "need your logs", "wait for you"."""
    if re.match(r"^\s*be\b", rest, re.IGNORECASE):
        return bool(_EN_BE_OK.match(rest)) and not _EN_BE_NOT_OK.match(rest)
    return not _EN_NOT_PROMISE_VERBS.match(rest)


def _en_anchor(clause: str, earlier: str) -> bool:
    """Whether an English clause holds a first-person future promise (time aside)."""
    text = clause.translate(_APOSTROPHE)
    match = _EN_FUTURE.search(text) or (_EN_THEY.search(text) if _EN_OUR_PEOPLE.search(earlier) else None)
    if match is None and _EN_FIRST_PERSON.search(earlier.translate(_APOSTROPHE)):
        # "I've checked the logs and will call you tomorrow": the subject is in the clause before.
        match = _EN_CONTINUED.match(text)
    if match is None and (not earlier.strip() or _EN_STATUS_LEAD.match(earlier.translate(_APOSTROPHE))):
        # Terse replies leave the subject out: "Will send the invoice by Friday.", "I'm out today, will call
        # you tomorrow."
        match = _EN_ELLIPTICAL.match(text) or _EN_ELLIPTICAL_HEDGE.match(text)
    if match is None:
        match = _EN_PLAN.search(text) or _EN_HEDGED_CAN.search(text)
    if match is None and not earlier.strip():
        terse = _EN_TERSE.match(text)
        match = terse if terse and not _EN_TERSE_NOT.search(terse.group("rest")) else None
    if match is not None:
        ing = match.groupdict().get("ing")
        if ing and ing.lower() in _EN_NOT_ING:
            return False
        if ing and ing.lower() == "taking" and re.search(r"\b(?:off|leave|holiday|vacation)\b", match.group("rest")):
            return False  # "I'm taking next week off": absence, no promise
        return _en_promise_rest(match.group("rest"))
    confident = _EN_CONFIDENT.match(text)
    if _EN_THING_CONTINUED.match(text) and _EN_THING_DONE.match(earlier.translate(_APOSTROPHE)):
        return True  # "Your new router is on its way and will reach you on Wednesday"
    # "Bear with us over the weekend and the migration will be done by Monday."
    joined = any(_EN_THING_DONE.match(text[m.end():]) for m in _EN_AND_THE.finditer(text))
    return joined or bool(_EN_TO_FOLLOW.match(text)) or bool(
                _EN_LET_ME.search(text) or _EN_HEAR_FROM.search(text) or _EN_THING_DONE.match(text)
                or _EN_YOUR_THING_SHIPS.match(text)
                or confident is not None and _EN_THING_DONE.match(text[confident.end():]) is not None)


_DE_HEDGED_SHOULD = re.compile(
    r"^\s*(?:(?:und|dann|also)\s+)?(?:ich|wir)\s+(?:sollte|sollten)\b(?!\s+(?:eigentlich|uns|Sie|lieber|besser)\b)"
    r"(?P<rest>.*?)(?:\s+(?:haben|sein|können|bekommen|erhalten))?\s*[.!]?\s*$",
    re.IGNORECASE)


# What we do to the customer's thing, with the thing as the subject: "Das Austauschgerät geht am 25.11. an Sie
# raus", "Das Update sollte bis Montag verfügbar sein", "Ihre Rufnummer ist bis Freitag portiert".
_DE_THING_DONE = re.compile(
    r"^\s*(?:(?:und|dann)\s+)?(?i:Ihr|Ihre|Ihren|das|die|der|den)\s+(?:[\w-]+ ){0,2}?[\w-]+ "
    r"(?i:sollte|sollten|wird|werden|geht|gehen|ist|sind|kommt|kommen)\b.*"
    r"\b(?i:verfügbar|fertig|behoben|repariert|verschickt|versendet|versandt|raus|hinaus|heraus|bei\s+Ihnen|an\s+Sie|"
    r"erledigt|freigeschaltet|online|aktiv|eingerichtet|zugestellt|geliefert|gutgeschrieben|erstattet|portiert|"
    r"ausgetauscht|unterwegs|auf\s+Ihrem\s+Konto|vorliegen|vorliegt|ankommen|ankommt|eintreffen|eintrifft)\b",
)


def _de_anchor(clause: str, earlier: str) -> bool:
    """Whether a German clause holds a first-person (present or future) promise (time aside)."""
    if _DE_HEAR_FROM.search(clause) or _DE_THING_DONE.match(clause):
        return True
    hedged = _DE_HEDGED_SHOULD.match(clause)
    if hedged:
        # "Ich sollte bis Freitag eine Rückmeldung vom Gutachter haben": a hedge with a deadline is a promise.
        return not _DE_NOT_PROMISE.search(hedged.group("rest"))
    continued = _DE_CONTINUED.match(clause) is not None and bool(
        _DE_FIRST_PERSON.search(earlier) or _DE_OUR_PEOPLE.search(earlier))
    if not (continued or _DE_FIRST_PERSON.search(clause) or _DE_OUR_PEOPLE.search(clause)):
        return False
    return not _DE_NOT_PROMISE.search(clause)


def _imperative(masked: str) -> bool:
    match = _EN_IMPERATIVE.match(masked)
    if match is None:
        return False
    rest = match.group("rest")
    return bool(_EN_IMPERATIVE_OURS.search(rest)) and not _EN_IMPERATIVE_NOT.search(rest)


def _analyse(clause: _Clause, lang: str, earlier: str, is_last: bool, sentence_question: bool,
             ends_with_question: bool, sentence: str = "") -> None:
    """Fill in what a clause is: anchored promise, blocked, time-only, or an assurance's lead-in."""
    masked = _mask(clause.text, clause.start, clause.whens).translate(_APOSTROPHE)
    waits = bool(clause.whens) and _waits(sentence, clause.whens)
    imperative = lang == "en" and _imperative(masked)
    if lang == "en":
        negation, negation_ok, policy, past = _EN_NEGATION, _EN_NEGATION_OK, _EN_POLICY, _EN_PAST
        conditional, assure = _EN_CONDITIONAL_START, _EN_ASSURE
    else:
        negation, negation_ok, policy, past = _DE_NEGATION, _DE_NEGATION_OK, _DE_POLICY, _DE_PAST
        conditional, assure = _DE_CONDITIONAL_START, _DE_ASSURE
    without_ok = negation_ok.sub(" ", clause.text.translate(_APOSTROPHE))
    without_ok = _mask(without_ok, clause.start, clause.whens)
    clause.blocked = bool(
        sentence_question
        or (is_last and ends_with_question)
        or negation.search(without_ok)
        or policy.search(masked)
        or past.search(clause.text)
        # "Please expect a call from us tomorrow" is still our promise.
        or (lang == "en" and _EN_REQUEST.search(masked) and not (_EN_HEAR_FROM.search(masked) or waits
                                                                  or imperative))
        # A customer's if-clause: its time is theirs ("if you send the logs by Friday").
        # "If you can bear with me until Wednesday, I'll …" is still a request to wait.
        or (conditional.match(masked) and not (clause.whens and clause.whens[0].start == clause.start) and not waits)
    )
    clause.anchored = waits or imperative or (
        _en_anchor(masked, earlier) if lang == "en" else _de_anchor(masked, earlier))
    clause.assures = bool(assure.search(masked))
    leftover = _FILLER.sub(" ", masked)
    clause.time_only = bool(clause.whens) and not re.search(r"\w", leftover)


def _sentence_commitments(sentence: str, lang: Language, ctx: _Context) -> Iterator[Commitment]:
    """The commitments of one sentence: each time expression whose clause (or lead-in) is our promise."""
    whens = _time_expressions(sentence, lang, ctx)
    if not whens:
        return
    clauses = _clauses(sentence, lang, whens)
    for when in whens:
        for clause in clauses:
            if clause.start <= when.start < clause.end:
                clause.whens.append(when)
                break
    ends_with_question = sentence.rstrip().endswith("?")
    question_start = _EN_QUESTION_START if lang == "en" else _DE_QUESTION_START
    # A question from its first word ("Could you …?", "Passt es Ihnen, wenn …?") blocks the whole sentence;
    # a trailing "…, does that work?" only its own clause.
    sentence_question = bool(clauses) and ends_with_question and bool(question_start.match(clauses[0].text))
    for index, clause in enumerate(clauses):
        earlier = " ".join(c.text for c in clauses[:index])
        _analyse(clause, lang, earlier, index == len(clauses) - 1, sentence_question, ends_with_question, sentence)
    that_start = _EN_THAT_START if lang == "en" else _DE_THAT_START
    for index, clause in enumerate(clauses):
        if not clause.whens or clause.blocked:
            continue
        owner: _Clause | None = None
        if clause.anchored:
            owner = clause
        elif clause.time_only:
            # "…, by Monday at the latest" belongs to the promise before it (past an "as soon as it's
            # available" in between); "By Friday, we'll …" to the one right after it.
            before = [c for c in reversed(clauses[:index]) if c.anchored or c.whens]
            owner = before[0] if before and before[0].anchored and not before[0].blocked else None
            if owner is None and index + 1 < len(clauses) and clauses[index + 1].anchored \
                    and not clauses[index + 1].blocked:
                owner = clauses[index + 1]
        elif index > 0 and lang == "en" and _EN_WHEN_BACK.match(clause.text):
            # "I'll sort it out when I'm back on Wednesday": the return's time is the promise's.
            lead_in = clauses[index - 1]
            if lead_in.anchored and not lead_in.blocked and not lead_in.whens:
                owner = lead_in
        elif index > 0 and lang == "de" and _DE_HEDGE_LEAD.match(clauses[index - 1].text) \
                and (that_start.match(clause.text) or _DE_ZU_INFINITIVE.search(clause.text)):
            # "Ich hoffe, Ihnen bis Donnerstag eine Antwort geben zu können": a hedged promise is still ours.
            owner = clauses[index - 1]
        elif index > 0 and that_start.match(clause.text):
            # "Ich sorge dafür, dass die Gutschrift bis Mittwoch bei Ihnen ist": the promise is the lead-in's.
            lead_in = clauses[index - 1]
            if lead_in.assures and lead_in.anchored and not lead_in.blocked:
                owner = lead_in
        if owner is None:
            continue
        for when in clause.whens:
            yield Commitment(
                text=_promise_text(sentence),
                due=when.due,
                kind=_kind(owner.text + " " + clause.text),
                language=lang,
            )


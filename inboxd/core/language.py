"""Which language a customer writes in, and which language their case is answered in. Pure.

Detection uses py3langid (a maintained fork of langid.py: a naive Bayes model over byte n-grams, shipped
inside the package, no network). It was chosen over lingua-language-detector on inboxd's short-text set
(``tests/data/language/short_texts.tsv``; ``tests/perf/bench_language.py`` prints the figures): as accurate
as lingua's high-accuracy mode on 1–3 sentences, and better than its low-accuracy mode on texts of five
words or fewer, with a ninth of the former's memory (inboxd's detector adds about 60 MiB to the daemon,
lingua's high-accuracy mode some 550 MiB) and a tenth to a twentieth of its time per text (0.07–0.2 ms
against 1.5–3 ms on a 2-core machine).

The detector chooses among :data:`CANDIDATES`, the languages support mail commonly comes in: a smaller
choice is more accurate on short texts, and a language outside it is rarely one a team serves. A text too
short to say anything (no letters, or a detector that is unsure) gives no language.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier

__all__ = ["CANDIDATES", "SHIPPED_LANGUAGES", "Choice", "choose_language", "detect_language",
           "detect_message_language", "load_detector", "served_match", "shipped_identifier", "use_detector"]

CANDIDATES: tuple[str, ...] = (
    "en", "de", "fr", "es", "it", "nl", "pt", "pl", "sv", "da", "no", "fi", "ca", "ro", "cs", "sk", "hu", "hr",
    "sl", "tr", "el", "ru", "uk", "bg", "ja", "zh", "ko", "ar", "he",
)
"""The languages the detector chooses among (ISO 639-1; ``no`` is Norwegian)."""

SHIPPED_LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "es", "it", "nl", "pt")
"""The languages inboxd ships every template in; ``cases.languages`` defaults to them."""

# Below this normalised probability the detector is guessing: say nothing rather than the wrong thing.
MIN_CONFIDENCE = 0.5
# Fewer letters than this is "ok", "+1" or a name: too little for any detector.
MIN_LETTERS = 6

_NOISE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+|\d+")
_LETTER = re.compile(r"[^\W\d_]")


_LOCK = threading.Lock()
_loaded: LanguageIdentifier | None = None


def shipped_identifier() -> LanguageIdentifier:
    """An identifier over the candidates' columns of the model shipped with py3langid (about a second)."""
    import numpy as np
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    full = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    full.set_languages(list(CANDIDATES))
    # An identifier over the candidates' columns only: set_languages keeps the whole model (every language)
    # alive beside the subset, some 20 MiB a daemon never uses.
    return LanguageIdentifier(np.ascontiguousarray(full.nb_ptc), np.ascontiguousarray(full.nb_pc),
                              list(full.nb_classes), full.tk_nextmove, full.tk_output, norm_probs=True,
                              tk_row=full.tk_row)


_source: Callable[[], LanguageIdentifier] = shipped_identifier


def use_detector(source: Callable[[], LanguageIdentifier]) -> None:
    """Make the detector with ``source`` when it is first needed (the daemon reads a prepared copy,
    :mod:`inboxd.service.detector`), unless one is loaded already."""
    global _source
    _source = source


def load_detector() -> None:
    """Load the detector's model now rather than on the first customer's mail. A detector loaded already stays."""
    global _loaded
    if _loaded is None:
        with _LOCK:  # the daemon loads it in the background while the first mail may already want it
            if _loaded is None:
                _loaded = _source()


def _identifier() -> LanguageIdentifier:
    if _loaded is None:
        load_detector()
    assert _loaded is not None
    return _loaded


def detect_language(text: str) -> str | None:
    """The language ``text`` is written in (ISO 639-1, ``"fr"``), or None when it is too short or unclear.

    Addresses, links and numbers are left out first: they are the same in every language.
    """
    cleaned = _NOISE.sub(" ", text)
    if len(_LETTER.findall(cleaned)) < MIN_LETTERS:
        return None
    code, probability = _identifier().classify(cleaned)
    if float(probability) < MIN_CONFIDENCE:
        return None
    return str(code)


def detect_message_language(subject: str | None, reply_text: str | None) -> str | None:
    """The language of what a customer wrote: their reply text (quotes and signature already removed), with
    the subject in front when the text is a few words only."""
    text = reply_text or ""
    if len(text.split()) < 4:
        text = f"{subject or ''}\n{text}"
    return detect_language(text)


def _base(language: str) -> str:
    return language.replace("_", "-").split("-")[0].strip().lower()


def served_match(detected: str, served: Sequence[str]) -> str | None:
    """The served language a detected one is: itself, or the first served variant of it (``pt`` → ``pt-BR``)."""
    for language in served:
        if language.lower() == detected.lower():
            return language
    for language in served:
        if _base(language) == _base(detected):
            return language
    return None


Source = Literal["rule", "case", "detected", "default"]


@dataclass(frozen=True)
class Choice:
    """The language a case is answered in and why: a ``rule`` set it, the ``case`` (or the earlier case this
    one continues) already had it, it was ``detected`` in the customer's text, or the ``default``."""

    language: str
    source: Source
    detected: str | None = None  # what the detector said, served or not


def choose_language(*, rule: str | None, case_language: str | None, detected: str | None,
                    served: Sequence[str], default: str) -> Choice:
    """A rule wins; then the case's history (a case keeps its language); then the detected language when the
    team serves it; else the team's default."""
    if rule:
        return Choice(rule, "rule", detected)
    if case_language:
        return Choice(case_language, "case", detected)
    if detected is not None and (match := served_match(detected, served)) is not None:
        return Choice(match, "detected", detected)
    return Choice(default, "default", detected)

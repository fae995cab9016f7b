"""The customer's language: detection on short texts, and which language a case is answered in."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from inboxd.core.language import (
    CANDIDATES,
    SHIPPED_LANGUAGES,
    choose_language,
    detect_language,
    detect_message_language,
    served_match,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "language" / "short_texts.tsv"


def _samples() -> list[tuple[str, str]]:
    rows = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            language, text = line.split("\t", 1)
            rows.append((language, text))
    return rows


SAMPLES = _samples()

# Measured with tests/perf/bench_language.py on this set: 99.4 % right, no text given a wrong language, two
# left undecided (a four-word English question, one Danish text near Norwegian). The bars below leave a
# little room for a newer model, not for a worse one.
MIN_ACCURACY = 0.98
MIN_ACCURACY_PER_SERVED_LANGUAGE = 0.95
MAX_WRONG_RATE = 0.01


def test_the_set_is_large_and_covers_every_shipped_language() -> None:
    counts = Counter(language for language, _ in SAMPLES)
    assert len(SAMPLES) >= 300
    assert all(counts[language] >= 40 for language in SHIPPED_LANGUAGES)
    assert set(counts) <= set(CANDIDATES)


def test_detection_on_short_texts_is_accurate() -> None:
    results = [(language, detect_language(text)) for language, text in SAMPLES]
    right = sum(1 for language, got in results if got == language)
    wrong = [(language, got) for language, got in results if got is not None and got != language]
    assert right / len(results) >= MIN_ACCURACY, wrong
    # A wrong language is worse than none: the customer gets mail they cannot read, not the default.
    assert len(wrong) / len(results) <= MAX_WRONG_RATE, wrong


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_each_served_language_is_recognised(language: str) -> None:
    texts = [text for lang, text in SAMPLES if lang == language]
    right = sum(1 for text in texts if detect_language(text) == language)
    assert right / len(texts) >= MIN_ACCURACY_PER_SERVED_LANGUAGE


@pytest.mark.parametrize("language", sorted({lang for lang, _ in SAMPLES} - set(SHIPPED_LANGUAGES)))
def test_other_languages_are_not_taken_for_a_served_one(language: str) -> None:
    texts = [text for lang, text in SAMPLES if lang == language]
    taken = [(text, got) for text in texts
             if (got := detect_language(text)) in SHIPPED_LANGUAGES]
    assert not taken


@pytest.mark.parametrize("text", ["", "ok", "+1", "12345 67890", "https://example.com/ticket/1042 ann@example.org"])
def test_too_little_text_gives_no_language(text: str) -> None:
    assert detect_language(text) is None


def test_links_addresses_and_numbers_do_not_count() -> None:
    text = "Bonjour, ma commande n'est pas arrivée. https://shop.example.com/orders/48213 ann@example.org"
    assert detect_language(text) == "fr"


def test_a_short_reply_is_read_with_its_subject() -> None:
    assert detect_message_language("Problème de connexion à mon compte", "Merci !") == "fr"
    # The reply text alone decides when there is enough of it, whatever the subject's language.
    assert detect_message_language("Invoice 48213", "Guten Tag, auf meiner Rechnung steht die falsche "
                                   "Adresse. Können Sie das bitte korrigieren?") == "de"


@pytest.mark.parametrize(
    ("rule", "case", "detected", "served", "default", "expected", "source"),
    [
        (None, None, "fr", ("en", "de", "fr"), "en", "fr", "detected"),
        (None, None, "pl", ("en", "de", "fr"), "en", "en", "default"),
        (None, None, None, ("en", "de", "fr"), "de", "de", "default"),
        ("de", None, "fr", ("en", "de", "fr"), "en", "de", "rule"),
        # A rule may name a language the team does not list: the admin asked for it.
        ("sv", None, "fr", ("en", "fr"), "en", "sv", "rule"),
        (None, "de", "fr", ("en", "de", "fr"), "en", "de", "case"),
        ("it", "de", "fr", ("en", "de", "fr", "it"), "en", "it", "rule"),
        # A served regional variant takes a detected base language.
        (None, None, "pt", ("en", "pt-BR"), "en", "pt-BR", "detected"),
    ],
)
def test_choose_language(rule: str | None, case: str | None, detected: str | None, served: tuple[str, ...],
                         default: str, expected: str, source: str) -> None:
    choice = choose_language(rule=rule, case_language=case, detected=detected, served=served, default=default)
    assert (choice.language, choice.source, choice.detected) == (expected, source, detected)


def test_served_match_prefers_the_exact_language() -> None:
    assert served_match("pt", ("pt-BR", "pt")) == "pt"
    assert served_match("PT", ("en", "pt-PT")) == "pt-PT"
    assert served_match("de", ("en", "fr")) is None


def test_explain_says_the_language_a_case_would_get() -> None:
    from inboxd.cli.main import explain_message
    from inboxd.config import load_config
    from inboxd.dev.demo import sample_mail
    from inboxd.mail.render import default_template_dirs
    from inboxd.service.runtime import build_runtime

    example = default_template_dirs()[0].parent / "examples" / "inboxd.yaml"
    rt = build_runtime(load_config(example), example.parent, check_templates=False)

    def language(subject: str, body: str, head: bytes = b"") -> str:
        raw = head + sample_mail("claire@customer.example", "Claire", "support@example.com", subject, body)
        return str(explain_message(rt, raw)["language"])

    assert language("Commande 48213", "Bonjour, ma commande n'est toujours pas arrivée. Pouvez-vous vérifier ?") \
        == "fr"
    assert language("Zamówienie", "Dzień dobry, moje zamówienie nadal nie dotarło.") == "en"  # not served
    # The example's rule for Content-Language: de wins over the French text.
    assert language("Commande", "Bonjour, ma commande n'est pas arrivée.", b"Content-Language: de\r\n") == "de"


def test_the_prepared_model_kept_in_the_cache_scores_as_the_shipped_one(tmp_path: Path) -> None:
    from inboxd.service import detector as language

    path = tmp_path / "cache" / "language-test"
    prepared = language._load(path)  # prepared from the shipped model, then read back from the cache
    assert (path / "ptc.npy").exists() and (path / "nextmove.bin").exists()
    cached = language._load(path)  # read from the cache only
    shipped = language.shipped_identifier()  # no cache: prepared in memory
    assert cached.nb_classes == shipped.nb_classes == prepared.nb_classes
    assert sorted(cached.nb_classes) == sorted(CANDIDATES)
    for _language, text in _samples()[:200]:
        assert cached.rank(text) == shipped.rank(text)


def test_a_damaged_cache_is_prepared_again(tmp_path: Path) -> None:
    from inboxd.service import detector as language

    path = tmp_path / "language-test"
    language._load(path)
    (path / "nextmove.bin").write_bytes(b"\0" * 8)  # cut short
    with pytest.raises(ValueError):
        language._read(path)
    again = language._load(path)
    assert (path / "nextmove.bin").stat().st_size > 8
    assert again.classify("Guten Tag, meine Rechnung ist leider falsch")[0] == "de"

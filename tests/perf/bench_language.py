"""Language detectors on short customer texts: accuracy, memory and latency. Prints figures, asserts nothing.

Run: ``.venv/bin/python tests/perf/bench_language.py``. Each candidate is measured in its own process, so
the resident memory it adds (after loading its models and detecting once) is its own. The texts are
``tests/data/language/short_texts.tsv`` (1–3 sentences each; see the README beside it).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "language" / "short_texts.tsv"
# The mail languages inboxd asks detectors to choose among (inboxd.core.language.CANDIDATES; Norwegian is
# "no" to py3langid and "nb" to lingua).
CANDIDATES = ("en", "de", "fr", "es", "it", "nl", "pt", "pl", "sv", "da", "nb", "fi", "ca", "ro", "cs", "sk", "hu",
              "hr", "sl", "tr", "el", "ru", "uk", "bg", "ja", "zh", "ko", "ar", "he")


def samples() -> list[tuple[str, str]]:
    rows = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            lang, text = line.split("\t", 1)
            rows.append((lang, text))
    return rows


def build(name: str):  # type: ignore[no-untyped-def]
    """A detect(text) -> ISO 639-1 code (or "") for candidate ``name``."""
    if name == "inboxd":
        # What inboxd runs: py3langid over its candidates, undecided below its confidence bar.
        from inboxd.core.language import detect_language

        return lambda text: {"no": "nb"}.get(found := detect_language(text) or "", found)
    if name.startswith("lingua"):
        from lingua import IsoCode639_1, LanguageDetectorBuilder

        langs = [getattr(IsoCode639_1, code.upper()) for code in CANDIDATES]
        builder = (LanguageDetectorBuilder.from_all_languages() if "all" in name
                   else LanguageDetectorBuilder.from_iso_codes_639_1(*langs))
        if "low" in name:
            builder = builder.with_low_accuracy_mode()
        if "preload" in name:
            builder = builder.with_preloaded_language_models()
        detector = builder.build()

        def detect(text: str) -> str:
            found = detector.detect_language_of(text)
            return found.iso_code_639_1.name.lower() if found is not None else ""
        return detect
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=False)
    if "all" not in name:
        identifier.set_languages([c if c != "nb" else "no" for c in CANDIDATES])

    def detect_langid(text: str) -> str:
        code = str(identifier.classify(text)[0])
        return "nb" if code == "no" else code
    return detect_langid


def _rss_now() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(name: str) -> dict[str, object]:
    rows = samples()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    detect = build(name)
    detect("warm-up text for the detector")
    load = time.perf_counter() - started
    got = []
    started = time.perf_counter()
    for _, text in rows:
        got.append(detect(text))
    elapsed = time.perf_counter() - started
    rss = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    short = [(lang, g) for (lang, text), g in zip(rows, got, strict=True) if len(text.split()) <= 5]
    wrong = Counter(f"{lang}->{g or '?'}" for (lang, _), g in zip(rows, got, strict=True) if g != lang)
    right = sum(1 for (lang, _), g in zip(rows, got, strict=True) if g == lang)
    return {"candidate": name, "samples": len(rows), "accuracy": round(right / len(rows), 4),
            "short_samples": len(short),
            "short_accuracy": round(sum(1 for lang, g in short if g == lang) / len(short), 4),
            "load_s": round(load, 3), "ms_per_text": round(1000 * elapsed / len(rows), 3),
            "peak_rss_added_mib": round(rss, 1), "rss_now_mib": round(_rss_now(), 1),
            "confusions": dict(wrong.most_common(8))}


NAMES = ("inboxd", "lingua-candidates-high", "lingua-candidates-low", "lingua-candidates-high-preload",
         "lingua-all-high",
         "py3langid-candidates", "py3langid-all")

if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(json.dumps(measure(sys.argv[1])))
    else:
        import importlib.util

        for name in NAMES:
            package = "lingua" if name.startswith("lingua") else "py3langid"  # inboxd's too
            if importlib.util.find_spec(package) is None:
                # lingua is only compared here, not used: pip install lingua-language-detector to see it.
                print(json.dumps({"candidate": name, "skipped": f"{package} is not installed"}))
                continue
            out = subprocess.run([sys.executable, __file__, name], capture_output=True, text=True, check=True)
            print(out.stdout.strip())

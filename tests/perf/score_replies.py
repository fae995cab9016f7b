"""Score reply text extraction on the reply corpus, per split: how often the new words come out exactly, how often
text that is not the reply leaks in, and how often words of the reply are lost.

The corpus (tests/data/replies, see its SOURCES.md) has two splits:

- ``tuned``: the cases in tests/data/replies itself; the rules in ``inboxd/mail/reply.py`` are tuned on these and
  tests/unit/test_reply.py asserts each of them;
- ``held-out``: the cases in tests/data/replies/held-out (see the README there), which the rules are never tuned on.
  Their figures estimate how the rules do on mail they have not seen.

For each case:

- exact: the extracted text equals the ``.expected`` file;
- leak: a line of the extracted text is in no line of the expected text (quoted history, an attribution, a header
  block, a signature or a footer got in). Lines are counted, not just compared as sets: a quoted "Thanks," under a
  reply that also says "Thanks," leaks in too. A line cut short ("Thanks!" for "Thanks! See you then.") is lost
  words, not a leak;
- lost: a line of the expected text is in no line of the extracted text (counted the same way; a line that came out
  with an attribution glued to it is a leak, not a loss).

Also prints the mean and the largest time per case (reply extraction alone for ``.txt`` and ``.html`` cases, whole
parse for ``.eml``), and with ``-v`` each failing case of the tuned split (held-out cases are listed only with
``--show-held-out``, for a final look once the rules are settled).

    python tests/perf/score_replies.py [-v] [--show-held-out]

Figures only, no assertion (see DESIGN.md, Testing); the tests hold the tuned split to exact.
"""

from __future__ import annotations

import argparse
import re
import time
from collections import Counter, defaultdict
from pathlib import Path

from inboxd.mail.parse import parse_message
from inboxd.mail.reply import reply_text, reply_text_html

REPLIES = Path(__file__).resolve().parents[1] / "data" / "replies"
SPLITS = {"tuned": REPLIES, "held-out": REPLIES / "held-out"}
# Held-out sources with fewer cases than this are shown pooled, not one by one.
MIN_SHOWN = 5


def cases(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".txt", ".html", ".eml"))


def new_words(case: Path) -> str:
    if case.suffix == ".eml":
        return parse_message(case.read_bytes()).reply_text
    if case.suffix == ".html":
        return reply_text_html(case.read_text(encoding="utf-8"))
    return reply_text(case.read_text(encoding="utf-8"))


def origins(folder: Path) -> dict[str, str]:
    """Case name (without suffix) -> the heading of the section of the folder's source list that names it."""
    listing = folder / ("SOURCES.md" if (folder / "SOURCES.md").exists() else "README.md")
    found: dict[str, str] = {}
    heading = "?"
    for line in listing.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            heading = line[3:].split("—")[0].strip()
        elif line.startswith("|"):
            first = line.split("|")[1]
            for name in re.split(r"[,\s]+", first):
                found.setdefault(re.sub(r"\.(txt|html|eml)$", "", name.strip("`")), heading)
    return found


def _lines(text: str) -> Counter[str]:
    return Counter(line.strip() for line in text.splitlines() if line.strip())


def leak_and_lost(expected: str, got: str) -> tuple[bool, bool]:
    """Whether text that is not the reply got in, and whether words of the reply were lost (see the module's doc)."""
    want, have = _lines(expected), _lines(got)
    extra, missing = have - want, want - have
    leak = any(not any(line in other for other in missing) for line in extra)
    lost = any(not any(line in other for other in extra) for line in missing)
    return leak, lost


def score(folder: Path) -> list[tuple[Path, bool, bool, bool, float]]:
    results = []
    for case in cases(folder):
        expected = case.with_suffix(".expected").read_text(encoding="utf-8").rstrip("\n")
        start = time.perf_counter()
        got = new_words(case)
        elapsed = time.perf_counter() - start
        leak, lost = leak_and_lost(expected, got)
        results.append((case, got == expected, leak, lost, elapsed))
    return results


def _rates(rows: list[tuple[Path, bool, bool, bool, float]]) -> str:
    n = len(rows)
    exact = sum(r[1] for r in rows)
    leak = sum(r[2] for r in rows)
    lost = sum(r[3] for r in rows)
    return (f"{n:4d} cases  exact {exact / n:6.1%} ({exact})  leak {leak / n:5.1%} ({leak})  "
            f"lost {lost / n:5.1%} ({lost})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list the tuned split's failing cases")
    parser.add_argument("--show-held-out", action="store_true", help="also list the held-out split's failures")
    args = parser.parse_args()
    for split, folder in SPLITS.items():
        rows = score(folder)
        names = origins(folder)
        print(f"{split:9s} {_rates(rows)}")
        by_origin: dict[str, list[tuple[Path, bool, bool, bool, float]]] = defaultdict(list)
        for row in rows:
            by_origin[names.get(row[0].stem, "?")].append(row)
        public = [row for origin, part in by_origin.items() if not origin.startswith("Written") for row in part]
        if public:
            print(f"  {'(all public fixtures)':40s} {_rates(public)}")
        small: list[tuple[Path, bool, bool, bool, float]] = []
        for origin, part in sorted(by_origin.items()):
            # A held-out source with a handful of cases would tell, case by case, which of them fail: pooled.
            if split == "held-out" and len(part) < MIN_SHOWN:
                small += part
                continue
            print(f"  {origin[:40]:40s} {_rates(part)}")
        if small:
            print(f"  {f'(sources of < {MIN_SHOWN} cases, pooled)':40s} {_rates(small)}")
        timings = sorted(r[4] for r in rows)
        print(f"  time per case: mean {sum(timings) / len(timings) * 1e6:.0f} µs, max {timings[-1] * 1e6:.0f} µs")
        if args.verbose and (split == "tuned" or args.show_held_out):
            for case, exact, leak, lost, _ in rows:
                if not exact:
                    flags = ",".join(f for f, on in (("leak", leak), ("lost", lost)) if on) or "whitespace"
                    print(f"    {case.name}: {flags}")


if __name__ == "__main__":
    main()

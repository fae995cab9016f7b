"""Benchmark: parse + classify throughput over the fixture corpus in tests/data/mail/<kind>/.

The corpus is repeated until at least ``--messages`` messages have been classified (raw bytes in,
``classify(..., raw=...)`` out, exactly as ingest does it). Prints the corpus size by kind, then
messages/second for parse alone and for parse + classify, and the share of the time spent in bounces.

    PYTHONPATH=. python tests/perf/bench_classify.py [--messages 5000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from pathlib import Path

from inboxd.mail.classify import TeamIdentity, classify
from inboxd.mail.parse import parse_message

CORPUS = Path(__file__).resolve().parents[1] / "data" / "mail"
KINDS = ("customer", "staff", "staff_note", "auto_reply", "bounce", "list", "ignored")
TEAM = TeamIdentity(our_addresses=frozenset({"support@example.com"}), staff_domains=frozenset({"example.com"}),
                    trusted_authserv_ids=frozenset({"mx.example.com"}))


def load() -> list[tuple[str, bytes]]:
    return [(kind, path.read_bytes()) for kind in KINDS for path in sorted((CORPUS / kind).glob("*.eml"))]


def run(corpus: list[tuple[str, bytes]], count: int, *, classify_too: bool) -> tuple[float, Counter[str]]:
    """Seconds for ``count`` messages, and the kinds classify gave them."""
    kinds: Counter[str] = Counter()
    start = time.perf_counter()
    for index in range(count):
        _, raw = corpus[index % len(corpus)]
        msg = parse_message(raw)
        if classify_too:
            kinds[classify(msg, TEAM, "inbox", None, raw=raw).kind] += 1
    return time.perf_counter() - start, kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    corpus = load()
    by_kind = Counter(kind for kind, _ in corpus)
    count = max(args.messages, len(corpus))
    print(f"corpus: {len(corpus)} messages, {sum(len(r) for _, r in corpus) / 1024:.0f} KiB")
    for kind in KINDS:
        print(f"  {kind:<11} {by_kind[kind]:>4}")
    run(corpus, len(corpus), classify_too=True)  # warm regex and import caches
    parse_times = [run(corpus, count, classify_too=False)[0] for _ in range(args.rounds)]
    full_times: list[float] = []
    kinds: Counter[str] = Counter()
    for _ in range(args.rounds):
        seconds, kinds = run(corpus, count, classify_too=True)
        full_times.append(seconds)
    parse_rate = count / statistics.median(parse_times)
    full_rate = count / statistics.median(full_times)
    print(f"messages per round: {count} (corpus repeated), rounds: {args.rounds}, median shown")
    print(f"parse only:         {parse_rate:>8.0f} messages/s")
    print(f"parse + classify:   {full_rate:>8.0f} messages/s  ({1e6 / full_rate:.0f} µs per message)")
    bounces = [raw for kind, raw in corpus if kind == "bounce"]
    others = [raw for kind, raw in corpus if kind != "bounce"]
    for label, subset in (("bounces", bounces), ("everything else", others)):
        start = time.perf_counter()
        for raw in subset * max(1, count // max(1, len(corpus))):
            classify(parse_message(raw), TEAM, "inbox", None, raw=raw)
        rate = len(subset) * max(1, count // max(1, len(corpus))) / (time.perf_counter() - start)
        print(f"  {label:<16} {rate:>8.0f} messages/s")
    print("kinds classified in the last round (trusted_authserv_ids set: staff without our MX's header count as "
          "customers): " + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items())))


if __name__ == "__main__":
    main()

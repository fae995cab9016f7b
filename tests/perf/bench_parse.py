"""Benchmark: parse + new-words throughput over the message corpus in tests/data, and the huge-header cases.

Every ``.eml`` under tests/data, and every reply-corpus body (``tests/data/replies/*.txt`` as text/plain,
``*.html`` as HTML-only mail) wrapped into a message, is parsed with :func:`inboxd.mail.parse.parse_message`
(which also computes ``reply_text``), the list repeated until at least ``--messages`` have been parsed. Prints:

- parse throughput (messages/s) and latency per message (median, p95, max);
- ``reply_text`` and ``reply_text_html`` alone (µs per call), over the reply corpus;
- the time to parse messages with huge headers (a 1 MB header line, 10,000 headers, a 1 MB MIME parameter,
  a 1 MB encoded-word subject), against the 0.5 s budget;
- the process's peak memory.

    python tests/perf/bench_parse.py [--messages 5000]

Figures only: no assertion, so a slow machine does not fail a build (see DESIGN.md, Testing).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

from inboxd.mail.parse import parse_message
from inboxd.mail.reply import reply_text, reply_text_html

DATA = Path(__file__).resolve().parents[1] / "data"


def corpus() -> list[tuple[str, bytes]]:
    """(name, raw message) for every message the test data holds."""
    messages = [(str(path.relative_to(DATA)), path.read_bytes()) for path in sorted(DATA.rglob("*.eml"))]
    for path in sorted((DATA / "replies").glob("*.txt")) + sorted((DATA / "replies").glob("*.html")):
        subtype = "html" if path.suffix == ".html" else "plain"
        head = (f"From: Ann <ann@customer.example>\nTo: support@example.com\nSubject: Re: {path.stem}\n"
                f"Date: Mon, 2 Nov 2026 10:00:00 +0100\nMessage-ID: <{path.stem}@bench.example>\nMIME-Version: 1.0\n"
                f"Content-Type: text/{subtype}; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n")
        messages.append((str(path.relative_to(DATA)), head.encode() + path.read_bytes()))
    return messages


def huge_headers() -> list[tuple[str, bytes]]:
    base = b"From: Ann <ann@example.org>\nTo: support@example.com\nMessage-ID: <h@x.example>\n"
    return [
        ("1 MB Subject line", base + b"Subject: " + b"spam " * 200_000 + b"\n\nhello\n"),
        ("1 MB encoded-word Subject", base + b"Subject: " + b"=?utf-8?q?Gr=C3=BC=C3=9Fe?= " * 40_000 + b"\n\nhi\n"),
        ("1 MB From of '<'", b"From: " + b"<" * 1_000_000 + b"\nSubject: x\n\nhi\n"),
        ("1 MB To list", b"From: a@b.example\nTo: " + b"someone@example.com, " * 50_000 + b"\n\nhi\n"),
        ("10,000 Received headers", base + b"Received: from a by b; Mon, 2 Nov 2026 10:00:00 +0100\n" * 10_000
         + b"\nhi\n"),
        ("20,000 To headers of 6 addresses", base + (b"To: " + b"a@example.com, " * 6 + b"\n") * 20_000
         + b"\nhi\n"),
        ("100,000 headers (20,000 read)", base + b"X-A: b\n" * 100_000 + b"\nhi\n"),
        ("1 MB Content-Type parameter", base + b"MIME-Version: 1.0\nContent-Type: multipart/mixed; "
         + b"a=b; " * 200_000 + b"boundary=B\n\n--B\n\nhi\n--B--\n"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000, help="at least this many parses (default 5000)")
    args = parser.parse_args()

    messages = corpus()
    total_bytes = sum(len(raw) for _, raw in messages)
    print(f"corpus: {len(messages)} messages, {total_bytes / 1024:.0f} KiB "
          f"({sum(1 for name, _ in messages if name.endswith('.eml'))} .eml, the rest reply bodies wrapped as mail)")

    # Warm up: first imports and regex compilation are not what a running daemon pays per message.
    for _, raw in messages:
        parse_message(raw)

    rounds = -(-args.messages // len(messages))
    latencies: list[float] = []
    started = time.perf_counter()
    for _ in range(rounds):
        for _, raw in messages:
            t0 = time.perf_counter()
            parse_message(raw)
            latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    latencies.sort()
    print(f"parse + reply text: {len(latencies)} messages in {elapsed:.2f} s = {len(latencies) / elapsed:,.0f} msg/s; "
          f"per message median {statistics.median(latencies) * 1e6:,.0f} µs, "
          f"p95 {latencies[int(len(latencies) * 0.95)] * 1e6:,.0f} µs, max {latencies[-1] * 1e3:,.1f} ms")

    replies = DATA / "replies"
    for label, function, pattern in (("reply_text", reply_text, "*.txt"),
                                     ("reply_text_html", reply_text_html, "*.html")):
        bodies = [path.read_text(encoding="utf-8") for path in sorted(replies.glob(pattern))]
        calls = max(1, 5000 // len(bodies)) * len(bodies)
        t0 = time.perf_counter()
        for _ in range(calls // len(bodies)):
            for body in bodies:
                function(body)
        per_call = (time.perf_counter() - t0) / calls
        print(f"{label}: {len(bodies)} bodies, {calls} calls, {per_call * 1e6:,.1f} µs per call")

    print("huge headers (budget 0.5 s each):")
    for label, raw in huge_headers():
        t0 = time.perf_counter()
        msg = parse_message(raw)
        seconds = time.perf_counter() - t0
        cut = next((d for d in msg.defects if "cut" in d or "not read" in d), "-")
        print(f"  {label:<34} {seconds * 1e3:7.1f} ms  {'ok' if seconds < 0.5 else 'OVER BUDGET'}  {cut}")

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory: {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()

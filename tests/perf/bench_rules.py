"""Benchmark: the admin's rules against hostile mail, per message.

A rule set with pathological patterns — ``body: '(a+)+$'``, which Python's backtracking ``re`` needs
exponential time for on a run of ``a`` ending in ``b`` — plus a realistic set of twenty rules (any/all/not,
headers, plain text), applied to a 50 kB body of ``a``s with a trailing ``b`` and to an ordinary message.
Prints the cost per message (median, 95th percentile and worst of ``--messages``), and for contrast how long
Python's ``re`` takes on the same pattern over only 22 characters (it doubles with every one more).
The target is at most 10 ms per message.

    PYTHONPATH=. python tests/perf/bench_rules.py [--messages 200] [--size 50000]
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from datetime import UTC, datetime

from inboxd.config import load_config_text
from inboxd.core.rules import RuleFacts, apply_rules, compile_rules
from inboxd.mail.parse import parse_message

CONFIG = """\
team: {timezone: Europe/Berlin, business_hours: {mon-fri: "09:00-17:00"}}
mailboxes:
  - name: support
    address: support@example.com
    imap: {host: imap.example.com, username: u, password_env: P}
    smtp: {host: smtp.example.com, username: u, password_env: P}
rules:
  - name: pathological
    match: {body: '(a+)+$'}
    set: {tags: [hostile]}
  - name: pathological-unanchored
    match: {body: '(x+x+)+y|(.*a){12}c'}
    set: {tags: [hostile]}
"""

REALISTIC = "".join(f"""\
  - name: rule-{n}
    match:
      any:
        - subject: '(?i)\\\\b(outage|down|broken|urgent)-{n}\\\\b'
        - all: [{{from: '@customer-{n}\\\\.example$'}}, {{body: '(?i)(refund|cancel|invoice)\\\\s+#?\\\\d{{3,}}'}}]
      not: {{header: {{X-Mailer: {{contains: 'bulk-{n}'}}}}}}
      time: ['mon-fri 08:00-18:00', 'sat']
    set: {{priority: high, tags: [t{n}]}}
""" for n in range(20))


def message(body: str) -> bytes:
    return (f"From: Ann <ann@customer-3.example>\nTo: support@example.com\nSubject: Question\n"
            f"X-Mailer: mutt\n\n{body}").encode()


def per_message(rules: object, facts: RuleFacts, count: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds per message (on a shared machine the wall clock also counts waiting for a core)."""
    wall, cpu = [], []
    for _ in range(count):
        start, start_cpu = time.perf_counter(), time.thread_time()
        apply_rules(rules, facts)  # type: ignore[arg-type]
        wall.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--size", type=int, default=50_000)
    args = parser.parse_args()
    config = load_config_text(CONFIG + REALISTIC)
    start = time.perf_counter()
    rules = compile_rules(config.rules)
    print(f"{len(rules)} rules compiled in {(time.perf_counter() - start) * 1000:.1f} ms (once per load)")
    at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    cases = {
        f"hostile: {args.size // 1000} kB of 'a' + 'b'": parse_message(message("a" * args.size + "b")),
        "ordinary: 2 kB of prose": parse_message(message("Hello, my invoice #1234 is wrong.\n" * 60)),
    }
    for name, msg in cases.items():
        facts = RuleFacts(msg, mailbox="support", kind="customer", at=at)
        assert len(msg.text) >= min(args.size, 2000), "the body reaches the rules whole"
        outcome = apply_rules(rules, facts)
        wall, cpu = per_message(rules, facts, args.messages)
        print(f"{name} ({len(msg.text)} chars; target <= 10 ms; matched {list(outcome.matched)})")
        for label, times in (("wall", wall), ("cpu", cpu)):
            p95 = statistics.quantiles(times, n=20)[-1]
            print(f"  {label:<4} median {statistics.median(times) * 1000:7.3f} ms   p95 {p95 * 1000:7.3f} ms   "
                  f"worst {max(times) * 1000:7.3f} ms")
    backtracking = re.compile("(a+)+$")
    for length in (16, 20, 22):
        start = time.perf_counter()
        backtracking.search("a" * length + "b")
        print(f"for contrast, Python re on {length} 'a's + 'b': {(time.perf_counter() - start) * 1000:9.1f} ms")


if __name__ == "__main__":
    main()

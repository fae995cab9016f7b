"""Benchmark: the status page (``GET /``) and ``/metrics`` with a large history in the store.

Fills a SQLite database (or --database-url) with N answered cases spread over --years (each with its team
promise, some delay notices and staff commitments, one customer message and one sent acknowledgement), a queue
waiting on us, staff commitments due today and one promise at risk (``tests/integration/history.py``); then
times the page with every figure counted afresh (in-process), then serves it from the daemon's own HTTP
server (charts kept for a minute, as the daemon does) and times ``GET /``, ``GET /metrics`` and, where chromium
and Playwright are installed, the browser's load (median and p95; the target is 300 ms for the page).

    python tests/perf/bench_status_page.py [--cases 100000] [--years 3] [--runs 20] [--database-url URL [--no-fill]]
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from inboxd.config import load_config  # noqa: E402
from inboxd.service.runtime import build_runtime  # noqa: E402
from inboxd.store import repo  # noqa: E402
from inboxd.store.db import make_engine, migrate  # noqa: E402
from inboxd.store.schema import cases, messages, outbox  # noqa: E402
from inboxd.web.page import ChartCache, gather, render_page  # noqa: E402
from inboxd.web.server import Metrics, StatusServer  # noqa: E402
from tests.integration.history import seed_history  # noqa: E402

CONFIG = ROOT / "tests" / "data" / "workloads" / "config.yaml"
TARGET_MS = 300.0


def fill(url: str, count: int, years: float, now: datetime) -> None:
    engine = make_engine(url)
    migrate(engine)
    seed_history(engine, now, answered=count, waiting=40, days=int(365 * years))
    with engine.begin() as conn:
        rows = conn.execute(select(cases.c.id, cases.c.opened_at, cases.c.first_response_at)).all()
    batch = 20_000
    for start in range(0, len(rows), batch):
        chunk = rows[start:start + batch]
        with engine.begin() as conn:
            conn.execute(insert(messages), [
                {"message_id": f"<m{r.id}@customer.example>", "content_hash": f"{r.id:064x}", "mailbox": "support",
                 "folder": "INBOX", "uidvalidity": 1, "uid": r.id, "direction": "in", "kind": "customer",
                 "status": "processed", "case_id": r.id, "from_addr": f"c{r.id}@customer.example",
                 "subject": "Question", "received_at": r.opened_at, "size": 2000} for r in chunk])
            conn.execute(insert(outbox), [
                {"idempotency_key": f"ack:{r.id}", "message_id": f"<ack{r.id}@example.com>", "kind": "ack",
                 "case_id": r.id, "mailbox": "support", "mail_from": "support@example.com",
                 "rcpt_to": [f"c{r.id}@customer.example"], "raw": b"x" * 200, "state": "sent", "attempts": 1,
                 "next_attempt_at": r.opened_at, "created_at": r.opened_at, "sent_at": r.opened_at}
                for r in chunk])
    engine.dispose()


def timed(url: str, runs: int) -> tuple[list[float], int]:
    timings, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=60) as response:
            body = response.read()
        timings.append((time.perf_counter() - started) * 1000)
        size = len(body)
    return timings, size


def in_browser(url: str, runs: int) -> list[float]:
    """The page's load time as chromium measures it (navigation start to the load event), if it is here."""
    chromium = shutil.which("chromium")
    if chromium is None or importlib.util.find_spec("playwright") is None:
        print("chromium or Playwright missing: no browser timing")
        return []
    from playwright.sync_api import sync_playwright

    timings = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu",
                                                                    "--disable-background-networking",
                                                                    "--disable-component-update"])
        page = browser.new_page()
        page.goto(url)  # warm
        for _ in range(runs):
            page.goto(url, wait_until="load")
            timings.append(float(page.evaluate("() => { const n = performance.getEntriesByType('navigation')[0]; "
                                               "return n.loadEventEnd - n.startTime; }")))
        browser.close()
    return timings


def summary(name: str, timings: list[float], size: int) -> str:
    ordered = sorted(timings)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (f"{name}: median {statistics.median(ordered):.0f} ms, p95 {p95:.0f} ms, max {ordered[-1]:.0f} ms "
            f"({size} bytes)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--years", type=float, default=3.0, help="the history's span (default 3 years)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url")
    parser.add_argument("--no-fill", action="store_true", help="time the database at --database-url as it is")
    args = parser.parse_args()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/page.db"
        started = time.monotonic()
        if not args.no_fill:
            fill(url, args.cases, args.years, now)
        rt = build_runtime(load_config(CONFIG), CONFIG.parent)
        store = repo.Store(make_engine(url))
        with store.connect() as conn:
            total = conn.execute(select(func.count()).select_from(cases)).scalar()
        if args.no_fill:
            print(f"{total} cases in the store")
        else:
            print(f"filled {total} cases over {args.years:g} years (plus as many messages and sent "
                  f"acknowledgements) in {time.monotonic() - started:.0f} s")

        cache = ChartCache()

        def page() -> str:  # what the daemon serves at /
            with store.connect() as conn:
                return render_page(gather(conn, rt, datetime.now(UTC), chart_cache=cache))

        def uncached() -> None:
            with store.connect() as conn:
                render_page(gather(conn, rt, datetime.now(UTC)))

        server = StatusServer("127.0.0.1", 0, health=lambda: (True, "ok"), metrics=Metrics(store), page=page)
        server.start()
        try:
            base = f"http://127.0.0.1:{server.port}"
            cold = []
            for _ in range(args.runs // 2 or 1):  # every figure counted afresh, charts included (in-process)
                started = time.perf_counter()
                uncached()
                cold.append((time.perf_counter() - started) * 1000)
            timed(base + "/", 2)  # the charts counted once, then kept for a minute as the daemon does
            page_ms, page_size = timed(base + "/", args.runs)
            metrics_ms, metrics_size = timed(base + "/metrics", args.runs)
            browser_ms = in_browser(base + "/", min(args.runs, 10))
        finally:
            server.stop()
            store.dispose()
        print(summary("page with the charts counted afresh (in-process, no HTTP)", cold, page_size))
        print(summary("GET / (charts from the one-minute cache)", page_ms, page_size))
        print(summary("GET /metrics", metrics_ms, metrics_size))
        if browser_ms:
            print(summary("chromium, navigation to load event", browser_ms, page_size))
        verdict = "within" if statistics.median(page_ms) <= TARGET_MS else "OVER"
        print(f"page target {TARGET_MS:.0f} ms: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: does a long read (the status page) hold up the daemon's writers on SQLite?

Fills a SQLite database with N answered cases (``tests/integration/history.py``), then, for each way a reader
may begin its transaction, renders the page's figures (``inboxd.web.page.gather``, every chart counted afresh) in
one thread while another thread commits small write transactions (one event each, as the daemon's ticks do)
as fast as it can; prints the page time and how long each write waited (median, p95, max).

- ``immediate``: the reader begins with BEGIN IMMEDIATE (every transaction before read connections existed);
- ``deferred``: the reader uses ``Store.connect`` (a deferred read transaction under WAL).

    python tests/perf/bench_read_write.py [--cases 50000] [--runs 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from inboxd.config import load_config  # noqa: E402
from inboxd.service.runtime import build_runtime  # noqa: E402
from inboxd.store import repo  # noqa: E402
from inboxd.store.db import make_engine, migrate, read_connection  # noqa: E402
from inboxd.web.page import gather  # noqa: E402
from tests.integration.history import seed_history  # noqa: E402

CONFIG = ROOT / "tests" / "data" / "workloads" / "config.yaml"


def quantiles(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms"


def measure(url: str, mode: str, runs: int, now: datetime) -> None:
    rt = build_runtime(load_config(CONFIG))
    reader_engine, writer = make_engine(url), repo.Store(make_engine(url))
    done = threading.Event()
    waits: list[float] = []

    def write() -> None:
        while not done.is_set():
            started = time.perf_counter()
            with writer.begin() as conn:
                repo.add_event(conn, "bench.write", now)
            waits.append((time.perf_counter() - started) * 1000)
            time.sleep(0.002)

    page: list[float] = []
    thread = threading.Thread(target=write)
    thread.start()
    try:
        for _ in range(runs):
            started = time.perf_counter()
            opened = read_connection(reader_engine) if mode == "deferred" else reader_engine.connect()
            with opened as conn:
                gather(conn, rt, now)
            page.append((time.perf_counter() - started) * 1000)
    finally:
        done.set()
        thread.join()
    print(f"{mode:>9}: page {quantiles(page)}; {len(waits)} writes meanwhile, each {quantiles(waits)}")
    reader_engine.dispose()
    writer.dispose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/rw.db"
        engine = make_engine(url)
        migrate(engine)
        seed_history(engine, now, answered=args.cases, waiting=40, days=365)
        engine.dispose()
        print(f"{args.cases} answered cases over a year")
        for mode in ("immediate", "deferred"):
            measure(url, mode, args.runs, now)
    return 0


if __name__ == "__main__":
    sys.exit(main())

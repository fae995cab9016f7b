"""Benchmark: `inboxd eta` with 100,000 cases in the store.

Fills a SQLite database (or --database-url) with N cases spread over the last 180 days (each answered,
with its team promise), plus a queue of waiting cases, then times what `inboxd eta` does — the three
indexed queries, the fit and the estimate — in-process (median and p95 over repeated runs), and the
whole command as a process (which adds the interpreter's start-up).

    python tests/perf/bench_eta_store.py [--cases 100000] [--waiting 40] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from inboxd.config import load_config
from inboxd.service.forecast import fit_model
from inboxd.service.runtime import build_runtime
from inboxd.store.db import make_engine, migrate
from inboxd.store.schema import cases, promises

CONFIG = Path(__file__).resolve().parents[1] / "data" / "workloads" / "config.yaml"


def fill(url: str, count: int, waiting: int, now: datetime) -> None:
    engine = make_engine(url)
    migrate(engine)
    rng = random.Random(7)
    case_rows, promise_rows = [], []
    for number in range(1001, 1001 + count):
        opened = now - timedelta(days=180) * rng.random()
        answered = None if number >= 1001 + count - waiting else opened + timedelta(hours=rng.lognormvariate(1, 1))
        if answered is not None and answered > now:
            answered = now
        case_rows.append({"id": number, "number": number, "mailbox": "support",
                          "status": "waiting_on_us" if answered is None else "waiting_on_customer",
                          "priority": rng.choice(["normal"] * 8 + ["high", "urgent"]), "language": "en",
                          "customer": f"c{number}@x.example", "subject": "s", "opened_at": opened,
                          "first_response_at": answered, "last_activity_at": answered or opened})
        promise_rows.append({"case_id": number, "owner": "team", "source": "ack", "text": "by then",
                             "made_at": opened, "due_at": opened + timedelta(hours=16),
                             "state": "kept" if answered else "open", "predicted_bh": 2.0, "spread_bh": 1.0})
    with engine.begin() as conn:
        for start in range(0, count, 5000):
            conn.execute(insert(cases), case_rows[start:start + 5000])
            conn.execute(insert(promises), promise_rows[start:start + 5000])
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--waiting", type=int, default=40)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/eta.db"
        started = time.monotonic()
        fill(url, args.cases, args.waiting, now)
        print(f"filled {args.cases} cases ({args.waiting} waiting) in {time.monotonic() - started:.1f} s")
        rt = build_runtime(load_config(CONFIG), CONFIG.parent)
        engine = make_engine(url)
        timings = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            with engine.connect() as conn:
                model, queue = fit_model(conn, rt, now)
            estimate = model.estimate(now, "normal", queue)
            timings.append(time.perf_counter() - t0)
        engine.dispose()
        timings.sort()
        print(f"eta in-process (queries + fit + estimate): median {statistics.median(timings) * 1000:.1f} ms, "
              f"p95 {timings[int(0.95 * (len(timings) - 1))] * 1000:.1f} ms; promise {estimate.due:%a %H:%M}, "
              f"{estimate.ahead} ahead")
        env = dict(os.environ, INBOXD_DATABASE_URL=url, INBOXD_CONFIG=str(CONFIG))
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "inboxd.cli.main", "eta", "--json", "--at", now.isoformat()],
                              env=env, capture_output=True, text=True, check=False)
        print(f"`inboxd eta` as a process: {(time.perf_counter() - t0) * 1000:.0f} ms (exit {done.returncode}, "
              "including Python start-up and imports)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

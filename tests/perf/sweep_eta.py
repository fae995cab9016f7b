"""The estimate on many random workloads: the ≥ 200-workload sweep of the estimate's targets, resumable.

    python tests/perf/sweep_eta.py [--count 200] [--seed 0] [--jobs 2] [--held-out] [--out sweep.jsonl]

Each workload (:func:`inboxd.service.workloads.evaluate`, the same rows as ``inboxd simulate --random``) is appended to
``--out`` as one JSON line the moment it finishes, so a sweep that takes hours on a small machine can be stopped
and started again: seeds already in the file are not simulated twice. At the end (or with ``--report`` alone) it
prints the distribution against the targets (:func:`inboxd.service.workloads.summarize`), the workloads that miss a
target, and the kept rate and slack by workload feature (team size, load, pattern, bursts that jump the queue,
unannounced absences), to show which features break promises.

Seeds 1,000,000–1,000,999 are held out (``--held-out``): use them once, for the final figures, never to tune.
No timed assertions: this prints figures, and exits 1 when the sweep misses a target.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from inboxd.service import workloads


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0, help="first seed (offset into the held-out range with it)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--held-out", action="store_true", help="the seeds kept for final checks")
    parser.add_argument("--out", type=Path, default=Path("sweep.jsonl"))
    parser.add_argument("--report", action="store_true", help="only print what --out holds")
    args = parser.parse_args()

    if args.held_out:
        first = workloads.HELD_OUT.start + args.seed
        chosen = list(range(first, first + args.count))
    else:
        chosen = workloads.seeds(args.count, args.seed)
    rows = _read(args.out)
    if not args.report:
        todo = [seed for seed in chosen if seed not in rows]
        with ProcessPoolExecutor(max(1, args.jobs)) as pool, args.out.open("a") as sink:
            futures = {pool.submit(workloads.evaluate, seed): seed for seed in todo}
            for done, future in enumerate(as_completed(futures), 1):
                row = future.result()
                rows[row["seed"]] = row
                sink.write(json.dumps(row) + "\n")
                sink.flush()
                print(f"[{done}/{len(todo)}] seed {row['seed']}: kept {row['kept_rate']}, slack "
                      f"{row['median_slack_bh']}/{row['slack_bound_bh']}", file=sys.stderr)
    chosen_rows = [rows[seed] for seed in chosen if seed in rows]
    return report(chosen_rows)


def _read(path: Path) -> dict[int, dict[str, Any]]:
    rows: dict[int, dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                rows[int(row["seed"])] = row
    return rows


def report(rows: list[dict[str, Any]]) -> int:
    summary = workloads.summarize(rows)
    for key, value in summary.items():
        print(f"{key:<24} {json.dumps(value)}")
    slack_ratio = sorted(row["median_slack_bh"] / row["slack_bound_bh"] for row in rows) if rows else []
    if slack_ratio:
        print(f"{'slack / bound':<24} median {statistics.median(slack_ratio):.2f}, max {slack_ratio[-1]:.2f}")
    misses = [row for row in rows if not all(row["meets"].values())]
    if misses:
        print(f"\n{len(misses)} workloads miss a target:")
        for row in sorted(misses, key=lambda row: row["kept_rate"]):
            failed = ",".join(key for key, ok in row["meets"].items() if not ok)
            print(f"  seed {row['seed']:>7}: team {row['team']:>2}, load {row['load']:.2f} {row['pattern']:<9} "
                  f"hot bursts {row['hot_bursts']}/{row['bursts']}, unannounced days {row['unannounced_days']:>2}: "
                  f"kept {row['kept_rate']:.3f}, slack {row['median_slack_bh']}/{row['slack_bound_bh']}, "
                  f"announced {row['broken_announced_rate']}, 24h {row['static_24h_kept']}  [{failed}]")
    print("\nby feature (workloads, mean kept, min kept, share within slack bound):")
    features: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        features[f"pattern={row['pattern']}"].append(row)
        features[f"load {'<0.8' if row['load'] < 0.8 else '0.8-1.1' if row['load'] <= 1.1 else '>1.1'}"].append(row)
        features[f"team {'1-2' if row['team'] <= 2 else '3-6' if row['team'] <= 6 else '7-12'}"].append(row)
        features[f"hot bursts {'yes' if row['hot_bursts'] else 'no'}"].append(row)
        features[f"unannounced {'yes' if row['unannounced_days'] else 'no'}"].append(row)
        features[f"heavy tail {'yes' if row['tail_share'] else 'no'}"].append(row)
    for name in sorted(features):
        group = features[name]
        kept = [row["kept_rate"] for row in group]
        slack_ok = sum(1 for row in group if row["meets"]["slack"]) / len(group)
        print(f"  {name:<20} {len(group):>4} {statistics.fmean(kept):.3f} {min(kept):.3f} {slack_ok:.2f}")
    return 0 if summary.get("targets_met") else 1


if __name__ == "__main__":
    sys.exit(main())

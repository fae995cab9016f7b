"""Random workloads for ``inboxd simulate --random``: teams and months of mail nobody tuned the estimate for.

One seed draws one team and four weeks of its work, as two things the simulator keeps apart:

* what the admin wrote in ``inboxd.yaml`` (:attr:`Drawn.config_text`): timezone, business hours, holidays of the
  team's country, each person's shift and the absences they announced;
* what really happens (:attr:`Drawn.workload`): arrivals at a load between half and 1.4 times the team's
  capacity, changing from week to week (backlogs that grow for weeks and recover), bursts of every priority,
  absences nobody announced, handle times with heavy tails, and people who work their mail in batches.

Pure: the same seed gives the same draw, with no clock and no I/O.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from inboxd.service.simulate import Burst, SimStaff, Workload

__all__ = ["HELD_OUT", "Drawn", "draw", "evaluate", "score", "seeds", "summarize"]

HELD_OUT = range(1_000_000, 1_001_000)
"""Seeds kept for final checks: tuning the estimate on them would make the check meaningless."""

_Z90 = 1.2815515655446004

# (timezone, holiday country, subdivision): teams in several countries, so several holiday seasons.
_PLACES = [
    ("Europe/Berlin", "DE", "BE"),
    ("America/New_York", "US", None),
    ("Europe/London", "GB", None),
    ("Asia/Tokyo", "JP", None),
    ("Australia/Sydney", "AU", "NSW"),
    ("America/Sao_Paulo", "BR", None),
    ("Europe/Paris", "FR", None),
    ("Europe/Madrid", "ES", None),
]

# First days of the seasons where holidays and absences bunch up (month, day), per year drawn.
_SEASONS = [(12, 14), (12, 21), (3, 15), (4, 20), (11, 16), (7, 20), (8, 3)]

_WEEKDAY_SHAPE = [0.1, 0.08, 0.06, 0.06, 0.08, 0.15, 0.35, 0.7, 1.3, 1.8, 1.9, 1.7,
                  1.3, 1.5, 1.7, 1.6, 1.4, 1.0, 0.7, 0.5, 0.4, 0.3, 0.2, 0.15]


@dataclass(frozen=True)
class Drawn:
    """One random team and its month: the config its admin wrote, the work that really arrives, and the draw."""

    seed: int
    config_text: str
    workload: Workload
    facts: dict[str, Any] = field(default_factory=dict)


def seeds(count: int, first: int = 0) -> list[int]:
    """``count`` seeds from ``first``, skipping the held-out range."""
    found: list[int] = []
    seed = first
    while len(found) < count:
        if seed not in HELD_OUT:
            found.append(seed)
        seed += 1
    return found


def draw(seed: int) -> Drawn:
    """The team and month of ``seed``."""
    rng = random.Random(f"inboxd-workload:{seed}")
    zone, country, subdivision = rng.choice(_PLACES)
    tz = ZoneInfo(zone)
    year = rng.choice([2026, 2027])
    if rng.random() < 0.5:
        month, day = rng.choice(_SEASONS)
        first = date(year, month, day)
    else:
        first = date(year, 1, 1) + timedelta(days=rng.randrange(0, 330))
    first -= timedelta(days=first.weekday())  # a Monday
    start = datetime(first.year, first.month, first.day, tzinfo=tz)
    days = 28

    # The team: its hours, then each person.
    opens = rng.choice([8, 8, 9, 9, 9, 10])
    team_hours = f"{opens:02d}:00-{opens + rng.choice([8, 8, 9, 10]):02d}:00"
    size = rng.choices(range(1, 13), weights=[6, 9, 9, 8, 7, 6, 4, 3, 3, 2, 2, 2])[0]
    people: list[dict[str, Any]] = []
    weekly_hours = 0.0
    for index in range(size):
        person = _person(rng, index, opens, first, days)
        people.append(person)
        weekly_hours += person["weekly_hours"]

    # Pace: log-normal handle times, sometimes with a heavy tail.
    median_min = rng.choice([8, 12, 15, 20, 25, 30, 40, 55])
    ratio = rng.uniform(1.8, 5.0)
    tail_share = rng.choice([0.0, 0.0, 0.02, 0.05, 0.08])
    tail_factor = rng.uniform(4.0, 10.0) if tail_share else 1.0
    sigma = math.log(ratio) / _Z90
    mean_min = median_min * math.exp(sigma * sigma / 2) * (1 + tail_share * (tail_factor - 1))
    capacity = weekly_hours * 60.0 / mean_min  # first responses a week with everyone at work

    # Load: a base between half and 1.4 of capacity, and how it moves over the four weeks.
    load = rng.uniform(0.5, 1.4)
    pattern = rng.choice(["steady", "steady", "grows", "recovers", "wave"])
    if pattern == "grows":
        scale = [1.0, 1.08, 1.16, 1.25]
    elif pattern == "recovers":
        scale = [1.3, 1.2, 0.75, 0.6]
    elif pattern == "wave":
        scale = [0.8, 1.25, 0.8, 1.25]
    else:
        scale = [1.0]
    weekly = load * capacity
    weekend_share = rng.choice([0.02, 0.05, 0.1])
    weekday_total = weekly * (1 - weekend_share) / 5
    weekend_total = weekly * weekend_share / 2
    shape_sum = sum(_WEEKDAY_SHAPE)
    per_weekday = [round(weekday_total * s / shape_sum, 4) for s in _WEEKDAY_SHAPE]
    per_weekend = [round(weekend_total / 24, 4)] * 24
    urgent = rng.choice([0.0, 0.02, 0.05, 0.08])
    high = rng.uniform(0.08, 0.25)
    low = rng.choice([0.0, 0.05, 0.1])
    mix = {"urgent": urgent, "high": high, "normal": max(0.3, 1 - urgent - high - low), "low": low}
    mix = {name: share for name, share in mix.items() if share > 0}

    bursts: list[Burst] = []
    for _ in range(rng.choice([0, 0, 1, 2, 3])):
        when = start + timedelta(days=rng.randrange(0, days), hours=rng.uniform(7, 17))
        count = max(3, round(weekly / 5 * rng.uniform(0.2, 1.0)))
        hot = rng.random() < 0.5  # mostly urgent and high: they jump the queue ahead of waiting cases
        bursts.append(Burst(at=when, count=count, over=timedelta(hours=rng.choice([1, 2, 3, 4])),
                            priority_mix={"urgent": 0.4, "high": 0.5, "normal": 0.1} if hot else None))

    staff = tuple(SimStaff(name=p["name"], hours=p["hours"], absent=frozenset(p["absent"]),
                           batch_every=p["batch_every"], batch_size=p["batch_size"]) for p in people)
    workload = Workload(
        start=start, duration=timedelta(days=days), seed=seed,
        per_hour_weekday=tuple(per_weekday), per_hour_weekend=tuple(per_weekend), priority_mix=mix,
        staff=staff, handle_median=timedelta(minutes=median_min),
        handle_p90=timedelta(minutes=median_min * ratio), bursts=tuple(bursts), name=f"random-{seed}",
        weekly_scale=tuple(scale), handle_tail_share=tail_share, handle_tail_factor=tail_factor)
    facts = {
        "seed": seed, "timezone": zone, "country": country, "start": start.date().isoformat(), "team": size,
        "load": round(load, 2), "pattern": pattern, "handle_median_min": median_min,
        "handle_p90_ratio": round(ratio, 2), "tail_share": tail_share,
        "batchers": sum(1 for p in people if p["batch_every"]),
        "unannounced_days": sum(len(p["absent"] - p["announced"]) for p in people),
        "hot_bursts": sum(1 for b in bursts if b.priority_mix), "bursts": len(bursts),
    }
    return Drawn(seed=seed, config_text=_config_text(zone, country, subdivision, team_hours, people),
                 workload=workload, facts=facts)


def _person(rng: random.Random, index: int, opens: int, first: date, days: int) -> dict[str, Any]:
    kind = rng.choices(["full", "full", "shifted", "part", "split", "far"], k=1)[0]
    if kind == "full":
        hours: dict[str, Any] = {"mon-fri": f"{opens:02d}:00-{opens + 8:02d}:00"}
        weekly = 40.0
    elif kind == "shifted":
        begin = opens + rng.choice([-1, 1, 2])
        hours = {"mon-fri": f"{begin:02d}:00-{begin + 8:02d}:00"}
        weekly = 40.0
    elif kind == "part":
        if rng.random() < 0.5:
            hours = {rng.choice(["mon-wed", "tue-thu", "wed-fri"]): f"{opens:02d}:00-{opens + 8:02d}:00"}
            weekly = 24.0
        else:
            hours = {"mon-fri": f"{opens:02d}:00-{opens + 4:02d}:00"}
            weekly = 20.0
    elif kind == "split":
        hours = {"mon-fri": [f"{opens - 1:02d}:00-{opens + 3:02d}:00", f"{opens + 6:02d}:00-{opens + 10:02d}:00"]}
        weekly = 40.0
    else:  # a colleague in another time zone: their day sits early or late on the team's clock
        begin = rng.choice([1, 2, 3, 14, 15])
        hours = {"mon-fri": f"{begin:02d}:00-{begin + 8:02d}:00"}
        weekly = 40.0
    absent: set[date] = set()
    announced: set[date] = set()
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        away = first + timedelta(days=rng.randrange(-3, days))
        length = rng.choice([1, 1, 2, 3, 5, 7, 10])
        stretch = {away + timedelta(days=d) for d in range(length)}
        absent |= stretch
        if rng.random() < 0.6:  # entered in the config; the rest nobody told inboxd about
            announced |= stretch
    batch = rng.random() < 0.25
    return {"name": f"p{index}", "email": f"p{index}@example.com", "hours": hours, "weekly_hours": weekly,
            "absent": absent, "announced": announced,
            "batch_every": timedelta(hours=rng.choice([2, 3, 4])) if batch else None,
            "batch_size": rng.choice([5, 10, 20]) if batch else 0}


def _ranges(days: set[date]) -> list[str]:
    """Dates as the config writes them: ``2026-12-21..2026-12-24`` for a run of days."""
    runs: list[list[date]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] == day - timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    return [f"{run[0].isoformat()}..{run[-1].isoformat()}" if len(run) > 1 else run[0].isoformat() for run in runs]


def _config_text(zone: str, country: str, subdivision: str | None, team_hours: str,
                 people: list[dict[str, Any]]) -> str:
    lines = [
        "team:",
        "  name: Random Support",
        f"  timezone: {zone}",
        "  business_hours:",
        f'    mon-fri: "{team_hours}"',
        "  holidays:",
        f"    country: {country}",
    ]
    if subdivision:
        lines.append(f"    subdivision: {subdivision}")
    lines.append("  staff:")
    for index, person in enumerate(people):
        lines.append(f"    - email: {person['email']}")
        lines.append(f"      name: {person['name']}")
        if index == 0:
            lines.append("      role: lead")
        lines.append("      hours:")
        for days, spans in person["hours"].items():
            value = f'"{spans}"' if isinstance(spans, str) else "[" + ", ".join(f'"{s}"' for s in spans) + "]"
            lines.append(f"        {days}: {value}")
        if person["announced"]:
            lines.append(f"      absent: [{', '.join(_ranges(person['announced']))}]")
    lines += [
        "  staff_domains: [example.com]",
        "mailboxes:",
        "  - name: support",
        "    address: support@example.com",
        "    imap: {host: imap.example.com, username: support@example.com, password_env: IMAP_PASSWORD}",
        "    smtp: {host: smtp.example.com, username: support@example.com, password_env: SMTP_PASSWORD}",
        "promises:",
        "  target_kept_rate: 0.95",
        "  fallback: {urgent: 4h, high: 1bd, normal: 2bd, low: 5bd}",
        "updates:",
        "  while_waiting_on_us: 1bd",
        "  delay_notice_before: 2h",
    ]
    return "\n".join(lines) + "\n"


def evaluate(seed: int) -> dict[str, Any]:
    """Simulate the month of ``seed`` and score it against the estimate's targets (one row of a sweep)."""
    from inboxd.config import load_config_text
    from inboxd.service.simulate import run_simulation

    drawn = draw(seed)
    config = load_config_text(drawn.config_text, f"<random {seed}>")
    return score(run_simulation(config, drawn.workload, extras=True), drawn.facts)


def score(report: dict[str, Any], facts: dict[str, Any]) -> dict[str, Any]:
    """One workload's figures and which targets it meets.

    Targets: first promises kept ≥ 0.95 (and never below 0.90); median slack ≤ max(4, 0.35 × median actual wait)
    business hours; broken promises announced ≥ 0.95; more kept than the static 24 h promise where that falls short.
    """
    extras = report.get("extras", {})
    notices = int(report["delay_notices"])
    needless = int(extras.get("needless_notices", 0))
    bound = max(4.0, 0.35 * float(report["median_actual_bh"]))
    static = float(report["baseline_static_24h"]["kept_rate"])
    kept = float(report["kept_rate"])
    return {
        **facts,
        "cases": report["cases"], "kept_rate": kept, "median_slack_bh": report["median_slack_bh"],
        "slack_bound_bh": round(bound, 2), "median_actual_bh": report["median_actual_bh"],
        "broken_announced_rate": report["broken_announced_rate"], "delay_notices": notices,
        "needless_notices": needless, "needless_share": round(needless / notices, 3) if notices else 0.0,
        "static_24h_kept": static, "sla_kept": report["baseline_sla_fallback"]["kept_rate"],
        "meets": {
            "kept_095": kept >= 0.95,
            "kept_090": kept >= 0.90,
            "slack": float(report["median_slack_bh"]) <= bound,
            "announced": float(report["broken_announced_rate"]) >= 0.95,
            "beats_static": static >= 0.95 or kept > static,
        },
    }


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A sweep as a distribution, against the targets: kept ≥ 0.95 on ≥ 95 % of workloads and ≥ 0.90 on all,
    slack and announcement on all, needless notices ≤ 25 % of all notices, ahead of the static 24 h promise."""
    if not rows:
        return {"workloads": 0}
    kept = sorted(row["kept_rate"] for row in rows)
    notices = sum(row["delay_notices"] for row in rows)
    needless = sum(row["needless_notices"] for row in rows)

    def share(key: str) -> float:
        return round(sum(1 for row in rows if row["meets"][key]) / len(rows), 3)

    def quantile(values: list[float], q: float) -> float:
        return round(values[min(len(values) - 1, int(q * len(values)))], 3)

    summary: dict[str, Any] = {
        "workloads": len(rows),
        "kept_rate": {"min": kept[0], "p05": quantile(kept, 0.05), "median": quantile(kept, 0.5), "max": kept[-1]},
        "share_kept_095": share("kept_095"),
        "share_kept_090": share("kept_090"),
        "share_slack_ok": share("slack"),
        "share_announced_ok": share("announced"),
        "share_beats_static": share("beats_static"),
        "needless_share": round(needless / notices, 3) if notices else 0.0,
    }
    summary["targets_met"] = bool(
        share("kept_095") >= 0.95 and share("kept_090") == 1.0 and share("slack") == 1.0
        and share("announced") == 1.0 and share("beats_static") == 1.0 and summary["needless_share"] <= 0.25)
    return summary

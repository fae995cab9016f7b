"""Random workloads (``inboxd simulate --random``) and the simulator's batches, tails and weekly load."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from inboxd.config import Config, load_config, load_config_text
from inboxd.errors import ConfigError
from inboxd.service import workloads
from inboxd.service.simulate import _arrivals, parse_workload, run_simulation

WORKLOADS = Path(__file__).resolve().parents[1] / "data" / "workloads"

DAYS = """\
start: 2026-11-02T00:00:00+01:00
duration: 3d
seed: 3
arrivals:
  per_hour_weekday: [0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 1, 0, 0, 0, 0, 0, 0, 0]
  per_hour_weekend: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
staff:
  - {name: alice, hours: {mon-fri: "09:00-17:00"}}
handle_time: {median: 10m, p90: 20m}
"""


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(WORKLOADS / "config.yaml")


@pytest.fixture(scope="module")
def drawn() -> list[workloads.Drawn]:
    return [workloads.draw(seed) for seed in range(60)]


def test_a_seed_always_draws_the_same_team_and_month() -> None:
    first, again = workloads.draw(11), workloads.draw(11)
    assert first.config_text == again.config_text
    assert first.workload == again.workload
    assert workloads.draw(12).config_text != first.config_text


def test_every_drawn_configuration_is_one_inboxd_accepts(drawn: list[workloads.Drawn]) -> None:
    for one in drawn:
        config = load_config_text(one.config_text, f"<random {one.seed}>")
        assert len(config.team.staff) == one.facts["team"] == len(one.workload.staff)


def test_draws_cover_the_ranges_the_estimate_must_survive(drawn: list[workloads.Drawn]) -> None:
    facts = [one.facts for one in drawn]
    assert {f["team"] for f in facts} >= {1, 2, 3} and max(f["team"] for f in facts) >= 8
    assert min(f["load"] for f in facts) < 0.7 and max(f["load"] for f in facts) > 1.2
    assert all(0.5 <= f["load"] <= 1.4 for f in facts)
    assert {f["pattern"] for f in facts} == {"steady", "grows", "recovers", "wave"}
    assert len({f["country"] for f in facts}) >= 5
    assert any(f["batchers"] for f in facts) and any(f["tail_share"] for f in facts)
    assert any(f["unannounced_days"] for f in facts) and any(f["hot_bursts"] for f in facts)


def test_an_absence_nobody_announced_is_in_the_work_but_not_in_the_configuration(
        drawn: list[workloads.Drawn]) -> None:
    one = next(d for d in drawn if d.facts["unannounced_days"])
    config = load_config_text(one.config_text)
    known = {day for member in config.team.staff for day in member.absent_dates}
    real = {day for member in one.workload.staff for day in member.absent}
    assert real - known and known <= real


def test_random_seeds_never_draw_the_held_out_ones() -> None:
    chosen = workloads.seeds(20, first=workloads.HELD_OUT.start - 10)
    assert len(chosen) == 20 and not set(chosen) & set(workloads.HELD_OUT)
    assert chosen[10] == workloads.HELD_OUT.stop


def test_weekly_scale_multiplies_arrivals_week_by_week(config: Config) -> None:
    base = parse_workload(DAYS.replace("duration: 3d", "duration: 14d"))
    doubled_later = dataclasses.replace(base, weekly_scale=(1.0, 3.0))
    tz = ZoneInfo(config.team.timezone)
    week = base.start.timestamp() + 7 * 86400
    plain = _arrivals(base, tz, random.Random(1))
    scaled = _arrivals(doubled_later, tz, random.Random(1))
    first_plain = sum(1 for at, _ in plain if at < week)
    second_plain = sum(1 for at, _ in plain if at >= week)
    second_scaled = sum(1 for at, _ in scaled if at >= week)
    assert first_plain > 50 and second_scaled > 2 * second_plain


def test_people_who_work_in_batches_answer_at_their_batch_times(config: Config) -> None:
    text = DAYS.replace('- {name: alice, hours: {mon-fri: "09:00-17:00"}}',
                        '- {name: alice, hours: {mon-fri: "09:00-17:00"}, batch: {every: 4h, size: 50}}')
    batched = parse_workload(text)
    assert batched.staff[0].batch_every == timedelta(hours=4) and batched.staff[0].batch_size == 50
    steady = run_simulation(config, parse_workload(DAYS))
    in_batches = run_simulation(config, batched)
    assert in_batches["cases"] == steady["cases"]
    # Mail waits for the next batch: the typical wait is longer than with someone who takes each as it comes.
    assert in_batches["median_actual_bh"] > steady["median_actual_bh"]


def test_a_heavy_tail_makes_some_answers_much_slower(config: Config) -> None:
    plain = parse_workload(DAYS)
    tailed = parse_workload(DAYS.replace("handle_time: {median: 10m, p90: 20m}",
                                         "handle_time: {median: 10m, p90: 20m, tail: {share: 0.3, factor: 8}}"))
    assert tailed.handle_tail_share == 0.3 and tailed.handle_tail_factor == 8
    assert run_simulation(config, tailed)["p90_wait_hours"] > run_simulation(config, plain)["p90_wait_hours"]


@pytest.mark.parametrize(("text", "problem"), [
    ("handle_time: {median: 10m, p90: 20m, tail: {share: 2, factor: 8}}", "handle_time.tail"),
    ("handle_time: {median: 10m, p90: 20m, spread: 3}", "handle_time.spread"),
])
def test_tail_mistakes_name_their_key(text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_workload(DAYS.replace("handle_time: {median: 10m, p90: 20m}", text))
    assert any(problem in line for line in caught.value.problems)


def test_batch_and_scale_mistakes_name_their_key() -> None:
    text = DAYS.replace('hours: {mon-fri: "09:00-17:00"}}', 'hours: {mon-fri: "09:00-17:00"}, batch: {size: 0}}')
    text = text.replace("arrivals:\n", "arrivals:\n  weekly_scale: [1, -2]\n")
    with pytest.raises(ConfigError) as caught:
        parse_workload(text)
    keys = " ".join(caught.value.problems)
    assert "staff[0].batch" in keys and "arrivals.weekly_scale" in keys


def _report(kept: float, slack: float, actual: float, announced: float = 1.0, static: float = 0.5,
            notices: int = 10, needless: int = 2) -> dict[str, Any]:
    return {"cases": 100, "kept_rate": kept, "median_slack_bh": slack, "median_actual_bh": actual,
            "broken_announced_rate": announced, "delay_notices": notices,
            "baseline_static_24h": {"kept_rate": static}, "baseline_sla_fallback": {"kept_rate": 0.7},
            "extras": {"needless_notices": needless}}


def test_a_workload_is_scored_against_each_target() -> None:
    good = workloads.score(_report(0.96, 3.0, 20.0), {"seed": 1})
    assert all(good["meets"].values()) and good["slack_bound_bh"] == 7.0
    padded = workloads.score(_report(0.999, 9.0, 20.0), {"seed": 2})
    assert padded["meets"]["kept_095"] and not padded["meets"]["slack"]
    broken = workloads.score(_report(0.89, 1.0, 5.0, announced=0.9, static=0.95), {"seed": 3})
    assert not broken["meets"]["kept_090"] and not broken["meets"]["announced"]
    assert broken["meets"]["beats_static"]  # the static promise did not fall short


def test_a_sweep_meets_its_targets_only_when_every_workload_allows() -> None:
    rows = [workloads.score(_report(0.97, 2.0, 10.0), {"seed": s}) for s in range(19)]
    assert workloads.summarize(rows)["targets_met"]
    rows.append(workloads.score(_report(0.93, 2.0, 10.0), {"seed": 19}))
    summary = workloads.summarize(rows)
    assert summary["share_kept_095"] == 0.95 and summary["targets_met"]
    rows.append(workloads.score(_report(0.89, 2.0, 10.0), {"seed": 20}))
    assert not workloads.summarize(rows)["targets_met"]
    noisy = [workloads.score(_report(0.97, 2.0, 10.0, needless=5), {"seed": s}) for s in range(3)]
    assert workloads.summarize(noisy)["needless_share"] == 0.5 and not workloads.summarize(noisy)["targets_met"]

"""``inboxd simulate``: the DESIGN contract's report, deterministic, with baselines judged on the same arrivals.

Short workloads only (a week at most): the full ones run in tests/perf/bench_eta.py.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from inboxd.config import Config, load_config
from inboxd.errors import ConfigError
from inboxd.service.simulate import Workload, load_workload, parse_workload, run_simulation

WORKLOADS = Path(__file__).resolve().parents[1] / "data" / "workloads"

WEEK = """\
start: 2026-11-02T00:00:00+01:00
duration: 5d
seed: 7
arrivals:
  per_hour_weekday: [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 1.2, 2.4, 2.4, 2.4,
                     1.6, 1.6, 2.0, 2.0, 2.0, 0.8, 0.8, 0.3, 0.3, 0.3, 0.3, 0.2]
  per_hour_weekend: [0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2,
                     0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]
  bursts: [{at: 2026-11-04T10:00:00+01:00, count: 20, over: 1h}]
  priority_mix: {urgent: 0.05, high: 0.15, normal: 0.75, low: 0.05}
staff:
  - {name: alice, hours: {mon-fri: "09:00-17:00"}}
  - {name: bob, hours: {mon-thu: "08:00-16:00"}, absent: ["2026-11-05"]}
handle_time: {median: 25m, p90: 70m}
"""

KEYS = {
    "cases": int, "promises": int, "kept_rate": float, "median_actual_bh": float, "median_promised_bh": float,
    "median_slack_bh": float, "median_window_ratio": float, "p90_wait_hours": float, "updates_sent": int,
    "delay_notices": int, "broken_announced_rate": float, "baseline_static_24h": dict,
    "baseline_sla_fallback": dict,
}


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(WORKLOADS / "config.yaml")


@pytest.fixture(scope="module")
def week() -> Workload:
    return parse_workload(WEEK, "week.yaml")


@pytest.fixture(scope="module")
def report(config: Config, week: Workload) -> dict[str, Any]:
    return run_simulation(config, week)


@pytest.fixture(scope="module")
def two_days(week: Workload) -> Workload:
    return dataclasses.replace(week, duration=week.duration / 5 * 2)


@pytest.fixture(scope="module")
def short_report(config: Config, two_days: Workload) -> dict[str, Any]:
    return run_simulation(config, two_days)


def test_extras_count_needless_notices_outside_the_contract(config: Config, two_days: Workload,
                                                           short_report: dict[str, Any]) -> None:
    extended = run_simulation(config, two_days, extras=True)
    extras = extended.pop("extras")
    assert extended == short_report  # the contract keys are unchanged
    assert 0 <= extras["needless_notices"] <= extended["delay_notices"]
    assert extras["median_notice_lead_hours"] >= 0.0


def test_the_report_has_exactly_the_contract_keys_with_sane_values(report: dict[str, Any]) -> None:
    assert set(report) == set(KEYS)
    for key, kind in KEYS.items():
        assert isinstance(report[key], kind), key
    assert report["cases"] > 60  # about 16 a weekday and a burst of 20
    assert report["promises"] == report["cases"] + report["delay_notices"]  # an ack each, a new one per notice
    for key in ("kept_rate", "broken_announced_rate"):
        assert 0.0 <= report[key] <= 1.0
    assert report["median_promised_bh"] >= report["median_actual_bh"] >= 0.0
    assert report["median_window_ratio"] >= 1.0
    assert report["p90_wait_hours"] > 0.0
    for baseline in ("baseline_static_24h", "baseline_sla_fallback"):
        assert set(report[baseline]) == {"kept_rate", "median_slack_bh"}
        assert 0.0 <= report[baseline]["kept_rate"] <= 1.0


def test_promises_are_kept_and_broken_ones_were_announced(report: dict[str, Any]) -> None:
    # A new installation's first week, from no history at all, with a burst and a day nobody entered as an
    # absence: the target (0.95) is for a month with history, measured in tests/perf/bench_eta.py.
    assert report["kept_rate"] >= 0.85
    assert report["broken_announced_rate"] >= 0.95
    # The configured 2bd fallback is kept but far looser than the calibrated promise.
    assert report["baseline_sla_fallback"]["median_slack_bh"] > report["median_slack_bh"]


def test_the_same_seed_gives_the_same_report(config: Config, two_days: Workload,
                                             short_report: dict[str, Any]) -> None:
    assert run_simulation(config, two_days) == short_report


def test_another_seed_gives_other_arrivals(config: Config, two_days: Workload,
                                           short_report: dict[str, Any]) -> None:
    other = run_simulation(config, dataclasses.replace(two_days, seed=8))
    assert other["cases"] != short_report["cases"]


def test_baselines_are_judged_on_the_same_arrivals_and_responses(config: Config, two_days: Workload,
                                                                 short_report: dict[str, Any]) -> None:
    # A month's fallback changes the promises (the first ones, before there is history), not the work:
    # the waits and the static baseline stay exactly as they were.
    lax = config.model_copy(update={"promises": config.promises.model_copy(
        update={"fallback": {"urgent": load_duration("20bd"), "high": load_duration("20bd"),
                             "normal": load_duration("20bd"), "low": load_duration("20bd")}})})
    other = run_simulation(lax, two_days)
    assert other["cases"] == short_report["cases"]
    assert other["median_actual_bh"] == short_report["median_actual_bh"]
    assert other["p90_wait_hours"] == short_report["p90_wait_hours"]
    assert other["baseline_static_24h"] == short_report["baseline_static_24h"]


def load_duration(text: str) -> Any:
    from inboxd.core.durations import parse_duration

    return parse_duration(text)


def test_the_shipped_workloads_parse() -> None:
    names = sorted(path.stem for path in WORKLOADS.glob("*.yaml") if path.stem != "config")
    assert {"steady", "monday_bursts", "outage", "holiday_season", "falls_behind"} <= set(names)
    for name in names:
        workload = load_workload(WORKLOADS / f"{name}.yaml")
        assert workload.staff and len(workload.per_hour_weekday) == 24
        assert workload.name == name


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (WEEK.replace("duration: 5d", "duration: 5bd"), "duration: use calendar time"),
        (WEEK.replace("seed: 7", "seed: seven"), "seed: expected a whole number"),
        (WEEK.replace("[0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2", "[0.1, 0.2"), "arrivals.per_hour_weekday: expected 24"),
        (WEEK.replace("{urgent: 0.05,", "{critical: 0.05,"), "arrivals.priority_mix: expected shares"),
        (WEEK.replace('"09:00-17:00"', '"17:00-09:00"'), "staff[0].hours:"),
        (WEEK.replace("2026-11-05", "2026-13-05"), "staff[1].absent:"),
        (WEEK.replace("p90: 70m", "p90: 20m"), "handle_time.p90: must be longer than the median"),
        (WEEK.replace("start: 2026-11-02T00:00:00+01:00", "start: 2026-11-02"), "start: expected an ISO 8601 time"),
        (WEEK + "speed: fast\n", "speed: unknown key"),
    ],
)
def test_workload_mistakes_are_reported_with_their_key(text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_workload(text, "week.yaml")
    assert any(message.startswith("week.yaml: ") and problem in message for message in raised.value.problems), (
        raised.value.problems)


def test_an_unreadable_workload_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the workload"):
        load_workload(tmp_path / "missing.yaml")


def test_updates_follow_the_daemons_policy(config: Config, two_days: Workload,
                                           short_report: dict[str, Any]) -> None:
    # Per priority (updates.by_priority), as the daemon decides them: a short cadence for normal cases sends some.
    normal = config.updates.model_validate({**config.updates.model_dump(mode="json"),
                                            "by_priority": {"normal": {"while_waiting_on_us": "1bh"}}})
    busy = run_simulation(config.model_copy(update={"updates": normal}), two_days)
    assert busy["updates_sent"] > short_report["updates_sent"]
    assert busy["kept_rate"] == short_report["kept_rate"]  # updates change nothing about the work
    off = normal.model_validate({**normal.model_dump(mode="json"), "while_waiting_on_us": "off",
                                 "by_priority": {}})
    assert run_simulation(config.model_copy(update={"updates": off}), two_days)["updates_sent"] == 0

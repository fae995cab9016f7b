"""Promises under shift: the adaptive calibration and a surge of higher priorities that overtakes a waiting case.

Same team as tests/unit/test_eta.py (Berlin, Mon-Fri 09:00-17:00, two people); synthetic history and outcomes.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, timedelta

import pytest

from inboxd.core.eta import (
    MIN_OUTCOMES,
    PromiseRecord,
    QueueSnapshot,
    WaitingCase,
    adaptive_offset,
    fit,
)
from tests.unit.test_eta import CALENDAR, CONFIG, EMPTY, TWO, berlin, steady_history, well_calibrated

HOUR = 3600.0
NOW = berlin(11, 23, 11).timestamp()


def fell_due(kept: list[bool], *, every: float = HOUR, ending: float = NOW,
             wait: float = 4 * HOUR) -> list[tuple[float, bool, float]]:
    """Promises ``(due, kept, made)`` that fell due one per ``every`` seconds, the last at ``ending``, each
    made ``wait`` before its due time."""
    return [(due, ok, due - wait) for index, ok in enumerate(kept)
            for due in [ending - (len(kept) - 1 - index) * every]]


def test_at_the_target_kept_rate_the_adaptive_correction_stays_small() -> None:
    # One broken in twenty: exactly what a 0.95 target allows.
    kept = [index % 20 != 7 for index in range(200)]
    assert abs(adaptive_offset(fell_due(kept), 0.95)) < 0.35


def test_broken_promises_lately_widen_and_kept_ones_bring_it_back() -> None:
    calm = [True] * 60
    storm = [False] * 8
    lately = adaptive_offset(fell_due(calm + storm), 0.95)
    assert lately > 1.0
    # A hundred and fifty kept since: the margin is back where it was before the storm, or narrower.
    assert adaptive_offset(fell_due(calm + storm + [True] * 150), 0.95) < 0.0
    # Fed in any order, the same promises replay in order of due time.
    shuffled = fell_due(calm + storm)
    random.Random(4).shuffle(shuffled)
    assert adaptive_offset(shuffled, 0.95) == pytest.approx(lately)


def test_promises_made_in_the_same_hour_break_together_and_count_as_one() -> None:
    # Ten promises made within one hour, all broken by one burst that overtook them, weigh like three…
    together = [(NOW - index * 60.0, False, NOW - 8 * HOUR + index * 60.0) for index in range(10)]
    one_shock = adaptive_offset(together, 0.95)
    assert 0.3 * 0.95 * 3.0 < one_shock < 0.3 * 0.95 * 3.3
    # …against ten broken ones made an hour apart (ten separate failures, up to the cap).
    assert adaptive_offset(fell_due([False] * 10), 0.95) > one_shock + 0.9


def test_promises_all_kept_for_long_narrow_within_bounds() -> None:
    narrowed = adaptive_offset(fell_due([True] * 300), 0.95)
    assert -0.75 <= narrowed < -0.1
    # A long shock is capped: the margin does not run away.
    assert adaptive_offset(fell_due([False] * 300), 0.95) <= 2.0
    assert adaptive_offset([], 0.95) == 0.0


def test_the_correction_is_per_priority() -> None:
    now = berlin(11, 23, 11)
    records = well_calibrated(now)
    # The ten low-priority promises that fell due last were all broken; the normal ones kept as usual.
    broken_low = [dataclasses.replace(record, priority="low", due_at=now - timedelta(minutes=10 * (index + 1)),
                                      first_response_at=None)
                  for index, record in enumerate(records[:MIN_OUTCOMES])]
    adaptive = dataclasses.replace(CONFIG, adaptive_margin=True)
    model = fit(now, EMPTY, steady_history(now, 1.5), broken_low + records[MIN_OUTCOMES:], CALENDAR, TWO, adaptive)
    assert model.adapt("low") > model.adapt("normal") + 1.0
    low, normal = model.margin(2.0, "low"), model.margin(2.0, "normal")
    assert low is not None and normal is not None and low > normal + 1.0
    promise = model.estimate(now, "normal", EMPTY)
    assert "adaptive" in promise.basis and "not applied" not in promise.basis
    # Off (the default): shown in the basis, the margin as the recent kept share alone makes it.
    plain = fit(now, EMPTY, steady_history(now, 1.5), broken_low + records[MIN_OUTCOMES:], CALENDAR, TWO, CONFIG)
    assert plain.margin(2.0, "low") == pytest.approx(plain._quantile(2.0, "low", None) + plain.boost)
    assert "not applied" in plain.estimate(now, "normal", EMPTY).basis


def test_a_surge_of_higher_priorities_widens_the_spread_by_its_size() -> None:
    now = berlin(11, 23, 11)
    # Thirty high-priority requests in the last hour (an outage) on a team that usually sees a few a day.
    surge = QueueSnapshot(tuple(WaitingCase((now - timedelta(minutes=2 * index + 1)).astimezone(UTC), "high", index)
                                for index in range(30)))
    model = fit(now, surge, steady_history(now, 1.5), well_calibrated(now), CALENDAR, TWO, CONFIG)
    assert model.surge[1] > 10
    calm = dataclasses.replace(model, surge=(0.0,) * len(model.surge))
    with_surge = model.predict(now, 30, "normal")
    without = calm.predict(now, 30, "normal")
    assert with_surge.at > without.at
    # The surge may stop now or go on as long again: its own size in hours, not a Poisson square root.
    size_hours = model.surge[1] / (model.pace * 2)
    assert with_surge.spread_bh ** 2 - without.spread_bh ** 2 >= 0.9 * size_hours ** 2


def test_records_of_an_old_promise_without_prediction_still_count_towards_the_correction() -> None:
    now = berlin(11, 23, 11)
    old = [PromiseRecord(made_at=now - timedelta(hours=30 + index), due_at=now - timedelta(hours=2 + index / 10),
                         first_response_at=None) for index in range(15)]
    model = fit(now, EMPTY, steady_history(now, 1.5), old + well_calibrated(now), CALENDAR, TWO, CONFIG)
    assert model.adapt("normal") > 1.0

"""The calibrated estimate: promises that follow the queue, the pace, the calendar and the team's own record.

Team: Berlin, Mon-Fri 09:00-17:00, public holidays of Berlin (DE-BE); two people working the team's hours
unless a test says otherwise. Dates (2026): Mon 16 Nov, Fri 20 Nov, Mon 23 Nov; Fri 25 Dec Christmas Day.
History is synthetic: a team answering normal-priority cases at a known pace, and promises whose outcomes
are known, so that each test controls what the estimator has seen.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from inboxd.core.calendar import BusinessCalendar, parse_weekly_hours
from inboxd.core.durations import Duration, parse_duration
from inboxd.core.eta import (
    LATE_RISK_LEVEL,
    LEAD_RISK_LEVEL,
    MIN_OUTCOMES,
    NEIGHBOURS,
    RISK_LEVEL,
    Coverage,
    Estimate,
    EtaConfig,
    FirstResponse,
    PaceHistory,
    PaceModel,
    PromiseRecord,
    QueueSnapshot,
    StaffShift,
    WaitingCase,
    at_risk,
    estimate,
    fallback_estimate,
    fit,
    miss_probability,
    notice_threshold,
    revised_estimate,
    risk_level,
    round_promise,
)

BERLIN = ZoneInfo("Europe/Berlin")
CALENDAR = BusinessCalendar.build("Europe/Berlin", {"mon-fri": "09:00-17:00"}, country="DE", subdivision="BE")
TWO = Coverage(CALENDAR, (StaffShift("alice"), StaffShift("bob")))
CONFIG = EtaConfig(target_kept_rate=0.95, fallback={
    "urgent": parse_duration("4h"), "high": parse_duration("1bd"),
    "normal": parse_duration("2bd"), "low": parse_duration("5bd")})
EMPTY = QueueSnapshot(())


def berlin(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def bh(a: datetime, b: datetime) -> float:
    return CALENDAR.business_time_between(a, b).total_seconds() / 3600


def steady_history(now: datetime, pace: float, people: int = 2, days: int = 15) -> PaceHistory:
    """A team that was always busy and answered ``pace`` cases per person-hour, evenly, newest first.

    Each case waited two business hours, so the queue never ran dry while people were on shift.
    """
    step = timedelta(hours=1.0 / (pace * people))
    responses: list[FirstResponse] = []
    day = now.astimezone(BERLIN).date() - timedelta(days=days)
    while day < now.astimezone(BERLIN).date():
        for opens, closes in CALENDAR.open_ranges(day):
            at = opens + step
            while at <= closes:
                opened = CALENDAR.add_business_time(at, -timedelta(hours=2))
                responses.append(FirstResponse(opened.astimezone(UTC), at.astimezone(UTC), "normal"))
                at += step
        day += timedelta(days=1)
    responses.reverse()
    return PaceHistory(since=now - timedelta(days=28), responses=tuple(responses))


def outcomes(now: datetime, errors: Sequence[float], predicted: float = 2.0, spread: float = 1.0,
             unanswered: int = 0, promised: float = 2.0) -> list[PromiseRecord]:
    """Promises made on past business days (newest first), due ``promised`` spreads after the prediction,
    whose answer came ``error`` spreads after it; ``unanswered`` more are still open long after their due."""
    records: list[PromiseRecord] = []
    made = CALENDAR.add_business_time(now, -timedelta(hours=12))
    all_errors: list[float | None] = [*errors, *([None] * unanswered)]
    for index, error in enumerate(all_errors):
        made = CALENDAR.add_business_time(made, -timedelta(minutes=20 if index % 2 else 25))
        due = CALENDAR.add_business_time(made, timedelta(hours=predicted + promised * spread))
        answered = (None if error is None else
                    CALENDAR.add_business_time(made, timedelta(hours=max(0.0, predicted + error * spread))))
        records.append(PromiseRecord(made_at=made, due_at=due, first_response_at=answered, priority="normal",
                                     predicted_bh=predicted, spread_bh=spread))
    return records


def well_calibrated(now: datetime, count: int = 150, seed: int = 3) -> list[PromiseRecord]:
    """Outcomes whose errors look like the model's spread says (standard normal)."""
    rng = random.Random(seed)
    return outcomes(now, [rng.gauss(0.0, 1.0) for _ in range(count)])


def queue_of(now: datetime, ahead: int, priority: str = "normal") -> QueueSnapshot:
    return QueueSnapshot(tuple(WaitingCase(now - timedelta(minutes=5 * (index + 1)), priority, index)
                               for index in range(ahead)))


# --------------------------------------------------------------------------------------------
# With no history: the configured fallback
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("now", "priority"),
    [
        (berlin(11, 23, 10, 7), "normal"),
        (berlin(11, 23, 10, 7), "high"),
        (berlin(11, 20, 18), "urgent"),
        (berlin(12, 23, 15), "normal"),
    ],
)
def test_without_history_the_fallback_stands(now: datetime, priority: str) -> None:
    history = PaceHistory(since=now - timedelta(days=28))
    result = estimate(now, priority, EMPTY, history, [], CALENDAR, TWO, CONFIG)
    fallback = fallback_estimate(now, priority, CONFIG.fallback, CALENDAR).due
    assert result.due == round_promise(fallback, CALENDAR)  # said as a whole hour
    assert "fallback" in result.basis
    assert result.predicted_bh is not None and result.spread_bh is not None  # stored for calibration


def test_too_few_answered_promises_still_mean_the_fallback() -> None:
    now = berlin(11, 23, 10)
    records = outcomes(now, [0.0] * (MIN_OUTCOMES - 1))
    result = estimate(now, "normal", EMPTY, steady_history(now, 1.5), records, CALENDAR, TWO, CONFIG)
    assert result.due == round_promise(fallback_estimate(now, "normal", CONFIG.fallback, CALENDAR).due, CALENDAR)


# --------------------------------------------------------------------------------------------
# With history: the queue, the pace, the calendar
# --------------------------------------------------------------------------------------------

def test_an_empty_queue_in_working_hours_is_promised_the_same_day() -> None:
    now = berlin(11, 23, 10, 7)
    result = estimate(now, "normal", EMPTY, steady_history(now, 1.5), well_calibrated(now), CALENDAR, TWO, CONFIG)
    assert result.due.date() == now.date()
    # Room for the delay notice (2 h) after the predicted answer, yet far tighter than the 2bd fallback.
    assert 2.0 <= bh(now, result.due) <= 5.0
    assert result.due.minute in (0, 30) and result.reasons == ()  # said to the half hour


@pytest.mark.parametrize("priority", ["urgent", "high", "normal"])
def test_friday_evening_is_not_promised_within_hours(priority: str) -> None:
    now = berlin(11, 20, 18)
    result = estimate(now, priority, EMPTY, steady_history(now, 1.5), well_calibrated(now), CALENDAR, TWO, CONFIG)
    assert result.due.date() == date(2026, 11, 23)  # Monday, not Friday night or the weekend
    assert CALENDAR.is_open(result.due) or result.due.time() == time(17)
    assert any("back on Monday at 09:00" in reason for reason in result.reasons)


@pytest.mark.parametrize(
    ("now", "ahead", "holiday"),
    [
        (berlin(12, 24, 15), 20, "Christmas Day"),
        (berlin(12, 23, 16, 30), 40, "Christmas Day"),
        (berlin(12, 31, 15), 20, "New Year's Day"),
    ],
)
def test_holidays_in_the_way_are_named(now: datetime, ahead: int, holiday: str) -> None:
    queue = queue_of(now, ahead)
    result = estimate(now, "normal", queue, steady_history(now, 1.5), well_calibrated(now), CALENDAR, TWO, CONFIG)
    assert CALENDAR.is_business_day(result.due.date())
    assert any(holiday in reason for reason in result.reasons)


@pytest.mark.parametrize(("ahead", "pace"), [(0, 1.5), (10, 1.5), (40, 1.5), (10, 3.0), (40, 3.0)])
def test_the_prediction_is_the_queue_divided_by_the_pace(ahead: int, pace: float) -> None:
    now = berlin(11, 23, 9)  # Monday morning: a whole week of coverage ahead
    model = fit(now, queue_of(now, ahead), steady_history(now, pace), well_calibrated(now), CALENDAR, TWO, CONFIG)
    assert model.pace == pytest.approx(pace, rel=0.1)
    prediction = model.predict(now, ahead, "normal")
    # Two people, nothing of higher priority arriving: the queue is worked off at 2 × pace an hour,
    # but the case itself takes one whole handling time.
    expected = max((ahead + 1) / (2 * pace), 1 / pace)
    assert prediction.bh == pytest.approx(expected, rel=0.12)


def test_more_cases_ahead_mean_a_later_promise() -> None:
    now = berlin(11, 23, 11)
    history = steady_history(now, 1.5)
    records = well_calibrated(now)
    dues = [estimate(now, "normal", queue_of(now, ahead), history, records, CALENDAR, TWO, CONFIG).due
            for ahead in (0, 5, 20, 60, 120)]
    assert dues == sorted(dues) and dues[0] < dues[-1]
    long_wait = estimate(now, "normal", queue_of(now, 120), history, records, CALENDAR, TWO, CONFIG)
    assert any(reason.startswith("More requests than usual are ahead of yours") for reason in long_wait.reasons)


def test_a_slower_team_makes_later_promises() -> None:
    now = berlin(11, 23, 11)
    queue = queue_of(now, 20)
    records = well_calibrated(now)
    fast = estimate(now, "normal", queue, steady_history(now, 3.0), records, CALENDAR, TWO, CONFIG)
    slow = estimate(now, "normal", queue, steady_history(now, 1.0), records, CALENDAR, TWO, CONFIG)
    assert slow.due > fast.due


def test_higher_priorities_go_first() -> None:
    now = berlin(11, 23, 11)
    queue = QueueSnapshot(tuple(WaitingCase(now - timedelta(minutes=index + 1), "normal", index)
                                for index in range(30)))
    args = (steady_history(now, 1.5), well_calibrated(now), CALENDAR, TWO, CONFIG)
    urgent = estimate(now, "urgent", queue, *args)
    normal = estimate(now, "normal", queue, *args)
    assert urgent.ahead == 0 and normal.ahead == 30
    assert urgent.due < normal.due


# --------------------------------------------------------------------------------------------
# Coverage: who is really on shift
# --------------------------------------------------------------------------------------------

def test_urgent_cases_are_promised_within_hours_somebody_covers() -> None:
    # Only one person, and only mornings: the team calendar is open in the afternoon but nobody is there.
    mornings = Coverage(CALENDAR, (StaffShift("alice", parse_weekly_hours({"mon-fri": "09:00-13:00"})),))
    now = berlin(11, 23, 13, 30)
    model = fit(now, EMPTY, steady_history(now, 1.5, people=1), well_calibrated(now), CALENDAR, mornings, CONFIG)
    prediction = model.predict(now, 0, "urgent")
    assert prediction.at >= berlin(11, 24, 9)  # Tuesday morning, when Alice is back
    assert mornings.on_shift(prediction.at - timedelta(minutes=1)) == 1
    assert model.estimate(now, "urgent", EMPTY).due > prediction.at


def test_configured_absences_slow_the_promise_and_are_named() -> None:
    now = berlin(11, 23, 10)
    away = Coverage(CALENDAR, (StaffShift("alice"), StaffShift("bob", absent=frozenset(
        date(2026, 11, day) for day in range(23, 28)))))
    queue = queue_of(now, 40)
    history = steady_history(now, 1.5)
    records = well_calibrated(now)
    both = estimate(now, "normal", queue, history, records, CALENDAR, TWO, CONFIG)
    alone = estimate(now, "normal", queue, history, records, CALENDAR, away, CONFIG)
    assert alone.due > both.due
    assert any("Part of our team is away until Monday 30 November" in reason for reason in alone.reasons)


def test_coverage_counts_people_on_shift() -> None:
    early = Coverage(CALENDAR, (StaffShift("alice"), StaffShift("bob", parse_weekly_hours({"mon-thu": "08:00-16:00"}))))
    assert early.on_shift(berlin(11, 23, 8, 30)) == 1
    assert early.on_shift(berlin(11, 23, 12)) == 2
    assert early.on_shift(berlin(11, 27, 12)) == 1  # Friday: Bob does not work
    assert early.on_shift(berlin(12, 25, 12)) == 0  # Christmas Day
    assert early.on_shift(berlin(11, 21, 12)) == 0  # Saturday


# --------------------------------------------------------------------------------------------
# Calibration: as tight as the data allows, never tighter
# --------------------------------------------------------------------------------------------

def margin_after(errors: Sequence[float], unanswered: int = 0, promised: float = 2.0) -> float:
    now = berlin(11, 23, 11)
    model = fit(now, EMPTY, steady_history(now, 1.5), outcomes(now, errors, unanswered=unanswered,
                                                               promised=promised), CALENDAR, TWO, CONFIG)
    margin = model.margin(2.0, "normal")
    assert margin is not None
    return margin


def test_broken_promises_widen_the_margin() -> None:
    rng = random.Random(1)
    errors = [rng.gauss(0, 1) for _ in range(150)]
    usual = margin_after(errors)
    late = margin_after([error + 2.0 for error in errors])
    assert late > usual + 1.5


def test_unanswered_promises_past_their_due_time_widen_the_margin() -> None:
    rng = random.Random(2)
    errors = [rng.gauss(0, 1) for _ in range(120)]
    assert margin_after(errors, unanswered=30) > margin_after(errors) + 0.5


def test_very_early_answers_narrow_the_margin() -> None:
    rng = random.Random(1)
    usual = margin_after([rng.gauss(0, 1) for _ in range(150)])
    early = margin_after([rng.gauss(-2.0, 0.3) for _ in range(150)])
    assert early < usual - 1.5


@pytest.mark.parametrize("count", [MIN_OUTCOMES, 40, 150, 300])
def test_the_margin_is_never_tighter_than_the_data_allows(count: int) -> None:
    rng = random.Random(count)
    errors = [rng.gauss(0, 1) for _ in range(count)]
    # Recent promises kept about as often as the target (no correction either way): the margin is at
    # least the 95th percentile of the errors it goes by (the most recent NEIGHBOURS); any narrower and
    # more than 5 % of those promises would have broken.
    used = sorted(errors[:NEIGHBOURS])
    assert margin_after(errors, promised=1.645) >= used[int(0.95 * len(used)) - 1]


def test_recent_promises_all_kept_narrow_the_margin_a_little() -> None:
    rng = random.Random(9)
    errors = [rng.gauss(0, 1) for _ in range(150)]
    at_target = margin_after(errors, promised=1.645)
    all_kept = margin_after(errors, promised=6.0)
    assert at_target - 0.6 < all_kept < at_target


def test_few_outcomes_lean_on_the_models_own_spread() -> None:
    # Twenty lucky promises do not show that a margin far below the spread's 95 % point would do.
    lucky = margin_after([-2.0] * MIN_OUTCOMES)
    many_lucky = margin_after([-2.0] * 300)
    assert lucky > 0.0
    assert many_lucky < lucky


def test_a_burst_of_broken_promises_lately_widens_the_next_promises() -> None:
    now = berlin(11, 23, 11)
    history = steady_history(now, 1.5)
    calm = well_calibrated(now)
    # The same errors overall, but the promises that fell due most recently were broken.
    stormy = outcomes(now, [3.0] * 20) + well_calibrated(now)[20:]
    a = fit(now, EMPTY, history, calm, CALENDAR, TWO, CONFIG)
    b = fit(now, EMPTY, history, stormy, CALENDAR, TWO, CONFIG)
    assert b.recent_kept is not None and a.recent_kept is not None and b.recent_kept < a.recent_kept
    assert b.boost > a.boost
    assert b.adapt("normal") > a.adapt("normal") + 1.0
    assert (b.margin(2.0) or 0.0) > (a.margin(2.0) or 0.0) + 0.5


# --------------------------------------------------------------------------------------------
# Delay notices: at risk, and the new honest time
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("due", "now", "predicted", "lead", "expected"),
    [
        (berlin(11, 23, 15), berlin(11, 23, 10), berlin(11, 23, 12), "2h", False),
        (berlin(11, 23, 15), berlin(11, 23, 10), berlin(11, 23, 13, 1), "2h", True),
        (berlin(11, 23, 15), berlin(11, 23, 12, 30), berlin(11, 23, 13), "2h", False),  # exactly at the line
        (berlin(11, 23, 15), berlin(11, 23, 15), berlin(11, 23, 16), "2h", False),  # too late for a notice
        # In business hours the line for Tuesday 10:00 lies on Monday at 16:00.
        (berlin(11, 24, 10), berlin(11, 23, 15), berlin(11, 23, 16, 30), "2bh", True),
        (berlin(11, 24, 10), berlin(11, 23, 15), berlin(11, 23, 15, 30), "2bh", False),
    ],
)
def test_at_risk(due: datetime, now: datetime, predicted: datetime, lead: str, expected: bool) -> None:
    assert at_risk(due, now, predicted, parse_duration(lead), CALENDAR) is expected


@pytest.mark.parametrize(
    ("predicted", "spread", "expected"),
    [
        (berlin(11, 23, 13, 30), 0.3, False),  # well before the due time and sure of it: no needless notice
        (berlin(11, 23, 14, 30), 2.0, False),  # before it, but unsure: still more likely than not on time
        (berlin(11, 23, 15, 0), 0.3, False),  # on the dot, two hours ahead: as likely late as not is not enough
        (berlin(11, 23, 15, 30), 0.3, True),  # half an hour late with a small spread: 95 % likely to break
        (berlin(11, 23, 16, 0), 0.5, True),
        # Overnight counts business time only: Monday 16:30 is half a business hour before Tuesday 10:00.
        (berlin(11, 24, 9, 40), 0.1, False),
    ],
)
def test_at_risk_by_probability(predicted: datetime, spread: float, expected: bool) -> None:
    due = berlin(11, 23, 15) if predicted.date() == date(2026, 11, 23) else berlin(11, 24, 10)
    now = berlin(11, 23, 13)
    assert at_risk(due, now, predicted, parse_duration("2h"), CALENDAR, spread_bh=spread) is expected


def test_at_risk_by_probability_follows_the_level_and_never_after_the_due_time() -> None:
    due, predicted = berlin(11, 23, 15), berlin(11, 23, 14)
    assert miss_probability(due, predicted, 1.0, CALENDAR) == pytest.approx(0.1587, abs=1e-3)
    assert at_risk(due, berlin(11, 23, 12), predicted, Duration(2, "h"), CALENDAR, spread_bh=1.0, level=0.15)
    assert not at_risk(due, berlin(11, 23, 12), predicted, Duration(2, "h"), CALENDAR, spread_bh=1.0, level=0.25)
    assert not at_risk(due, due, berlin(11, 23, 18), Duration(2, "h"), CALENDAR, spread_bh=1.0)
    # Without a calendar, elapsed hours.
    assert miss_probability(due, predicted, 1.0) == pytest.approx(miss_probability(due, predicted, 1.0, CALENDAR))


def test_the_likelihood_a_notice_needs_falls_as_the_due_time_nears() -> None:
    due, lead = berlin(11, 23, 15), Duration(2, "h")
    # Before delay_notice_before ahead, no notice at all; then from 95 % down to 60 % at the due time; at the
    # last look, 20 %; none once it has passed.
    assert risk_level(due, berlin(11, 23, 10), lead, CALENDAR) is None
    assert risk_level(due, due, lead, CALENDAR) is None
    assert risk_level(due, berlin(11, 23, 13), lead, CALENDAR) == pytest.approx(LEAD_RISK_LEVEL)
    middle = risk_level(due, berlin(11, 23, 14), lead, CALENDAR)
    assert RISK_LEVEL < middle < LEAD_RISK_LEVEL
    assert risk_level(due, berlin(11, 23, 14, 45), lead, CALENDAR) == LATE_RISK_LEVEL
    # In business hours the lead of 2bh for Tuesday 10:00 starts on Monday at 16:00.
    assert risk_level(berlin(11, 24, 10), berlin(11, 23, 15, 30), Duration(2, "bh"), CALENDAR) is None
    assert risk_level(berlin(11, 24, 10), berlin(11, 23, 16), Duration(2, "bh"), CALENDAR) == pytest.approx(
        LEAD_RISK_LEVEL)


def test_within_the_notice_lead_a_smaller_risk_is_told() -> None:
    # Predicted half a spread before the due time: about a 31 % risk of a break.
    due = berlin(11, 23, 15)
    predicted = berlin(11, 23, 14, 30)
    assert miss_probability(due, predicted, 1.0, CALENDAR) == pytest.approx(0.3085, abs=1e-3)
    # Three hours, two hours and an hour ahead: not yet likely enough, so no notice.
    for now in (berlin(11, 23, 12), berlin(11, 23, 13), berlin(11, 23, 14)):
        assert not at_risk(due, now, predicted, Duration(2, "h"), CALENDAR, spread_bh=1.0)
    # At the last look, a quarter of an hour ahead, a one-in-five risk is enough.
    assert at_risk(due, berlin(11, 23, 14, 45), predicted, Duration(2, "h"), CALENDAR, spread_bh=1.0)
    # A risk below that stays untold even then.
    assert not at_risk(due, berlin(11, 23, 14, 45), berlin(11, 23, 13, 45), Duration(2, "h"), CALENDAR,
                       spread_bh=1.0)


def test_notice_threshold_in_business_days_steps_back_a_working_day() -> None:
    assert notice_threshold(berlin(11, 24, 12), Duration(1, "bd"), CALENDAR) == berlin(11, 23, 12)


def test_a_new_promise_is_not_at_risk_at_once() -> None:
    now = berlin(11, 23, 10)
    history = steady_history(now, 1.5)
    records = well_calibrated(now)
    for ahead in (0, 3, 30):
        queue = queue_of(now, ahead)
        model = fit(now, queue, history, records, CALENDAR, TWO, CONFIG)
        promise = model.estimate(now, "normal", queue)
        prediction = model.predict(now, ahead, "normal")
        assert not at_risk(promise.due, now, prediction.at, CONFIG.delay_notice_before, CALENDAR)
        assert not at_risk(promise.due, now, prediction.at, CONFIG.delay_notice_before, CALENDAR,
                           spread_bh=prediction.spread_bh)


def test_a_revised_estimate_is_later_than_the_promise_it_replaces() -> None:
    now = berlin(11, 23, 14)
    case = WaitingCase(berlin(11, 23, 9), "normal", 7)
    queue = QueueSnapshot((case,) + tuple(queue_of(now, 25).cases))
    old_due = berlin(11, 23, 15)
    revised = revised_estimate(now, case, old_due, queue, steady_history(now, 1.5), well_calibrated(now),
                               CALENDAR, TWO, CONFIG)
    assert revised.due > old_due
    assert revised.ahead == 0  # the oldest normal case goes first


def test_the_tick_predicts_every_waiting_case_in_the_order_they_are_answered() -> None:
    now = berlin(11, 23, 11)
    queue = QueueSnapshot((WaitingCase(now - timedelta(hours=1), "normal", 1),
                           WaitingCase(now - timedelta(hours=2), "normal", 2),
                           WaitingCase(now - timedelta(minutes=5), "urgent", 3)))
    model = fit(now, queue, steady_history(now, 1.5), well_calibrated(now), CALENDAR, TWO, CONFIG)
    predicted = model.predict_queue(now, queue)
    assert [case.number for case, _ in predicted] == [3, 2, 1]
    assert [prediction.ahead for _, prediction in predicted] == [0, 1, 2]
    times = [prediction.at for _, prediction in predicted]
    assert times == sorted(times)


# --------------------------------------------------------------------------------------------
# Said like a person, and never blaming
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "rounded"),
    [
        (berlin(11, 23, 10, 7), berlin(11, 23, 10, 30)),
        (berlin(11, 23, 10, 31), berlin(11, 23, 11)),
        (berlin(11, 23, 11), berlin(11, 23, 11)),
        (berlin(11, 23, 16, 1), berlin(11, 23, 17)),  # within the last hour: the end of the day
        (berlin(11, 23, 17), berlin(11, 23, 17)),
        (berlin(11, 23, 15, 30), berlin(11, 23, 15, 30)),
        (berlin(11, 23, 15, 45), berlin(11, 23, 16)),
        (berlin(11, 23, 18, 40), berlin(11, 23, 19)),  # outside hours (someone covering late): half hours
    ],
)
def test_round_promise(raw: datetime, rounded: datetime) -> None:
    assert round_promise(raw, CALENDAR) == rounded


def test_lunch_breaks_round_to_their_start() -> None:
    split = BusinessCalendar.build("Europe/Berlin", {"mon-fri": "09:00-12:30, 13:30-17:00"})
    assert round_promise(berlin(11, 23, 11, 50), split) == berlin(11, 23, 12, 30)


def before_christmas_with_bob_away() -> Estimate:
    """A long queue the day before the closures, with Bob away between the holidays: every kind of reason."""
    now = berlin(12, 23, 16, 30)
    away = Coverage(CALENDAR, (StaffShift("alice"), StaffShift("bob", absent=frozenset(
        date(2026, 12, day) for day in range(28, 32)))))
    return estimate(now, "normal", queue_of(now, 80), steady_history(now, 1.5), well_calibrated(now),
                    CALENDAR, away, CONFIG)


def test_reasons_take_responsibility_and_never_blame() -> None:
    result = before_christmas_with_bob_away()
    assert len(result.reasons) >= 3
    for reason in result.reasons:
        lowered = reason.lower()
        assert "volume" not in lowered and "you sent" not in lowered and "your requests" not in lowered
        assert reason.startswith(("We ", "Our ", "More requests", "Part of our team"))


def test_the_models_reasons_are_said_in_german_for_a_german_case() -> None:
    result = before_christmas_with_bob_away()
    assert {key.kind for key in result.reason_keys} >= {"holiday", "busy", "absence"}
    assert result.reasons == tuple(key.text("en") for key in result.reason_keys)
    assert result.reason_text("en") == " ".join(result.reasons)
    german = result.reason_text("de")
    assert "wegen des Feiertags „Erster Weihnachtstag“" in german
    assert "Vor Ihrer Anfrage warten gerade mehr Anfragen als üblich" in german
    assert "Ein Teil unseres Teams ist bis " in german
    assert "We " not in german


def test_estimates_are_said_in_the_team_timezone() -> None:
    now = datetime(2026, 11, 23, 9, 7, tzinfo=UTC)
    result = estimate(now, "normal", EMPTY, steady_history(now, 1.5), well_calibrated(now), CALENDAR, TWO, CONFIG)
    assert isinstance(result, Estimate) and result.due.tzinfo == BERLIN


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------

def test_queue_snapshot_counts_who_is_ahead() -> None:
    now = berlin(11, 23, 12)
    queue = QueueSnapshot((WaitingCase(berlin(11, 23, 9), "normal", 1), WaitingCase(berlin(11, 23, 10), "high", 2),
                           WaitingCase(berlin(11, 23, 11), "normal", 3), WaitingCase(berlin(11, 23, 11), "low", 4)))
    assert queue.counts() == {"urgent": 0, "high": 1, "normal": 2, "low": 1}
    assert queue.ahead_of(now, "normal") == 3
    assert queue.ahead_of(now, "urgent") == 0
    assert queue.ahead_of(berlin(11, 23, 11), "normal", number=3) == 2  # not itself
    assert queue.ahead_of(now, "something else") == 3  # unknown priorities count as normal


def test_the_case_being_acknowledged_is_not_ahead_of_itself() -> None:
    now = berlin(11, 23, 12)
    queue = QueueSnapshot((WaitingCase(berlin(11, 23, 9), "normal", 1), WaitingCase(now - timedelta(seconds=30),
                                                                                      "normal", 2)))
    assert queue.ahead_of(now, "normal", number=2) == 1


def test_a_large_store_gives_a_sane_estimate() -> None:
    # Performance is measured in tests/perf/bench_eta.py; here only that big inputs work.
    now = datetime(2026, 11, 18, 10, tzinfo=UTC)
    rng = random.Random(5)
    queue = QueueSnapshot(tuple(WaitingCase(now - timedelta(hours=rng.random() * 200), "normal", index)
                                for index in range(1000)))
    history = PaceHistory(now - timedelta(days=28), tuple(
        FirstResponse(now - timedelta(days=28 * fraction), now - timedelta(days=28 * fraction - 0.1), "normal")
        for fraction in sorted((rng.random() for _ in range(5000)), reverse=False)))
    result = estimate(now, "normal", queue, history, well_calibrated(now.astimezone(BERLIN)), CALENDAR, TWO, CONFIG)
    assert result.due > now
    assert isinstance(fit(now, queue, history, [], CALENDAR, TWO, CONFIG), PaceModel)

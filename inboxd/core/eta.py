"""The response time an acknowledgement promises: queue- and pace-aware, calibrated to the kept-rate target. Pure.

How a promise is made (:func:`estimate`, or :func:`fit` then :meth:`PaceModel.estimate`):

1. **The work ahead.** A new case waits behind every case of higher or equal priority still waiting for
   its first response (:class:`QueueSnapshot`) and behind cases of *higher* priority that arrive while it
   waits: at the measured rate of each hour of the week (Monday mornings are busier than Sunday nights),
   robust to one-off bursts, plus as many again as a surge seen in the last hour (an outage goes on).
2. **The capacity.** :class:`Coverage` says how many people are on shift at each moment, from the config:
   the team's hours, holidays and closures, each staff member's own hours and absences. Nobody on shift
   means no capacity, so an urgent case is promised within hours somebody really covers.
3. **The pace.** First responses per person-hour that could have gone into them, measured on recent
   history (:class:`PaceHistory`): responses divided by the integral of ``min(cases waiting, people on
   shift)``. A steady pace (about a week's memory) is used unless the pace of the last day or so is lower
   by more than its noise — a team that falls behind (someone away whom the config does not know about)
   is noticed within a day. A small prior stands in while there is little history.
4. **The prediction.** Walking forward through coverage until the capacity covers the work gives the
   predicted first response (:class:`Prediction`), its length in business hours and a spread: the
   handling times of the work ahead, the Poisson noise of the arrivals that preempt it, a surge of
   higher priorities still coming in (its whole size: it may stop now or go on as long again), and drift.
5. **The calibration.** Every promise is stored with its prediction and spread (:class:`PromiseRecord`).
   The standardised errors of recent promises of the same priority whose predictions were alike in
   length (unanswered ones counted as censored, Kaplan–Meier) give the margin: the ``target_kept_rate``
   quantile, read with a confidence bound, leaning towards the model's own spread while few were answered
   — as tight as the data allows, never tighter. The kept share of the acknowledgements that fell due
   lately corrects it: wider when it falls short, a little narrower when a full window was all kept.
   So does, per priority, an adaptive correction that replays the acknowledgements as they fell due:
   each broken one widens the margin, each kept one narrows it a little (adaptive conformal inference,
   Gibbs & Candès 2021; :func:`adaptive_offset`), the larger of the two applying with
   ``EtaConfig.adaptive_margin`` (off by default; shown in the basis either way). Errors of promises made
   together are not independent (a burst of urgent mail or a slow day moves a whole backlog at once), so
   the promises made within the same hour weigh like the square root of their number. Delay notices'
   revised promises do not count: they are made for the cases that look late, and their kept share says
   nothing about what an acknowledgement should promise. Until
   :data:`MIN_OUTCOMES` promises have been answered, the configured fallback stands.
6. **Room for a delay notice.** A promise is due no earlier than ``updates.delay_notice_before`` after the
   time by which :data:`NOTICE_QUANTILE` of such cases are answered, so that the tick does not find it at
   risk at once or for every case a little slower than predicted.
7. **Said like a person.** The due time is rounded up: to the close of business when within its last
   hour, else to the half hour (:func:`round_promise`). Reasons name closures and holidays, a queue
   longer than usual and configured absences, taking responsibility and never blaming the customer.

The tick uses the same model (:func:`fit` once, then :meth:`PaceModel.predict_queue`) to decide which open
promises are at risk (:func:`at_risk` with the prediction's spread: from ``delay_notice_before`` ahead of the
due time, the first response at least :func:`risk_level` likely to come after it — 95 % then, falling to 60 %
at the due time, 20 % at the last look; never earlier) and what new honest time a delay notice states
(:meth:`PaceModel.revise`).

Everything here is pure: the store fills the input dataclasses (three indexed queries, see
:class:`QueueSnapshot`, :class:`PaceHistory` and :class:`PromiseRecord`), the caller passes ``now``.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from statistics import NormalDist
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from inboxd.core.calendar import BusinessCalendar, WeeklyHours
from inboxd.core.durations import Duration
from inboxd.core.humanize import round_up
from inboxd.core.reasons import LANGUAGES, Reason
from inboxd.core.reasons import join as join_reasons

if TYPE_CHECKING:
    from inboxd.config import Config

__all__ = [
    "BusinessTimeIndex",
    "Coverage",
    "Estimate",
    "EtaConfig",
    "FirstResponse",
    "HISTORY_WINDOW",
    "MAX_CALIBRATION",
    "MAX_PACE_ROWS",
    "MIN_OUTCOMES",
    "NEIGHBOURS",
    "PRIORITIES",
    "PaceHistory",
    "PaceModel",
    "Prediction",
    "PromiseRecord",
    "QueueSnapshot",
    "StaffShift",
    "WaitingCase",
    "LAST_CALL",
    "LATE_RISK_LEVEL",
    "LEAD_RISK_LEVEL",
    "RISK_LEVEL",
    "adaptive_offset",
    "at_risk",
    "closure_reason_keys",
    "closure_reasons",
    "estimate",
    "fallback_estimate",
    "fit",
    "miss_probability",
    "notice_rule",
    "notice_threshold",
    "revised_estimate",
    "risk_level",
    "round_promise",
]

PRIORITIES = ("urgent", "high", "normal", "low")
"""Highest first: a case waits behind every case of a priority earlier in this tuple or its own."""

_RANK = {name: rank for rank, name in enumerate(PRIORITIES)}
_NORMAL = _RANK["normal"]

HISTORY_WINDOW = timedelta(days=28)
"""How far back the store should look for first responses and promises."""

MAX_PACE_ROWS = 1000
"""The pace reads at most this many first responses, the first of :attr:`PaceHistory.responses` (newest first).

A month of a busy team; older ones weigh little in the recency-weighted pace anyway.
"""

MAX_CALIBRATION = 300
"""The calibration looks at most at this many of the most recent promises."""

NEIGHBOURS = 150
"""A promise's margin comes from this many recent promises whose predictions were most alike in length."""

KEPT_WINDOW = 60
"""The recent kept share is measured on this many promises that fell due most recently."""

MIN_OUTCOMES = 10
"""Fewer answered promises than this and the configured fallback stands."""

CONFIDENCE = 0.6
"""How sure the calibration must be that its margin keeps the target share (an upper confidence bound)."""

NOTICE_QUANTILE = 0.6
"""A promise leaves ``delay_notice_before`` after the time by which this share of such cases are answered."""

RISK_LEVEL = 0.6
"""At the due time itself, a promise at least this likely to break gets its delay notice (:func:`risk_level`)."""

LEAD_RISK_LEVEL = 0.95
"""``updates.delay_notice_before`` ahead of the due time, the likelihood of a break a delay notice needs.

Between then and the due time the level falls in a straight line to :data:`RISK_LEVEL`: a break that is
likely hours ahead often is not once the queue has moved (the surge stops, a colleague clears a batch), and a
needless "we may be late" is noise to the customer and makes the next one less believable.
"""

LATE_RISK_LEVEL = 0.2
"""In the last :data:`LAST_CALL` before its due time, a promise is at risk from this likelihood on.

The tick's last look: a case in someone's hands for longer than usual may break without ever looking likely
to, so a smaller risk is enough to tell the customer rather than break the promise unannounced.
"""

LAST_CALL = timedelta(minutes=15)
"""The last stretch before a due time, in which :data:`LATE_RISK_LEVEL` applies."""

_NOTICE_Z = NormalDist().inv_cdf(NOTICE_QUANTILE)
_BOOST_GAIN = 0.5  # Extra spreads per target-sized shortfall of the recent kept share…
_MAX_BOOST = 2.0  # …up to this many…
_MIN_BOOST = -0.5  # …and narrower by at most this many when a full window of recent ones were all kept.
_ADAPT_STEP = 0.3  # Adaptive calibration: spreads added per hour's promises broken beyond the target's share…
_ADAPT_BATCH = 3600.0  # …promises made within the same hour counting as one (they break together)…
_ADAPT_RANGE = (-0.75, 2.0)  # …kept within these many spreads.
_FEW_OUTCOMES = 5  # A priority's own answered promises that already count as a floor on its margin.
_RADIUS = 0.5  # Predictions within this distance in log1p(bh) count as alike for calibration.
_PRIOR_OUTCOMES = 40.0  # The model's own spread weighs like this many answered promises.
_SERVICE_CV = 1.0  # Spread of one first response's handling time relative to its mean (exponential).
_DRIFT = 0.2  # Share of a prediction that the pace or staffing may be off by over its length.
_MIN_SPREAD_BH = 0.1
_SURGE_AHEAD = 1.0  # A surge seen in the last hour is expected to go on: this many times as many again.
_ROUND_TO = timedelta(minutes=30)  # Promises are said to the half hour ("by 14:30").
_PRIOR_PACE = 1.0  # First responses per staffed hour assumed before any history…
_PRIOR_HOURS = 2.0  # …weighing as much as this many staffed busy hours of evidence.
_LONG_TAU = timedelta(days=7).total_seconds()  # Recency weighting of the steady pace.
_SHORT_TAU = timedelta(days=1.5).total_seconds()  # Recency weighting of the pace of the last day or so.
_SHORT_PRIOR_HOURS = 4.0  # The recent pace leans on the steady one until it has this much evidence.
_MAX_PREEMPTION = 0.85  # Higher-priority arrivals take at most this share of the capacity in a prediction.
_CAPACITY_SPAN = timedelta(days=28).total_seconds()  # The span over which capacity on offer is averaged.
_HORIZON = timedelta(days=90).total_seconds()  # A walk through coverage gives up after this long.
_WEEK_HOURS = 168
_LAST_HOUR = timedelta(hours=1)
_HOUR = 3600.0
_ZERO = timedelta(0)

DEFAULT_FALLBACK: Mapping[str, Duration] = {
    "urgent": Duration(4, "h"),
    "high": Duration(1, "bd"),
    "normal": Duration(2, "bd"),
    "low": Duration(5, "bd"),
}


def _rank(priority: str) -> int:
    """Unknown priorities are treated like normal ones (as the fallback does)."""
    return _RANK.get(priority, _NORMAL)


def _ts(at: datetime) -> float:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: inboxd needs timezone-aware datetimes")
    return at.timestamp()


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitingCase:
    """A case still waiting for its first response."""

    opened_at: datetime
    priority: str = "normal"
    number: int | None = None


@dataclass(frozen=True)
class QueueSnapshot:
    """Every case waiting for a first response now, in any order.

    Store query (one indexed scan; index ``cases(first_response_at, opened_at)``)::

        SELECT number, priority, opened_at FROM cases
        WHERE first_response_at IS NULL AND status IN ('new', 'waiting_on_us')
    """

    cases: Sequence[WaitingCase] = ()
    # Per priority rank: the opening instants (epoch seconds), sorted, for counting who is ahead.
    _opened: tuple[list[float], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        opened: tuple[list[float], ...] = tuple([] for _ in PRIORITIES)
        for case in self.cases:
            opened[_rank(case.priority)].append(_ts(case.opened_at))
        for stamps in opened:
            stamps.sort()
        object.__setattr__(self, "_opened", opened)

    @property
    def opened_by_rank(self) -> tuple[list[float], ...]:
        """Opening instants (epoch seconds, sorted) of the waiting cases, by priority rank."""
        return self._opened

    def counts(self) -> dict[str, int]:
        """Waiting cases by priority."""
        return {name: len(self._opened[rank]) for rank, name in enumerate(PRIORITIES)}

    def ahead_of(self, opened_at: datetime, priority: str, *, number: int | None = None) -> int:
        """How many waiting cases are answered before one opened at ``opened_at`` with ``priority``.

        Higher priorities all go first; the same priority goes oldest first. The case itself (same
        ``number``, or same instant) is not counted.
        """
        rank = _rank(priority)
        stamp = _ts(opened_at)
        ahead = sum(len(self._opened[higher]) for higher in range(rank))
        ahead += bisect.bisect_left(self._opened[rank], stamp)
        if number is not None:
            # The case itself may be in the snapshot with an earlier opening time than asked about.
            for case in self.cases:
                if case.number == number and _rank(case.priority) == rank and _ts(case.opened_at) < stamp:
                    ahead -= 1
                    break
        return ahead

    def __len__(self) -> int:
        return len(self.cases)


@dataclass(frozen=True)
class FirstResponse:
    """One case's first staff response."""

    opened_at: datetime
    first_response_at: datetime
    priority: str = "normal"


@dataclass(frozen=True)
class PaceHistory:
    """Recent first responses, from which the pace and the arrival rates are measured.

    ``responses`` are the cases whose first response fell in ``[since, now)``, newest first; only the first
    :data:`MAX_PACE_ROWS` are read. Store query (index ``cases(first_response_at, opened_at)``)::

        SELECT opened_at, first_response_at, priority FROM cases
        WHERE first_response_at >= :since ORDER BY first_response_at DESC LIMIT 1000
    """

    since: datetime
    responses: Sequence[FirstResponse] = ()


@dataclass(frozen=True)
class PromiseRecord:
    """A team promise and what became of it, for calibration.

    ``predicted_bh`` and ``spread_bh`` are the :class:`Estimate` fields stored with the promise; records
    without them (older promises) still count towards the recent kept rate; ``first`` is False for a delay
    notice's revised promise (``p.source = 'delay_notice'``), which does not. Pass them newest first; only
    the newest :data:`MAX_CALIBRATION` are read. Store query (index ``promises(owner, made_at)``)::

        SELECT p.made_at, p.due_at, p.predicted_bh, p.spread_bh, p.source, c.first_response_at, c.priority
        FROM promises p JOIN cases c ON c.id = p.case_id
        WHERE p.owner = 'team' AND p.made_at >= :since ORDER BY p.made_at DESC LIMIT 500
    """

    made_at: datetime
    due_at: datetime
    first_response_at: datetime | None = None
    priority: str = "normal"
    predicted_bh: float | None = None
    spread_bh: float | None = None
    first: bool = True  # the acknowledgement's promise; False for a delay notice's revised one


@dataclass(frozen=True)
class EtaConfig:
    """The parts of the configuration the estimate uses."""

    target_kept_rate: float = 0.95
    fallback: Mapping[str, Duration] = field(default_factory=lambda: dict(DEFAULT_FALLBACK))
    delay_notice_before: Duration = Duration(2, "h")
    # Widen a priority's margin by its own adaptive correction when that exceeds the recent kept share's
    # boost (:meth:`PaceModel.adapt`). Off by default: on random workloads it keeps more promises after
    # shocks, but it pads two of the shipped workloads past the slack bound; not yet a configuration key.
    adaptive_margin: bool = False

    @classmethod
    def from_config(cls, config: Config) -> EtaConfig:
        return cls(
            target_kept_rate=config.promises.target_kept_rate,
            fallback={str(name): duration for name, duration in config.promises.fallback.items()},
            delay_notice_before=config.updates.delay_notice_before,
        )


@dataclass(frozen=True)
class StaffShift:
    """When one person works: their own weekly hours (``None``: the team's) minus their absences."""

    name: str
    hours: WeeklyHours | None = None
    absent: frozenset[date] = frozenset()


@dataclass(frozen=True)
class Coverage:
    """How many people are on shift at each moment, as the configuration says.

    Public holidays and the team's closures apply to everyone. Without configured staff, one anonymous
    person works the team's hours: the measured pace then is per team-hour, which is just as good.
    """

    calendar: BusinessCalendar
    staff: tuple[StaffShift, ...] = ()
    _calendars: tuple[BusinessCalendar, ...] = field(init=False, repr=False, compare=False)
    _days: dict[date, tuple[tuple[float, float, int], ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        shifts = self.staff or (StaffShift("team"),)
        base = self.calendar
        calendars = tuple(
            BusinessCalendar(
                tz=base.tz,
                hours=shift.hours if shift.hours is not None else base.hours,
                closed=base.closed | shift.absent,
                holiday_country=base.holiday_country,
                holiday_subdivision=base.holiday_subdivision,
            )
            for shift in shifts
        )
        object.__setattr__(self, "_calendars", calendars)

    @classmethod
    def from_config(cls, config: Config, calendar: BusinessCalendar) -> Coverage:
        """The coverage of ``config.team``: each member's own hours (or the team's) and absences."""
        staff = tuple(
            StaffShift(name=member.name or member.email, hours=member.weekly_hours, absent=member.absent_dates)
            for member in config.team.staff
        )
        return cls(calendar=calendar, staff=staff)

    def segments(self, d: date) -> tuple[tuple[float, float, int], ...]:
        """Local date ``d`` as ``(start, end, people)`` stretches (epoch seconds) with someone on shift."""
        cached = self._days.get(d)
        if cached is None:
            if len(self._days) > 4096:
                self._days.clear()
            points: list[tuple[float, int]] = []
            for calendar in self._calendars:
                for opens, closes in calendar.open_ranges(d):
                    points.append((opens.timestamp(), 1))
                    points.append((closes.timestamp(), -1))
            points.sort()
            stretches: list[tuple[float, float, int]] = []
            people = 0
            previous = 0.0
            for stamp, change in points:
                if people > 0 and stamp > previous:
                    if stretches and stretches[-1][1] == previous and stretches[-1][2] == people:
                        stretches[-1] = (stretches[-1][0], stamp, people)
                    else:
                        stretches.append((previous, stamp, people))
                people += change
                previous = stamp
            cached = self._days[d] = tuple(stretches)
        return cached

    def stretches(self, start: float, end: float | None = None) -> Iterator[tuple[float, float, int]]:
        """Stretches with someone on shift that end after ``start`` (clipped to it), in order.

        Without ``end`` the stream ends after :data:`_HORIZON` of search.
        """
        day = datetime.fromtimestamp(start, self.calendar.tz).date() - timedelta(days=1)
        limit = start + _HORIZON if end is None else end
        while True:
            day_start = datetime.combine(day, time(0), tzinfo=self.calendar.tz).timestamp()
            if day_start > limit:
                return
            for opens, closes, people in self.segments(day):
                if closes <= start:
                    continue
                if opens >= limit:
                    return
                yield max(opens, start), min(closes, limit), people
            day += timedelta(days=1)

    def on_shift(self, at: datetime) -> int:
        """How many people are on shift at ``at``."""
        stamp = _ts(at)
        for opens, _closes, people in self.stretches(stamp, stamp + 1):
            if opens <= stamp:
                return people
        return 0

    def absent_on(self, d: date) -> tuple[str, ...]:
        """Who would work on ``d`` but is away (not counting the team's holidays and closures)."""
        if self.calendar.holiday_name(d) is not None:
            return ()
        names: list[str] = []
        for shift in self.staff:
            hours = shift.hours if shift.hours is not None else self.calendar.hours
            if d in shift.absent and hours.get(d.weekday()):
                names.append(shift.name)
        return tuple(names)


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """A promise: when, how it was computed and, for the customer, why it is as long as it is."""

    due: datetime  # in the team's timezone
    basis: str  # how it was computed, for `inboxd eta` and the audit log
    reasons: tuple[str, ...] = ()  # customer-facing in English, taking responsibility, never blaming
    # The unpadded prediction behind the promise; store predicted_bh and spread_bh with the promise.
    predicted_at: datetime | None = None
    predicted_bh: float | None = None
    spread_bh: float | None = None
    ahead: int | None = None
    # The same reasons as data, to be said in the case's language (:meth:`reason_text`); ``reasons``
    # defaults to their English text.
    reason_keys: tuple[Reason, ...] = ()

    def __post_init__(self) -> None:
        if self.reason_keys and not self.reasons:
            # The dataclass is frozen; filling a derived field in place is the documented way around that.
            object.__setattr__(self, "reasons", tuple(key.text("en") for key in self.reason_keys))

    def reason_text(self, language: str = "en") -> str:
        """The reasons as one paragraph in the case's ``language``, for a template's ``promise.reason``.

        An estimate made without :attr:`reason_keys` has only its English ``reasons`` to give.
        """
        if self.reason_keys:
            return join_reasons(self.reason_keys, language)
        return " ".join(self.reasons)


@dataclass(frozen=True)
class Prediction:
    """When a case's first response is expected (the centre of the estimate, not a promise)."""

    at: datetime  # in the team's timezone
    bh: float  # business hours from the time of the prediction to ``at``
    spread_bh: float  # its uncertainty, in business hours
    ahead: int  # waiting cases answered before this one


# --------------------------------------------------------------------------------------------
# Business-time index: many business-hour differences, cheaply
# --------------------------------------------------------------------------------------------


class BusinessTimeIndex:
    """Cumulative open seconds of a calendar over a stretch of time, for O(log n) business-time differences.

    ``start`` and ``end`` (epoch seconds) bound the instants asked about; outside them the answers are wrong.
    """

    def __init__(self, calendar: BusinessCalendar, start: float, end: float) -> None:
        tz = calendar.tz
        day = datetime.fromtimestamp(start, tz).date() - timedelta(days=1)
        last = datetime.fromtimestamp(end, tz).date() + timedelta(days=1)
        self.opens: list[float] = []
        self.closes: list[float] = []
        self.before: list[float] = []
        total = 0.0
        while day <= last:
            for opens, closes in calendar.open_ranges(day):
                self.opens.append(opens.timestamp())
                self.closes.append(closes.timestamp())
                self.before.append(total)
                total += closes.timestamp() - opens.timestamp()
            day += timedelta(days=1)

    def at(self, stamp: float) -> float:
        """Open seconds from the index's start up to ``stamp``."""
        i = bisect.bisect_right(self.opens, stamp) - 1
        if i < 0:
            return 0.0
        return self.before[i] + min(stamp, self.closes[i]) - self.opens[i]

    def hours(self, start: float, end: float) -> float:
        return (self.at(end) - self.at(start)) / _HOUR


# --------------------------------------------------------------------------------------------
# Fitting the model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaceModel:
    """What the history says, ready to predict and promise for any case at ``now``.

    Fit it once (:func:`fit`) and use it for every case of a tick, or for one acknowledgement.
    """

    now: datetime
    calendar: BusinessCalendar
    coverage: Coverage
    config: EtaConfig
    pace: float  # first responses per staffed hour
    pace_steady: float
    pace_recent: float
    evidence_hours: float  # staffed busy hours behind the steady pace (recency-weighted)
    arrivals_per_hour: tuple[float, ...]  # by priority rank, per calendar hour (robust average)
    profile: tuple[float, ...]  # all arrivals per hour, by local hour of the week (Monday 00:00 = 0)
    typical_waiting: float  # average number of cases waiting over the window
    errors: tuple[tuple[_Error, ...], ...]  # recent prediction errors by priority rank, then all; by length
    outcomes: int  # answered promises behind the calibration
    target_kept_rate: float
    recent_kept: float | None  # kept share of the promises that fell due most recently
    recent_settled: int  # how many promises that share is measured on
    typical_promise_bh: float | None  # median length of recent promises, business hours
    surge: tuple[float, ...]  # by priority rank: arrivals in the last hour beyond what is usual
    capacity_per_hour: float  # first responses per calendar hour the coming weeks' coverage allows
    adaptive: tuple[float, ...] = ()  # by priority rank, then all: the adaptive correction in spreads (see adapt)
    _margins: dict[tuple[int, int, float | None], float] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    _room: dict[tuple[int, float, float], tuple[float, float, float, float, int]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def margin(self, predicted_bh: float, priority: str = "normal") -> float | None:
        """The calibrated margin, in spreads, for a prediction of ``predicted_bh``; None while outcomes are few.

        It is the ``target_kept_rate`` quantile (with :data:`CONFIDENCE`) of the standardised errors of the
        :data:`NEIGHBOURS` recent promises of the same priority whose predictions were most alike in length:
        short waits err like handling times do, long ones like the pace and the queue do, and a low-priority
        case waits behind whatever arrives; one margin for all would be too wide for some and too narrow
        for others. A priority with too few answered promises of its own borrows everyone's. The margin is
        corrected by :attr:`boost` (all priorities' recent kept share) or, with ``adaptive_margin`` set, by
        the larger of that and :meth:`adapt` (the priority's own record, replayed).
        """
        if self.outcomes < MIN_OUTCOMES:
            return None
        correction = max(self.boost, self.adapt(priority)) if self.config.adaptive_margin else self.boost
        return self._quantile(predicted_bh, priority, None) + correction

    def adapt(self, priority: str = "normal") -> float:
        """The adaptive correction of ``priority``'s margin, in spreads (:func:`adaptive_offset`).

        The errors' quantile assumes that the next promises err like the last ones did; after a shift (a
        burst that jumps the queue, a slow week, someone away unannounced) they do not, and errors of
        promises made together break together. Replayed over the first promises that fell due, in order,
        each broken one widens the margin and each kept one narrows it a little, so that the kept share
        returns to the target whatever the shift (adaptive conformal inference, Gibbs & Candès 2021). The
        promises made within the same hour count as one: a shock breaks them together, and one shock is
        one piece of evidence, not thirty.
        """
        if not self.adaptive:
            return 0.0
        return self.adaptive[_rank(priority)]

    def usual(self, predicted_bh: float, priority: str = "normal") -> float:
        """Where, in spreads from the prediction, :data:`NOTICE_QUANTILE` of such cases have been answered."""
        if self.outcomes < MIN_OUTCOMES:
            return _NOTICE_Z
        return self._quantile(predicted_bh, priority, NOTICE_QUANTILE)

    def _quantile(self, predicted_bh: float, priority: str, level: float | None) -> float:
        """A quantile of the calibration errors near ``predicted_bh`` for ``priority``.

        ``level`` None: the target's, with its confidence bound.
        """
        rank = _rank(priority)
        key = (rank, round(math.log1p(max(predicted_bh, 0.0)) * 20), level)
        if key not in self._margins:
            position = key[1] / 20
            own = self.errors[rank]
            answered = sum(1 for error in own if not error[2])
            if answered >= 2 * MIN_OUTCOMES:
                margin = _margin(own, position, self.target_kept_rate, level=level)
            else:
                # Too few of this priority's own to go by: everyone's, but never narrower than its own few
                # say, nor than the model's spread while it has hardly any (other priorities' luck does
                # not show that a low-priority case, which waits behind everything, will be as lucky).
                margin = max(_margin(self.errors[-1], position, self.target_kept_rate, level=level),
                             _margin(own, position, self.target_kept_rate, minimum=_FEW_OUTCOMES, level=level))
            self._margins[key] = margin
        return self._margins[key]

    @property
    def boost(self) -> float:
        """The margin's correction, in spreads, by the kept share of the promises that fell due lately.

        Errors measured on the past miss what has just changed (a hidden absence, a burst); the kept share
        of recent acknowledgements is the first to show it. Kept less often than the target, the margin widens;
        kept (nearly) always, it narrows a little — the recent promises themselves show that it can.
        """
        if self.recent_kept is None:
            return 0.0
        shortfall = (self.target_kept_rate - self.recent_kept) / (1.0 - self.target_kept_rate)
        boost = max(_MIN_BOOST, min(_MAX_BOOST, _BOOST_GAIN * shortfall))
        if boost < 0:
            # Narrowing needs a full window of kept promises; a few lucky ones show little.
            boost *= min(1.0, self.recent_settled / KEPT_WINDOW)
        return boost

    # ---- predictions ----------------------------------------------------------------------

    def _preemption(self, start: float, rank: int) -> tuple[list[float], Callable[[float], float]]:
        """Higher-priority arrivals that overtake a case of ``rank``: per second by hour of the week, and their
        expected number from the hour ``start`` falls in up to any instant (for skipping through closed time)."""
        share = sum(self.arrivals_per_hour[:rank]) / max(sum(self.arrivals_per_hour), 1e-9)
        # In the fluid model a low-priority case would never be answered if higher priorities used all the
        # capacity; measured rates that high come from bursts, so they are capped at a share of it.
        expected = share * sum(self.profile) / len(self.profile)
        if expected > _MAX_PREEMPTION * self.capacity_per_hour:
            share *= _MAX_PREEMPTION * self.capacity_per_hour / expected
        preempting = [share * rate / _HOUR for rate in self.profile]  # per second, by hour of the week
        origin = math.floor(start / _HOUR) * _HOUR
        local = datetime.fromtimestamp(origin, self.calendar.tz)
        base = local.weekday() * 24 + local.hour
        cumulative = [0.0]
        for per_second in preempting:
            cumulative.append(cumulative[-1] + per_second * _HOUR)

        def arrivals_until(t: float) -> float:
            weeks, rest = divmod((t - origin) / _HOUR + base, _WEEK_HOURS)
            hour = int(rest)
            return weeks * cumulative[-1] + cumulative[hour] + (rest - hour) * preempting[hour] * _HOUR

        return preempting, arrivals_until

    def break_probability(self, now: datetime, priority: str, prediction: Prediction, due: datetime, *,
                          in_hand: float = 0.5) -> float:
        """How likely a waiting case predicted as ``prediction`` at ``now`` is to be answered after ``due``.

        Counted in work, not on the clock: the cases that must be answered before this one by ``due`` (those
        ahead, a surge still coming, the higher priorities expected to arrive until then) against the
        capacity staffed until ``due``; the shortfall (or room), in cases, is compared with the spread of that
        work (normal), in cases too. A case a few
        minutes of work short of a Friday close is then about as likely as not to miss it, not all but
        certain because the prediction itself jumps past the weekend (and past the weekend's arrivals, which
        come after the due time and cannot make it later). ``in_hand`` as in :meth:`predict_queue`: the share
        done already of each case in hand (one per person on shift, among those ahead) and of this one.
        """
        start, end = _ts(now), _ts(due)
        rank = _rank(priority)
        key = (rank, start, end)
        room = self._room.get(key)
        if room is None:
            pace = self.pace / _HOUR
            preempting, arrivals_until = self._preemption(start, rank)
            capacity = arrived = covered = 0.0
            if end > start:
                for opens, closes, people, hour in self._pieces(start):
                    if opens >= end:
                        break
                    closes = min(closes, end)
                    length = closes - opens
                    if hour < 0:
                        arrived += arrivals_until(closes) - arrivals_until(opens)
                        continue
                    arrived += preempting[hour] * length
                    capacity += pace * people * length
                    covered += length
            hours = self.calendar.business_time_between(now, due).total_seconds() / _HOUR if end > start else 0.0
            room = self._room[key] = (capacity, arrived, covered, hours, self.coverage.on_shift(now))
        capacity, arrived, covered, hours, on_shift = room
        surge = sum(self.surge[:rank])
        # Of the cases ahead, those in the hands of the people on shift now are half done on average.
        work = prediction.ahead * 1.0 - in_hand * min(on_shift, prediction.ahead) + 1.0 + surge + arrived
        if covered <= 0.0:
            return 1.0  # nobody on shift before the due time
        pace = self.pace / _HOUR
        single = (1.0 - in_hand) / pace
        # The spread of the work due by then, as a prediction ending at ``due`` would have it, in hours of
        # the people on shift until then (on average) and, times the cases those hours clear, in cases.
        staffed = max(1.0, capacity / (pace * covered))
        spread = self._spread(work, prediction.ahead, staffed, surge, hours)
        margin = (capacity - work) / (spread * self.pace * staffed)
        # And somebody needs one handling time on the case itself before the due time.
        margin = min(margin, (covered - single) / _HOUR / spread)
        return 1.0 - NormalDist().cdf(margin)

    def predict(self, now: datetime, ahead: int, priority: str) -> Prediction:
        """The first response of a case with ``ahead`` cases before it in the queue."""
        return self._predict_many(now, [ahead], priority)[0]

    def predict_queue(self, now: datetime, queue: QueueSnapshot) -> list[tuple[WaitingCase, Prediction]]:
        """A prediction for every waiting case (one walk per priority), in the order they will be answered.

        A case near the head of the queue may already be in someone's hands: on average half of its
        handling time is done, so it is predicted half a handling time from now at the earliest, not a
        whole one as for a new case.
        """
        results: list[tuple[WaitingCase, Prediction]] = []
        by_rank: list[list[WaitingCase]] = [[] for _ in PRIORITIES]
        for case in queue.cases:
            by_rank[_rank(case.priority)].append(case)
        higher = 0
        for rank, cases in enumerate(by_rank):
            cases.sort(key=lambda case: _ts(case.opened_at))
            predictions = self._predict_many(now, [higher + k for k in range(len(cases))], PRIORITIES[rank],
                                             in_hand=0.5)
            results.extend(zip(cases, predictions, strict=True))
            higher += len(cases)
        return results

    def _predict_many(self, now: datetime, aheads: Sequence[int], priority: str, *,
                      in_hand: float = 0.0) -> list[Prediction]:
        """Predictions for cases of one priority, ``aheads`` ascending: one walk through coverage.

        A case is picked once the capacity since ``now`` has absorbed the cases ahead plus the cases of
        higher priority arriving meanwhile (at the rates of each hour of the week), and answered once
        someone has had one handling time on it.
        """
        start = _ts(now)
        pace = self.pace / _HOUR  # per staffed second
        rank = _rank(priority)
        preempting, arrivals_until = self._preemption(start, rank)

        single = (1.0 - in_hand) / pace  # one handling time (less what is done already), in covered seconds
        # A surge of higher-priority requests (an outage) is expected to go on for a while.
        surge = sum(self.surge[:rank])
        needs = [ahead + 1.0 + surge for ahead in aheads]
        found: list[tuple[float, float, float]] = []  # (instant, capacity needed, covered seconds)
        capacity = arrived = covered = 0.0
        index = 0
        single_at: float | None = None
        for opens, closes, people, hour in self._pieces(start):
            if index >= len(needs) and single_at is not None:
                break
            rate = pace * people
            length = closes - opens
            if hour < 0:
                # A stretch with nobody on shift, possibly days long: its arrivals at once.
                preempt = (arrivals_until(closes) - arrivals_until(opens)) / length if length > 0 else 0.0
            else:
                preempt = preempting[hour]
            if people and single_at is None and covered + length >= single:
                single_at = opens + (single - covered)
            while index < len(needs):
                need = needs[index] + arrived
                if capacity >= need:
                    at = opens
                elif rate > preempt:
                    at = opens + (need - capacity) / (rate - preempt)
                    if at > closes:
                        break
                else:
                    break
                found.append((at, need + preempt * (at - opens), covered + (at - opens if people else 0.0)))
                index += 1
            capacity += rate * length
            arrived += preempt * length
            if people:
                covered += length
        horizon = start + _HORIZON
        while len(found) < len(needs):
            found.append((horizon, needs[len(found)], max(covered, 1.0)))
        if single_at is None:
            single_at = horizon
        predictions: list[Prediction] = []
        tz = self.calendar.tz
        for ahead, (at, work, covered_until) in zip(aheads, found, strict=True):
            at = max(at, single_at)
            moment = datetime.fromtimestamp(at, UTC).astimezone(tz)
            hours = self.calendar.business_time_between(now, moment).total_seconds() / _HOUR
            staffed = max(1.0, work / (pace * max(covered_until, single)))
            spread = self._spread(work, ahead, staffed, surge, hours)
            predictions.append(Prediction(at=moment, bh=hours, spread_bh=spread, ahead=ahead))
        return predictions

    def _spread(self, work: float, ahead: int, staffed: float, surge: float, hours: float) -> float:
        """The spread, in business hours, of when ``work`` cases (``ahead`` of them waiting, ``surge`` of a surge
        still coming, the rest arrivals that overtake) are done by ``staffed`` people over ``hours``."""
        # Three sources of error: the handling times of the work ahead (a sum of independent ones),
        # how many higher-priority cases really arrive meanwhile (Poisson), and drift of the pace
        # or the staffing over the wait (in proportion to its length).
        service = _SERVICE_CV / self.pace * math.sqrt(1.0 + work / (staffed * staffed))
        arrivals = math.sqrt(max(work - ahead - 1.0, 0.0)) / (self.pace * staffed)
        # A surge of higher priorities may stop now or go on twice as long: one burst moves every
        # waiting case at once, so its uncertainty is its whole size, not a Poisson square root.
        surging = surge / (self.pace * staffed)
        return max(_MIN_SPREAD_BH, math.sqrt(service**2 + arrivals**2 + surging**2 + (_DRIFT * hours) ** 2))

    def _pieces(self, start: float) -> Iterator[tuple[float, float, int, int]]:
        """Time from ``start`` in pieces ``(from, to, people on shift, hour of the week)``.

        Time on shift comes in pieces of at most an hour (the arrival rate changes by the hour); time with
        nobody on shift comes whole, with hour ``-1``. Hours are counted on from the local hour of ``start``
        (a DST change shifts them by one hour, which a rate profile does not notice).
        """
        origin = math.floor(start / _HOUR) * _HOUR
        local = datetime.fromtimestamp(origin, self.calendar.tz)
        base = local.weekday() * 24 + local.hour
        t = start
        limit = start + _HORIZON
        for opens, closes, people in self.coverage.stretches(start, limit):
            if opens > t:
                yield t, opens, 0, -1
                t = opens
            while t < closes:
                hour_end = min((math.floor(t / _HOUR) + 1) * _HOUR, closes)
                yield t, hour_end, people, (base + int((t - origin) // _HOUR)) % _WEEK_HOURS
                t = hour_end
        if t < limit:
            yield t, limit, 0, -1

    # ---- promises -------------------------------------------------------------------------

    def estimate(self, now: datetime, priority: str, queue: QueueSnapshot, *, number: int | None = None) -> Estimate:
        """The promise for a new case of ``priority`` arriving at ``now``.

        ``queue`` may or may not contain the new case already; pass its ``number`` so it is not counted
        ahead of itself.
        """
        ahead = queue.ahead_of(now, priority, number=number)
        prediction = self.predict(now, ahead, priority)
        return self.promise(now, priority, prediction)

    def promise(self, now: datetime, priority: str, prediction: Prediction, *, not_before: datetime | None = None,
                revision: bool = False) -> Estimate:
        """Turn a prediction into a promise: calibrated margin, kept clear of an immediate delay notice, rounded."""
        # A promise must leave room for its delay notice: due no earlier than ``delay_notice_before`` after
        # the time by which most such cases (NOTICE_QUANTILE) are answered, and never so early that the tick
        # would find it at risk at once. Counted from the prediction alone, every case answered later than
        # predicted (about half) would get a delay notice.
        usual_pad = max(0.0, self.usual(prediction.bh, priority)) * prediction.spread_bh
        usual = self.calendar.add_business_time(prediction.at, timedelta(hours=usual_pad))
        lead_floor = _after(max(usual, prediction.at), self.config.delay_notice_before, self.calendar)
        margin = self.margin(prediction.bh, priority)
        if margin is None:
            # Too few outcomes to calibrate: the configured fallback, never shorter than a wide margin.
            fallback = fallback_estimate(now, priority, self.config.fallback, self.calendar).due
            raw = max(fallback, lead_floor)
            if self.evidence_hours > 0:
                # With a measured pace, a long queue may need longer than the fallback says.
                raw = max(raw, self.calendar.add_business_time(
                    prediction.at, timedelta(hours=3.0 * prediction.spread_bh)))
            basis = (f"fallback for priority {priority} while only {self.outcomes} promises have been answered; "
                     f"{prediction.ahead} ahead, pace {self.pace:.2f}/staffed hour, "
                     f"predicted {prediction.bh:.1f}bh")
        else:
            pad = timedelta(hours=margin * prediction.spread_bh)
            padded = self.calendar.add_business_time(prediction.at, pad) if pad > _ZERO else prediction.at
            raw = max(padded, lead_floor)
            kept = "n/a" if self.recent_kept is None else f"{self.recent_kept:.0%}"
            basis = (f"{prediction.ahead} ahead, pace {self.pace:.2f}/staffed hour, predicted "
                     f"{prediction.bh:.1f}bh ± {prediction.spread_bh:.1f}, margin {margin:+.2f} spreads "
                     f"calibrated on {self.outcomes} answered promises (recent kept {kept}, "
                     f"adaptive {self.adapt(priority):+.2f}{'' if self.config.adaptive_margin else ' not applied'})")
        if not_before is not None:
            raw = max(raw, not_before)
        raw = max(raw, now + timedelta(minutes=15))
        due = round_promise(raw, self.calendar)
        reasons = self._reasons(now, due, prediction, revision=revision)
        return Estimate(due=due, basis=basis, reason_keys=tuple(reasons), predicted_at=prediction.at,
                        predicted_bh=round(prediction.bh, 3), spread_bh=round(prediction.spread_bh, 3),
                        ahead=prediction.ahead)

    def revise(self, now: datetime, case: WaitingCase, old_due: datetime, queue: QueueSnapshot) -> Estimate:
        """The new honest time for a delay notice: the case's own prediction from ``now``, calibrated,
        later than the promise it replaces and clear of another immediate notice."""
        ahead = queue.ahead_of(case.opened_at, case.priority, number=case.number)
        prediction = self.predict(now, ahead, case.priority)
        return self.promise(now, case.priority, prediction, not_before=old_due + _LAST_HOUR, revision=True)

    def _reasons(self, now: datetime, due: datetime, prediction: Prediction, *, revision: bool) -> list[Reason]:
        reasons = closure_reason_keys(now, due, self.calendar)
        promised = self.calendar.business_time_between(now, due).total_seconds() / _HOUR
        usual = self.typical_promise_bh
        if not revision and (usual is None or promised <= max(4.0, 1.5 * usual)):
            return reasons
        if prediction.ahead >= max(5.0, 2.0 * self.typical_waiting + 1.0):
            reasons.append(Reason("busy"))
        away = _absences(now, due, self.coverage)
        if away is not None:
            reasons.append(Reason("absence", day=away))
        return reasons


def _absences(now: datetime, due: datetime, coverage: Coverage) -> date | None:
    """The day the last configured absence between now and due ends (the day people are back), if any."""
    tz = coverage.calendar.tz
    day = now.astimezone(tz).date()
    end = due.astimezone(tz).date()
    back: date | None = None
    while day <= end:
        if coverage.calendar.is_business_day(day) and coverage.absent_on(day):
            back = day + timedelta(days=1)
        day += timedelta(days=1)
    if back is None:
        return None
    while not coverage.calendar.is_business_day(back) or coverage.absent_on(back):
        back += timedelta(days=1)
        if back - end > timedelta(days=60):
            break
    return back


def fit(now: datetime, queue: QueueSnapshot, history: PaceHistory, calibration: Sequence[PromiseRecord],
        calendar: BusinessCalendar, coverage: Coverage, config: EtaConfig) -> PaceModel:
    """Measure the pace and calibrate the margin from history, as of ``now``."""
    now_ts = _ts(now)
    measured = _measure(now_ts, queue, history, coverage)
    errors, outcomes, (recent_kept, recent_settled), typical, adaptive = _calibrate(
        now_ts, calibration, calendar, config.target_kept_rate)
    return PaceModel(now=now, calendar=calendar, coverage=coverage, config=config,
                     pace=measured.pace, pace_steady=measured.steady,
                     pace_recent=measured.recent, evidence_hours=measured.evidence,
                     arrivals_per_hour=measured.arrivals, profile=measured.profile,
                     typical_waiting=measured.waiting, errors=errors,
                     outcomes=outcomes, target_kept_rate=config.target_kept_rate, recent_kept=recent_kept,
                     recent_settled=recent_settled,
                     typical_promise_bh=typical, surge=measured.surge,
                     capacity_per_hour=_capacity(now_ts, coverage, measured.pace), adaptive=adaptive)


def _capacity(now: float, coverage: Coverage, pace: float) -> float:
    """First responses per calendar hour over the coming weeks, at ``pace`` with the configured coverage."""
    staffed = sum((closes - opens) * people for opens, closes, people in coverage.stretches(now, now + _CAPACITY_SPAN))
    return pace * staffed / _CAPACITY_SPAN


@dataclass(frozen=True)
class _Measured:
    pace: float
    steady: float
    recent: float
    evidence: float
    arrivals: tuple[float, ...]
    profile: tuple[float, ...]
    waiting: float
    surge: tuple[float, ...]


def _measure(now: float, queue: QueueSnapshot, history: PaceHistory, coverage: Coverage) -> _Measured:
    """The steady and recent pace, the evidence behind it, arrivals per hour, the average queue and any surge.

    The pace is first responses per person-hour that could have gone into them: the integral of
    ``min(cases waiting, people on shift)``. Counting every staffed hour instead would measure how much
    work arrived, not how fast the team works, and promise too much on a quiet week's evidence.
    """
    since = min(_ts(history.since), now)
    # The store returns the newest first; only the newest MAX_PACE_ROWS are read (timestamps are the cost).
    responses = history.responses
    capped = len(responses) > MAX_PACE_ROWS
    if capped:
        responses = responses[:MAX_PACE_ROWS]
    rank_of = _RANK.get
    rows = [(row.first_response_at.timestamp(), row.opened_at.timestamp(), rank_of(row.priority, _NORMAL))
            for row in responses]
    rows = [row for row in rows if since <= row[0] <= now]
    if capped and rows:
        since = max(since, min(row[0] for row in rows))
    opens: list[float] = []
    answers: list[float] = []
    initial = 0
    arrivals_seen: list[tuple[float, int]] = []
    for answered, opened, rank in rows:
        answers.append(answered)
        if opened < since:
            initial += 1
        else:
            opens.append(opened)
            arrivals_seen.append((opened, rank))
    for rank, stamps in enumerate(queue.opened_by_rank):
        for opened in stamps:
            if opened > now:
                continue
            if opened < since:
                initial += 1
            else:
                opens.append(opened)
                arrivals_seen.append((opened, rank))
    opens.sort()
    answers.sort()
    # Before the first case inboxd saw, it saw nothing: a young installation must not count the days
    # before it as days without arrivals.
    observed_from = max(since, min(opens[0] if opens else now, answers[0] if answers else now))
    arrivals, last_hour = _arrival_rates(now, observed_from, arrivals_seen)
    # Arrivals in the last hour far beyond the usual rate (well outside Poisson noise) are a surge; as
    # many again are expected: an outage seen for an hour has, as likely as not, as long still to go.
    surge = tuple(_SURGE_AHEAD * max(0.0, count - 2.0 * rate - 2.0 * math.sqrt(rate) - 2.0)
                  for count, rate in zip(last_hour, arrivals, strict=True))

    # Sweep the window: between consecutive changes, cases waiting and people on shift are constant.
    # Openings and answers are merged into one sorted list; shift boundaries split the gaps between them.
    events = [(opened, 1) for opened in opens]
    events.extend((answered, -1) for answered in answers)
    events.append((now, 0))
    events.sort()
    stretches = list(coverage.stretches(since, now))
    shift_opens = [stretch[0] for stretch in stretches]
    shift_closes = [stretch[1] for stretch in stretches]
    shift_people = [stretch[2] for stretch in stretches]
    n_stretches = len(stretches)
    busy_steady = busy_recent = 0.0
    done_steady = done_recent = 0.0
    waiting_time = 0.0
    waiting = initial
    cursor = since
    k = 0
    exp = math.exp
    long_rate = 1.0 / _LONG_TAU
    short_rate = 1.0 / _SHORT_TAU
    for stamp, change in events:
        if stamp > now:
            stamp = now
        if stamp > cursor:
            waiting_time += waiting * (stamp - cursor)
            if waiting:
                # Person-time on offer in [cursor, stamp), piece by piece through the shifts.
                while k < n_stretches and shift_closes[k] <= cursor:
                    k += 1
                j = k
                while j < n_stretches and shift_opens[j] < stamp:
                    a = shift_opens[j]
                    if a < cursor:
                        a = cursor
                    b = shift_closes[j]
                    last = b >= stamp
                    if last:
                        b = stamp
                    if b > a:
                        people = shift_people[j]
                        busy = (waiting if waiting < people else people) * (b - a)
                        middle = now - 0.5 * (a + b)
                        busy_steady += busy * exp(-middle * long_rate)
                        busy_recent += busy * exp(-middle * short_rate)
                    if last:
                        break
                    j += 1
            cursor = stamp
        if change < 0:
            age = now - stamp
            done_steady += exp(-age * long_rate)
            done_recent += exp(-age * short_rate)
        waiting += change
        if cursor >= now:
            break
    steady_hours = busy_steady / _HOUR
    recent_hours = busy_recent / _HOUR
    steady = (done_steady + _PRIOR_PACE * _PRIOR_HOURS) / (steady_hours + _PRIOR_HOURS)
    recent = (done_recent + steady * _SHORT_PRIOR_HOURS) / (recent_hours + _SHORT_PRIOR_HOURS)
    # The recent pace replaces the steady one only when it is lower by more than its own noise (two
    # Poisson standard errors): taking the lower of two noisy numbers would make every promise long.
    noise = 2.0 / math.sqrt(max(done_recent, 1.0))
    pace = recent if recent < steady * (1.0 - noise) else steady
    average_waiting = waiting_time / max(now - since, 1.0)
    profile = _arrival_profile(now, observed_from, opens, coverage.calendar.tz)
    return _Measured(pace=pace, steady=steady, recent=recent, evidence=steady_hours, arrivals=arrivals, profile=profile,
                     waiting=average_waiting, surge=surge)


def _arrival_profile(now: float, observed_from: float, opens: Sequence[float], tz: ZoneInfo) -> tuple[float, ...]:
    """All arrivals per hour for each local hour of the week (Monday 00:00 = 0), robust to bursts.

    Two views are blended: each hour of the week on its own (Monday mornings are not Tuesday mornings)
    and each hour of the day on working days or weekend days (more samples, so less noise); the first
    weighs more the more weeks have been seen. In both, an hour far above its usual count (an outage)
    counts as twice the usual plus a little. Without any history the profile is flat at zero.
    """
    first = math.floor(observed_from / _HOUR) * _HOUR
    hours = max(int((now - first) // _HOUR), 0)
    if hours < 1 or not opens:
        return (0.0,) * _WEEK_HOURS
    local = datetime.fromtimestamp(first, tz)
    first_hour = local.weekday() * 24 + local.hour
    # Counts per elapsed hour since ``first``: the hour of the week follows from the offset.
    per_hour = [0] * hours
    for opened in opens:
        offset = int((opened - first) // _HOUR)
        if 0 <= offset < hours:
            per_hour[offset] += 1
    by_week_hour: list[list[int]] = [[] for _ in range(_WEEK_HOURS)]
    by_day_hour: list[list[int]] = [[] for _ in range(48)]  # working days 0-23, weekend days 24-47
    for offset, count in enumerate(per_hour):
        week_hour = (first_hour + offset) % _WEEK_HOURS
        by_week_hour[week_hour].append(count)
        by_day_hour[(24 if week_hour >= 120 else 0) + week_hour % 24].append(count)
    weeks = hours / _WEEK_HOURS
    weight = weeks / (weeks + 2.0)
    # Hours of a kind not seen yet (the first weekend of a new installation) get the overall average.
    overall = _robust_mean(per_hour)
    day_rates = [_robust_mean(samples) if samples else overall for samples in by_day_hour]
    profile: list[float] = []
    for week_hour, samples in enumerate(by_week_hour):
        day_rate = day_rates[(24 if week_hour >= 120 else 0) + week_hour % 24]
        profile.append(weight * _robust_mean(samples) + (1.0 - weight) * day_rate if samples else day_rate)
    return tuple(profile)


def _robust_mean(samples: Sequence[int]) -> float:
    """The mean of counts, each capped at twice the median plus three (one outage is not the rule)."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    cap = 2.0 * ordered[len(ordered) // 2] + 3.0
    below = bisect.bisect_right(ordered, cap)
    return (sum(ordered[:below]) + cap * (len(ordered) - below)) / len(ordered)


def _arrival_rates(now: float, observed_from: float,
                   arrivals: Sequence[tuple[float, int]]) -> tuple[tuple[float, ...], list[int]]:
    """Arrivals per calendar hour by priority rank, robust to bursts, and the counts of the last hour.

    Each whole day back from ``now`` is counted; a day far above the median day (an outage) counts as
    twice the median plus a little, so that one burst does not make every later prediction expect
    bursts. The surge term (:attr:`PaceModel.surge`) deals with a burst while it lasts.
    """
    days = int((now - observed_from) // 86400.0)
    counts = [[0] * max(days, 1) for _ in PRIORITIES]
    last_hour = [0] * len(PRIORITIES)
    for opened, rank in arrivals:
        age = now - opened
        if age <= _HOUR:
            last_hour[rank] += 1
        if days >= 1:
            day = int(age // 86400.0)
            if day < days:
                counts[rank][day] += 1
    if days < 1:
        span_hours = max((now - observed_from) / _HOUR, 1.0)
        total = [0] * len(PRIORITIES)
        for _opened, rank in arrivals:
            total[rank] += 1
        return tuple(count / span_hours for count in total), last_hour
    return tuple(_robust_mean(per_day) / 24.0 for per_day in counts), last_hour


@functools.lru_cache(maxsize=4096)
def _order_statistic(n: int, quantile: float, confidence: float) -> int | None:
    """The smallest 1-based rank ``j`` whose ``j``-th smallest of ``n`` samples is at least the
    ``quantile`` with probability ``confidence``; ``None`` when ``n`` samples cannot give that."""
    cumulative = 0.0
    for j in range(1, n + 1):
        # P(Binomial(n, quantile) == j - 1): that many samples below the true quantile.
        k = j - 1
        cumulative += math.comb(n, k) * quantile**k * (1.0 - quantile) ** (n - k)
        if cumulative >= confidence:
            return j
    return None


_Error = tuple[float, float, bool, float]
"""A past prediction's error: (log1p of its length in bh, standardised error, censored, when it was made)."""


def _calibrate(now: float, records: Sequence[PromiseRecord], calendar: BusinessCalendar, target: float = 0.95,
               ) -> tuple[tuple[tuple[_Error, ...], ...], int, tuple[float | None, int], float | None,
                          tuple[float, ...]]:
    """(errors by priority rank and then all, each sorted by predicted length; answered promises; the kept
    share of the promises that fell due most recently and how many those were; median promise length in bh).

    Every recent promise with a prediction counts. One still unanswered counts as *censored* at the wait so
    far: its error is at least that. Leaving unanswered promises out would keep the fast answers and drop
    the slow ones, and waiting for due times to pass would leave a new installation on the fallback for days.
    """
    # The store returns the newest first; only the newest MAX_CALIBRATION already made are read.
    usable: list[PromiseRecord] = []
    for record in records:
        if record.made_at.timestamp() <= now:
            usable.append(record)
            if len(usable) >= MAX_CALIBRATION:
                break
    if not usable:
        return tuple(() for _ in range(len(PRIORITIES) + 1)), 0, (None, 0), None, ()
    earliest = min(record.made_at.timestamp() for record in usable)
    index = BusinessTimeIndex(calendar, earliest, now)
    errors: list[list[_Error]] = [[] for _ in range(len(PRIORITIES) + 1)]
    answered_count = 0
    outcomes: list[tuple[float, bool]] = []  # (due, kept) of promises whose due time has passed
    by_rank: list[list[tuple[float, bool, float]]] = [[] for _ in PRIORITIES]  # (due, kept, made)
    made_all: list[tuple[float, bool, float]] = []
    lengths: list[float] = []
    for record in usable:
        made = record.made_at.timestamp()
        due = record.due_at.timestamp()
        answered = record.first_response_at.timestamp() if record.first_response_at is not None else None
        if answered is not None and answered > now:
            answered = None
        if due <= now and record.first:
            outcome = (due, answered is not None and answered <= due, made)
            outcomes.append(outcome[:2])
            made_all.append(outcome)
            by_rank[_rank(record.priority)].append(outcome)
            lengths.append(index.hours(made, due))
        if record.predicted_bh is None or record.spread_bh is None:
            continue
        answered_count += answered is not None
        actual = index.hours(made, answered if answered is not None else now)
        spread = max(record.spread_bh, _MIN_SPREAD_BH)
        error = (math.log1p(max(record.predicted_bh, 0.0)), (actual - record.predicted_bh) / spread,
                 answered is None, made)
        errors[_rank(record.priority)].append(error)
        errors[-1].append(error)
    lengths.sort()
    typical = lengths[len(lengths) // 2] if lengths else None
    # The kept share of the acknowledgements that fell due most recently: judged by their due time, so that early
    # answers to promises not yet due do not flatter it.
    outcomes.sort(reverse=True)
    latest = outcomes[:KEPT_WINDOW]
    recent_kept = sum(1 for _, kept in latest if kept) / len(latest) if latest else None
    overall = adaptive_offset(made_all, target)
    adaptive = tuple(adaptive_offset(own, target) if len(own) >= MIN_OUTCOMES else overall
                     for own in by_rank) + (overall,)
    return (tuple(tuple(sorted(pool)) for pool in errors), answered_count, (recent_kept, len(latest)), typical,
            adaptive)


def adaptive_offset(outcomes: Sequence[tuple[float, bool, float]], target: float) -> float:
    """The adaptive correction, in spreads, after the promises ``(due, kept, made)`` that fell due (any order).

    Promises made within the same hour (:data:`_ADAPT_BATCH`) form one batch: a burst that overtakes them
    or a slow day breaks them together, so a batch of n weighs like sqrt(n) independent promises. Replayed
    in order of the batches' last due time, a batch adds :data:`_ADAPT_STEP` × sqrt(n) × (its broken share −
    the share the target allows): one broken promise widens the margin by nearly a step, nine broken together
    by nearly three; each kept one narrows it by a twentieth of that at a 0.95 target. At the target kept
    rate it stays where it is, and over the calibration's window the kept share is driven to the target
    whatever the shift (adaptive conformal
    inference, Gibbs & Candès 2021, on the margin in spreads rather than on the quantile level). Kept
    within :data:`_ADAPT_RANGE`; no outcomes, no correction.
    """
    allowed = 1.0 - target
    batches: dict[int, list[float]] = {}  # made hour -> [last due, promises, broken]
    for due, kept, made in outcomes:
        batch = batches.setdefault(int(made // _ADAPT_BATCH), [due, 0.0, 0.0])
        batch[0] = max(batch[0], due)
        batch[1] += 1.0
        batch[2] += 0.0 if kept else 1.0
    low, high = _ADAPT_RANGE
    offset = 0.0
    for _last_due, count, broken in sorted(batches.values()):
        # A batch of n promises that broke together weighs like sqrt(n) independent ones: more than one
        # (a backlog a shock hit goes on breaking what is promised next), less than n.
        offset = min(high, max(low, offset + _ADAPT_STEP * math.sqrt(count) * (broken / count - allowed)))
    return offset


def _margin(errors: Sequence[_Error], position: float, target: float, *, minimum: int = MIN_OUTCOMES,
            level: float | None = None) -> float:
    """The calibrated margin for a prediction at ``position`` (log1p of its length in bh).

    The errors of recent promises whose predictions were alike in length (within :data:`_RADIUS`, at most
    :data:`NEIGHBOURS` of them) give the ``target`` quantile, with :data:`CONFIDENCE`, counting unanswered
    promises as censored (Kaplan–Meier). Where few of them have been answered, the data cannot show that
    a margin narrower than the model's own spread would do: the margin then leans towards the normal
    quantile of the spread, in proportion to how little was seen.

    With ``level``, the plain ``level`` quantile instead (no confidence bound, leaning either way).
    """
    nominal = NormalDist().inv_cdf(target if level is None else level)
    lo = bisect.bisect_left(errors, (position - _RADIUS, -math.inf, False, -math.inf))
    hi = bisect.bisect_right(errors, (position + _RADIUS, math.inf, True, math.inf))
    near = list(errors[lo:hi])
    if len(near) > NEIGHBOURS:
        # The nearest in length; among equals, the most recent.
        near.sort(key=lambda error: (abs(error[0] - position), -error[3]))
        near = near[:NEIGHBOURS]
    answered = sum(1 for error in near if not error[2])
    if answered < minimum:
        return nominal
    samples = sorted((error, censored) for _, error, censored, _made in near)
    weight = answered / (answered + _PRIOR_OUTCOMES)
    if level is not None:
        return weight * _km_quantile(samples, level) + (1.0 - weight) * nominal
    rank = _order_statistic(len(samples), round(target, 4), CONFIDENCE)
    measured = _km_quantile(samples, 1.0 if rank is None else rank / len(samples))
    return max(measured, weight * measured + (1.0 - weight) * nominal)


def _km_quantile(samples: Sequence[tuple[float, bool]], level: float) -> float:
    """The ``level`` quantile of right-censored samples ``(value, censored)`` sorted by value (Kaplan–Meier).

    When censoring leaves the distribution short of ``level``, the largest value seen plus one spread.
    """
    at_risk = len(samples)
    survival = 1.0
    for value, censored in samples:
        if not censored:
            survival *= 1.0 - 1.0 / at_risk
            if 1.0 - survival >= level - 1e-9:
                return value
        at_risk -= 1
    return samples[-1][0] + 1.0 if samples else 0.0


# --------------------------------------------------------------------------------------------
# The public entry points
# --------------------------------------------------------------------------------------------


def estimate(now: datetime, priority: str, queue: QueueSnapshot, history: PaceHistory,
             calibration: Sequence[PromiseRecord], calendar: BusinessCalendar, coverage: Coverage,
             config: EtaConfig, *, number: int | None = None) -> Estimate:
    """The promise an acknowledgement sent at ``now`` for a new case of ``priority`` makes."""
    model = fit(now, queue, history, calibration, calendar, coverage, config)
    return model.estimate(now, priority, queue, number=number)


def revised_estimate(now: datetime, case: WaitingCase, old_due: datetime, queue: QueueSnapshot,
                     history: PaceHistory, calibration: Sequence[PromiseRecord], calendar: BusinessCalendar,
                     coverage: Coverage, config: EtaConfig) -> Estimate:
    """The new honest time a delay notice for ``case`` states (see :meth:`PaceModel.revise`)."""
    model = fit(now, queue, history, calibration, calendar, coverage, config)
    return model.revise(now, case, old_due, queue)


def notice_threshold(promise_due: datetime, delay_notice_before: Duration,
                     calendar: BusinessCalendar | None = None) -> datetime:
    """The instant from which a promise counts as at risk: ``delay_notice_before`` ahead of its due time.

    Calendar units (``2h``) count elapsed time: the customer hears it two real hours before. Business
    units (``2bh``, ``1bd``) count working time and need ``calendar``.
    """
    if delay_notice_before.is_business:
        if calendar is None:
            raise ValueError(f"delay_notice_before {delay_notice_before} is business time and needs the calendar")
        hours = delay_notice_before.amount
        if delay_notice_before.unit == "bd":
            # A business day steps back as long as the due day's open hours (8 on a closed day).
            ranges = calendar.open_ranges(promise_due.astimezone(calendar.tz).date())
            day = sum((closes - opens for opens, closes in ranges), _ZERO) or timedelta(hours=8)
            hours *= day.total_seconds() / _HOUR
        return calendar.add_business_time(promise_due, -timedelta(hours=hours))
    return promise_due - delay_notice_before.as_timedelta()


def _after(at: datetime, lead: Duration, calendar: BusinessCalendar) -> datetime:
    """The earliest due time whose notice threshold is not before ``at`` (``at`` plus the lead)."""
    if lead.is_business:
        return calendar.add(at, lead)
    return at + lead.as_timedelta()


def at_risk(promise_due: datetime, now: datetime, predicted_first_response: datetime, delay_notice_before: Duration,
            calendar: BusinessCalendar | None = None, *, spread_bh: float | None = None,
            level: float | None = None) -> bool:
    """Whether an open promise needs a delay notice now.

    Never once the due time has passed: a notice after the fact is an apology, not a notice, and the tick's
    caller handles broken promises separately.

    With the prediction's ``spread_bh`` (:attr:`Prediction.spread_bh`, as :meth:`PaceModel.predict_queue`
    gives it), the promise is at risk when the first response is likely enough to come after the due time:
    ``P(first response > due) ≥ level``, the first response taken as normal around the prediction with that
    spread, in business hours (elapsed hours without ``calendar``). The level is :func:`risk_level`'s (none
    before ``delay_notice_before`` ahead of the due time, then falling as it nears); ``level`` overrides it.
    The tick runs often enough that this is decided again as the due time nears and the prediction
    sharpens, so the customer hears before the due time — as soon as the queue makes a break likely enough.

    Without ``spread_bh`` (the old rule): at risk when the predicted first response falls after the due time
    minus ``delay_notice_before`` (see :func:`notice_threshold`).
    """
    if now >= promise_due:
        return False
    if spread_bh is None:
        return predicted_first_response > notice_threshold(promise_due, delay_notice_before, calendar)
    if level is None:
        level = risk_level(promise_due, now, delay_notice_before, calendar)
        if level is None:
            return False
    return miss_probability(promise_due, predicted_first_response, spread_bh, calendar) >= level


def risk_level(promise_due: datetime, now: datetime, delay_notice_before: Duration,
               calendar: BusinessCalendar | None = None) -> float | None:
    """How likely a break must be for an open promise due at ``promise_due`` to get its delay notice at ``now``.

    None (no notice yet) until ``delay_notice_before`` ahead of the due time (:func:`notice_threshold`); from
    then on :data:`LEAD_RISK_LEVEL`, falling in a straight line (in elapsed time) to :data:`RISK_LEVEL` at the
    due time; in its last :data:`LAST_CALL`, :data:`LATE_RISK_LEVEL`. Earlier than the lead, even a break the
    model finds all but certain is often not one (the surge stops, a colleague clears a batch, a low-priority
    case is reached in a quiet hour): on the shipped workloads one early notice in four at a 99 % likelihood was
    needless. So the customer hears it when the queue has shown whether the promise holds — few hear "we may be
    late" and then get their answer in time — and a case in someone's hands for too long still gets its
    notice at the last look.
    """
    left = promise_due - now
    if left <= _ZERO:
        return None
    if left <= LAST_CALL:
        return LATE_RISK_LEVEL
    threshold = notice_threshold(promise_due, delay_notice_before, calendar)
    if now < threshold:
        return None
    span = (promise_due - threshold - LAST_CALL).total_seconds()
    if span <= 0:
        return RISK_LEVEL
    share = min(1.0, max(0.0, (left - LAST_CALL).total_seconds() / span))
    return RISK_LEVEL + (LEAD_RISK_LEVEL - RISK_LEVEL) * share


def notice_rule(delay_notice_before: Duration) -> str:
    """When a promise gets its delay notice (:func:`risk_level`), in a sentence for ``inboxd eta``."""
    return (f"a delay notice goes out from {delay_notice_before} before the due time once a break is "
            f"{LEAD_RISK_LEVEL:.0%} likely, falling to {RISK_LEVEL:.0%} at the due time and "
            f"{LATE_RISK_LEVEL:.0%} in the last {int(LAST_CALL.total_seconds() // 60)} minutes; never earlier")


def miss_probability(promise_due: datetime, predicted_first_response: datetime, spread_bh: float,
                     calendar: BusinessCalendar | None = None) -> float:
    """``P(first response > promise_due)``, the first response normal around the prediction with ``spread_bh``.

    The distance is counted in business hours on ``calendar`` (elapsed hours without it).
    """
    if calendar is not None:
        gap = calendar.business_time_between(predicted_first_response, promise_due).total_seconds() / _HOUR
    else:
        gap = (promise_due - predicted_first_response).total_seconds() / _HOUR
    return 1.0 - NormalDist().cdf(gap / max(spread_bh, _MIN_SPREAD_BH))


def round_promise(due: datetime, calendar: BusinessCalendar) -> datetime:
    """Round a due time up to one a person would say: the close of business when within its last hour,
    else the next half hour. Never earlier than ``due``; in the team's timezone."""
    local = due.astimezone(calendar.tz)
    for opens, closes in calendar.open_ranges(local.date()):
        if opens <= local <= closes and closes - local <= _LAST_HOUR:
            return closes.astimezone(calendar.tz)
    return round_up(local, _ROUND_TO).astimezone(calendar.tz)


# --------------------------------------------------------------------------------------------
# The fallback (no history) and closure reasons
# --------------------------------------------------------------------------------------------


def fallback_estimate(now: datetime, priority: str, fallback: Mapping[str, Duration],
                      calendar: BusinessCalendar) -> Estimate:
    """The fallback promise for ``priority``, in business time from ``now``."""
    duration = fallback.get(priority) or fallback["normal"]
    due = round_up(calendar.add(now, _in_business_time(duration))).astimezone(calendar.tz)
    return Estimate(due=due, basis=f"fallback {duration} for priority {priority}",
                    reason_keys=tuple(closure_reason_keys(now, due, calendar)))


def _in_business_time(duration: Duration) -> Duration:
    """A fallback counts working time: ``4h`` is four business hours and ``2d`` two business days.

    Counted as elapsed time, ``4h`` from Friday 18:00 would promise Friday 22:00, when nobody works.
    """
    if duration.is_business:
        return duration
    if duration.unit in ("d", "w"):
        return Duration(duration.amount * (5 if duration.unit == "w" else 1), "bd")
    return Duration(duration.as_timedelta().total_seconds() / 3600, "bh")


def closure_reasons(now: datetime, due: datetime, calendar: BusinessCalendar) -> list[str]:
    """Why the promised time lies further out than the customer might expect, in English."""
    return [reason.text("en") for reason in closure_reason_keys(now, due, calendar)]


def closure_reason_keys(now: datetime, due: datetime, calendar: BusinessCalendar) -> list[Reason]:
    """The closures between ``now`` and ``due`` the customer should hear about, to be said in their language.

    Holidays and closed days on which the team would otherwise work; failing those, that the team is
    outside its working hours right now and when it is back.
    """
    reasons: list[Reason] = []
    local_now = now.astimezone(calendar.tz)
    day = local_now.date()
    end = due.astimezone(calendar.tz).date()
    while day <= end:
        name = calendar.holiday_name(day)
        if name and calendar.hours.get(day.weekday()):
            if name == "closed":
                reasons.append(Reason("closed", day=day))
            else:
                # The holiday's own name in every other language the reasons are said in, where known.
                names = tuple((language, local) for language in LANGUAGES if language != "en"
                              if (local := calendar.holiday_name(day, language)) and local != name)
                reasons.append(Reason("holiday", day=day, name=name, names=names))
        day += timedelta(days=1)
    if not reasons and not calendar.is_open(now):
        opens = calendar.next_open(now).astimezone(calendar.tz)
        back = None if opens.date() == local_now.date() else opens.date()
        reasons.append(Reason("after_hours", day=back, time=f"{opens:%H:%M}"))
    return reasons

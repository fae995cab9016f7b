"""The discrete-event simulator behind ``inboxd simulate`` (DESIGN: simulation contract).

Pure apart from :func:`load_workload`, which reads the workload file it is given.

A workload describes reality: when requests arrive (Poisson rates for each hour of the day in the team's
timezone, bursts, a mix of priorities) and who really works when (staff, their hours and absences, and
how long a first response takes, log-normal from its median and 90th percentile). Simulated staff work
during their hours, each taking the waiting case of highest priority, oldest first; a case's actual time
is its first staff response. A reply started before the end of a shift is finished before going home, as
people do (otherwise an absence starting the next day would strand it for weeks). Staff take the team's
public holidays and closure days off.

inboxd sees only what it would see in production: its configuration (team hours, holidays, configured
shifts and absences) and the history it has observed, never the workload's staffing. At each arrival it
runs the same :meth:`inboxd.core.eta.PaceModel.estimate` as an acknowledgement; every 15 simulated minutes it
runs the daemon's tick through the very functions the daemon calls (:mod:`inboxd.core.tick`), in the daemon's
order: the due updates (:func:`inboxd.core.followups.decide_update`: after ``updates.while_waiting_on_us``, per
priority, counted again from any mail we sent in between), then a delay notice with a revised promise for
each open promise whose break is likely enough (:func:`inboxd.core.tick.decide_delay_notices`: from
``updates.delay_notice_before`` ahead of the due time, at least :func:`inboxd.core.eta.risk_level` likely given
the prediction's spread; deferred to the customer's morning when it is night where they are), then the
promises past due are broken.

State lives in plain objects and heaps (:class:`TickWorld`, the simulator's counterpart of the store),
not in the in-memory SQLite database DESIGN mentions: the point is to run the very estimator and
decisions the daemon runs, and those take the frozen contexts that the store's reads fill.
:class:`TickWorld` answers the same reads from memory (tests/integration/test_tick_parity.py holds the
two to identical decisions). Going through SQLAlchemy would pull I/O machinery into a pure module and
make a simulated month take minutes instead of seconds.

The report has exactly the keys of the DESIGN contract. Waits run from a case's opening to its first staff
response; "bh" is business hours on the team calendar.

- ``cases``, ``promises``: cases opened; team promises made (acknowledgements plus delay notices).
- ``kept_rate``: share of cases whose first promise (the acknowledgement's) was kept.
- ``median_actual_bh``, ``median_promised_bh``: median wait and median first-promise length.
- ``median_slack_bh``: median over cases of promised minus actual.
- ``median_window_ratio``: median over cases of promised / actual. A wait under a quarter hour counts as
  a quarter hour, so that an answer before opening time (0 bh) does not divide by zero.
- ``p90_wait_hours``: 90th percentile (nearest rank) of the wait in calendar hours.
- ``updates_sent``, ``delay_notices``: messages of each kind sent.
- ``broken_announced_rate``: among team promises (first and revised) whose due time passed before the
  first response, the share whose customer got a delay notice before that due time; 1.0 when none broke.
- ``baseline_static_24h``, ``baseline_sla_fallback``: ``{"kept_rate", "median_slack_bh"}`` of a static
  "within 24 hours" (calendar) promise and of the configured fallback per priority
  (:func:`inboxd.core.eta.fallback_estimate`), judged on the same arrivals and the same first responses (staff
  work the same way whatever is promised).
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from inboxd.config import Config
from inboxd.core import eta, followups, tick
from inboxd.core.calendar import BusinessCalendar, parse_date_ranges, parse_weekly_hours
from inboxd.core.cases import CaseState, Status
from inboxd.core.durations import Duration, parse_duration
from inboxd.core.refit import RefitPolicy
from inboxd.errors import ConfigError
from inboxd.mail.threading import format_token

__all__ = ["Burst", "SimStaff", "TickWorld", "Workload", "load_workload", "parse_workload", "run_simulation"]

TICK = timedelta(minutes=15)
"""How often the simulated daemon runs its due work (delay notices, updates)."""

DRAIN_LIMIT = timedelta(days=90)
"""After the last arrival, the simulation runs until every case is answered, at most this long."""

_HOUR = 3600.0
_Z90 = 1.2815515655446004  # The standard normal's 90th percentile: turns median and p90 into a log-normal.
_QUARTER_HOUR_BH = 0.25


# --------------------------------------------------------------------------------------------
# The workload
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Burst:
    """``count`` extra arrivals spread evenly at random over ``[at, at + over)``."""

    at: datetime
    count: int
    over: timedelta
    priority_mix: Mapping[str, float] | None = None  # None: the workload's mix


@dataclass(frozen=True)
class SimStaff:
    """One simulated person: weekly hours as in the config (``None``: the team's) and days away.

    With ``batch_every``, the person works in batches: at the start of a shift and every ``batch_every`` after, they
    take up to ``batch_size`` waiting cases (highest priority, oldest first) and answer those before looking again.
    """

    name: str
    hours: Mapping[str, str | list[str]] | None = None
    absent: frozenset[date] = frozenset()
    batch_every: timedelta | None = None
    batch_size: int = 0


@dataclass(frozen=True)
class Workload:
    """A synthetic month (or so) of support work; see DESIGN "Simulation contract"."""

    start: datetime
    duration: timedelta
    seed: int
    per_hour_weekday: tuple[float, ...]
    per_hour_weekend: tuple[float, ...]
    priority_mix: Mapping[str, float]
    staff: tuple[SimStaff, ...]
    handle_median: timedelta
    handle_p90: timedelta
    bursts: tuple[Burst, ...] = ()
    name: str = "workload"
    weekly_scale: tuple[float, ...] = ()  # arrival rates × this, week by week from the start (the last repeats)
    handle_tail_share: float = 0.0  # this share of cases takes handle_tail_factor × as long: a heavy tail
    handle_tail_factor: float = 1.0


def load_workload(path: str | Path) -> Workload:
    """Read and validate a workload file; raise :class:`ConfigError` naming every problem."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{source}: cannot read the workload: {exc}"]) from None
    return parse_workload(text, source, name=Path(path).stem)


def parse_workload(text: str, source: str = "<workload>", name: str = "workload") -> Workload:
    """Validate workload YAML text (see DESIGN); raise :class:`ConfigError` with every problem found."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([f"{source}: YAML error: {exc}"]) from None
    if not isinstance(data, Mapping):
        raise ConfigError([f"{source}: expected a mapping with start, duration, seed, arrivals, staff, handle_time"])
    problems: list[str] = []

    def problem(key: str, message: str) -> None:
        problems.append(f"{source}: {key}: {message}")

    known = {"start", "duration", "seed", "arrivals", "staff", "handle_time"}
    for key in data:
        if key not in known:
            problem(str(key), f"unknown key; expected one of: {', '.join(sorted(known))}")
    start = _instant(data.get("start"), "start", problem)
    duration = _duration(data.get("duration"), "duration", problem, calendar_only=True)
    seed = data.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        problem("seed", "expected a whole number")
        seed = 0

    arrivals = data.get("arrivals")
    weekday: tuple[float, ...] = (0.0,) * 24
    weekend: tuple[float, ...] = (0.0,) * 24
    mix: Mapping[str, float] = {"normal": 1.0}
    bursts: list[Burst] = []
    scale: tuple[float, ...] = ()
    if not isinstance(arrivals, Mapping):
        problem("arrivals", "required: {per_hour_weekday: [24 rates], per_hour_weekend: [24 rates], …}")
    else:
        for key in arrivals:
            if key not in ("per_hour_weekday", "per_hour_weekend", "bursts", "priority_mix", "weekly_scale"):
                problem(f"arrivals.{key}", "unknown key")
        weekday = _rates(arrivals.get("per_hour_weekday"), "arrivals.per_hour_weekday", problem)
        weekend = _rates(arrivals.get("per_hour_weekend"), "arrivals.per_hour_weekend", problem)
        mix = _mix(arrivals.get("priority_mix", {"normal": 1.0}), "arrivals.priority_mix", problem)
        raw_scale = arrivals.get("weekly_scale") or []
        if not isinstance(raw_scale, list) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in raw_scale):
            problem("arrivals.weekly_scale", "expected a list of factors ≥ 0, one per week (the last repeats)")
            raw_scale = []
        scale = tuple(float(v) for v in raw_scale)
        raw_bursts = arrivals.get("bursts") or []
        if not isinstance(raw_bursts, list):
            problem("arrivals.bursts", "expected a list of {at, count, over}")
            raw_bursts = []
        for index, raw in enumerate(raw_bursts):
            where = f"arrivals.bursts[{index}]"
            if not isinstance(raw, Mapping):
                problem(where, "expected {at, count, over}")
                continue
            count = raw.get("count")
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                problem(f"{where}.count", "expected a whole number ≥ 0")
                count = 0
            burst_mix = raw.get("priority_mix")
            bursts.append(Burst(
                at=_instant(raw.get("at"), f"{where}.at", problem),
                count=count,
                over=_duration(raw.get("over", "1h"), f"{where}.over", problem, calendar_only=True),
                priority_mix=None if burst_mix is None else _mix(burst_mix, f"{where}.priority_mix", problem),
            ))

    staff: list[SimStaff] = []
    raw_staff = data.get("staff")
    if not isinstance(raw_staff, list) or not raw_staff:
        problem("staff", "required: a list of {name, hours, absent}")
        raw_staff = []
    for index, raw in enumerate(raw_staff):
        where = f"staff[{index}]"
        if not isinstance(raw, Mapping):
            problem(where, "expected {name, hours, absent}")
            continue
        hours = raw.get("hours")
        if hours is not None:
            try:
                parse_weekly_hours(hours)
            except ValueError as exc:
                problem(f"{where}.hours", str(exc))
                hours = None
        absent: frozenset[date] = frozenset()
        try:
            absent = parse_date_ranges(raw.get("absent") or [])
        except ValueError as exc:
            problem(f"{where}.absent", str(exc))
        batch = raw.get("batch")
        every: timedelta | None = None
        size = 0
        if batch is not None:
            if not isinstance(batch, Mapping):
                problem(f"{where}.batch", "expected {every: 3h, size: 10}")
            else:
                every = _duration(batch.get("every"), f"{where}.batch.every", problem, calendar_only=True)
                size = batch.get("size", 10)
                if not isinstance(size, int) or isinstance(size, bool) or size < 1:
                    problem(f"{where}.batch.size", "expected a whole number ≥ 1")
                    size = 1
        staff.append(SimStaff(name=str(raw.get("name", f"staff{index}")), hours=hours, absent=absent,
                              batch_every=every, batch_size=size))

    handle = data.get("handle_time")
    tail_share, tail_factor = 0.0, 1.0
    median = timedelta(minutes=25)
    p90 = timedelta(minutes=70)
    if not isinstance(handle, Mapping):
        problem("handle_time", "required: {median: 25m, p90: 70m}")
    else:
        median = _duration(handle.get("median"), "handle_time.median", problem, calendar_only=True)
        p90 = _duration(handle.get("p90"), "handle_time.p90", problem, calendar_only=True)
        if p90 <= median:
            problem("handle_time.p90", "must be longer than the median")
        for key in handle:
            if key not in ("median", "p90", "tail"):
                problem(f"handle_time.{key}", "unknown key; expected median, p90, tail")
        tail = handle.get("tail")
        if tail is not None:
            share, factor = (tail.get("share"), tail.get("factor")) if isinstance(tail, Mapping) else (None, None)
            if not isinstance(share, (int, float)) or not 0 <= share < 1 or not isinstance(factor, (int, float)) \
                    or factor < 1:
                problem("handle_time.tail", "expected {share: 0.05, factor: 6}: a share in [0, 1) and a factor ≥ 1")
            else:
                tail_share, tail_factor = float(share), float(factor)
    if problems:
        raise ConfigError(problems)
    return Workload(start=start, duration=duration, seed=seed, per_hour_weekday=weekday, per_hour_weekend=weekend,
                    priority_mix=mix, staff=tuple(staff), handle_median=median, handle_p90=p90,
                    bursts=tuple(bursts), name=name, weekly_scale=scale, handle_tail_share=tail_share,
                    handle_tail_factor=tail_factor)


def _instant(value: object, key: str, problem: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            pass
    if not isinstance(value, datetime) or value.tzinfo is None:
        problem(key, "expected an ISO 8601 time with its UTC offset, e.g. 2026-11-02T00:00:00+01:00")
        return datetime(2000, 1, 1, tzinfo=UTC)
    return value


def _duration(value: object, key: str, problem: Any, *, calendar_only: bool) -> timedelta:
    try:
        parsed: Duration = parse_duration(str(value))
    except ValueError as exc:
        problem(key, str(exc))
        return timedelta(hours=1)
    if calendar_only and parsed.is_business:
        problem(key, "use calendar time here (m, h, d)")
    return parsed.as_timedelta()


def _rates(value: object, key: str, problem: Any) -> tuple[float, ...]:
    if (not isinstance(value, list) or len(value) != 24
            or not all(isinstance(rate, int | float) and not isinstance(rate, bool) and rate >= 0 for rate in value)):
        problem(key, "expected 24 numbers ≥ 0: expected arrivals in each hour of the day (team timezone)")
        return (0.0,) * 24
    return tuple(float(rate) for rate in value)


def _mix(value: object, key: str, problem: Any) -> Mapping[str, float]:
    if (not isinstance(value, Mapping) or not value
            or not all(name in eta.PRIORITIES for name in value)
            or not all(isinstance(share, int | float) and share >= 0 for share in value.values())
            or sum(value.values()) <= 0):
        problem(key, f"expected shares per priority ({', '.join(eta.PRIORITIES)}), e.g. {{normal: 0.8, high: 0.2}}")
        return {"normal": 1.0}
    total = float(sum(value.values()))
    return {str(name): float(share) / total for name, share in value.items()}


# --------------------------------------------------------------------------------------------
# Simulation state
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Promise:
    id: int
    made: float
    due: datetime
    predicted_bh: float | None
    spread_bh: float | None
    first: bool
    case: _Case
    notice_at: float | None = None
    superseded: bool = False
    broken: bool = False
    owner: str = "team"  # or a staff address: a commitment in a reply (never made by a workload)
    text: str = ""
    record: eta.PromiseRecord | None = None

    def as_record(self) -> eta.PromiseRecord:
        if self.record is None:
            answered = self.case.answered
            self.record = eta.PromiseRecord(
                made_at=_dt(self.made), due_at=self.due,
                first_response_at=None if answered is None else _dt(answered), priority=self.case.priority,
                predicted_bh=self.predicted_bh, spread_bh=self.spread_bh, first=self.first)
        return self.record

    def state(self) -> str:
        """As the store would have it: a staff response keeps the team's promises and earlier commitments."""
        if self.superseded:
            return "superseded"
        if self.broken:
            return "broken"
        answered = self.case.answered
        if answered is not None and (self.owner == "team" or self.made < answered):
            return "kept"
        return "open"


@dataclass(eq=False)
class _Case:
    number: int
    opened: float
    priority: str
    answered: float | None = None
    promises: list[_Promise] = field(default_factory=list)
    last_heard: datetime | None = None  # the customer last got mail from us (ack, delay notice, update)
    waiting: eta.WaitingCase | None = None
    # What a workload never sets, but a case in the store can have (TickWorld.open_case).
    status: Status | None = None  # None: waiting on us until answered, then waiting on the customer
    customer: str = ""
    subject: str = ""
    last_customer_at: datetime | None = None
    customer_utc_offset: int | None = None
    opted_out: bool = False
    unreachable: bool = False
    snoozed_until: datetime | None = None

    def current_status(self) -> Status:
        if self.status is not None:
            return self.status
        return "waiting_on_us" if self.answered is None else "waiting_on_customer"


@dataclass(eq=False)
class _Person:
    name: str
    starts: list[float]
    ends: list[float]
    busy: bool = False
    batch_every: float = 0.0  # seconds; 0: takes the next case whenever free
    batch_size: int = 0
    batch_times: set[float] = field(default_factory=set)
    tray: list[int] = field(default_factory=list)  # cases taken in this batch, not answered yet

    def on_shift(self, at: float) -> bool:
        i = bisect.bisect_right(self.starts, at) - 1
        return i >= 0 and at < self.ends[i]



def _dt(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


def _shifts(staff: SimStaff, calendar: BusinessCalendar, first: date, last: date) -> tuple[list[float], list[float]]:
    """A simulated person's working stretches (epoch seconds): their hours, minus holidays, closures, absences."""
    own = BusinessCalendar(
        tz=calendar.tz,
        hours=parse_weekly_hours(staff.hours) if staff.hours is not None else calendar.hours,
        closed=calendar.closed | staff.absent,
        holiday_country=calendar.holiday_country,
        holiday_subdivision=calendar.holiday_subdivision,
    )
    starts: list[float] = []
    ends: list[float] = []
    day = first
    while day <= last:
        for opens, closes in own.open_ranges(day):
            if starts and opens.timestamp() <= ends[-1]:
                ends[-1] = max(ends[-1], closes.timestamp())
            else:
                starts.append(opens.timestamp())
                ends.append(closes.timestamp())
        day += timedelta(days=1)
    return starts, ends


def _arrivals(workload: Workload, tz: Any, rng: random.Random) -> list[tuple[float, str]]:
    """Every arrival as (instant, priority), sorted: Poisson per hour of the day, plus the bursts."""
    start = workload.start.timestamp()
    end = start + workload.duration.total_seconds()
    priorities = list(workload.priority_mix)
    weights = [workload.priority_mix[name] for name in priorities]
    found: list[tuple[float, str]] = []
    # Hours are walked in UTC and looked up on the local clock, so a DST day has 23 or 25 of them.
    hour = math.floor(start / _HOUR) * _HOUR
    while hour < end:
        local = datetime.fromtimestamp(hour, tz)
        rates = workload.per_hour_weekend if local.weekday() >= 5 else workload.per_hour_weekday
        rate = rates[local.hour]
        if workload.weekly_scale:
            week = min(int((hour - start) // (7 * 24 * _HOUR)), len(workload.weekly_scale) - 1)
            rate *= workload.weekly_scale[max(week, 0)]
        for _ in range(_poisson(rng, rate)):
            at = hour + rng.random() * _HOUR
            if start <= at < end:
                found.append((at, rng.choices(priorities, weights)[0]))
        hour += _HOUR
    for burst in workload.bursts:
        mix = burst.priority_mix or workload.priority_mix
        names = list(mix)
        shares = [mix[name] for name in names]
        for _ in range(burst.count):
            at = burst.at.timestamp() + rng.random() * burst.over.total_seconds()
            found.append((at, rng.choices(names, shares)[0]))
    found.sort()
    return found


def _poisson(rng: random.Random, rate: float) -> int:
    """Knuth's method: fine for the small hourly rates of a support mailbox."""
    if rate <= 0:
        return 0
    if rate > 30:
        return max(0, round(rng.gauss(rate, math.sqrt(rate))))
    limit = math.exp(-rate)
    count = 0
    product = rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------

_ARRIVAL, _DONE, _SHIFT, _TICK = 0, 1, 2, 3
_Event = tuple[float, int, int, int]  # (instant, order, kind, index): the order keeps equal instants stable


def run_simulation(config: Config, workload: Workload, *, tick: timedelta = TICK,
                   extras: bool = False) -> dict[str, Any]:
    """Simulate ``workload`` against ``config`` and report as the DESIGN contract says.

    With ``extras``, the report also has an ``"extras"`` key (not part of the contract) with
    ``needless_notices``: delay notices whose superseded promise was kept all the same (the customer was
    told "we may not make it" and then heard from us in time), and ``median_notice_lead_hours``: how long
    before the superseded due time notices went out (calendar hours).
    """
    report = _Run(config, workload, tick).run()
    if not extras:
        report.pop("extras")
    return report


def team_calendar(config: Config) -> BusinessCalendar:
    """The team's calendar, as the daemon's runtime builds it from the configuration."""
    team = config.team
    return BusinessCalendar.build(team.timezone, team.business_hours, country=team.holidays.country,
                                  subdivision=team.holidays.subdivision, extra_closed=team.holidays.extra)


class TickWorld:
    """inboxd's view of the simulated world: the store as the tick reads it, in plain objects and heaps.

    It holds what the daemon's tables would (cases, team promises, scheduled items) and answers the tick's
    reads the way the store's queries do, so that :mod:`inboxd.core.tick` decides here exactly as it does over
    the database (the simulator's counterpart of ``inboxd.service.duework``'s gather and apply). Plain objects,
    not an in-memory SQLite database: a simulated month must take seconds, not minutes.
    """

    def __init__(self, config: Config, calendar: BusinessCalendar, first_number: int = 0) -> None:
        self.calendar = calendar
        # inboxd's knowledge: the configuration only, never the workload's staff.
        self.coverage = eta.Coverage.from_config(config, calendar)
        self.settings = eta.EtaConfig.from_config(config)
        # The daemon's update policy per priority (updates, updates.by_priority), decided as the daemon does.
        self.policies = {name: followups.update_policy(config, name) for name in eta.PRIORITIES}
        self.tick_settings = tick.TickSettings(
            calendar=calendar, escalate_to=followups.escalation_recipients(config),
            delay_notice_before=config.updates.delay_notice_before, quiet=followups.update_policy(config))
        self.token_format = config.cases.subject_token
        self.next_number = first_number
        self.cases: dict[int, _Case] = {}
        self.waiting: dict[int, _Case] = {}  # not answered yet: what the store's queue query returns
        self.promises: list[_Promise] = []
        self.made_at: list[float] = []
        self.answered_at: list[float] = []
        self.responses: list[eta.FirstResponse] = []
        # The tick's model, refitted when its inputs change, as the daemon's (forecast.TickForecast) is.
        self.risk_policy = RefitPolicy()
        self.risk_model: eta.PaceModel | None = None
        self.scheduled: list[tuple[float, int, int, followups.Schedule]] = []  # (due, id, case, item)
        self.scheduled_count = 0
        self.overdue: list[tuple[float, int]] = []  # (due, promise id) of team promises, soonest first
        self.updates = 0
        self.notices = 0

    # ---- writes, as ingest and the staff make them ------------------------------------------

    def open_case(self, at: float, priority: str, *, status: Status | None = None, customer: str = "",
                  subject: str = "", last_customer_at: datetime | None = None, customer_utc_offset: int | None = None,
                  opted_out: bool = False, unreachable: bool = False, snoozed_until: datetime | None = None) -> _Case:
        """A case opens, waiting on us unless ``status`` says otherwise; the rest are columns a workload's
        cases never set but the store's can have."""
        case = _Case(number=self.next_number, opened=at, priority=priority, status=status, customer=customer,
                     subject=subject, last_customer_at=last_customer_at, customer_utc_offset=customer_utc_offset,
                     opted_out=opted_out, unreachable=unreachable, snoozed_until=snoozed_until)
        self.next_number += 1
        case.waiting = eta.WaitingCase(opened_at=_dt(at), priority=priority, number=case.number)
        self.cases[case.number] = case
        if case.current_status() == "waiting_on_us":
            self.waiting[case.number] = case
        return case

    def answer(self, case: _Case, at: float) -> None:
        """The case's first staff response."""
        case.answered = at
        self.waiting.pop(case.number, None)
        for promise in case.promises:
            promise.record = None
        self.answered_at.append(at)
        self.responses.append(eta.FirstResponse(opened_at=_dt(case.opened), first_response_at=_dt(at),
                                                priority=case.priority))

    def record(self, case: _Case, now: float, estimate: eta.Estimate, first: bool) -> _Promise:
        """Store a team promise (ack or delay notice), as the daemon would with its prediction and spread."""
        promise = self.add_promise(case, now, estimate.due, predicted_bh=estimate.predicted_bh,
                                   spread_bh=estimate.spread_bh, first=first)
        case.last_heard = _dt(now)
        return promise

    def add_promise(self, case: _Case, made: float, due: datetime, *, owner: str = "team", text: str = "",
                    first: bool = True, predicted_bh: float | None = None, spread_bh: float | None = None) -> _Promise:
        # Numbered from 1 in the order made, as the store numbers them.
        promise = _Promise(id=len(self.promises) + 1, made=made, due=due, predicted_bh=predicted_bh,
                           spread_bh=spread_bh, first=first, case=case, owner=owner, text=text)
        case.promises.append(promise)
        self.promises.append(promise)
        self.made_at.append(made)
        if owner == "team":
            heapq.heappush(self.overdue, (due.timestamp(), promise.id))
        return promise

    def schedule(self, case: _Case, item: followups.Schedule) -> None:
        self.scheduled_count += 1
        heapq.heappush(self.scheduled, (item.due_at.timestamp(), self.scheduled_count, case.number, item))

    # ---- the tick: gather, the daemon's decisions (inboxd.core.tick), apply --------------------------

    def run_tick(self, now: float) -> None:
        """The daemon's tick, in its order: due work, delay notices, then promises past due."""
        moment = _dt(now)
        for due in self.due_cases(now):
            self.apply_due(due, tick.decide_due_work(due, self.tick_settings, moment), now)
        for notice in tick.decide_delay_notices(self.risk_context(now), self.tick_settings, moment):
            if isinstance(notice, tick.DelayNotice):
                self.apply_delay_notice(notice, now)
        for settle in tick.decide_overdue(self.overdue_promises(now), moment):
            self.promises[settle.promise_id - 1].broken = True

    def due_cases(self, now: float) -> list[tick.DueCase]:
        """Every scheduled item due at ``now``, with what its decision reads (duework.gather_due)."""
        found = []
        while self.scheduled and self.scheduled[0][0] <= now:
            _due, item_id, number, item = heapq.heappop(self.scheduled)
            found.append(self.due_case(item_id, self.cases[number], item))
        return found

    def due_case(self, item_id: int, case: _Case, item: followups.Schedule) -> tick.DueCase:
        due_item = followups.DueItem(id=item_id, key=item.key, kind=item.kind, case_number=case.number,
                                     due_at=item.due_at, payload=item.payload)
        answered = None if case.answered is None else _dt(case.answered)
        state = CaseState(number=case.number, status=case.current_status(), customer=case.customer,
                          priority=case.priority, language="en", subject=case.subject, opened_at=_dt(case.opened),
                          first_response_at=answered, acknowledged=True)
        token = format_token(self.token_format, case.number)
        if item.kind in followups.DueKind.customer_kinds():
            timeline = followups.CaseTimeline(
                last_customer_at=case.last_customer_at, last_staff_reply_at=answered, last_heard_at=case.last_heard,
                customer_utc_offset=case.customer_utc_offset, opted_out=case.opted_out,
                snoozed_until=case.snoozed_until, unreachable=case.unreachable)
            return tick.DueCase(due_item, state, token, timeline=timeline, policy=self.policies[case.priority])
        promise = None
        if "promise" in item.payload:
            held = self.promises[int(item.payload["promise"]) - 1]
            promise = followups.PromiseView(id=held.id, owner=held.owner, source="reply", text=held.text,
                                            made_at=_dt(held.made), due_at=held.due, state=held.state())
        return tick.DueCase(due_item, state, token, promise=promise)

    def apply_due(self, due: tick.DueCase, actions: Sequence[tick.DueAction], now: float) -> None:
        assert due.case is not None
        case = self.cases[due.case.number]
        for action in actions:
            if isinstance(action, followups.CustomerMail):
                self.updates += action.template == "update"
                case.last_heard = _dt(now)
            elif isinstance(action, followups.Schedule):
                self.schedule(case, action)
            elif isinstance(action, followups.SetCaseStatus):
                case.status = action.status  # type: ignore[assignment]
                self.waiting.pop(case.number, None)
            elif isinstance(action, followups.SettlePromise):
                self.promises[action.promise_id - 1].broken = action.state == "broken"

    def snapshot(self) -> eta.QueueSnapshot:
        return eta.QueueSnapshot(tuple(case.waiting for case in self.waiting.values() if case.waiting is not None))

    def model(self, now: float, queue: eta.QueueSnapshot) -> eta.PaceModel:
        """Fit the estimator on what the store's queries would return at ``now``: the last four weeks of
        first responses and team promises, newest first and capped as the store caps them."""
        since = now - eta.HISTORY_WINDOW.total_seconds()
        first = max(bisect.bisect_left(self.answered_at, since), len(self.responses) - eta.MAX_PACE_ROWS)
        history = eta.PaceHistory(since=_dt(since), responses=self.responses[first:][::-1])
        lo = max(bisect.bisect_left(self.made_at, since), len(self.promises) - 2 * eta.MAX_CALIBRATION)
        records = [promise.as_record() for promise in reversed(self.promises[lo:]) if promise.owner == "team"]
        return eta.fit(_dt(now), queue, history, records, self.calendar, self.coverage, self.settings)

    def risk_context(self, now: float) -> tick.RiskContext:
        """The open team promises of cases waiting for their first response, and the forecast (duework.gather_risk)."""
        promises = tuple(
            tick.OpenTeamPromise(id=promise.id, case_number=case.number, case_ref=case.number,
                                 made_at=_dt(promise.made), due_at=promise.due,
                                 customer_utc_offset=case.customer_utc_offset)
            # Promises on unanswered cases out of the queue (resolved unanswered) cannot be at risk: no prediction.
            for case in self.waiting.values()
            for promise in case.promises if promise.owner == "team" and promise.state() == "open")
        if not promises:
            return tick.RiskContext((), None)
        queue = self.snapshot()
        return tick.RiskContext(promises, tick.Forecast(self.risk_fit(now, queue), queue))

    def risk_fit(self, now: float, queue: eta.QueueSnapshot) -> eta.PaceModel:
        """The tick's model: the last one while its inputs are the same (:class:`RefitPolicy`), as in the daemon.
        The inputs: the queue and which responses and promises the store's queries would return (a row leaving
        the window moves its index)."""
        since = now - eta.HISTORY_WINDOW.total_seconds()
        key = (queue, bisect.bisect_left(self.answered_at, since), len(self.responses),
               bisect.bisect_left(self.made_at, since), len(self.promises))
        at = _dt(now)
        if self.risk_model is None or self.risk_policy.due(key, at, self.calendar, self.coverage):
            self.risk_model = self.model(now, queue)
            self.risk_policy.fitted(key, at, self.calendar, self.coverage, None)
        return self.risk_model

    def apply_delay_notice(self, notice: tick.DelayNotice, now: float) -> None:
        promise = self.promises[notice.promise.id - 1]
        promise.notice_at = now
        promise.superseded = True
        self.notices += 1
        self.record(promise.case, now, notice.revised, first=False)

    def overdue_promises(self, now: float) -> list[tick.OverduePromise]:
        """The team's open promises past their due time (repo.overdue_team_promises)."""
        found = []
        while self.overdue and self.overdue[0][0] < now:
            _due, promise_id = heapq.heappop(self.overdue)
            promise = self.promises[promise_id - 1]
            if promise.state() == "open":
                found.append(tick.OverduePromise(id=promise.id, case_ref=promise.case.number, owner=promise.owner,
                                                 due_at=promise.due))
        return found


class _Run:
    """One simulation: the world (arrivals, staff at work) and inboxd's view of it (:class:`TickWorld`)."""

    def __init__(self, config: Config, workload: Workload, tick: timedelta) -> None:
        self.calendar = team_calendar(config)
        self.world = TickWorld(config, self.calendar)
        self.tick = tick.total_seconds()
        tz = self.calendar.tz
        # Separate streams, so that the arrivals do not depend on how the work went.
        self.arrivals = _arrivals(workload, tz, random.Random(f"{workload.seed}:arrivals"))
        self.rng_work = random.Random(f"{workload.seed}:work")
        self.start = workload.start.timestamp()
        self.end = self.start + workload.duration.total_seconds()
        first_day = workload.start.astimezone(tz).date() - timedelta(days=1)
        last_day = (workload.start + workload.duration + DRAIN_LIMIT).astimezone(tz).date() + timedelta(days=1)
        self.people = [_Person(member.name, *_shifts(member, self.calendar, first_day, last_day),
                               batch_every=member.batch_every.total_seconds() if member.batch_every else 0.0,
                               batch_size=member.batch_size)
                       for member in workload.staff]
        self.tail_share = workload.handle_tail_share
        self.tail_factor = workload.handle_tail_factor
        self.mu = math.log(workload.handle_median.total_seconds())
        self.sigma = math.log(workload.handle_p90 / workload.handle_median) / _Z90

        self.events: list[_Event] = []
        self.order = 0
        self.pickable: list[tuple[int, float, int]] = []  # (priority rank, opened, number): the smallest goes first
        self.working: dict[int, _Case] = {}  # person index → the case in their hands

    def push(self, at: float, kind: int, index: int) -> None:
        self.order += 1
        heapq.heappush(self.events, (at, self.order, kind, index))

    def run(self) -> dict[str, Any]:
        for index, (at, _priority) in enumerate(self.arrivals):
            self.push(at, _ARRIVAL, index)
        for index, person in enumerate(self.people):
            for opens, closes in zip(person.starts, person.ends, strict=True):
                if opens >= self.start:
                    self.push(opens, _SHIFT, index)
                if person.batch_every:
                    at = opens
                    while at < closes:
                        person.batch_times.add(at)
                        if at > opens and at >= self.start:
                            self.push(at, _SHIFT, index)
                        at += person.batch_every
        self.push(self.start, _TICK, 0)
        to_arrive = len(self.arrivals)
        drain_until = self.end + DRAIN_LIMIT.total_seconds()
        world = self.world
        while self.events:
            now, _order, kind, index = heapq.heappop(self.events)
            if now > drain_until or (not to_arrive and not world.waiting and now >= self.end):
                break
            if kind == _ARRIVAL:
                to_arrive -= 1
                self.arrive(now, index)
            elif kind == _DONE:
                self.answer(now, index)
            elif kind == _SHIFT:
                self.assign(now)
            else:
                world.run_tick(now)
                self.push(now + self.tick, _TICK, 0)
        return _report(list(world.cases.values()), world.promises,
                       {"updates": world.updates, "notices": world.notices}, self.calendar, world.settings)

    def arrive(self, now: float, index: int) -> None:
        """A request arrives: the case opens and the acknowledgement makes its promise."""
        at, priority = self.arrivals[index]
        world = self.world
        case = world.open_case(at, priority)
        heapq.heappush(self.pickable, (eta.PRIORITIES.index(priority), at, case.number))
        # As in ingest: the case is in the store before the ack is composed, so its number is passed.
        queue = world.snapshot()
        estimate = world.model(now, queue).estimate(_dt(now), priority, queue, number=case.number)
        world.record(case, now, estimate, first=True)
        # As in ingest: a case that waits on us gets its first update scheduled.
        for item in followups.waiting_schedule(case.number, "waiting_on_us", _dt(at), world.policies[priority],
                                               self.calendar.add):
            world.schedule(case, item)
        self.assign(now)

    def answer(self, now: float, index: int) -> None:
        """A person sends the first response of the case in their hands and takes the next."""
        self.world.answer(self.working.pop(index), now)
        self.people[index].busy = False
        self.assign(now)

    def assign(self, now: float) -> None:
        """Everyone on shift and free takes the waiting case of highest priority, oldest first; people who work
        in batches take a batch at its start and answer it before they look at the queue again."""
        for index, person in enumerate(self.people):
            if person.busy or not person.on_shift(now):
                continue
            if person.batch_every:
                if not person.tray and now in person.batch_times:
                    while self.pickable and len(person.tray) < person.batch_size:
                        person.tray.append(heapq.heappop(self.pickable)[2])
                if not person.tray:
                    continue
                number = person.tray.pop(0)
            else:
                if not self.pickable:
                    continue
                _rank, _opened, number = heapq.heappop(self.pickable)
            person.busy = True
            self.working[index] = self.world.cases[number]
            took = math.exp(self.rng_work.gauss(self.mu, self.sigma))
            if self.tail_share and self.rng_work.random() < self.tail_share:
                took *= self.tail_factor
            self.push(now + took, _DONE, index)


def _report(cases: Sequence[_Case], promises: Sequence[_Promise], counters: Mapping[str, int],
            calendar: BusinessCalendar, settings: eta.EtaConfig) -> dict[str, Any]:
    answered = [case for case in cases if case.answered is not None]
    stamps = [case.opened for case in cases] + [case.answered for case in answered if case.answered is not None]
    stamps += [promise.due.timestamp() for promise in promises]
    index = _BusinessHours(calendar, stamps)

    def bh(a: float, b: float) -> float:
        return index.hours(a, b)

    actual: list[float] = []
    promised: list[float] = []
    slack: list[float] = []
    ratio: list[float] = []
    waits: list[float] = []
    kept = 0
    static_kept = 0
    static_slack: list[float] = []
    sla_kept = 0
    sla_slack: list[float] = []
    for case in answered:
        assert case.answered is not None
        first = case.promises[0]
        wait_bh = bh(case.opened, case.answered)
        promise_bh = bh(case.opened, first.due.timestamp())
        actual.append(wait_bh)
        promised.append(promise_bh)
        slack.append(promise_bh - wait_bh)
        ratio.append(promise_bh / max(wait_bh, _QUARTER_HOUR_BH))
        waits.append((case.answered - case.opened) / _HOUR)
        kept += case.answered <= first.due.timestamp()
        static_due = case.opened + 24 * _HOUR
        static_kept += case.answered <= static_due
        static_slack.append(bh(case.opened, static_due) - wait_bh)
        sla_due = eta.fallback_estimate(_dt(case.opened), case.priority, settings.fallback, calendar).due.timestamp()
        sla_kept += case.answered <= sla_due
        sla_slack.append(bh(case.opened, sla_due) - wait_bh)
    # A case never answered within the drain limit broke every promise it got; it counts against us.
    broken = announced = 0
    for promise in promises:
        answered_at = promise.case.answered
        if answered_at is None or answered_at > promise.due.timestamp():
            broken += 1
            announced += promise.notice_at is not None and promise.notice_at < promise.due.timestamp()
    needless = 0
    leads: list[float] = []
    for promise in promises:
        if promise.notice_at is None:
            continue
        leads.append((promise.due.timestamp() - promise.notice_at) / _HOUR)
        answered_at = promise.case.answered
        needless += answered_at is not None and answered_at <= promise.due.timestamp()
    total = len(cases)
    waits.sort()
    return {
        "cases": total,
        "promises": len(promises),
        "kept_rate": _round(kept / total) if total else 1.0,
        "median_actual_bh": _round(_median(actual)),
        "median_promised_bh": _round(_median(promised)),
        "median_slack_bh": _round(_median(slack)),
        "median_window_ratio": _round(_median(ratio)),
        "p90_wait_hours": _round(waits[max(math.ceil(0.9 * len(waits)) - 1, 0)] if waits else 0.0),
        "updates_sent": counters["updates"],
        "delay_notices": counters["notices"],
        "broken_announced_rate": _round(announced / broken) if broken else 1.0,
        "baseline_static_24h": {"kept_rate": _round(static_kept / total) if total else 1.0,
                                "median_slack_bh": _round(_median(static_slack))},
        "baseline_sla_fallback": {"kept_rate": _round(sla_kept / total) if total else 1.0,
                                  "median_slack_bh": _round(_median(sla_slack))},
        "extras": {"needless_notices": needless, "median_notice_lead_hours": _round(_median(leads))},
    }


class _BusinessHours:
    """Business-time differences over the whole simulated span, by cumulative open seconds."""

    def __init__(self, calendar: BusinessCalendar, stamps: Sequence[float]) -> None:
        if not stamps:
            self._index = None
            return
        # The fallback promises of the baseline may fall due a week after the last event.
        self._index = eta.BusinessTimeIndex(calendar, min(stamps), max(stamps) + 14 * 86400)

    def hours(self, a: float, b: float) -> float:
        if self._index is None:
            return 0.0
        return self._index.hours(a, b)


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def _round(value: float) -> float:
    return round(value, 3)

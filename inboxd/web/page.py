"""The status page and the weekly report: what they show is gathered from the store into one frozen value
(:func:`gather`, a handful of indexed queries and the estimator's at-risk rule), then rendered (pure).

The same :class:`PageData` feeds the daemon's ``/``, ``inboxd report --html`` (one self-contained file) and
``inboxd report --json`` (:func:`figures`).
"""

from __future__ import annotations

import statistics
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from sqlalchemy import Connection, case, func, select

from inboxd.core import stats
from inboxd.core.eta import BusinessTimeIndex
from inboxd.core.humanize import phrase_due
from inboxd.core.status import build_report
from inboxd.mail.threading import format_token
from inboxd.service.duework import promises_at_risk
from inboxd.service.runtime import Runtime
from inboxd.store import status as status_store
from inboxd.store.schema import cases, promises
from inboxd.web import charts

PRIORITIES = ("urgent", "high", "normal", "low")
OLDEST_SHOWN = 15
WEEKS = 8
DAYS = 30
TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class QueueRow:
    priority: str
    waiting: int
    oldest_hours: float | None  # how long the oldest case of this priority has waited on us


@dataclass(frozen=True)
class CaseLine:
    token: str
    subject: str
    customer: str
    priority: str
    waiting_hours: float
    assignee: str | None
    tags: tuple[str, ...] = ()  # set by rules


@dataclass(frozen=True)
class RiskLine:
    token: str
    subject: str
    customer: str
    due_at: datetime
    due: str  # the due time as the team reads it
    predicted: str  # when the model now expects the first response
    miss_probability: float
    action: str  # what inboxd will do about it


@dataclass(frozen=True)
class CommitmentLine:
    token: str
    subject: str
    due_at: datetime
    due: str
    overdue: bool
    text: str


@dataclass(frozen=True)
class PageData:
    now: datetime
    team: str
    timezone: str
    since: datetime
    target_kept_rate: float
    status: dict[str, Any]  # inboxd.core.status.build_report: the same facts as ``inboxd status``
    queue: tuple[QueueRow, ...]
    oldest: tuple[CaseLine, ...]
    at_risk: tuple[RiskLine, ...]
    commitments: tuple[tuple[str, tuple[CommitmentLine, ...]], ...]  # (person, their lines), by person
    numbers: dict[str, Any]  # inboxd.core.stats.window_stats over ``since``..``now``
    charts: dict[str, Any] = field(default_factory=dict)  # the series behind the charts (inboxd.web.charts)


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 1)


class ChartCache:
    """The chart series, kept for ``ttl``: they cover weeks of history, and a page left open and refreshed
    need not recount them on every view. Thread-safe (the HTTP server answers from several threads)."""

    def __init__(self, ttl: timedelta = timedelta(minutes=1)) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._value: dict[str, Any] | None = None
        self._at: datetime | None = None

    def get(self, conn: Connection, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
        with self._lock:
            if self._value is None or self._at is None or not timedelta(0) <= now - self._at < self.ttl:
                self._value, self._at = chart_series(conn, now, tz), now
            return self._value


def gather(conn: Connection, rt: Runtime, now: datetime, *, since: timedelta = timedelta(days=7),
           chart_cache: ChartCache | None = None) -> PageData:
    """Everything the page shows, read in one connection (the charts from ``chart_cache`` when given)."""
    tz = rt.calendar.tz
    token = rt.config.cases.subject_token
    report = build_report(status_store.read_status(conn), status_store.quarantine_counts(conn),
                          status_store.outbox_counts_by_mailbox(conn), now)

    waiting = conn.execute(select(cases.c.number, cases.c.subject, cases.c.customer, cases.c.priority,
                                  cases.c.last_activity_at, cases.c.assignee, cases.c.tags)
                           .where(cases.c.status == "waiting_on_us")).all()  # ix_cases_status
    queue = tuple(QueueRow(p, len(rows), max((_hours(now - r.last_activity_at) for r in rows), default=None))
                  for p in PRIORITIES for rows in [[r for r in waiting if r.priority == p]])
    oldest = tuple(CaseLine(format_token(token, r.number), r.subject, r.customer, r.priority,
                            _hours(now - r.last_activity_at), r.assignee, tuple(r.tags or ()))
                   for r in sorted(waiting, key=lambda r: r.last_activity_at)[:OLDEST_SHOWN])

    risks, _model, _queue = promises_at_risk(conn, rt, now)
    subjects = {r.number: (r.subject, r.customer) for r in waiting}
    at_risk = []
    for risk in sorted(risks, key=lambda r: r.promise.due_at):
        number = risk.promise.case_number
        subject, customer = subjects.get(number, ("", ""))
        if risk.notice_at > now:
            action = (f"delay notice with a new time {phrase_due(risk.notice_at, now, tz)} "
                      "(night where the customer is), before the due time")
        else:
            action = "delay notice with a new time at the next tick (within a minute); the lead is told"
        at_risk.append(RiskLine(format_token(token, number), subject, customer, risk.promise.due_at,
                                phrase_due(risk.promise.due_at, now, tz), phrase_due(risk.prediction.at, now, tz),
                                round(risk.miss_probability, 2), action))

    end_of_today = datetime.combine(now.astimezone(tz).date(), time.max, tzinfo=tz)
    due = conn.execute(select(promises.c.owner, promises.c.due_at, promises.c.text, cases.c.number, cases.c.subject)
                       .select_from(promises.join(cases, promises.c.case_id == cases.c.id))
                       .where(promises.c.state == "open", promises.c.due_at <= end_of_today,
                              promises.c.owner != "team")  # ix_promises_state_due_at
                       .order_by(promises.c.due_at)).all()
    people: dict[str, list[CommitmentLine]] = {}
    for r in due:
        people.setdefault(r.owner, []).append(CommitmentLine(
            format_token(token, r.number), r.subject, r.due_at, phrase_due(r.due_at, now, tz), r.due_at < now, r.text))

    start = now - since
    numbers = window_numbers(conn, rt, start)
    numbers["waiting_on_us"] = len(waiting)
    numbers["at_risk"] = len(at_risk)
    return PageData(now=now, team=rt.config.team.name, timezone=str(tz), since=start,
                    target_kept_rate=rt.config.promises.target_kept_rate, status=report, queue=queue,
                    oldest=oldest, at_risk=tuple(at_risk),
                    commitments=tuple((person, tuple(lines)) for person, lines in sorted(people.items())),
                    numbers=numbers,
                    charts=chart_cache.get(conn, now, tz) if chart_cache else chart_series(conn, now, tz))


def _sql_epoch(conn: Connection, column: Any) -> Any:
    """A timestamp column as Unix seconds, in SQL: plain floats are far cheaper to read than datetimes."""
    if conn.dialect.name == "sqlite":
        return (func.julianday(column) - 2440587.5) * 86400.0
    return func.extract("epoch", column)


def window_numbers(conn: Connection, rt: Runtime, start: datetime) -> dict[str, Any]:
    """``inboxd stats``' figures for promises made and cases opened since ``start`` (``stats.window_stats``
    without feedback), counted in the database; only first-response times are read, as floats."""
    is_team = promises.c.owner == "team"
    made = conn.execute(select(is_team, promises.c.source, promises.c.state, func.count())
                        .where(promises.c.made_at >= start)  # covering index (0010)
                        .group_by(is_team, promises.c.source, promises.c.state)).all()
    team: dict[tuple[str, str], int] = {}
    staff: dict[str, int] = {}
    for own, source, state, n in made:
        if own:
            team[(str(source), str(state))] = team.get((str(source), str(state)), 0) + int(n)
        else:
            staff[str(state)] = staff.get(str(state), 0) + int(n)
    team_states: dict[str, int] = {}
    for (_source, state), n in team.items():
        team_states[state] = team_states.get(state, 0) + n

    def kept_rate(states: dict[str, int]) -> float | None:
        settled = states.get("kept", 0) + states.get("broken", 0)
        return round(states.get("kept", 0) / settled, 4) if settled else None

    opened = int(conn.execute(select(func.count()).select_from(cases).where(cases.c.opened_at >= start)).scalar()
                 or 0)
    times = [(float(a), float(b)) for a, b in conn.execute(
        select(_sql_epoch(conn, cases.c.opened_at), _sql_epoch(conn, cases.c.first_response_at))
        .where(cases.c.opened_at >= start, cases.c.first_response_at.is_not(None)))]  # covering index (0010)
    numbers = stats.window_stats([], [], [], rt.calendar, start)  # the keys, in their order
    numbers.update({
        "promises_made": sum(team.values()),
        "kept_rate": kept_rate(team_states),
        "broken": team_states.get("broken", 0),
        "delay_notices": sum(n for (source, _state), n in team.items() if source == "delay_notice"),
        "staff_commitments": sum(staff.values()),
        "staff_kept_rate": kept_rate(staff),
        "cases_opened": opened,
        "cases_answered": len(times),
    })
    if times:
        hours = sorted((b - a) / 3600 for a, b in times)
        index = BusinessTimeIndex(rt.calendar, min(a for a, _b in times), max(b for _a, b in times))
        business = [index.hours(a, b) for a, b in times]
        numbers["median_first_response_hours"] = round(statistics.median(hours), 2)
        numbers["p90_first_response_hours"] = round(hours[min(len(hours) - 1, round(0.9 * (len(hours) - 1)))], 2)
        numbers["median_first_response_bh"] = round(statistics.median(business), 2)
    for key in ("feedback_count", "feedback_average"):
        numbers.pop(key, None)
    return numbers


def _rate(kept: int, settled: int) -> float | None:
    return round(kept / settled, 4) if settled else None


def _bucket(column: Any, edges: list[datetime]) -> Any:
    """The index of the bucket ``edges[i] <= column < edges[i + 1]`` (the column is filtered to the range)."""
    return case(*[(column < edge, index) for index, edge in enumerate(edges[1:-1])], else_=len(edges) - 2)


def _sql_hours(conn: Connection, later: Any, earlier: Any) -> Any:
    """``later - earlier`` in hours, in SQL."""
    if conn.dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 24.0
    return func.extract("epoch", later - earlier) / 3600.0


def chart_series(conn: Connection, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """The figures behind the charts: ``WEEKS`` weeks of promises, ``DAYS`` days of arrivals and waiting.

    Counted and averaged in the database over indexed ranges, so the cost does not grow with the history.
    """
    week_start = now - timedelta(weeks=WEEKS)
    weeks = [week_start + timedelta(weeks=i) for i in range(WEEKS + 1)]
    bucket = _bucket(promises.c.made_at, weeks)
    rows = conn.execute(select(bucket, promises.c.owner, promises.c.source, promises.c.state, func.count(),
                               func.avg(_sql_hours(conn, promises.c.due_at, promises.c.made_at)))
                        .where(promises.c.made_at >= week_start)  # covering index (0010)
                        .group_by(bucket, promises.c.owner, promises.c.source, promises.c.state)).all()
    kept = [[0, 0] for _ in range(WEEKS)]
    promised = [[0.0, 0] for _ in range(WEEKS)]
    people: dict[str, list[list[int]]] = {}
    for week, owner, source, state, count, hours in rows:
        if owner == "team":
            if source != "ack":
                continue
            if state != "open":  # first promises: a delay notice superseding one means it was not kept
                kept[week][0] += count if state == "kept" else 0
                kept[week][1] += count
            promised[week][0] += float(hours or 0.0) * count
            promised[week][1] += count
        elif state in ("kept", "broken"):
            counts = people.setdefault(str(owner), [[0, 0] for _ in range(WEEKS)])
            counts[week][0] += count if state == "kept" else 0
            counts[week][1] += count
    opened_bucket = _bucket(cases.c.opened_at, weeks)
    actual: dict[int, float | None] = dict(conn.execute(
        select(opened_bucket, func.avg(_sql_hours(conn, cases.c.first_response_at, cases.c.opened_at)))
        .where(cases.c.opened_at >= week_start, cases.c.first_response_at.is_not(None))  # covering index (0010)
        .group_by(opened_bucket)).all())

    day_start = datetime.combine((now - timedelta(days=DAYS - 1)).astimezone(tz).date(), time.min, tzinfo=tz)
    days = [day_start + timedelta(days=i) for i in range(DAYS + 1)]

    def per_day(column: Any, *where: Any) -> list[int]:
        day = _bucket(column, days)
        found: dict[int, int] = dict(conn.execute(select(day, func.count())
                                                  .where(column >= day_start, *where).group_by(day)).all())
        return [int(found.get(i, 0)) for i in range(DAYS)]

    arrivals = per_day(cases.c.opened_at)  # covering index (0010)
    answered = per_day(cases.c.first_response_at)  # ix_cases_first_response_at_opened_at
    notices = per_day(promises.c.made_at, promises.c.source == "delay_notice")  # covering index (0010)
    # Waiting for a first response at the start of the window (not answered by then, less those opened since),
    # then day by day: + arrivals − first responses. Each count is a range of one index.
    def cases_where(*where: Any) -> int:
        return int(conn.execute(select(func.count()).select_from(cases).where(*where)).scalar() or 0)

    unanswered = cases_where(cases.c.first_response_at.is_(None)) + cases_where(cases.c.first_response_at >= day_start)
    waiting_then = unanswered - cases_where(cases.c.opened_at >= day_start)
    waiting = [waiting_then + total for total in accumulate(a - b for a, b in zip(arrivals, answered, strict=True))]
    return {
        "weeks": [w.astimezone(tz).strftime("%d %b") for w in weeks[:-1]],
        "first_promises_kept": [_rate(k, n) for k, n in kept],
        "staff_kept": {person: [_rate(k, n) for k, n in counts] for person, counts in sorted(people.items())},
        "promised_hours": [round(total / n, 1) if n else None for total, n in promised],
        "actual_hours": [None if (mean := actual.get(i)) is None else round(float(mean), 1) for i in range(WEEKS)],
        "days": [d.strftime("%d %b") for d in days[:-1]],
        "arrivals": arrivals,
        "waiting": waiting,
        "delay_notices": notices,
    }


def chart_svgs(data: PageData, target_kept_rate: float | None = None) -> tuple[tuple[str, str], ...]:
    """The page's four charts as (title, inline SVG)."""
    c = data.charts
    if not c:
        return ()

    def percent(values: list[float | None]) -> tuple[float | None, ...]:
        return tuple(None if v is None else round(v * 100, 1) for v in values)

    kept_title = "First promises kept per week (team, and staff commitments per person)"
    titles = (kept_title, "Promised vs actual first response (mean hours, by week)",
              "Arrivals and cases waiting for a first response, last 30 days", "Delay notices sent per day")
    return (
        (titles[0], charts.chart(c["weeks"], [charts.Series("team", percent(c["first_promises_kept"])),
                                              *(charts.Series(person, percent(values), "line")
                                                for person, values in c["staff_kept"].items())],
                                 title=titles[0], unit="%", y_max=100.0, target=data.target_kept_rate * 100)),
        (titles[1], charts.chart(c["weeks"], [charts.Series("promised", tuple(c["promised_hours"])),
                                              charts.Series("actual", tuple(c["actual_hours"]))],
                                 title=titles[1], unit=" h")),
        (titles[2], charts.chart(c["days"], [charts.Series("arrivals", tuple(c["arrivals"])),
                                             charts.Series("waiting", tuple(c["waiting"]), "line")],
                                 title=titles[2])),
        (titles[3], charts.chart(c["days"], [charts.Series("delay notices", tuple(c["delay_notices"]))],
                                 title=titles[3])),
    )


_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                          undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _local(value: datetime | None, tz: str) -> str:
    if value is None:
        return "never"
    return value.astimezone(ZoneInfo(tz)).strftime("%a %d %b %H:%M %Z")


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


_ENV.filters["local"] = _local
_ENV.filters["percent"] = _percent


def render_page(data: PageData, *, report: bool = False) -> str:
    """The page as HTML with its charts inline: no script, no remote asset."""
    return _ENV.get_template("status.html.j2").render(d=data, report=report, charts=chart_svgs(data))


def figures(data: PageData) -> dict[str, Any]:
    """The figures behind the page, for ``inboxd report --json`` (datetimes as ISO strings)."""

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    result: dict[str, Any] = plain(asdict(data))
    result["commitments"] = {person: lines for person, lines in result["commitments"]}
    return result

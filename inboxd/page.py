"""The status page and the weekly report: what they show is gathered from the store into one frozen value
(:func:`gather`, a handful of indexed queries and the estimator's at-risk rule), then rendered (pure).

The same :class:`PageData` feeds the daemon's ``/``, ``inboxd report --html`` (one self-contained file) and
``inboxd report --json`` (:func:`figures`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy import Connection, select

from inboxd import stats
from inboxd.duework import promises_at_risk
from inboxd.humanize import phrase_due
from inboxd.mail.threading import format_token
from inboxd.runtime import Runtime
from inboxd.status import build_report
from inboxd.store import repo
from inboxd.store import status as status_store
from inboxd.store.schema import cases, promises

PRIORITIES = ("urgent", "high", "normal", "low")
OLDEST_SHOWN = 15
TEMPLATES = Path(__file__).parent / "page_templates"


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
    status: dict[str, Any]  # inboxd.status.build_report: the same facts as ``inboxd status``
    queue: tuple[QueueRow, ...]
    oldest: tuple[CaseLine, ...]
    at_risk: tuple[RiskLine, ...]
    commitments: tuple[tuple[str, tuple[CommitmentLine, ...]], ...]  # (person, their lines), by person
    numbers: dict[str, Any]  # inboxd.stats.window_stats over ``since``..``now``
    charts: dict[str, Any] = field(default_factory=dict)  # the series behind the charts (inboxd.charts)


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 1)


def gather(conn: Connection, rt: Runtime, now: datetime, *, since: timedelta = timedelta(days=7)) -> PageData:
    """Everything the page shows, read in one connection."""
    tz = rt.calendar.tz
    token = rt.config.cases.subject_token
    report = build_report(status_store.read_status(conn), status_store.quarantine_counts(conn),
                          status_store.outbox_counts_by_mailbox(conn), now)

    waiting = conn.execute(select(cases.c.number, cases.c.subject, cases.c.customer, cases.c.priority,
                                  cases.c.last_activity_at, cases.c.assignee)
                           .where(cases.c.status == "waiting_on_us")).all()  # ix_cases_status
    queue = tuple(QueueRow(p, len(rows), max((_hours(now - r.last_activity_at) for r in rows), default=None))
                  for p in PRIORITIES for rows in [[r for r in waiting if r.priority == p]])
    oldest = tuple(CaseLine(format_token(token, r.number), r.subject, r.customer, r.priority,
                            _hours(now - r.last_activity_at), r.assignee)
                   for r in sorted(waiting, key=lambda r: r.last_activity_at)[:OLDEST_SHOWN])

    risks, _model, _queue = promises_at_risk(conn, rt, now)
    subjects = {r.number: (r.subject, r.customer) for r in waiting}
    at_risk = []
    for risk in sorted(risks, key=lambda r: r.promise["due_at"]):
        number = risk.promise["number"]
        subject, customer = subjects.get(number, ("", ""))
        if risk.notice_at > now:
            action = (f"delay notice with a new time {phrase_due(risk.notice_at, now, tz)} "
                      "(night where the customer is), before the due time")
        else:
            action = "delay notice with a new time at the next tick (within a minute); the lead is told"
        at_risk.append(RiskLine(format_token(token, number), subject, customer, risk.promise["due_at"],
                                phrase_due(risk.promise["due_at"], now, tz), phrase_due(risk.prediction.at, now, tz),
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
    numbers = stats.window_stats(repo.promise_outcomes(conn, start), repo.first_responses(conn, start), [],
                                 rt.calendar, now)
    numbers.pop("feedback_count", None)
    numbers.pop("feedback_average", None)
    numbers["waiting_on_us"] = len(waiting)
    numbers["at_risk"] = len(at_risk)
    return PageData(now=now, team=rt.config.team.name, timezone=str(tz), since=start,
                    target_kept_rate=rt.config.promises.target_kept_rate, status=report, queue=queue,
                    oldest=oldest, at_risk=tuple(at_risk),
                    commitments=tuple((person, tuple(lines)) for person, lines in sorted(people.items())),
                    numbers=numbers)


_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                          undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _local(value: datetime | None, tz: str) -> str:
    if value is None:
        return "never"
    from zoneinfo import ZoneInfo

    return value.astimezone(ZoneInfo(tz)).strftime("%a %d %b %H:%M %Z")


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


_ENV.filters["local"] = _local
_ENV.filters["percent"] = _percent


def render_page(data: PageData, *, report: bool = False, charts: tuple[tuple[str, str], ...] = ()) -> str:
    """The page as HTML: no script, no remote asset; ``charts`` are (title, inline SVG) pairs."""
    return _ENV.get_template("status.html.j2").render(d=data, report=report, charts=charts)


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

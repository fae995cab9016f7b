"""The response time an acknowledgement promises. Pure.

This version promises the configured fallback for the case's priority, counted in business
time on the team's calendar (so mail on Friday at 18:00 is not promised "within 4 hours"), and
says honestly why a wait is long: the team is closed now, or a holiday lies in between.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from inboxd.calendar import BusinessCalendar
from inboxd.durations import Duration
from inboxd.humanize import round_up


@dataclass(frozen=True)
class Estimate:
    due: datetime  # in the team's timezone
    basis: str  # how it was computed, for `inboxd eta` and the audit log
    reasons: tuple[str, ...] = ()  # customer-facing, taking responsibility, never blaming


def fallback_estimate(now: datetime, priority: str, fallback: Mapping[Any, Duration],
                      calendar: BusinessCalendar) -> Estimate:
    """The fallback promise for ``priority``, in business time from ``now``."""
    duration = fallback.get(priority) or fallback["normal"]
    due = round_up(calendar.add(now, _in_business_time(duration))).astimezone(calendar.tz)
    return Estimate(due=due, basis=f"fallback {duration} for priority {priority}",
                    reasons=tuple(closure_reasons(now, due, calendar)))


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
    """Why the promised time lies further out than the customer might expect."""
    reasons: list[str] = []
    local_now = now.astimezone(calendar.tz)
    day = local_now.date()
    end = due.astimezone(calendar.tz).date()
    while day <= end:
        name = calendar.holiday_name(day)
        if name and calendar.hours.get(day.weekday()):
            if name == "closed":
                reasons.append(f"Our office is closed on {day:%A} {day.day} {day:%B}.")
            else:
                reasons.append(f"We are closed for {name} on {day:%A} {day.day} {day:%B}.")
        day += timedelta(days=1)
    if not reasons and not calendar.is_open(now):
        opens = calendar.next_open(now).astimezone(calendar.tz)
        when = "today" if opens.date() == local_now.date() else f"on {opens:%A}"
        reasons.append(f"We are outside our working hours right now and back {when} at {opens:%H:%M}.")
    return reasons

"""Figures for ``inboxd stats``: promises kept, first-response times, feedback. Pure over store rows."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from inboxd.core.calendar import BusinessCalendar
from inboxd.core.eta import BusinessTimeIndex


def _quantile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def window_stats(promises: Sequence[dict[str, Any]], cases: Sequence[dict[str, Any]], scores: Sequence[int],
                 calendar: BusinessCalendar, now: datetime) -> dict[str, Any]:
    """One window's figures. Open promises whose due time is still ahead count neither way."""
    team = [p for p in promises if p["owner"] == "team"]
    staff = [p for p in promises if p["owner"] != "team"]

    def kept_rate(rows: Sequence[dict[str, Any]]) -> float | None:
        settled = [p for p in rows if p["state"] in ("kept", "broken")]
        return round(sum(p["state"] == "kept" for p in settled) / len(settled), 4) if settled else None

    answered = [c for c in cases if c["first_response_at"] is not None]
    hours = [(c["first_response_at"] - c["opened_at"]).total_seconds() / 3600 for c in answered]
    business: list[float] = []
    if answered:  # one cumulative index of open time: a long window of answered cases costs a bisection each
        index = BusinessTimeIndex(calendar, min(c["opened_at"] for c in answered).timestamp(),
                                  max(c["first_response_at"] for c in answered).timestamp())
        business = [index.hours(c["opened_at"].timestamp(), c["first_response_at"].timestamp()) for c in answered]
    return {
        "promises_made": len(team),
        "kept_rate": kept_rate(team),
        "broken": sum(p["state"] == "broken" for p in team),
        "delay_notices": sum(p["source"] == "delay_notice" for p in team),
        "staff_commitments": len(staff),
        "staff_kept_rate": kept_rate(staff),
        "cases_opened": len(cases),
        "cases_answered": len(answered),
        "median_first_response_hours": round(statistics.median(hours), 2) if hours else None,
        "p90_first_response_hours": round(q, 2) if (q := _quantile(hours, 0.9)) is not None else None,
        "median_first_response_bh": round(statistics.median(business), 2) if business else None,
        "feedback_count": len(scores),
        "feedback_average": round(statistics.mean(scores), 2) if scores else None,
    }

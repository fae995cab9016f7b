"""`inboxd stats` figures from store rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from inboxd.core.calendar import BusinessCalendar
from inboxd.core.stats import window_stats

CAL = BusinessCalendar.build("Europe/Berlin", {"mon-fri": "09:00-17:00"})
NOW = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
MON = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 Berlin


def promise(state: str, owner: str = "team", source: str = "ack") -> dict:
    return {"owner": owner, "source": source, "state": state, "made_at": MON, "due_at": MON + timedelta(days=1)}


def test_kept_rate_counts_settled_promises_only() -> None:
    rows = [promise("kept"), promise("kept"), promise("kept"), promise("broken"), promise("open"),
            promise("kept", owner="bob@example.com", source="reply"), promise("superseded")]
    stats = window_stats(rows, [], [], CAL, NOW)
    assert stats["promises_made"] == 6 and stats["kept_rate"] == 0.75 and stats["broken"] == 1
    assert stats["staff_commitments"] == 1 and stats["staff_kept_rate"] == 1.0


def test_first_response_times_in_hours_and_business_hours() -> None:
    cases = [
        {"opened_at": MON, "first_response_at": MON + timedelta(hours=2), "priority": "normal"},
        # Opened Monday 16:00 Berlin, answered Tuesday 10:00: 18 hours, 2 business hours.
        {"opened_at": MON + timedelta(hours=6), "first_response_at": MON + timedelta(hours=24), "priority": "normal"},
        {"opened_at": MON + timedelta(hours=7), "first_response_at": None, "priority": "high"},
    ]
    stats = window_stats([], cases, [4, 5], CAL, NOW)
    assert stats["cases_opened"] == 3 and stats["cases_answered"] == 2
    assert stats["median_first_response_hours"] == 10.0
    assert stats["p90_first_response_hours"] == 18.0
    assert stats["median_first_response_bh"] == 2.0
    assert stats["feedback_count"] == 2 and stats["feedback_average"] == 4.5


def test_empty_window_has_no_invented_figures() -> None:
    stats = window_stats([], [], [], CAL, NOW)
    assert stats["kept_rate"] is None and stats["median_first_response_hours"] is None

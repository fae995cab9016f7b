"""The weekly report's schedule: ``reports.weekly_at`` and the ISO week it falls in."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from inboxd.config import load_config_text
from inboxd.errors import ConfigError
from inboxd.service.weekly import due_report, summary, week_slot
from tests.unit.test_config import BASE, problems_of

BERLIN = ZoneInfo("Europe/Berlin")


def test_weekly_at_is_off_by_default_and_reads_a_day_and_a_time() -> None:
    assert load_config_text(BASE, "inboxd.yaml").reports.weekly is None
    config = load_config_text(BASE + "reports:\n  weekly_at: Friday 7:30\n", "inboxd.yaml")
    assert config.reports.weekly_at == "fri 07:30"
    assert config.reports.weekly == (4, time(7, 30))


@pytest.mark.parametrize("value", ["mon", "08:00", "mo 08:00", "mon 24:00", "someday 08:00", "1"])
def test_a_bad_weekly_at_names_its_key(value: str) -> None:
    with pytest.raises(ConfigError):
        load_config_text(BASE + f"reports:\n  weekly_at: \"{value}\"\n", "inboxd.yaml")
    (problem,) = problems_of(BASE + f"reports:\n  weekly_at: \"{value}\"\n")
    assert "reports.weekly_at" in problem and "mon 08:00" in problem


def test_the_slot_is_in_the_iso_week_of_now_in_the_team_timezone() -> None:
    # Sunday 3 January 2027 belongs to ISO week 53 of 2026; Monday 4 January starts 2027-W01.
    assert week_slot(datetime(2027, 1, 3, 12, 0, tzinfo=UTC), 0, time(8), BERLIN) == (
        "2026-W53", datetime(2026, 12, 28, 8, 0, tzinfo=BERLIN))
    # 23:30 UTC on Sunday is already Monday in Berlin.
    assert week_slot(datetime(2027, 1, 3, 23, 30, tzinfo=UTC), 0, time(0, 15), BERLIN)[0] == "2027-W01"
    # Summer time: 08:00 Berlin is 06:00 UTC.
    assert week_slot(datetime(2026, 7, 1, tzinfo=UTC), 0, time(8), BERLIN)[1] == datetime(2026, 6, 29, 6, 0,
                                                                                          tzinfo=UTC)


def test_due_from_its_time_until_the_end_of_its_week() -> None:
    monday_8 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # 08:00 Berlin
    assert due_report(monday_8.replace(minute=0, hour=6), 0, time(8), BERLIN) is None
    assert due_report(monday_8, 0, time(8), BERLIN) == "report:weekly:2026-W48"
    assert due_report(datetime(2026, 11, 29, 22, 59, tzinfo=UTC), 0, time(8), BERLIN) == "report:weekly:2026-W48"
    # A Friday report is not due on the Monday before it.
    assert due_report(monday_8, 4, time(8), BERLIN) is None


def test_the_summary_shows_missing_figures_as_a_dash() -> None:
    text = summary({"cases_opened": 4, "kept_rate": 0.9512, "median_first_response_bh": None}, "Support",
                   datetime(2026, 11, 16).date(), datetime(2026, 11, 23).date())
    assert "Cases opened:                  4" in text
    assert "Promises kept:                 95.1 %" in text
    assert "Median first response:         –" in text

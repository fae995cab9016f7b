"""``inboxd report``: the status page as one self-contained HTML file and its figures as JSON, read-only."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inboxd.cli.main import main
from inboxd.store.db import make_engine, migrate
from tests.integration.history import seed_history

CONFIG = Path(__file__).resolve().parents[1] / "data" / "workloads" / "config.yaml"


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / "inboxd.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    seed_history(engine, datetime.now(UTC))
    engine.dispose()
    return f"sqlite:///{path}", path


@pytest.fixture
def seeded_url(database_url: str) -> str:
    """The seeded history on SQLite and, with INBOXD_TEST_POSTGRES_URL set, on PostgreSQL."""
    engine = make_engine(database_url)
    migrate(engine)
    seed_history(engine, datetime.now(UTC))
    engine.dispose()
    return database_url


def test_report_html_is_one_self_contained_file_and_reads_only(tmp_path, seeded, capsys):
    url, path = seeded
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    out = tmp_path / "weekly.html"
    assert main(["report", "--since", "7d", "--html", str(out), "--config", str(CONFIG), "--database-url", url]) == 0
    html = out.read_text()
    assert "weekly report" in html and html.count("<svg") == 4
    # Nothing to fetch: no script, no link, no remote URL besides the SVG namespace.
    assert not re.search(r"<script|<link|<img|@import|url\(", html)
    assert set(re.findall(r"https?://[^\"' ]+", html)) == {"http://www.w3.org/2000/svg"}
    assert "Invoice copy needed" in html
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert "report written to" in capsys.readouterr().err


def test_report_json_gives_the_figures(seeded_url, capsys):
    url = seeded_url
    assert main(["report", "--json", "--since", "30d", "--config", str(CONFIG), "--database-url", url]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert 0.5 < figures["numbers"]["kept_rate"] <= 1 and figures["numbers"]["promises_made"] > 250
    assert 250 < sum(figures["charts"]["arrivals"]) <= figures["numbers"]["cases_opened"]
    assert len(figures["charts"]["days"]) == 30 and len(figures["charts"]["weeks"]) == 8
    assert figures["charts"]["waiting"][-1] == 21
    (risk,) = figures["at_risk"]
    assert risk["subject"] == "Invoice copy needed" and risk["due_at"].endswith("+00:00")
    assert list(figures["commitments"]) == ["agent@example.com"]


def test_report_without_a_database_or_with_a_bad_window_says_so(tmp_path, capsys):
    missing = tmp_path / "missing.db"
    args = ["--config", str(CONFIG), "--database-url", f"sqlite:///{missing}"]
    assert main(["report", "--json", *args]) == 66
    assert "no inboxd database" in capsys.readouterr().err and not missing.exists()
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--json", "--since", "2bd", *args])
    assert exit_info.value.code == 2 and "calendar time" in capsys.readouterr().err


def test_the_reports_numbers_are_those_of_inboxd_stats(seeded_url, capsys):
    url = seeded_url
    assert main(["report", "--json", "--since", "7d", "--config", str(CONFIG), "--database-url", url]) == 0
    report = json.loads(capsys.readouterr().out)["numbers"]
    assert main(["stats", "--json", "--config", str(CONFIG), "--database-url", url]) == 0
    week = json.loads(capsys.readouterr().out)["windows"]["7d"]
    shared = {key: value for key, value in week.items() if not key.startswith("feedback")}
    assert {key: report[key] for key in shared} == shared and week["promises_made"] > 50


def test_stats_counted_in_the_database_equal_those_computed_from_the_rows(seeded_url, capsys):
    """`inboxd stats` counts over the windows' indexes; the figures are those of ``stats.window_stats`` over the
    rows themselves (the definition), feedback included."""
    from datetime import timedelta

    from inboxd.config import load_config
    from inboxd.core.stats import window_stats
    from inboxd.service.runtime import build_runtime
    from inboxd.store import repo

    assert main(["stats", "--json", "--config", str(CONFIG), "--database-url", seeded_url]) == 0
    result = json.loads(capsys.readouterr().out)
    now = datetime.fromisoformat(result["at"])
    calendar = build_runtime(load_config(CONFIG), CONFIG.parent).calendar
    engine = make_engine(seeded_url)
    with engine.connect() as conn:
        for days in (7, 30):
            since = now - timedelta(days=days)
            expected = window_stats(repo.promise_outcomes(conn, since), repo.first_responses(conn, since),
                                    repo.feedback_scores(conn, since), calendar, now)
            assert result["windows"][f"{days}d"] == expected
    engine.dispose()
    assert result["windows"]["30d"]["cases_answered"] > 50
def test_first_response_business_hours_count_only_open_time_on_either_side_of_closed_hours(database_url):
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from inboxd.config import load_config
    from inboxd.core.stats import window_stats
    from inboxd.service.runtime import build_runtime
    from inboxd.store import repo
    from inboxd.web.page import window_numbers

    berlin = ZoneInfo("Europe/Berlin")
    rt = build_runtime(load_config(CONFIG))  # mon-fri 09:00-17:00 Berlin

    def at(day: int, hour: int, minute: int = 0) -> datetime:
        return datetime(2026, 11, day, hour, minute, tzinfo=berlin)

    # (opened, first response, business hours between them)
    answered = [
        (at(20, 16), at(23, 10), 2.0),  # Friday 16:00 → Monday 10:00, over the weekend
        (at(21, 10), at(21, 12), 0.0),  # on a Saturday: the team was closed all along
        (at(23, 18), at(24, 9, 30), 0.5),  # Monday evening → Tuesday 09:30
        (at(24, 10), at(24, 20), 7.0),  # answered in the evening: open time up to 17:00 only
        (at(25, 16, 30), at(26, 9, 30), 1.0),  # Wednesday 16:30 → Thursday 09:30, a night in between
    ]
    engine = make_engine(database_url)
    migrate(engine)
    store = repo.Store(engine)
    with store.begin() as conn:
        for index, (opened, response, _bh) in enumerate(answered):
            _id, number = repo.insert_case(conn, mailbox="support", customer=f"c{index}@x.example",
                                           customer_name="", subject="s", priority="normal", language="en",
                                           now=opened)
            repo.update_case(conn, number, first_response_at=response)
    start = at(20, 0) - timedelta(minutes=1)
    with store.connect() as conn:
        page = window_numbers(conn, rt, start)
        cli = window_stats([], repo.first_responses(conn, start), [], rt.calendar, at(27, 12))
    engine.dispose()
    assert sorted(bh for _a, _b, bh in answered)[2] == 1.0
    assert page["median_first_response_bh"] == cli["median_first_response_bh"] == 1.0
    assert page["median_first_response_hours"] == cli["median_first_response_hours"] == 15.5

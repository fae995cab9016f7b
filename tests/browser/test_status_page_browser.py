"""The status page in a real browser (Debian's chromium, driven by Playwright): what a person sees.

Skipped locally when chromium or Playwright is missing; in CI (``CI`` set), where ``make test`` installs
chromium, a missing one fails the test. The screenshot is kept under the test's temporary directory and its
path printed (``pytest -s`` shows it).
"""

from __future__ import annotations

import importlib.util
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import _unavailable
from tests.integration.harness import make_setup, wait_until
from tests.integration.history import seed_history

pytestmark = pytest.mark.integration

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]


def _chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        _unavailable("chromium is not installed (apt-get install chromium, or make test)")
    if importlib.util.find_spec("playwright") is None:
        _unavailable("Playwright is not installed (pip install -e '.[dev]')")
    return str(path)


def test_a_person_sees_the_promise_at_risk_the_kept_rate_and_every_chart(tmp_path, dovecot, smtp_hub, mailboxes):
    chromium = _chromium()
    from playwright.sync_api import sync_playwright

    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, extra="status_page: {listen: '127.0.0.1:0'}\n")
    daemon = setup.daemon()
    daemon.prepare()
    seeded = seed_history(daemon.store.engine, datetime.now(UTC))
    daemon.start()
    try:
        wait_until(lambda: all(w.status.last_poll for w in daemon.watchers), timeout=10)
        assert daemon.http is not None
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                requests: list[str] = []
                page.on("request", lambda request: requests.append(request.url))
                started = time.perf_counter()
                page.goto(f"http://127.0.0.1:{daemon.http.port}/", wait_until="load")
                load_ms = (time.perf_counter() - started) * 1000
                # The promise at risk, with its due time as the team reads it.
                row = page.locator("#at-risk tr", has_text=f"[#{seeded.at_risk_number}]")
                assert row.is_visible()
                due = f"{seeded.at_risk_due.astimezone(daemon.runtime.calendar.tz):%H:%M}"
                assert due in row.inner_text() and "Invoice copy needed" in row.inner_text()
                assert "delay notice" in row.inner_text()
                # The kept rate, a percentage, beside its target.
                kept = page.locator("#kept-rate").inner_text()
                assert "Team promises kept" in kept and "%" in kept and "target 95.0 %" in kept
                # Every chart drawn, with data the browser laid out (bars or points of non-zero size).
                charts = page.locator("figure.chart")
                assert charts.count() == 4
                for index in range(4):
                    chart = charts.nth(index)
                    assert chart.locator("svg").is_visible()
                    marks = chart.locator("svg .bar, svg .point")
                    assert marks.count() > 0, chart.locator("figcaption").inner_text()
                    box = marks.first.bounding_box()
                    assert box is not None and box["width"] > 0 and box["height"] > 0
                assert page.locator("#mailboxes").inner_text().count("up") >= 1
                # One request: the page itself; nothing else is fetched.
                assert requests == [f"http://127.0.0.1:{daemon.http.port}/"]
                shot = tmp_path / "status-page.png"
                page.screenshot(path=str(shot), full_page=True)
                print(f"\nstatus page screenshot: {shot} (loaded in {load_ms:.0f} ms)")
                assert shot.stat().st_size > 10_000
            finally:
                browser.close()
    finally:
        daemon.shutdown()

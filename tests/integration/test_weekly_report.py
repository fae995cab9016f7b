"""The weekly report mail: sent to the leads once per ISO week at ``reports.weekly_at``, whatever the restarts."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from inboxd.core.clock import FrozenClock
from inboxd.service.daemon import Daemon
from inboxd.service.weekly import run_weekly_report
from inboxd.store import repo
from tests.integration.harness import make_setup

pytestmark = pytest.mark.integration

# Monday 23 November 2026 (ISO week 48), 07:59 in Berlin: a minute before the report.
MONDAY_0759 = datetime(2026, 11, 23, 6, 59, tzinfo=UTC)


@pytest.fixture
def weekly(tmp_path, dovecot, smtp_hub, mailboxes, database_url):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, extra="reports:\n  weekly_at: mon 08:00\n",
                       database_url=database_url)
    clock = FrozenClock(MONDAY_0759)

    def restarted() -> Daemon:
        daemon = Daemon(setup.config_path, setup.database_url, clock=clock)
        daemon.prepare()
        return daemon

    restarted().run_once()
    customer = mailboxes("customer")
    setup.deliver(setup.customer_mail(customer, "Router keeps dropping"), sender=customer)
    restarted().run_once()
    setup.dovecot.wait_for(customer, count=1)
    return setup, clock, restarted


def reports(setup):
    return [m for m in setup.dovecot.fetch_all(setup.staff) if "support report" in str(m["Subject"])]


def test_the_weekly_report_goes_to_the_lead_once_per_week(weekly):
    setup, clock, restarted = weekly
    assert reports(setup) == []
    clock.set(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))  # 08:00 Berlin
    restarted().run_once()
    (mail,) = reports(setup)
    assert "2026-W48" in mail["Subject"]
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail.get_content_type() == "multipart/alternative"
    text, html = (part.get_content() for part in mail.iter_parts())
    assert "Cases opened:                  1" in text
    assert "<svg" in html and "<script" not in html and "Router keeps dropping" in html
    # A restart, two daemons on the one database, and the rest of the week: no second report.
    restarted().run_once()
    first, second = restarted(), restarted()
    first.run_once()
    second.run_once()
    clock.set(datetime(2026, 11, 29, 22, 0, tzinfo=UTC))  # Sunday 23:00 Berlin
    restarted().run_once()
    assert len(reports(setup)) == 1


def test_a_report_queued_before_a_crash_is_sent_once_by_the_next_start(weekly):
    setup, clock, restarted = weekly
    clock.set(datetime(2026, 11, 23, 7, 5, tzinfo=UTC))
    restarted().tick()  # queued, then the process dies before the sender ran
    restarted().run_once()
    restarted().run_once()
    assert len(reports(setup)) == 1
    with restarted().store.connect() as conn:
        assert repo.outbox_has_key(conn, "report:weekly:2026-W48")


def test_a_daemon_down_at_the_time_sends_this_weeks_report_but_not_old_ones(weekly):
    setup, clock, restarted = weekly
    # Down from Monday 07:59 until Wednesday of the same week: the report goes out when it is back.
    clock.set(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    restarted().run_once()
    assert [m["Subject"].rsplit(" ", 1)[1] for m in reports(setup)] == ["2026-W48"]
    # Down for two weeks: only the current week's report, not the one missed in between.
    clock.set(datetime(2026, 12, 9, 12, 0, tzinfo=UTC))  # Wednesday of week 50
    restarted().run_once()
    restarted().run_once()
    assert [m["Subject"].rsplit(" ", 1)[1] for m in reports(setup)] == ["2026-W48", "2026-W50"]
    # Before Monday's time the new week has nothing to send yet.
    clock.set(datetime(2026, 12, 14, 6, 59, tzinfo=UTC))
    restarted().run_once()
    assert len(reports(setup)) == 2


def test_off_by_default(tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes)
    clock = FrozenClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    daemon = Daemon(setup.config_path, setup.database_url, clock=clock)
    daemon.prepare()
    daemon.run_once()
    assert reports(setup) == []


def test_two_daemons_at_the_same_moment_queue_one_report(weekly):
    setup, clock, restarted = weekly
    now = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    clock.set(now)
    first, second = restarted(), restarted()
    key = "report:weekly:2026-W48"
    queued, release = threading.Event(), threading.Event()

    def first_daemon() -> None:
        # The first daemon has queued the week's report and not yet committed when the second one looks.
        with first.store.begin() as conn:
            assert repo.enqueue(conn, idempotency_key=key, message_id="report-w48@example.com", kind="report",
                                case_id=None, mailbox="support", mail_from=setup.support, rcpt_to=[setup.staff],
                                raw=b"Subject: x\r\n\r\nx\r\n", now=now, copy_wanted=False)
            queued.set()
            release.wait(30)

    thread = threading.Thread(target=first_daemon)
    thread.start()
    assert queued.wait(30)
    result: list[bool] = []
    racer = threading.Thread(target=lambda: result.append(run_weekly_report(second.store, second.runtime, now)))
    racer.start()
    time.sleep(0.5)  # let the second daemon reach its insert (it waits on the first one's row or lock)
    release.set()
    thread.join()
    racer.join()
    assert result == [False]
    with second.store.connect() as conn:
        rows = [r for r in repo.outbox_rows(conn, ("pending", "sending", "sent", "failed")) if r["kind"] == "report"]
    assert [r["message_id"] for r in rows] == ["report-w48@example.com"]

"""The daemon's HTTP port over a running daemon and the real Dovecot: /healthz, /metrics and the status page."""

from __future__ import annotations

import os
import socket
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from inboxd.errors import ConfigError
from inboxd.service.daemon import Daemon
from tests.integration.harness import make_setup, wait_until
from tests.integration.history import seed_history

pytestmark = pytest.mark.integration

LISTEN = "status_page: {listen: '127.0.0.1:0'}\n"


def get(daemon: Daemon, path: str) -> tuple[int, str, str]:
    assert daemon.http is not None
    url = f"http://127.0.0.1:{daemon.http.port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_healthz_fails_when_a_watcher_dies_or_the_database_goes(tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, extra=LISTEN)
    daemon = setup.daemon()
    daemon.start()
    try:
        assert daemon.http is not None and daemon.http.host == "127.0.0.1"
        wait_until(lambda: all(w.status.last_poll for w in daemon.watchers), timeout=10)
        assert get(daemon, "/healthz")[:1] == (200,)
        # A watcher stops: 503, naming it.
        victim = daemon.watchers[0]
        victim.stop()
        victim.join(10)
        status, _kind, body = get(daemon, "/healthz")
        assert status == 503 and victim.name in body, body
        # The database goes away (its file moved, its connections dropped): 503 with the reason.
        db = Path(setup.database_url.removeprefix("sqlite:///"))
        os.rename(db, db.with_suffix(".away"))
        daemon.store.engine.dispose()
        status, _kind, body = get(daemon, "/healthz")
        assert status == 503 and body.startswith("database unavailable"), body
        assert get(daemon, "/nothing-here")[0] == 404
    finally:
        daemon.shutdown()
    assert daemon.http is None


def test_a_port_already_taken_stops_the_start_with_one_clear_error(tmp_path, dovecot, smtp_hub, mailboxes):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        listen = f"status_page: {{listen: '127.0.0.1:{port}'}}\n"
        setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, extra=listen)
        daemon = setup.daemon()
        with pytest.raises(ConfigError) as caught:
            daemon.start()
    (problem,) = caught.value.problems
    assert problem.startswith(f"status_page.listen: cannot listen on 127.0.0.1:{port}: ") and "in use" in problem
    assert daemon.watchers == [] and daemon.http is None
    daemon.shutdown()


def test_metrics_count_the_acknowledgement_of_a_customer_mail(tmp_path, dovecot, smtp_hub, mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, extra=LISTEN)
    daemon = setup.daemon()
    daemon.start()
    try:
        wait_until(lambda: all(w.status.last_poll for w in daemon.watchers), timeout=10)
        status, kind, text = get(daemon, "/metrics")
        assert status == 200 and kind.startswith("text/plain")
        before = samples(text)
        assert before[("inboxd_acks_total", ())] == 0
        assert before[("inboxd_store_up", ())] == 1
        customer = mailboxes("customer")
        setup.deliver(setup.customer_mail(customer, "Printer on fire"), sender=customer)
        setup.hub.wait_for(1, timeout=15, predicate=lambda m: m.rcpt_tos == [customer])
        after = wait_until(lambda: (s := samples(get(daemon, "/metrics")[2]))[("inboxd_acks_total", ())] == 1 and s)
        assert after[("inboxd_messages_total", (("kind", "customer"),))] == 1
        assert after[("inboxd_promises_made_total", ())] == 1
        assert after[("inboxd_promises", (("state", "open"),))] == 1
        assert after[("inboxd_waiting_cases", (("priority", "normal"),))] == 1
        assert after[("inboxd_outbox", (("state", "failed"),))] == 0
        assert after[("inboxd_quarantined", ())] == 0
        polled = after[("inboxd_last_poll_timestamp_seconds", (("mailbox", "support"),))]
        assert polled > 1.7e9
        assert ("inboxd_imap_errors_total", (("mailbox", "support"),)) not in after  # none happened
        daemon.tick()
        ticks = samples(get(daemon, "/metrics")[2])
        assert ticks[("inboxd_tick_duration_seconds_count", ())] >= 1
    finally:
        daemon.shutdown()


def test_the_status_page_shows_the_promise_at_risk_the_queue_and_commitments(tmp_path, dovecot, smtp_hub,
                                                                             mailboxes):
    setup = make_setup(tmp_path, dovecot, smtp_hub, mailboxes, extra=LISTEN)
    daemon = setup.daemon()
    daemon.prepare()
    seeded = seed_history(daemon.store.engine, datetime.now(UTC))
    daemon.start()
    try:
        wait_until(lambda: all(w.status.last_poll for w in daemon.watchers), timeout=10)
        status, kind, html = get(daemon, "/")
        assert status == 200 and kind.startswith("text/html"), html
        assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
        risk = html[html.index('id="at-risk"'):html.index("<h2>Staff commitments")]
        assert f"[#{seeded.at_risk_number}]" in risk and "Invoice copy needed" in risk
        tz = daemon.runtime.calendar.tz
        assert f"{seeded.at_risk_due.astimezone(tz):%H:%M}" in risk and "delay notice" in risk
        kept = html[html.index('id="kept-rate"'):html.index("target")]
        assert "%" in kept and "–" not in kept
        assert seeded.staff in html and "send the corrected invoice" in html and "(overdue)" in html
        queue = html[html.index('id="queue"'):]
        assert ">low</td><td class=\"n\">1<" in queue
        figures = html.split('<figure class="chart">')[1:]
        assert len(figures) == 4 and all('class="bar"' in f or 'class="point"' in f for f in figures)
        mailboxes_table = html[html.index('id="mailboxes"'):]
        assert ">support</td>" in mailboxes_table and ">up</td>" in mailboxes_table
    finally:
        daemon.shutdown()

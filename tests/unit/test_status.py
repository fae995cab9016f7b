"""The report of ``inboxd status`` from the rows the daemon wrote (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from inboxd.core.status import build_report, exit_code, format_report, status_line

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def row(channel: str = "imap:INBOX", *, up: bool = True, error: str | None = None, age: float = 5.0,
        mailbox: str = "support") -> dict[str, Any]:
    return {"mailbox": mailbox, "channel": channel, "node": "host:42", "up": up, "mode": "idle",
            "last_poll_at": NOW - timedelta(seconds=30), "error": error, "last_error": error,
            "last_error_at": NOW - timedelta(seconds=20) if error else None,
            "updated_at": NOW - timedelta(seconds=age)}


def test_all_up_is_exit_0() -> None:
    report = build_report([row(), row("imap:Sent")], {}, {}, NOW)
    assert report["up"] and exit_code(report) == 0
    assert report["mailboxes"][0]["outbox"] == {"pending": 0, "sending": 0, "failed": 0}


def test_a_report_older_than_a_minute_is_stale_and_down() -> None:
    report = build_report([row(age=61)], {}, {}, NOW)
    (mailbox,) = report["mailboxes"]
    assert mailbox["stale"] and not mailbox["up"] and exit_code(report) == 3
    assert "stale" in format_report(report)[0]


def test_a_folder_down_shows_its_error_and_counts() -> None:
    report = build_report([row(up=False, error="IMAP connect: refused"), row("smtp")],
                          {"support": 2}, {"support": {"pending": 1, "failed": 3}}, NOW)
    (mailbox,) = report["mailboxes"]
    assert not mailbox["up"] and mailbox["last_imap_error"]["error"] == "IMAP connect: refused"
    assert mailbox["quarantined"] == 2 and mailbox["outbox"] == {"pending": 1, "sending": 0, "failed": 3}
    assert exit_code(report) == 3
    assert any("quarantined 2; outbox 1 pending, 0 sending, 3 failed" in line for line in format_report(report))


def test_an_smtp_error_fails_the_exit_code_but_not_the_imap_state() -> None:
    report = build_report([row(), row("smtp", up=False, error="SMTP: 451")], {}, {}, NOW)
    assert report["mailboxes"][0]["up"] and exit_code(report) == 3


def test_status_line() -> None:
    line = status_line([(True, NOW, None), (False, None, "IMAP idle: the connection was closed")], 2, 1, 4,
                       ["451 busy"])
    assert line == ("folders up 1/2, last poll 12:00:00, outbox 2 queued, 1 failed, 4 quarantined, "
                    "error: IMAP idle: the connection was closed; SMTP: 451 busy")

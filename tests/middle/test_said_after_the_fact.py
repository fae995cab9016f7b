"""No promise is due before it was made, through the real message path: when staff mail was said, and a
schedule that is never in the past.

The example team works in Berlin, Mon-Fri 09:00-17:00; the rig starts on Tuesday 2026-11-24 at 10:00 Berlin.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from inboxd.store import repo
from tests.middle.fakes import Rig, staff_mail

WEDNESDAY_9 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # 09:00 Berlin
FRIDAY_CLOSE = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # 17:00 Berlin


def _case(rig: Rig) -> int:
    outcome = rig.receive(staff_mail("ann@customer.example", "support@example.com", "Refund", "Where is it?"))
    assert outcome.case is not None
    return outcome.case


def _note(rig: Rig, number: int, body: str, date: str, author: str = "alice@example.com") -> None:
    outcome = rig.receive(staff_mail(author, "support@example.com", f"[#{number}] note", body, Date=date))
    assert outcome.kind == "staff_note"


def _detail(rig: Rig, number: int) -> dict[str, Any]:
    with rig.store.connect() as conn:
        detail = repo.case_detail(conn, number)
    assert detail is not None
    return detail


def _note_promise(rig: Rig, number: int) -> dict[str, Any]:
    (promise,) = [p for p in _detail(rig, number)["promises"] if p["source"] == "note"]
    return promise


def _not_in_the_past(detail: dict[str, Any], now: datetime) -> None:
    for item in detail["scheduled"]:
        assert item["due_at"] >= now, item


def test_a_note_read_late_is_due_now_not_when_it_named(rig: Rig) -> None:
    # Written on Tuesday at 16:30, read on Wednesday at 09:00 (the daemon was down): "today" was Tuesday 17:00.
    number = _case(rig)
    rig.clock.set(WEDNESDAY_9)
    _note(rig, number, "#followup today\n#remind today call the bank", "Tue, 24 Nov 2026 16:30:00 +0100")
    promise = _note_promise(rig, number)
    assert promise["due_at"] == WEDNESDAY_9 and promise["made_at"] <= promise["due_at"]
    scheduled = {item["kind"]: item["due_at"] for item in _detail(rig, number)["scheduled"]}
    assert scheduled["note_reminder"] == WEDNESDAY_9 and scheduled["escalation"] == WEDNESDAY_9
    assert "reminder" not in scheduled  # no reminder ahead of a promise that is already due
    _not_in_the_past(_detail(rig, number), WEDNESDAY_9)


def test_a_note_read_late_still_means_the_day_it_named_when_that_is_ahead(rig: Rig) -> None:
    # "Friday" written on Tuesday, read on Wednesday: that Friday still, not the one after.
    number = _case(rig)
    rig.clock.set(WEDNESDAY_9)
    _note(rig, number, "#followup Friday", "Tue, 24 Nov 2026 16:30:00 +0100")
    assert _note_promise(rig, number)["due_at"] == FRIDAY_CLOSE


def test_a_note_dated_in_the_future_is_read_as_said_now(rig: Rig) -> None:
    # The client's clock is a day ahead: "tomorrow" is Wednesday, from now, not Thursday.
    number = _case(rig)
    _note(rig, number, "#followup tomorrow", "Wed, 25 Nov 2026 10:00:00 +0100")
    assert _note_promise(rig, number)["due_at"] == datetime(2026, 11, 25, 16, 0, tzinfo=UTC)


def test_a_note_with_an_ancient_date_is_read_as_said_when_the_server_received_it(rig: Rig) -> None:
    # A Date from January (a wrong clock, a draft sent months later) on mail the server received an hour ago:
    # "Friday" is this week's.
    number = _case(rig)
    raw = staff_mail("alice@example.com", "support@example.com", f"[#{number}] note", "#followup Friday",
                     Date="Fri, 02 Jan 2026 17:40:00 +0100")
    rig.uid += 1
    outcome = rig.processor.process(rig.mailbox, "inbox", "INBOX", 1, rig.uid, raw,
                                    arrived_at=rig.clock.now() - timedelta(hours=1))
    assert outcome.kind == "staff_note"
    promise = _note_promise(rig, number)
    assert promise["due_at"] == FRIDAY_CLOSE
    _not_in_the_past(_detail(rig, number), rig.clock.now())


def test_a_german_note_time_is_understood(rig: Rig) -> None:
    number = _case(rig)
    _note(rig, number, "#followup Freitag", "Tue, 24 Nov 2026 10:00:00 +0100", author="bob@example.com")
    assert _note_promise(rig, number)["due_at"] == FRIDAY_CLOSE
    confirmations = [m for m in rig.sent_messages() if m["To"] == "bob@example.com"]
    assert len(confirmations) == 1 and "#followup Freitag" in confirmations[0].get_content()


def test_a_reply_read_late_escalates_now_not_in_the_past(rig: Rig) -> None:
    number = _case(rig)
    rig.clock.set(WEDNESDAY_9)
    reply = staff_mail("alice@example.com", "ann@customer.example", f"Re: [#{number}] Refund",
                       "I'll call you today.", Date="Tue, 24 Nov 2026 16:30:00 +0100")
    assert rig.receive(reply, role="sent").kind == "staff"
    detail = _detail(rig, number)
    (promise,) = [p for p in detail["promises"] if p["owner"] == "alice@example.com"]
    assert promise["due_at"] == WEDNESDAY_9 and promise["made_at"] <= promise["due_at"]
    _not_in_the_past(detail, WEDNESDAY_9)
    # It escalates on the next tick, once.
    rig.tick()
    (promise,) = [p for p in _detail(rig, number)["promises"] if p["owner"] == "alice@example.com"]
    assert promise["state"] == "broken"

"""Stories through the real message path and outbox, without servers: what a customer and the team see."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

from inboxd.dev.demo import sample_mail
from inboxd.store import repo
from tests.middle.fakes import Rig, staff_mail


def test_a_customer_is_acknowledged_once_and_a_staff_reply_keeps_the_promise(rig: Rig) -> None:
    outcome = rig.receive(sample_mail("ann@customer.example", "Ann", "support@example.com", "Printer broken",
                                      "It does not print."))
    assert (outcome.kind, outcome.case, outcome.acknowledged) == ("customer", 1001, True)
    (ack,) = rig.sent_messages(expected=1)
    assert ack["To"] == "ann@customer.example" and "[#1001]" in ack["Subject"]
    assert ack["Auto-Submitted"] == "auto-replied"

    # The customer writes again on the case: no second acknowledgement.
    rig.advance(timedelta(minutes=20))
    again = rig.receive(sample_mail("ann@customer.example", "Ann", "support@example.com",
                                    f"Re: {ack['Subject']}", "Any news?", In_Reply_To=ack["Message-ID"]))
    assert (again.case, again.acknowledged) == (1001, False)
    rig.sent_messages(expected=1)

    # Alice answers from the shared mailbox: the team's promise is kept.
    rig.advance(timedelta(hours=1))
    reply = rig.receive(sample_mail("alice@example.com", "Alice", "ann@customer.example",
                                    "Re: [#1001] Printer broken", "Try turning it off and on."), role="sent")
    assert (reply.kind, reply.case) == ("staff", 1001)
    with rig.store.connect() as conn:
        case = repo.case_detail(conn, 1001)
    assert case is not None and case["status"] == "waiting_on_customer"
    assert [p["state"] for p in case["promises"]] == ["kept"]


def test_a_staff_note_waiting_schedules_the_update_after_the_configured_time(rig: Rig) -> None:
    rig.receive(sample_mail("ann@customer.example", "Ann", "support@example.com", "Refund", "Where is it?"))
    note = staff_mail("bob@example.com", "support@example.com", "[#1001] Refund",
                      "#waiting the bank until tomorrow 10:00\n")
    outcome = rig.receive(note)
    assert outcome.kind == "staff_note"
    with rig.store.connect() as conn:
        items = {row["kind"]: row for row in repo.scheduled_for_case(conn, repo.case_id(conn, 1001))}
    until = items["note_reminder"]["due_at"]
    # updates.after_waiting (2bh by default) after the time named, in the team's hours.
    assert items["update"]["due_at"] == rig.rt.calendar.add(until, rig.rt.config.updates.after_waiting)
    confirmations = [m for m in rig.sent_messages() if m["To"] == "bob@example.com"]
    assert len(confirmations) == 1 and "#waiting the bank" in confirmations[0].get_content()


def test_an_acknowledgement_to_a_reply_to_elsewhere_carries_nothing_the_sender_wrote(rig: Rig) -> None:
    raw = sample_mail("promo@evil.example", "Cheap pills", "support@example.com", "Visit evil.example",
                      "Click.", Reply_To="victim@elsewhere.example")
    assert rig.receive(raw).acknowledged
    (ack,) = rig.sent_messages(expected=1)
    assert ack["To"] == "victim@elsewhere.example" and ack["In-Reply-To"] is None
    body = ack.get_body(("plain",))
    assert body is not None and "Cheap pills" not in body.get_content() and "evil" not in ack["Subject"]


def test_customer_ack_tick_a_case_left_waiting_on_us_brings_the_customer_an_update(rig: Rig) -> None:
    rig.receive(sample_mail("ann@customer.example", "Ann", "support@example.com", "Printer broken", "Help."))

    def to_ann() -> list[EmailMessage]:
        return [m for m in rig.sent_messages() if m["To"] == "ann@customer.example"]

    rig.advance(timedelta(hours=4))
    rig.tick()
    assert len(to_ann()) == 1  # updates.while_waiting_on_us is a business day: only the acknowledgement
    rig.advance(timedelta(days=1))
    rig.tick()
    ack, update = to_ann()
    assert "[#1001]" in update["Subject"] and update["Message-ID"] != ack["Message-ID"]
